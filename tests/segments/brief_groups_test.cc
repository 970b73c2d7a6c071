// The twelve contact groups of the product brief, defined in the condition language on
// traffic from `segmenta gen`, against members computed independently here from the raw
// messages (plain C++ over the JSON, sharing no code with the evaluators). Identity
// resolution is taken from the store: which contact each message belongs to.
#include <filesystem>
#include <map>
#include <set>

#include "collect/parser.h"
#include "core/time_format.h"
#include "gen/traffic.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/contact_reader.h"
#include "segments/engine.h"
#include "simdjson.h"
#include "tests/testing/example_groups.h"

namespace segmenta {
namespace {

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;

struct Event {
  int64_t time;
  std::string name;  // track event name, or "page", "identify", ...
  std::string path;  // page path
  double revenue = -1;
};

struct Person {
  std::vector<Event> events;                                      // in time order once sorted
  std::map<std::string, std::pair<int64_t, std::string>> traits;  // name -> (time, JSON)
  std::set<std::string> accounts;
};

std::string TraitString(const Person& p, const std::string& name) {
  auto it = p.traits.find(name);
  if (it == p.traits.end()) return "";
  simdjson::dom::parser parser;
  simdjson::padded_string padded(it->second.second);
  std::string_view s;
  if (parser.parse(padded).get(s) != simdjson::SUCCESS) return it->second.second;
  return std::string(s);
}

double TraitNumber(const Person& p, const std::string& name) {
  auto it = p.traits.find(name);
  return it == p.traits.end() ? -1 : std::stod(it->second.second);
}

class BriefGroupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/brief_groups_test";
    std::filesystem::remove_all(dir_);
    store_ = *Store::Open(dir_);
    worker_ = *Worker::Start(store_.get(), {}, &clock_);
    engine_ = *AudienceEngine::Start(store_.get(), worker_.get(), &clock_);
  }
  void TearDown() override {
    engine_.reset();
    worker_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A year of traffic, so that some customers have been inactive for 90 days.
  TrafficOptions options_{.contacts = 3000, .seed = 11, .days = 365};
  FakeClock clock_{options_.end};
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Worker> worker_;
  std::unique_ptr<AudienceEngine> engine_;
};

TEST_F(BriefGroupsTest, TwelveGroupsMatchMembersComputedIndependently) {
  std::vector<std::string> lines;
  TrafficGenerator(options_).Generate([&](std::string_view line) { lines.emplace_back(line); });
  MessageParser parser;
  std::vector<Message> batch;
  for (const std::string& line : lines) {
    ParseResult parsed = parser.ParseLine(line, clock_.Now());
    ASSERT_TRUE(parsed.errors.empty()) << line;
    batch.push_back(std::move(parsed.messages[0]));
    if (batch.size() == 5000) {
      ASSERT_TRUE(worker_->SubmitAndWait(std::move(batch)).ok());
      batch.clear();
    }
  }
  ASSERT_TRUE(worker_->SubmitAndWait(std::move(batch)).ok());

  // Independently: who each message belongs to (the store's identities), then each
  // person's events, traits (newest wins) and accounts.
  ContactReader reader(store_.get());
  std::map<ContactId, Person> people;
  std::map<std::string, std::map<std::string, std::pair<int64_t, std::string>>> account_traits;
  simdjson::dom::parser json;
  for (const std::string& line : lines) {
    simdjson::dom::element m = json.parse(line);
    std::string_view type = m["type"], text;
    int64_t time = ToMillis(*ParseTimestamp(std::string_view(m["timestamp"])));
    if (type == "group") {
      std::string group_id{std::string_view(m["groupId"])};
      simdjson::dom::object traits;
      if (m["traits"].get(traits) == simdjson::SUCCESS) {
        for (auto field : traits) {
          auto& slot = account_traits[group_id][std::string(field.key)];
          if (time >= slot.first) slot = {time, simdjson::minify(field.value)};
        }
      }
    }
    std::string identity;
    if (m["userId"].get(text) == simdjson::SUCCESS) {
      identity = "user:" + std::string(text);
    } else if (m["anonymousId"].get(text) == simdjson::SUCCESS) {
      identity = "anonymous:" + std::string(text);
    } else {
      continue;  // an account alone
    }
    auto contact = reader.Find(identity);
    ASSERT_TRUE(contact.ok()) << identity;
    Person& p = people[contact->id];
    Event e{time, std::string(type), "", -1};
    if (type == "track") e.name = std::string(std::string_view(m["event"]));
    simdjson::dom::object props;
    if (m["properties"].get(props) == simdjson::SUCCESS) {
      if (props["path"].get(text) == simdjson::SUCCESS) e.path = std::string(text);
      double revenue;
      if (props["revenue"].get(revenue) == simdjson::SUCCESS) e.revenue = revenue;
    }
    p.events.push_back(e);
    if (type == "identify") {
      simdjson::dom::object traits;
      if (m["traits"].get(traits) == simdjson::SUCCESS) {
        for (auto field : traits) {
          auto& slot = p.traits[std::string(field.key)];
          if (time >= slot.first) slot = {time, simdjson::minify(field.value)};
        }
      }
    }
    if (type == "group") p.accounts.insert(std::string(std::string_view(m["groupId"])));
  }
  for (auto& [id, p] : people) {
    std::stable_sort(p.events.begin(), p.events.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
  }
  const int64_t now = ToMillis(clock_.Now());
  auto did = [](const Person& p, const std::string& name) {
    for (const Event& e : p.events) {
      if (e.name == name) return true;
    }
    return false;
  };
  double all_revenue = 0;
  int all_orders = 0;
  for (const auto& [id, p] : people) {
    for (const Event& e : p.events) {
      if (e.name == "Order Completed" && e.revenue >= 0) all_revenue += e.revenue, ++all_orders;
    }
  }
  const std::set<std::string> european = {"AT", "BE", "DE", "DK", "ES", "FI", "FR",
                                          "GR", "IE", "IT", "NL", "PL", "PT", "SE"};
  using Predicate = std::function<bool(const Person&)>;
  std::map<std::string, Predicate> expected_by;
  expected_by["Cart abandonment"] = [&](const Person& p) {
    int64_t last_add = -1;
    for (const Event& e : p.events) {
      if (e.name == "Product Added") last_add = e.time;
    }
    if (last_add < 0 || last_add >= now - kHour) return false;
    for (const Event& e : p.events) {
      if (e.name == "Order Completed" && e.time > last_add) return false;
    }
    return true;
  };
  expected_by["Prospective students"] = [&](const Person& p) {
    return did(p, "Webinar Downloaded");
  };
  expected_by["Newsletter subscribers"] = [&](const Person& p) {
    auto it = p.traits.find("newsletter");
    return (it != p.traits.end() && it->second.second == "true") || did(p, "Newsletter Subscribed");
  };
  expected_by["Partner programme"] = [&](const Person& p) {
    int views = 0;
    for (const Event& e : p.events) {
      views += e.name == "page" && e.path.rfind("/partners", 0) == 0 && e.time >= now - 30 * kDay &&
               e.time <= now;
    }
    return views >= 2;
  };
  expected_by["European professionals"] = [&](const Person& p) {
    double age = TraitNumber(p, "age");
    std::string job = TraitString(p, "job_title");
    return TraitString(p, "gender") == "male" && european.contains(TraitString(p, "country")) &&
           age >= 45 && age <= 55 && !job.empty() && job != "student" && job != "retired";
  };
  expected_by["Customers"] = [&](const Person& p) { return did(p, "Order Completed"); };
  expected_by["Leads"] = [&](const Person& p) {
    return did(p, "identify") && !did(p, "Order Completed");
  };
  expected_by["Inactive customers"] = [&](const Person& p) {
    if (!did(p, "Order Completed")) return false;
    for (const Event& e : p.events) {
      if (e.time >= now - 90 * kDay && e.time <= now) return false;
    }
    return true;
  };
  expected_by["Cards expiring"] = [&](const Person& p) {
    std::string expiry = TraitString(p, "card_expiry");
    if (expiry.empty()) return false;
    int64_t t = ToMillis(*ParseTimestamp(expiry));
    return t >= now && t <= now + 30 * kDay;
  };
  expected_by["High value"] = [&](const Person& p) {
    double sum = 0;
    int orders = 0;
    for (const Event& e : p.events) {
      if (e.name == "Order Completed" && e.revenue >= 0) sum += e.revenue, ++orders;
    }
    return orders > 0 && (sum > 1000 || sum / orders > all_revenue / all_orders);
  };
  expected_by["B2B retail"] = [&](const Person& p) {
    for (const std::string& account : p.accounts) {
      auto& traits = account_traits[account];
      if (traits["industry"].second == "\"Retail\"" && !traits["employees"].second.empty() &&
          std::stod(traits["employees"].second) >= 50) {
        return true;
      }
    }
    return false;
  };
  expected_by["Engaged"] = [&](const Person& p) {
    int opens = 0;
    for (const Event& e : p.events) {
      opens += e.name == "Email Opened" && e.time >= now - 30 * kDay && e.time <= now;
    }
    return opens >= 3 && did(p, "Email Clicked");
  };

  expected_by["Customers not subscribed"] = [&](const Person& p) {
    return expected_by["Customers"](p) && !expected_by["Newsletter subscribers"](p);
  };
  ASSERT_EQ(std::size(kBriefGroups), expected_by.size());
  for (const auto& [name_view, condition] : kBriefGroups) {
    const std::string name(name_view);
    ASSERT_TRUE(expected_by.contains(name)) << name;
    GroupDefinition def;
    def.name = name;
    def.condition = std::string(condition);
    auto info = engine_->groups().Create(def);
    ASSERT_TRUE(info.ok()) << name << ": " << info.status();
    std::set<ContactId> expected;
    for (const auto& [id, p] : people) {
      if (expected_by[name](p)) expected.insert(id);
    }
    auto members = engine_->audiences().Bitmap(AudienceKind::kGroup, name);
    ASSERT_TRUE(members.ok());
    std::set<ContactId> actual(members->begin(), members->end());
    EXPECT_EQ(actual, expected) << name;
    // Not trivial: each group has members, and not everyone.
    EXPECT_GT(expected.size(), 0u) << name;
    EXPECT_LT(expected.size(), people.size()) << name;
    RecordProperty(name, static_cast<int>(expected.size()));
  }
}

}  // namespace
}  // namespace segmenta
