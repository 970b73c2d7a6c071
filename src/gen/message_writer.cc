#include "gen/message_writer.h"

#include <string>

#include "gen/json_text.h"

namespace segmenta::traffic {

MessageWriter::MessageWriter(const ContactProfile& profile, uint64_t seed_key, uint64_t contact_key,
                             int64_t end_ms, const TrafficSink& sink, TrafficStats* stats)
    : profile_(profile),
      seed_key_(seed_key),
      contact_key_(contact_key),
      end_ms_(end_ms),
      sink_(sink),
      stats_(stats) {
  line_.reserve(2048);
}

void MessageWriter::UseDevice(Device* device, bool with_user_id) {
  device_ = device;
  with_user_id_ = with_user_id;
}

void MessageWriter::SignIn() {
  with_user_id_ = true;
  device_->logged_in = true;
}

void MessageWriter::SetPage(const char* name, std::string_view path, std::string_view search,
                            std::string_view title) {
  const std::string referrer = std::move(page_url_);  // the previous page of the session
  campaign_json_.clear();
  BuildPage(name, path, search, title, referrer);
}

void MessageWriter::SetLandingPage(const char* name, std::string_view path, std::string_view title,
                                   const Acquisition& source) {
  campaign_json_.clear();
  if (source.source == nullptr) {
    BuildPage(name, path, "", title, source.referrer);
    return;
  }
  std::string utm = "?utm_source=";
  utm += source.source;
  utm += "&utm_medium=";
  utm += source.medium;
  utm += "&utm_campaign=";
  utm += source.name;
  campaign_json_ = "{\"source\":\"";
  campaign_json_ += source.source;
  campaign_json_ += "\",\"medium\":\"";
  campaign_json_ += source.medium;
  campaign_json_ += "\",\"name\":\"";
  campaign_json_ += source.name;
  campaign_json_.push_back('"');
  if (source.term != nullptr) {
    campaign_json_ += ",\"term\":\"";
    campaign_json_ += source.term;
    campaign_json_.push_back('"');
    utm += "&utm_term=";
    AppendQueryValue(source.term, &utm);
  }
  if (source.content != nullptr) {
    campaign_json_ += ",\"content\":\"";
    campaign_json_ += source.content;
    campaign_json_.push_back('"');
    utm += "&utm_content=";
    utm += source.content;
  }
  campaign_json_.push_back('}');
  BuildPage(name, path, utm, title, source.referrer);
}

void MessageWriter::BuildPage(const char* name, std::string_view path, std::string_view search,
                              std::string_view title, std::string_view referrer) {
  page_name_ = name;
  page_url_ = kSite;
  page_url_ += path;
  page_url_ += search;
  page_json_ = "{\"path\":\"";
  page_json_ += path;
  page_json_ += "\",\"referrer\":\"";
  page_json_ += referrer;
  page_json_ += "\",\"search\":\"";
  page_json_ += search;
  page_json_ += "\",\"title\":\"";
  page_json_ += title;
  page_json_ += "\",\"url\":\"";
  page_json_ += page_url_;
  page_json_ += "\"}";
}

bool MessageWriter::Page() {
  if (!Begin("page")) return false;
  AppendIds();
  line_ += ",\"name\":\"";
  line_ += page_name_;
  line_ += "\",\"properties\":";
  line_ += page_json_;
  AppendContext(true);
  End();
  ++stats_->page;
  return true;
}

bool MessageWriter::ProductsSearched(std::string_view query) {
  return TrackWithString(EventName::kProductsSearched, "query", query);
}

bool MessageWriter::ProductViewed(const TrafficCatalog::Product& product, int64_t position) {
  if (!BeginTrack(EventName::kProductViewed)) return false;
  AppendProduct(product, /*with_brand=*/true);
  line_ += ",\"currency\":\"";
  line_ += profile_.country->euro ? "EUR" : "USD";
  line_.push_back('"');
  if (position > 0) {
    line_ += ",\"position\":";
    AppendUint(static_cast<uint64_t>(position), &line_);
  }
  EndTrack();
  return true;
}

bool MessageWriter::ProductAdded(std::string_view cart_id, const TrafficCatalog::Product& product,
                                 int quantity) {
  if (!BeginTrack(EventName::kProductAdded)) return false;
  line_ += "\"cart_id\":\"";
  line_ += cart_id;
  line_ += "\",";
  AppendProduct(product, /*with_brand=*/false);
  line_ += ",\"quantity\":";
  AppendUint(static_cast<uint64_t>(quantity), &line_);
  EndTrack();
  return true;
}

bool MessageWriter::CheckoutStarted(std::string_view order_id, int64_t value_cents,
                                    int64_t revenue_cents) {
  if (!BeginTrack(EventName::kCheckoutStarted)) return false;
  line_ += "\"order_id\":\"";
  line_ += order_id;
  line_ += "\",\"value\":";
  AppendMoney(value_cents, &line_);
  line_ += ",\"revenue\":";
  AppendMoney(revenue_cents, &line_);
  line_ += ",\"currency\":\"";
  line_ += profile_.country->euro ? "EUR" : "USD";
  line_.push_back('"');
  EndTrack();
  return true;
}

bool MessageWriter::OrderCompleted(std::string_view order_id, int64_t total_cents,
                                   int64_t revenue_cents, int64_t shipping_cents,
                                   std::span<const CartItem> items, const TrafficCatalog& catalog) {
  if (!BeginTrack(EventName::kOrderCompleted)) return false;
  line_ += "\"order_id\":\"";
  line_ += order_id;
  line_ += "\",\"total\":";
  AppendMoney(total_cents, &line_);
  line_ += ",\"revenue\":";
  AppendMoney(revenue_cents, &line_);
  line_ += ",\"shipping\":";
  AppendMoney(shipping_cents, &line_);
  line_ += ",\"currency\":\"";
  line_ += profile_.country->euro ? "EUR" : "USD";
  line_ += "\",\"products\":[";
  for (size_t i = 0; i < items.size(); ++i) {
    const TrafficCatalog::Product& p = catalog.products[items[i].product];
    if (i > 0) line_.push_back(',');
    line_ += "{\"product_id\":\"";
    line_ += p.id;
    line_ += "\",\"sku\":\"";
    line_ += p.sku;
    line_ += "\",\"name\":\"";
    line_ += p.name;
    line_ += "\",\"category\":\"";
    line_ += kCategories[p.category].slug;
    line_ += "\",\"brand\":\"";
    line_ += p.brand;
    line_ += "\",\"price\":";
    AppendMoney(p.price_cents, &line_);
    line_ += ",\"quantity\":";
    AppendUint(static_cast<uint64_t>(items[i].quantity), &line_);
    line_.push_back('}');
  }
  line_.push_back(']');
  EndTrack();
  return true;
}

bool MessageWriter::NewsletterSubscribed(std::string_view source) {
  if (!BeginTrack(EventName::kNewsletterSubscribed)) return false;
  line_ += "\"list_id\":\"weekly\",\"source\":\"";
  line_ += source;
  line_.push_back('"');
  EndTrack();
  return true;
}

bool MessageWriter::FormSubmitted(std::string_view form_id) {
  return TrackWithString(EventName::kFormSubmitted, "form_id", form_id);
}

bool MessageWriter::WebinarDownloaded(const Webinar& webinar) {
  if (!BeginTrack(EventName::kWebinarDownloaded)) return false;
  line_ += "\"webinar_id\":\"";
  line_ += webinar.id;
  line_ += "\",\"title\":\"";
  line_ += webinar.title;
  line_.push_back('"');
  EndTrack();
  return true;
}

bool MessageWriter::EmailEvent(EventName event, std::string_view campaign_id, bool variant_b) {
  if (!Begin("track")) return false;
  line_ += ",\"userId\":\"";
  line_ += profile_.user_id;
  line_ += "\",\"event\":\"";
  line_ += kTrafficEventNames[static_cast<int>(event)];
  line_ += "\",\"properties\":{\"campaign_id\":\"";
  line_ += campaign_id;
  line_ += "\",\"email_id\":\"";
  line_ += campaign_id;
  line_ += variant_b ? "-b" : "-a";
  line_ += "\",\"subject\":\"";
  line_ += variant_b ? "New this week, picked for you" : "This week at Example Shop";
  line_.push_back('"');
  if (event == EventName::kEmailClicked) {
    line_ += ",\"link_url\":\"";
    line_ += kSite;
    line_ += "/?utm_source=newsletter&utm_medium=email\"";
  }
  line_ += "},\"context\":{\"ip\":\"";
  line_ += profile_.devices[0].ip;
  line_ += "\",\"campaign\":{\"source\":\"newsletter\",\"medium\":\"email\",\"name\":\"";
  line_ += campaign_id;
  line_ += "\"}}";
  End();
  ++stats_->track;
  ++stats_->events[static_cast<int>(event)];
  return true;
}

bool MessageWriter::IdentifyProfile(std::string_view card_expiry) {
  if (!Begin("identify")) return false;
  AppendIds();
  line_ += ",\"traits\":{\"email\":\"";
  line_ += profile_.email;
  line_ += "\",\"first_name\":\"";
  line_ += profile_.first->name;
  line_ += "\",\"last_name\":\"";
  line_ += profile_.last->name;
  line_ += "\",\"age\":";
  AppendUint(static_cast<uint64_t>(profile_.age), &line_);
  line_ += ",\"gender\":\"";
  line_ += profile_.gender;
  line_ += "\",\"country\":\"";
  line_ += profile_.country->code;
  line_ += "\",\"city\":\"";
  line_ += profile_.city;
  line_ += "\",\"job_title\":\"";
  line_ += profile_.job_title;
  line_.push_back('"');
  if (!card_expiry.empty()) {
    line_ += ",\"card_expiry\":\"";
    line_ += card_expiry;
    line_.push_back('"');
  }
  line_ += ",\"created_at\":\"";
  AppendTimestamp(now_ms_, &line_);
  line_ += "\",\"plan\":\"";
  line_ += profile_.plan;
  line_ += "\",\"newsletter\":";
  line_ += profile_.newsletter ? "true" : "false";
  line_.push_back('}');
  AppendContext(true);
  End();
  ++stats_->identify;
  return true;
}

bool MessageWriter::IdentifyTrait(std::string_view name, std::string_view value) {
  if (!Begin("identify")) return false;
  AppendIds();
  line_ += ",\"traits\":{\"";
  line_ += name;
  line_ += "\":\"";
  line_ += value;
  line_ += "\"}";
  AppendContext(true);
  End();
  ++stats_->identify;
  return true;
}

bool MessageWriter::Group(const AccountProfile& account) {
  if (!Begin("group")) return false;
  AppendIds();
  line_ += ",\"groupId\":\"";
  line_ += account.group_id;
  line_ += "\",\"traits\":{\"name\":\"";
  line_ += account.prefix;
  line_.push_back(' ');
  line_ += account.suffix;
  line_ += "\",\"industry\":\"";
  line_ += account.industry;
  line_ += "\",\"employees\":";
  AppendUint(static_cast<uint64_t>(account.employees), &line_);
  line_ += ",\"plan\":\"";
  line_ += account.plan;
  line_ += "\",\"country\":\"";
  line_ += account.country->code;
  line_ += "\",\"website\":\"https://";
  AppendAccountDomain(account, &line_);
  line_ += "\"}";
  AppendContext(true);
  End();
  ++stats_->group;
  return true;
}

bool MessageWriter::Alias(std::string_view previous_id) {
  if (!Begin("alias")) return false;
  line_ += ",\"previousId\":\"";
  line_ += previous_id;
  line_ += "\",\"userId\":\"";
  line_ += profile_.user_id;
  line_.push_back('"');
  AppendContext(false);
  End();
  ++stats_->alias;
  return true;
}

bool MessageWriter::Begin(std::string_view type) {
  if (stopped_ || now_ms_ >= end_ms_) {
    stopped_ = true;
    return false;
  }
  line_.clear();
  line_ += "{\"type\":\"";
  line_ += type;
  line_ += "\",\"messageId\":\"";
  const uint64_t seq = message_seq_++;
  const uint64_t hi = Mix64(contact_key_ + seq * kGolden);
  AppendUuid(hi, Mix64(hi ^ seed_key_ ^ (seq << 1 | 1)), &line_);
  line_ += "\",\"timestamp\":\"";
  AppendTimestamp(now_ms_, &line_);
  line_.push_back('"');
  return true;
}

void MessageWriter::AppendIds() {
  line_ += ",\"anonymousId\":\"";
  line_ += device_->anonymous_id;
  line_.push_back('"');
  if (with_user_id_) {
    line_ += ",\"userId\":\"";
    line_ += profile_.user_id;
    line_.push_back('"');
  } else {
    device_->used_anonymously = true;
  }
}

bool MessageWriter::BeginTrack(EventName event) {
  if (!Begin("track")) return false;
  AppendIds();
  line_ += ",\"event\":\"";
  line_ += kTrafficEventNames[static_cast<int>(event)];
  line_ += "\",\"properties\":{";
  ++stats_->track;
  ++stats_->events[static_cast<int>(event)];
  return true;
}

bool MessageWriter::TrackWithString(EventName event, std::string_view key, std::string_view value) {
  if (!BeginTrack(event)) return false;
  line_.push_back('"');
  line_ += key;
  line_ += "\":\"";
  line_ += value;
  line_.push_back('"');
  EndTrack();
  return true;
}

void MessageWriter::AppendProduct(const TrafficCatalog::Product& product, bool with_brand) {
  line_ += "\"product_id\":\"";
  line_ += product.id;
  line_ += "\",\"sku\":\"";
  line_ += product.sku;
  line_ += "\",\"category\":\"";
  line_ += kCategories[product.category].slug;
  line_ += "\",\"name\":\"";
  line_ += product.name;
  if (with_brand) {
    line_ += "\",\"brand\":\"";
    line_ += product.brand;
  }
  line_ += "\",\"price\":";
  AppendMoney(product.price_cents, &line_);
}

void MessageWriter::EndTrack() {
  line_.push_back('}');
  AppendContext(true);
  End();
}

void MessageWriter::AppendContext(bool with_page) {
  line_ += ",\"context\":{";
  if (with_page) {
    line_ += "\"page\":";
    line_ += page_json_;
    line_.push_back(',');
  }
  line_ += "\"userAgent\":\"";
  line_ += device_->user_agent;
  line_ += "\",\"ip\":\"";
  line_ += device_->ip;
  line_ += "\",\"locale\":\"";
  line_ += profile_.country->locale;
  line_ += "\",\"timezone\":\"";
  line_ += profile_.country->timezone;
  line_.push_back('"');
  if (with_page && !campaign_json_.empty()) {
    line_ += ",\"campaign\":";
    line_ += campaign_json_;
  }
  line_ += ",\"library\":{\"name\":\"analytics.js\",\"version\":\"next-1.72.0\"}}";
}

void MessageWriter::End() {
  line_.push_back('}');
  sink_(line_);
  ++stats_->messages;
  stats_->bytes += line_.size() + 1;
}

}  // namespace segmenta::traffic
