#include "gen/contact_sim.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "gen/acquisition.h"
#include "gen/contact_profile.h"
#include "gen/json_text.h"
#include "gen/message_writer.h"
#include "gen/random.h"
#include "gen/vocabulary.h"

namespace segmenta::traffic {
namespace {

constexpr int64_t kDayMs = 86400000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

class ContactSim {
 public:
  ContactSim(const TrafficOptions& options, const TrafficCatalog& catalog, uint64_t index,
             const TrafficSink& sink, TrafficStats* stats)
      : catalog_(catalog),
        stats_(stats),
        seed_key_(Mix64(options.seed * kGolden + 0x5E6D3A7AULL)),
        contact_key_(Mix64(seed_key_ ^ Mix64(index + 1))),
        rng_(contact_key_),
        end_ms_(absl::ToUnixMillis(options.end)),
        start_ms_(end_ms_ - static_cast<int64_t>(std::max(options.days, 1)) * kDayMs),
        profile_(DrawContactProfile(rng_, seed_key_, index, options.contacts)),
        writer_(profile_, seed_key_, contact_key_, end_ms_, sink, stats) {
    if (profile_.has_card) {
      const absl::CivilMonth expiry =
          absl::ToCivilMonth(options.end, absl::UTCTimeZone()) + profile_.card_months_ahead;
      AppendPadded(static_cast<uint64_t>(expiry.year()), 4, &card_expiry_);
      card_expiry_.push_back('-');
      AppendPadded(static_cast<uint64_t>(expiry.month()), 2, &card_expiry_);
    }
  }

  void Run();

 private:
  // Sessions.
  void PlanSessions();
  void RunSession(size_t s);
  void EmailsUntil(int64_t until_ms);

  // Pages and events.
  void Land(const char* name, std::string_view path, std::string_view title);
  void EmitPage();
  int PickProduct();
  void ViewProduct(int product, bool from_search);
  void AddToCart(int product);
  void Search();
  void ContentPage();
  void Checkout(bool complete);
  void Identify(const char* trigger);
  void LoginIdentify();
  void UpgradePlan();
  void Group(size_t account);
  void Alias(const std::string& previous_id);

  const TrafficCatalog& catalog_;
  TrafficStats* stats_;
  const uint64_t seed_key_;     // the run's: every contact's draws and ids derive from it
  const uint64_t contact_key_;  // this contact's
  Rng rng_;
  const int64_t end_ms_;
  const int64_t start_ms_;
  ContactProfile profile_;
  std::string card_expiry_;  // "2028-06", or "" without a card
  MessageWriter writer_;

  // Plan.
  std::vector<int64_t> session_starts_;
  size_t identify_session_ = SIZE_MAX;
  std::vector<bool> order_sessions_;

  // State.
  bool identified_ = false;
  bool ordered_ = false;
  size_t groups_sent_ = 0;  // accounts joined so far
  int64_t subscribed_at_ms_ = -1;
  int64_t next_campaign_ = 0;
  std::vector<CartItem> cart_;
  std::string cart_id_;
};

void ContactSim::Run() {
  PlanSessions();
  for (size_t s = 0; s < session_starts_.size() && !writer_.stopped(); ++s) RunSession(s);
  if (!writer_.stopped()) EmailsUntil(end_ms_);
  ++stats_->contacts;
}

void ContactSim::PlanSessions() {
  size_t n = rng_.Pick(kSessionCounts);
  if (n == 11) n = static_cast<size_t>(rng_.Between(11, 40));
  int64_t window = end_ms_ - start_ms_;
  int64_t first = start_ms_ + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(window)));
  session_starts_.clear();
  for (size_t i = 0; i < n; ++i) {
    int64_t t =
        i == 0 ? first
               : first + static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(end_ms_ - first)));
    // Keep the day, redraw the hour from the daily traffic curve.
    int64_t day = FloorDiv(t, kDayMs) * kDayMs;
    t = day + static_cast<int64_t>(rng_.Pick(kHourWeights)) * 3600000 +
        static_cast<int64_t>(rng_.Below(3600000));
    t = std::clamp(t, start_ms_, end_ms_ - 1);
    session_starts_.push_back(t);
  }
  std::sort(session_starts_.begin(), session_starts_.end());

  order_sessions_.assign(n, false);
  size_t first_order = SIZE_MAX;
  // About 8% of the contacts that identify order (3-4% of all), some repeatedly.
  if (profile_.will_identify && rng_.Chance(80)) {
    size_t orders = rng_.Pick(std::array<uint32_t, 4>{0, 700, 180, 120});
    if (orders == 3) orders = static_cast<size_t>(rng_.Between(3, 5));
    for (size_t i = 0; i < orders; ++i) {
      size_t s = n - 1 - std::min(rng_.Below(n), rng_.Below(n));  // later sessions likelier
      order_sessions_[s] = true;
      first_order = std::min(first_order, s);
    }
  }
  if (profile_.will_identify) {
    size_t s = std::min(rng_.Below(n), rng_.Below(n));  // earlier sessions likelier
    identify_session_ = std::min(s, first_order);
  }
}

