// Writes one contact's Segment messages (page, track, identify, group, alias) as JSON
// lines, in time order, with the context of the device and page they come from. What the
// messages say is decided by ContactSim; how they are written is here. Internal to
// src/gen.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "gen/acquisition.h"
#include "gen/catalog.h"
#include "gen/contact_profile.h"
#include "gen/traffic.h"
#include "gen/vocabulary.h"

namespace segmenta::traffic {

// A line of the cart: a product of the catalog and how many.
struct CartItem {
  int product;  // index into TrafficCatalog::products
  int quantity;
};

// Writes the messages of one contact to a sink, counting them in `stats`. Keeps the
// contact's clock: each message is stamped with now(), and none is written at or after the
// end of the window; the first one refused stops the writer for good, so that a contact's
// history is cut at the end, never thinned out. Not thread-safe (one per contact).
//
// 25 public methods, more than 15 because they are the vocabulary ContactSim writes a visit
// in: one per kind of message the simulated shop sends (14), and the contact's clock,
// device and page they are sent from (11).
class MessageWriter {
 public:
  // `profile`, `sink` and `stats` must outlive the writer. `seed_key` and `contact_key`
  // derive the message ids; `end_ms` is the end of the window (exclusive).
  MessageWriter(const ContactProfile& profile, uint64_t seed_key, uint64_t contact_key,
                int64_t end_ms, const TrafficSink& sink, TrafficStats* stats);

  // The contact's clock, in milliseconds since the epoch.
  int64_t now() const { return now_ms_; }
  void Advance(int64_t gap_ms) { now_ms_ += gap_ms; }
  void set_now(int64_t ms) { now_ms_ = ms; }
  // True once a message was refused at the end of the window, or after Stop(): nothing
  // more is written.
  bool stopped() const { return stopped_; }
  void Stop() { stopped_ = true; }

  // The device the web messages (all but e-mail events and aliases) come from, and whether
  // they carry the userId; `device` must outlive its use.
  void UseDevice(Device* device, bool with_user_id);
  Device& device() { return *device_; }
  bool with_user_id() const { return with_user_id_; }
  // The contact signs in on the device: its messages carry the userId from now on.
  void SignIn();

  // The page the next web messages are sent from (their context.page): a page inside the
  // session, whose referrer is the page before it.
  void SetPage(const char* name, std::string_view path, std::string_view search,
               std::string_view title);
  // The session's first page, reached from `source` (the referrer, and the campaign's UTM
  // parameters added to the URL and written as context.campaign).
  void SetLandingPage(const char* name, std::string_view path, std::string_view title,
                      const Acquisition& source);

  // The messages. Each one writes one line and returns true; or returns false, writing
  // nothing, once stopped() or when now() is at or after the end of the window (which
  // stops the writer).

  // A page call for the current page.
  bool Page();
  // Track events with Segment's e-commerce properties. `position` is the product's rank
  // in search results, 0 when it was not found by a search.
  bool ProductsSearched(std::string_view query);
  bool ProductViewed(const TrafficCatalog::Product& product, int64_t position);
  bool ProductAdded(std::string_view cart_id, const TrafficCatalog::Product& product, int quantity);
  bool CheckoutStarted(std::string_view order_id, int64_t value_cents, int64_t revenue_cents);
  bool OrderCompleted(std::string_view order_id, int64_t total_cents, int64_t revenue_cents,
                      int64_t shipping_cents, std::span<const CartItem> items,
                      const TrafficCatalog& catalog);
  // Marketing events.
  bool NewsletterSubscribed(std::string_view source);
  bool FormSubmitted(std::string_view form_id);
  bool WebinarDownloaded(const Webinar& webinar);
  // "Email Opened" or "Email Clicked" of a newsletter campaign: sent by the e-mail
  // platform, so with the userId only and no page.
  bool EmailEvent(EventName event, std::string_view campaign_id, bool variant_b);
  // An identify with every trait of the profile, `card_expiry` ("2028-06") when not empty,
  // and created_at = now().
  bool IdentifyProfile(std::string_view card_expiry);
  // An identify with one string trait.
  bool IdentifyTrait(std::string_view name, std::string_view value);
  // A group call joining `account`.
  bool Group(const AccountProfile& account);
  // An alias of `previous_id` to the userId (an app's call: no page).
  bool Alias(std::string_view previous_id);

 private:
  // Sets the current page and its JSON.
  void BuildPage(const char* name, std::string_view path, std::string_view search,
                 std::string_view title, std::string_view referrer);
  // Starts a message of `type` (type, messageId, timestamp); false when refused.
  bool Begin(std::string_view type);
  // anonymousId and, when signed in, userId.
  void AppendIds();
  // Begin() of a web track event, up to its open properties object.
  bool BeginTrack(EventName event);
  // A track event whose one property is the string `key`: `value`.
  bool TrackWithString(EventName event, std::string_view key, std::string_view value);
  // The product's properties, id to price (no separator before).
  void AppendProduct(const TrafficCatalog::Product& product, bool with_brand);
  // Closes the properties and writes the context and the line.
  void EndTrack();
  void AppendContext(bool with_page);
  // Closes the message and hands the line to the sink.
  void End();

  const ContactProfile& profile_;
  const uint64_t seed_key_;
  const uint64_t contact_key_;
  const int64_t end_ms_;
  const TrafficSink& sink_;
  TrafficStats* stats_;

  int64_t now_ms_ = 0;
  bool stopped_ = false;
  uint64_t message_seq_ = 0;
  Device* device_ = nullptr;
  bool with_user_id_ = false;

  // The current page and its cached JSON; the landing page's campaign, "" elsewhere.
  std::string page_url_;
  const char* page_name_ = "";
  std::string page_json_;
  std::string campaign_json_;
  std::string line_;
};

}  // namespace segmenta::traffic
