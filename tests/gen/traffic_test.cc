#include "gen/traffic.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "core/time_format.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace segmenta {
namespace {

std::string Generate(uint64_t contacts, uint64_t seed, TrafficStats* stats = nullptr) {
  TrafficOptions options;
  options.contacts = contacts;
  options.seed = seed;
  std::ostringstream out;
  EXPECT_TRUE(TrafficGenerator(options).WriteTo(out, stats).ok());
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A fingerprint of the bytes for the cross-machine check (FNV-1a, 64 bits).
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

TEST(TrafficTest, SameSeedGivesIdenticalBytes) {
  std::string a = Generate(500, 42);
  std::string b = Generate(500, 42);
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST(TrafficTest, DifferentSeedGivesDifferentBytes) {
  EXPECT_NE(Generate(200, 1), Generate(200, 2));
}

TEST(TrafficTest, EndMovesEveryTimestamp) {
  TrafficOptions options;
  options.contacts = 50;
  std::ostringstream a, b;
  ASSERT_TRUE(TrafficGenerator(options).WriteTo(a, nullptr).ok());
  options.end = options.end + absl::Hours(24 * 7);
  ASSERT_TRUE(TrafficGenerator(options).WriteTo(b, nullptr).ok());
  EXPECT_NE(a.str(), b.str());
}

// The bytes are a pure function of the options: this fingerprint must hold on every
// machine and compiler. If the generator changes on purpose, update it (and say so).
TEST(TrafficTest, OutputFingerprintIsStable) {
  std::string text = Generate(100, 7);
  EXPECT_EQ(Fnv1a(text), 6550421525474582549ULL)
      << "fingerprint " << Fnv1a(text) << " bytes " << text.size();
}

TEST(TrafficTest, CursorYieldsTheSameLinesAsGenerate) {
  TrafficOptions options;
  options.contacts = 120;
  options.seed = 9;
  TrafficGenerator generator(options);
  std::vector<std::string> pushed;
  TrafficStats stats = generator.Generate([&](std::string_view l) { pushed.emplace_back(l); });
  TrafficCursor cursor(&generator);
  std::vector<std::string> pulled;
  std::string line;
  while (cursor.Next(&line)) pulled.push_back(line);
  EXPECT_EQ(pushed, pulled);
  EXPECT_EQ(cursor.stats().messages, stats.messages);
  EXPECT_EQ(stats.messages, pushed.size());
}

TEST(TrafficTest, StatsCountEveryMessageByType) {
  TrafficStats stats;
  std::string text = Generate(300, 3, &stats);
  std::vector<std::string> lines = Lines(text);
  EXPECT_EQ(stats.contacts, 300u);
  EXPECT_EQ(stats.messages, lines.size());
  EXPECT_EQ(stats.bytes, text.size());
  EXPECT_EQ(stats.identify + stats.track + stats.page + stats.group + stats.alias, stats.messages);
  uint64_t events = 0;
  for (uint64_t n : stats.events) events += n;
  EXPECT_EQ(events, stats.track);
}

// What every line holds, checked with simdjson (independently of our parser).
struct Corpus {
  TrafficStats stats;
  std::vector<std::string> lines;
};

const Corpus& BigCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    c->lines = Lines(Generate(5000, 11, &c->stats));
    return c;
  }();
  return *corpus;
}

TEST(TrafficTest, EveryLineIsAValidSegmentMessage) {
  const Corpus& corpus = BigCorpus();
  simdjson::dom::parser parser;
  const std::set<std::string> types = {"identify", "track", "page", "group", "alias"};
  const std::set<std::string> names(kTrafficEventNames.begin(), kTrafficEventNames.end());
  absl::flat_hash_set<std::string> message_ids;
  absl::Time end = TrafficOptions().end;
  absl::Time start = end - absl::Hours(24 * 90);
  for (const std::string& line : corpus.lines) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
    std::string_view type, message_id, timestamp;
    ASSERT_EQ(doc["type"].get(type), simdjson::SUCCESS) << line;
    ASSERT_TRUE(types.count(std::string(type))) << line;
    ASSERT_EQ(doc["messageId"].get(message_id), simdjson::SUCCESS) << line;
    ASSERT_EQ(message_id.size(), 36u) << line;
    ASSERT_TRUE(message_ids.insert(std::string(message_id)).second) << "repeated " << line;
    ASSERT_EQ(doc["timestamp"].get(timestamp), simdjson::SUCCESS) << line;
    auto t = ParseTimestamp(timestamp);
    ASSERT_TRUE(t.ok()) << line;
    ASSERT_GE(*t, start) << line;
    ASSERT_LT(*t, end) << line;
    std::string_view id;
    bool has_user = doc["userId"].get(id) == simdjson::SUCCESS;
    bool has_anonymous = doc["anonymousId"].get(id) == simdjson::SUCCESS;
    ASSERT_TRUE(has_user || has_anonymous) << line;
    if (type == "track") {
      std::string_view event;
      ASSERT_EQ(doc["event"].get(event), simdjson::SUCCESS) << line;
      ASSERT_TRUE(names.count(std::string(event))) << "unknown event " << line;
      simdjson::dom::object properties;
      ASSERT_EQ(doc["properties"].get(properties), simdjson::SUCCESS) << line;
    } else if (type == "page") {
      std::string_view url;
      ASSERT_EQ(doc["context"]["page"]["url"].get(url), simdjson::SUCCESS) << line;
      ASSERT_EQ(url.substr(0, 8), "https://") << line;
    } else if (type == "group") {
      std::string_view group_id;
      int64_t employees;
      ASSERT_EQ(doc["groupId"].get(group_id), simdjson::SUCCESS) << line;
      ASSERT_EQ(doc["traits"]["employees"].get(employees), simdjson::SUCCESS) << line;
      ASSERT_GE(employees, 1);
      ASSERT_LE(employees, 10000);
    } else if (type == "alias") {
      std::string_view previous;
      ASSERT_EQ(doc["previousId"].get(previous), simdjson::SUCCESS) << line;
      ASSERT_TRUE(has_user) << line;
    }
  }
}