void ContactSim::RunSession(size_t s) {
  EmailsUntil(session_starts_[s]);
  writer_.set_now(std::max(session_starts_[s], writer_.now() + 60000));
  if (writer_.now() >= end_ms_) {
    writer_.Stop();
    return;
  }
  // Device: mostly the main one; now and then a new one or cleared cookies.
  std::vector<Device>& devices = profile_.devices;
  Device* device = &devices[0];
  if (devices.size() > 1 && rng_.Chance(300)) device = &devices[1 + rng_.Below(devices.size() - 1)];
  if (s > 0 && rng_.Chance(80)) {
    device->old_anonymous_id = device->used_anonymously ? device->anonymous_id : "";
    device->anonymous_id = NewAnonymousId(rng_);
    device->logged_in = false;
    device->used_anonymously = false;
  }
  writer_.UseDevice(device, identified_ && device->logged_in);
  cart_.clear();
  cart_id_.clear();

  bool must_identify = !identified_ && s == identify_session_;
  bool order = order_sessions_[s] && (identified_ || must_identify);

  // Landing page.
  size_t landing = rng_.Pick(std::array<uint32_t, 4>{45, 30, 15, 10});
  if (landing == 1) {
    const auto& p = catalog_.products[PickProduct()];
    Land("Product", "/products/" + p.slug, p.name);
  } else if (landing == 2) {
    const Category& cat = kCategories[profile_.favorite_category];
    Land("Category", std::string("/category/") + cat.slug, cat.title);
  } else if (landing == 3) {
    const Post& post = kBlogPosts[rng_.Below(kBlogPosts.size())];
    Land("Blog", std::string("/blog/") + post.slug, post.title);
  } else {
    Land("Home", "/", "Example Shop");
  }
  EmitPage();
  if (writer_.stopped()) return;

  // A returning known visitor on a device that is not signed in: signs in, or not.
  if (identified_ && !device->logged_in && rng_.Chance(450)) LoginIdentify();

  bool bounce = !must_identify && !order && rng_.Chance(380);
  size_t steps = bounce ? 0 : rng_.Pick(kStepCounts);
  if (order) steps = std::max<size_t>(steps, 2);
  size_t identify_at = must_identify ? rng_.Below(steps + 1) : SIZE_MAX;
  bool wants_product = order;
  uint32_t add_chance = order ? 350 : (profile_.researcher ? 40 : 90);

  for (size_t step = 0; step <= steps && !writer_.stopped(); ++step) {
    if (step == identify_at) {
      const char* trigger = profile_.newsletter && rng_.Chance(600) ? "newsletter"
                            : rng_.Chance(200)                      ? "form"
                                                                    : "signup";
      Identify(trigger);
      if (std::strcmp(trigger, "form") == 0 && !writer_.stopped()) {
        writer_.Advance(rng_.ExpMs(3000));
        if (!writer_.FormSubmitted("contact")) return;
      }
      if (profile_.b2b && groups_sent_ == 0) Group(profile_.accounts[0]);
    }
    if (step == steps) break;
    uint32_t kind =
        static_cast<uint32_t>(rng_.Pick(profile_.researcher ? std::array<uint32_t, 3>{40, 12, 48}
                                                            : std::array<uint32_t, 3>{62, 16, 22}));
    if (wants_product) kind = 0;
    if (kind == 0) {
      int product = PickProduct();
      ViewProduct(product, false);
      if (rng_.Chance(add_chance) || wants_product) {
        AddToCart(product);
        wants_product = false;
      }
    } else if (kind == 1) {
      Search();
      if (rng_.Chance(700)) {
        int product = PickProduct();
        ViewProduct(product, true);
        if (rng_.Chance(add_chance)) AddToCart(product);
      }
    } else {
      ContentPage();
    }
  }
  if (writer_.stopped()) return;

  if (!cart_.empty()) {
    if (order) {
      writer_.SetPage("Cart", "/cart", "", "Your cart");
      EmitPage();
      Checkout(true);
    } else if (rng_.Chance(300)) {
      writer_.SetPage("Cart", "/cart", "", "Your cart");
      EmitPage();
      if (rng_.Chance(400)) Checkout(false);  // abandoned checkout
    }
  }
  if (writer_.stopped()) return;

  if (identified_ && writer_.with_user_id()) {
    // A contact in a second account joins it later.
    if (groups_sent_ > 0 && groups_sent_ < profile_.accounts.size() && rng_.Chance(500)) {
      Group(profile_.accounts[groups_sent_]);
    }
    if (profile_.plans_upgrade && s > identify_session_ && rng_.Chance(300)) {
      UpgradePlan();
      profile_.plans_upgrade = false;
    }
  }
  // An app linking an earlier anonymous visitor to the known user.
  if (identified_ && profile_.plans_alias && !writer_.stopped()) {
    const std::string* previous = nullptr;
    if (!device->logged_in && device->used_anonymously) {
      previous = &device->anonymous_id;
    } else if (!device->old_anonymous_id.empty()) {
      previous = &device->old_anonymous_id;
    }
    if (previous != nullptr) {
      Alias(*previous);
      profile_.plans_alias = false;
      if (previous == &device->anonymous_id) device->logged_in = true;
      device->old_anonymous_id.clear();
    }
  }
}

