// Synthetic e-commerce traffic as Segment JSONL, for demos, tests and benchmarks.
//
// Output is a pure function of (contacts, seed, end, days): the generator uses its own PRNG
// (xoshiro256**) and integer-only distributions, so the same options give the same bytes on
// any machine and compiler (std:: distributions and libm differ between platforms).
//
// The traffic is skewed like a real shop's: most contacts come once or twice and never add
// to cart, about 45% identify, about 3-4% order (some repeatedly), carts are abandoned,
// returning visitors switch devices and clear cookies, a share of identified contacts
// belong to B2B accounts (shared by several contacts), and a few aliases link old devices.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace segmenta {

struct TrafficOptions {
  // Contacts (people) to simulate. Default: 1,000.
  uint64_t contacts = 1000;
  // Seed of every random choice. Default: 1.
  uint64_t seed = 1;
  // End of the simulated window (exclusive); every timestamp is before it.
  // Default: 2026-11-01T00:00:00Z, fixed so that output does not depend on today.
  absl::Time end = absl::FromUnixSeconds(1793491200);
  // Length of the window, in days, ending at `end`. Default: 90.
  int days = 90;
};

// The track event names the generator writes, from Segment's e-commerce spec plus the
// marketing events of DESIGN.md. Nothing else appears in "event".
inline constexpr std::array<std::string_view, 10> kTrafficEventNames = {
    "Products Searched", "Product Viewed",        "Product Added",  "Checkout Started",
    "Order Completed",   "Newsletter Subscribed", "Form Submitted", "Webinar Downloaded",
    "Email Opened",      "Email Clicked"};

// Counts of what was generated.
struct TrafficStats {
  uint64_t contacts = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;  // JSONL bytes, newlines included
  // Messages per type.
  uint64_t identify = 0;
  uint64_t track = 0;
  uint64_t page = 0;
  uint64_t group = 0;
  uint64_t alias = 0;
  // Track events per name, indexed like kTrafficEventNames.
  std::array<uint64_t, kTrafficEventNames.size()> events{};
  // Contacts that sent an identify (a userId), and that completed at least one order.
  uint64_t identified_contacts = 0;
  uint64_t ordering_contacts = 0;
  // Contacts that sent at least one group call.
  uint64_t b2b_contacts = 0;

  void Add(const TrafficStats& other);
};

// Called with one message as a JSON line, without its newline. The view is valid only
// during the call.
using TrafficSink = std::function<void(std::string_view line)>;

// The product catalog (internal; the same for every seed).
struct TrafficCatalog;

// Generates the traffic. Immutable after construction: the Generate* methods are const and
// may run concurrently (e.g. a benchmark generating disjoint contact ranges on threads).
class TrafficGenerator {
 public:
  explicit TrafficGenerator(TrafficOptions options);
  ~TrafficGenerator();

  // Writes every contact's messages to `sink`, contact after contact; a contact's messages
  // are in time order, the stream as a whole is not. Returns the counts.
  TrafficStats Generate(const TrafficSink& sink) const;

  // Generate() as JSONL (one message and '\n' per line) to `out`, written in large blocks.
  // Errors: Internal when a write fails (disk full, closed pipe). `stats` may be null.
  absl::Status WriteTo(std::FILE* out, TrafficStats* stats) const;
  absl::Status WriteTo(std::ostream& out, TrafficStats* stats) const;

  // The messages of contact `index` (< options().contacts) alone, added to `stats` when
  // not null. The same bytes Generate() writes for that contact.
  void GenerateContact(uint64_t index, const TrafficSink& sink, TrafficStats* stats) const;

  const TrafficOptions& options() const { return options_; }

 private:
  TrafficOptions options_;
  std::unique_ptr<const TrafficCatalog> catalog_;
};

// Pulls the generated lines one at a time, for consumers that pull (the HTTP loader).
// Buffers one contact's messages at a time. Not thread-safe.
class TrafficCursor {
 public:
  // `generator` must outlive the cursor.
  explicit TrafficCursor(const TrafficGenerator* generator);

  // Sets *line to the next message (no newline); false after the last one.
  bool Next(std::string* line);

  // Counts of the contacts generated so far.
  const TrafficStats& stats() const { return stats_; }

 private:
  const TrafficGenerator* generator_;
  uint64_t next_contact_ = 0;
  std::vector<std::string> pending_;
  size_t pending_pos_ = 0;
  TrafficStats stats_;
};

}  // namespace segmenta
