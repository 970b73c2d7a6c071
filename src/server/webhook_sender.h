// Delivers the enters and exits of contact groups, personas and lifecycle stages to their
// webhooks, from the durable outbox (segments/membership_log.h): each event is POSTed as
// JSON, signed with the webhook's secret, retried with exponential backoff until the
// receiver answers 2xx, in order per webhook. A webhook's position in the outbox is stored
// after each delivery, so a restart neither loses nor skips an event (an event may be
// delivered twice if the process dies between the delivery and the write: receivers
// deduplicate on X-Segmenta-Delivery).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "store/store.h"

namespace segmenta {

struct WebhookSenderOptions {
  // First wait after a failed delivery; doubled after each failure. Default: 1 s.
  absl::Duration first_backoff = absl::Seconds(1);
  // Longest wait between attempts. Default: 5 minutes.
  absl::Duration max_backoff = absl::Minutes(5);
  // How often the outbox is read when nothing signals new events. Default: 250 ms.
  absl::Duration poll = absl::Milliseconds(250);
};

// The signature header's value for `body` sent at `unix_seconds`:
// "t=UNIX,v1=HEX(HMAC-SHA256(secret, UNIX + "." + body))". Thread-safe.
std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body);

// Runs one thread. `store` and `engine` must outlive it.
class WebhookSender {
 public:
  WebhookSender(Store* store, const AudienceEngine* engine, WebhookSenderOptions options = {});
  // Stops the thread (a delivery in progress completes or times out first).
  ~WebhookSender();

  // Deliveries made (2xx) and failed attempts so far. Thread-safe.
  uint64_t delivered() const { return delivered_.load(); }
  uint64_t failed_attempts() const { return failed_.load(); }

 private:
  struct Hook {
    uint64_t cursor = 0;  // last delivered outbox seq
    absl::Time retry_at = absl::InfinitePast();
    absl::Duration backoff = absl::ZeroDuration();
  };
  void Loop();
  // Delivers what is due; returns when nothing more can be done now.
  void Pass();
  std::string Enrich(std::string_view event);

  Store* store_;
  const AudienceEngine* engine_;
  ContactReader reader_;
  WebhookSenderOptions options_;
  absl::flat_hash_map<std::string, Hook> hooks_;  // by "groupId|url"
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failed_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace segmenta