// E-mail campaigns (weekly newsletter) sent before `until_ms`: opens and clicks.
void ContactSim::EmailsUntil(int64_t until_ms) {
  if (subscribed_at_ms_ < 0) return;
  constexpr int64_t kWeek = 7 * kDayMs;
  // Campaigns go out on a fixed weekly schedule at 08:00 UTC, the same for every contact.
  int64_t first_send = (FloorDiv(start_ms_, kWeek) + 1) * kWeek + 8 * 3600000LL;
  for (;; ++next_campaign_) {
    int64_t send = first_send + next_campaign_ * kWeek;
    if (send >= until_ms || send >= end_ms_) break;
    if (send < subscribed_at_ms_) continue;
    if (!rng_.Chance(260)) continue;  // not opened
    int64_t week = FloorDiv(send, kWeek);
    std::string campaign_id = "nl-";
    AppendUint(static_cast<uint64_t>(week), &campaign_id);
    bool variant_b = rng_.Chance(500);
    writer_.set_now(std::max(writer_.now() + 1000, send + rng_.ExpMs(5 * 3600000LL)));
    if (!writer_.EmailEvent(EventName::kEmailOpened, campaign_id, variant_b)) return;
    if (!rng_.Chance(280)) continue;
    writer_.Advance(rng_.ExpMs(40000));
    if (!writer_.EmailEvent(EventName::kEmailClicked, campaign_id, variant_b)) return;
  }
}

void ContactSim::Land(const char* name, std::string_view path, std::string_view title) {
  writer_.SetLandingPage(
      name, path, title,
      DrawAcquisition(rng_, kCategories[profile_.favorite_category], subscribed_at_ms_ >= 0));
}

void ContactSim::EmitPage() {
  writer_.Advance(rng_.ExpMs(35000));
  writer_.Page();
}