// Per contact: identified share, orders, time order, traits, accounts.
TEST(TrafficTest, TrafficIsSkewedLikeARealShop) {
  TrafficOptions options;
  options.contacts = 5000;
  options.seed = 11;
  TrafficGenerator generator(options);
  simdjson::dom::parser parser;
  uint64_t identified = 0, ordered = 0, added = 0, expiring_soon = 0, with_card = 0;
  uint64_t multi_session_anonymous = 0;
  absl::flat_hash_map<std::string, int> contacts_per_account;
  absl::flat_hash_set<std::string> emails;
  std::set<std::string> countries, job_titles;
  for (uint64_t c = 0; c < options.contacts; ++c) {
    std::vector<std::string> lines;
    generator.GenerateContact(
        c, [&](std::string_view l) { lines.emplace_back(l); }, nullptr);
    ASSERT_FALSE(lines.empty()) << "contact " << c;
    bool has_identify = false, has_order = false, has_add = false;
    std::string last_time;
    std::set<std::string> anonymous_ids;
    for (const std::string& line : lines) {
      simdjson::dom::element doc;
      ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
      std::string_view type, timestamp, event, s;
      ASSERT_EQ(doc["type"].get(type), simdjson::SUCCESS);
      ASSERT_EQ(doc["timestamp"].get(timestamp), simdjson::SUCCESS);
      // ISO timestamps of one format compare as text.
      ASSERT_GE(std::string(timestamp), last_time) << "contact " << c << " out of order";
      last_time = std::string(timestamp);
      if (doc["anonymousId"].get(s) == simdjson::SUCCESS) anonymous_ids.insert(std::string(s));
      if (type == "identify") {
        std::string_view email;
        if (!has_identify) {
          ASSERT_EQ(doc["traits"]["email"].get(email), simdjson::SUCCESS) << line;
          EXPECT_TRUE(emails.insert(std::string(email)).second) << "shared e-mail " << email;
        }
        int64_t age;
        if (doc["traits"]["age"].get(age) == simdjson::SUCCESS) {
          EXPECT_GE(age, 18);
          EXPECT_LE(age, 80);
          ASSERT_EQ(doc["traits"]["country"].get(s), simdjson::SUCCESS);
          countries.insert(std::string(s));
          ASSERT_EQ(doc["traits"]["job_title"].get(s), simdjson::SUCCESS);
          job_titles.insert(std::string(s));
          if (doc["traits"]["card_expiry"].get(s) == simdjson::SUCCESS) {
            ++with_card;
            ASSERT_EQ(s.size(), 7u) << s;  // YYYY-MM
            if (s == "2026-11") ++expiring_soon;
            EXPECT_GE(std::string(s), "2026-11");
          }
        }
        has_identify = true;
      } else if (type == "track") {
        ASSERT_EQ(doc["event"].get(event), simdjson::SUCCESS);
        if (event == "Order Completed") {
          has_order = true;
          EXPECT_TRUE(has_identify) << "an order before the contact identified";
          double revenue;
          ASSERT_EQ(doc["properties"]["revenue"].get(revenue), simdjson::SUCCESS);
          EXPECT_GT(revenue, 0);
          simdjson::dom::array products;
          ASSERT_EQ(doc["properties"]["products"].get(products), simdjson::SUCCESS);
          EXPECT_GT(products.size(), 0u);
          ASSERT_EQ(doc["properties"]["currency"].get(s), simdjson::SUCCESS);
          EXPECT_TRUE(s == "EUR" || s == "USD") << s;
        }
        if (event == "Product Added") has_add = true;
      } else if (type == "group") {
        ASSERT_EQ(doc["groupId"].get(s), simdjson::SUCCESS);
        ++contacts_per_account[std::string(s)];
      }
    }
    identified += has_identify;
    ordered += has_order;
    added += has_add;
    if (!has_identify && anonymous_ids.size() > 1) ++multi_session_anonymous;
  }
  double n = static_cast<double>(options.contacts);
  EXPECT_GT(identified / n, 0.38);
  EXPECT_LT(identified / n, 0.52);
  EXPECT_GT(ordered / n, 0.02);
  EXPECT_LT(ordered / n, 0.05);
  EXPECT_LT(added / n, 0.45) << "most visitors never add to cart";
  EXPECT_GT(added, ordered * 3) << "abandoned carts are common";
  EXPECT_GT(expiring_soon, 0u);
  EXPECT_LT(expiring_soon, with_card / 5);
  EXPECT_GE(countries.size(), 12u);
  EXPECT_TRUE(countries.count("DE") && countries.count("US"));
  EXPECT_GE(job_titles.size(), 10u);
  EXPECT_TRUE(job_titles.count("VP Engineering"));
  EXPECT_GT(multi_session_anonymous, 0u) << "some anonymous visitors switch devices";
  // Accounts are shared by several contacts.
  ASSERT_FALSE(contacts_per_account.empty());
  int shared = 0;
  for (const auto& [id, count] : contacts_per_account) shared += count > 1;
  EXPECT_GT(shared, 0);
  EXPECT_LT(contacts_per_account.size(), options.contacts / 20);
}

TEST(TrafficTest, EveryKindOfMessageAndEventAppears) {
  const TrafficStats& stats = BigCorpus().stats;
  EXPECT_GT(stats.identify, 0u);
  EXPECT_GT(stats.group, 0u);
  EXPECT_GT(stats.alias, 0u);
  EXPECT_GT(stats.page, stats.track / 2);
  for (size_t i = 0; i < kTrafficEventNames.size(); ++i) {
    EXPECT_GT(stats.events[i], 0u) << kTrafficEventNames[i];
  }
  // The funnel narrows.
  auto count = [&](std::string_view name) {
    for (size_t i = 0; i < kTrafficEventNames.size(); ++i) {
      if (kTrafficEventNames[i] == name) return stats.events[i];
    }
    return uint64_t{0};
  };
  EXPECT_GT(count("Product Viewed"), count("Product Added") * 3);
  EXPECT_GT(count("Product Added"), count("Checkout Started"));
  EXPECT_GT(count("Checkout Started"), count("Order Completed"));
}

}  // namespace
}  // namespace segmenta