int ContactSim::PickProduct() {
  int category = profile_.favorite_category;
  if (!rng_.Chance(650)) {
    std::array<uint32_t, kCategories.size()> weights{};
    for (size_t i = 0; i < kCategories.size(); ++i) weights[i] = kCategories[i].weight;
    category = static_cast<int>(rng_.Pick(weights));
  }
  constexpr uint64_t k = TrafficCatalog::kPerCategory;
  // Popular products first (triangular).
  return category * static_cast<int>(k) + static_cast<int>(std::min(rng_.Below(k), rng_.Below(k)));
}

void ContactSim::ViewProduct(int product, bool from_search) {
  const auto& p = catalog_.products[product];
  writer_.SetPage("Product", "/products/" + p.slug, "", p.name);
  EmitPage();
  writer_.Advance(rng_.ExpMs(3000));
  // (A draw made when the writer then refuses the event changes nothing: it writes no more.)
  writer_.ProductViewed(p, from_search ? rng_.Between(1, 12) : 0);
}

void ContactSim::AddToCart(int product) {
  if (cart_id_.empty()) {
    cart_id_ = "cart_";
    AppendHex(rng_.Next(), 16, &cart_id_);
  }
  int quantity = static_cast<int>(rng_.Pick(std::array<uint32_t, 4>{0, 80, 15, 5}));
  cart_.push_back({product, quantity});
  writer_.Advance(rng_.ExpMs(12000));
  writer_.ProductAdded(cart_id_, catalog_.products[product], quantity);
}

void ContactSim::Search() {
  int category = rng_.Chance(700) ? profile_.favorite_category
                                  : static_cast<int>(rng_.Below(kCategories.size()));
  const char* query = kCategories[category].queries[rng_.Below(5)];
  std::string search = "?q=";
  AppendQueryValue(query, &search);
  writer_.SetPage("Search", "/search", search, std::string("Search: ") + query);
  EmitPage();
  writer_.Advance(rng_.ExpMs(1500));
  writer_.ProductsSearched(query);
}

void ContactSim::ContentPage() {
  std::array<uint32_t, 6> weights = {40, 15, 12, 12, 8, 13};
  if (profile_.researcher) weights = {15, 20, 25, 20, 10, 10};
  switch (rng_.Pick(weights)) {
    case 0: {  // blog
      const Post& post = kBlogPosts[rng_.Below(kBlogPosts.size())];
      writer_.SetPage("Blog", std::string("/blog/") + post.slug, "", post.title);
      EmitPage();
      break;
    }
    case 1:
      writer_.SetPage("Pricing", "/pricing", "", "Membership plans");
      EmitPage();
      break;
    case 2:
      writer_.SetPage("Partners", "/partners", "", "Partners");
      EmitPage();
      if (rng_.Chance(450)) {
        writer_.SetPage("Partner Program", "/partners/program", "", "Partner program");
        EmitPage();
        if (rng_.Chance(profile_.researcher ? 250 : 60)) {
          writer_.Advance(rng_.ExpMs(90000));
          writer_.FormSubmitted("partner-application");
        }
      }
      break;
    case 3: {
      const Webinar& w = kWebinars[rng_.Below(kWebinars.size())];
      writer_.SetPage("Webinar", std::string("/webinars/") + w.slug, "", w.title);
      EmitPage();
      if (rng_.Chance(profile_.researcher ? 350 : 120)) {
        writer_.Advance(rng_.ExpMs(40000));
        writer_.WebinarDownloaded(w);
      }
      break;
    }
    case 4:
      writer_.SetPage("Contact", "/contact", "", "Contact us");
      EmitPage();
      if (rng_.Chance(200)) {
        writer_.Advance(rng_.ExpMs(120000));
        const bool quote = rng_.Chance(profile_.researcher ? 600 : 100);
        writer_.FormSubmitted(quote ? "quote-request" : "contact");
      }
      break;
    default: {
      const Category& cat = kCategories[rng_.Chance(600) ? profile_.favorite_category
                                                         : rng_.Below(kCategories.size())];
      writer_.SetPage("Category", std::string("/category/") + cat.slug, "", cat.title);
      EmitPage();
      break;
    }
  }
}

void ContactSim::Checkout(bool complete) {
  if (cart_.empty()) return;
  int64_t subtotal = 0;
  for (const CartItem& item : cart_) {
    subtotal += catalog_.products[item.product].price_cents * item.quantity;
  }
  int64_t shipping = subtotal >= 5000 ? 0 : 495;
  std::string order_id = "ord_";
  AppendHex(rng_.Next(), 12, &order_id);

  writer_.SetPage("Checkout", "/checkout", "", "Checkout");
  EmitPage();
  if (!writer_.with_user_id() && complete) LoginIdentify();  // sign in to pay
  writer_.Advance(rng_.ExpMs(5000));
  if (!writer_.CheckoutStarted(order_id, subtotal + shipping, subtotal)) return;
  if (!complete) return;

  writer_.Advance(rng_.ExpMs(120000));
  writer_.SetPage("Order Confirmation", "/checkout/confirmation", "", "Thank you for your order");
  EmitPage();
  writer_.Advance(rng_.ExpMs(800));
  if (!writer_.OrderCompleted(order_id, subtotal + shipping, subtotal, shipping, cart_, catalog_)) {
    return;
  }
  if (!ordered_) {
    ordered_ = true;
    ++stats_->ordering_contacts;
  }
  cart_.clear();
  cart_id_.clear();
}

void ContactSim::Identify(const char* trigger) {
  // The page that makes a visitor known: sign-up, newsletter form, contact form.
  if (std::strcmp(trigger, "newsletter") == 0) {
    writer_.SetPage("Newsletter", "/newsletter", "", "Newsletter");
  } else if (std::strcmp(trigger, "form") == 0) {
    writer_.SetPage("Contact", "/contact", "", "Contact us");
  } else {
    writer_.SetPage("Sign Up", "/account/signup", "", "Create your account");
  }
  EmitPage();
  writer_.Advance(rng_.ExpMs(40000));
  writer_.SignIn();
  if (!writer_.IdentifyProfile(card_expiry_)) return;
  if (!identified_) {
    identified_ = true;
    ++stats_->identified_contacts;
  }
  if (profile_.newsletter && subscribed_at_ms_ < 0) {
    writer_.Advance(rng_.ExpMs(2000));
    if (!writer_.NewsletterSubscribed(trigger)) return;
    subscribed_at_ms_ = writer_.now();
    // First campaign sent after subscribing.
    next_campaign_ = std::max<int64_t>(next_campaign_, 0);
  }
}

// A known contact signing in on this device: identify with the userId and the device's
// anonymousId, which links the device to the contact.
void ContactSim::LoginIdentify() {
  writer_.SetPage("Login", "/account/login", "", "Sign in");
  EmitPage();
  writer_.Advance(rng_.ExpMs(15000));
  writer_.SignIn();
  writer_.IdentifyTrait("email", profile_.email);
}

void ContactSim::UpgradePlan() {
  writer_.Advance(rng_.ExpMs(60000));
  writer_.SetPage("Pricing", "/pricing", "", "Membership plans");
  EmitPage();
  profile_.plan = std::strcmp(profile_.plan, "free") == 0 ? "plus" : "premium";
  writer_.Advance(rng_.ExpMs(30000));
  writer_.IdentifyTrait("plan", profile_.plan);
}

void ContactSim::Group(size_t account) {
  writer_.Advance(rng_.ExpMs(20000));
  if (!writer_.Group(DrawAccount(seed_key_, account))) return;
  if (groups_sent_++ == 0) ++stats_->b2b_contacts;
}

void ContactSim::Alias(const std::string& previous_id) {
  writer_.Advance(rng_.ExpMs(5000));
  writer_.Alias(previous_id);
}

}  // namespace

void SimulateContact(const TrafficOptions& options, const TrafficCatalog& catalog, uint64_t index,
                     const TrafficSink& sink, TrafficStats* stats) {
  ContactSim(options, catalog, index, sink, stats).Run();
}

}  // namespace segmenta::traffic
