// The incremental and batch evaluators agree on every contact, for thousands of random
// conditions over random contacts and events; NextChangeAll() equals NextChange(), which is
// never late: between now and the instant it names, no contact's value changes.
#include <random>

#include "eval/batch.h"
#include "eval/evaluator.h"
#include "eval/schema.h"
#include "gtest/gtest.h"
#include "lang/parser.h"

namespace segmenta {
namespace {

constexpr Millis kDay = 86400 * 1000;
constexpr Millis kT0 = 1795500000000;  // 2026-11-24

class World {
 public:
  explicit World(uint32_t seed) : rng_(seed) {}

  // Random contacts with traits, accounts and activities.
  void Fill(ProfileTable& p, int contacts) {
    const char* countries[] = {"ES", "FR", "DE", "PT"};
    const char* plans[] = {"free", "pro", "Pro"};
    for (int c = 1; c <= contacts; ++c) {
      Traits traits;
      if (Coin(0.8)) traits["age"] = {std::to_string(Int(18, 80)), 1};
      if (Coin(0.7)) traits["country"] = {Quote(countries[Int(0, 3)]), 1};
      if (Coin(0.6)) traits["plan"] = {Quote(plans[Int(0, 2)]), 1};
      if (Coin(0.5)) traits["vip"] = {Coin(0.5) ? "true" : "false", 1};
      if (Coin(0.6)) {
        traits["signup"] = {Quote(FormatIso(kT0 + Int(-40, 40) * kDay / 4)), 1};
      }
      // A trait of every type, row by row (the batch evaluator reads each type its way).
      switch (Int(0, 5)) {
        case 0:
          traits["mixed"] = {std::to_string(Int(0, 10)), 1};
          break;
        case 1:
          traits["mixed"] = {Quote(std::to_string(Int(0, 10))), 1};
          break;
        case 2:
          traits["mixed"] = {Coin(0.5) ? "true" : "false", 1};
          break;
        case 3:
          traits["mixed"] = {Quote(FormatIso(kT0 + Int(-20, 20) * kDay / 4)), 1};
          break;
        default:
          break;  // null
      }
      p.SetTraits(c, traits, {});
      if (Coin(0.3)) p.Join(c, Coin(0.5) ? "acme" : "globex");
      if (Coin(0.1)) p.Join(c, "initech");
      int events = Int(0, 14);
      for (int e = 0; e < events; ++e) {
        Message m;
        int kind = Int(0, 4);
        m.type = kind == 4 ? MessageType::kPage : MessageType::kTrack;
        const char* names[] = {"A", "B", "C", "B"};
        if (kind < 4) m.event = names[kind];
        // Times on a coarse grid, so that ties happen.
        m.timestamp = absl::FromUnixMillis(kT0 + Int(-40, 8) * kDay / 4);
        std::string props = "{";
        if (Coin(0.8)) props += "\"price\":" + std::to_string(Int(1, 200));
        if (Coin(0.7)) {
          if (props.size() > 1) props += ",";
          props += std::string("\"category\":\"") + (Coin(0.5) ? "cycling" : "food") + "\"";
        }
        if (m.type == MessageType::kPage) {
          if (props.size() > 1) props += ",";
          props += std::string("\"path\":\"") + (Coin(0.5) ? "/partners/x" : "/shop") + "\"";
        }
        props += "}";
        m.properties = props;
        p.AddActivity(c, m);
      }
      if (Coin(0.05)) p.Erase(c);
    }
    for (const char* account : {"acme", "globex", "initech"}) {
      Traits traits;
      traits["industry"] = {Quote(Coin(0.5) ? "Retail" : "Energy"), 1};
      traits["employees"] = {std::to_string(Int(5, 200)), 1};
      p.SetAccountTraits(account, traits);
    }
  }

  // A random condition in the text form.
  std::string Condition(int depth) {
    if (depth > 0 && Coin(0.45)) {
      switch (Int(0, 2)) {
        case 0:
          return "(" + Condition(depth - 1) + " and " + Condition(depth - 1) + ")";
        case 1:
          return "(" + Condition(depth - 1) + " or " + Condition(depth - 1) + ")";
        default:
          return "not (" + Condition(depth - 1) + ")";
      }
    }
    switch (Int(0, 18)) {
      case 0:
        return "age " + CmpOp() + " " + std::to_string(Int(18, 80));
      case 1:
        return "country in [\"ES\", \"PT\"]";
      case 2:
        return "plan " + Pick({"=", "!=", "icontains", "starts_with"}) + " \"pro\"";
      case 3:
        return "age between " + std::to_string(Int(18, 40)) + " and " + std::to_string(Int(40, 80));
      case 4:
        return Pick({"vip is null", "vip = true", "signup is not null", "plan matches \"^p\""});
      case 5:
        return "signup " + Pick({"within last", "within next", "older than"}) + " " + Days();
      case 6:
        return "signup " + Pick({"<", ">"}) + " now - " + Days();
      case 7:
        return "did " + Selector(false);
      case 8:
        return "count(" + Selector(false) + ") " + CmpOp() + " " + std::to_string(Int(0, 4));
      case 9:
        return Pick({"sum", "avg", "min", "max"}) + "(" + Selector(true) + ") " + CmpOp() + " " +
               std::to_string(Int(1, 300));
      case 10:
        return Pick({"first", "last"}) + "(" + Selector(false) + ") " +
               Pick({"older than", "within last"}) + " " + Days();
      case 11:
        return "last(" + Event() + ".category) = \"cycling\"";
      case 12:
        return "did " + Event() + " followed by " + Event() +
               (Coin(0.5) ? " within " + Days() : "");
      case 13:
        return "did " + Event() + " not followed by " + Event() + " within " + Days();
      case 14:
        return "count(" + Event() + " since last(" + Event() + ")) = 0";
      case 15:
        return "any account (industry = \"Retail\" and employees >= " +
               std::to_string(Int(5, 200)) + ")";
      case 16:
        return "account count >= " + std::to_string(Int(0, 2));
      case 17:
        return Pick({"mixed > 5", "mixed != 4", "mixed = true", "mixed != false",
                     "mixed between 2 and 7", "mixed is null", "mixed within last 3 days",
                     "mixed older than 2 days", "mixed in [1, 3, \"5\"]", "mixed = \"5\""});
      default:
        return "avg(\"A\".price) " + CmpOp() + " overall(avg(\"A\".price))";
    }
  }

  Millis Now() { return kT0 + Int(-10, 10) * kDay / 3 + Int(0, 1000); }

 private:
  std::string Selector(bool property) {
    std::string s = Event();
    if (property) s += ".price";
    if (Coin(0.4)) {
      s += " where " + Pick({"price > 100", "category = \"cycling\"",
                             "(price between 10 and 90 and category != \"food\")"});
    }
    if (Coin(0.5)) {
      switch (Int(0, 2)) {
        case 0:
          s += " within last " + Days();
          break;
        case 1:
          s += " since now - " + Days();
          break;
        default:
          s += " before signup";
          break;
      }
    }
    return s;
  }
  std::string Event() { return Pick({"\"A\"", "\"B\"", "\"C\"", "page", "any"}); }
  std::string Days() { return std::to_string(Int(1, 6)) + " days"; }
  std::string CmpOp() { return Pick({"=", "!=", "<", "<=", ">", ">="}); }
  std::string Pick(std::initializer_list<const char*> options) {
    return *(options.begin() + Int(0, static_cast<int>(options.size()) - 1));
  }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Coin(double p) { return std::bernoulli_distribution(p)(rng_); }
  static std::string Quote(const std::string& s) { return "\"" + s + "\""; }
  static std::string FormatIso(Millis ms) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
  }
  std::mt19937 rng_;
};

// Five random worlds (contacts, traits, accounts, event streams), 600 random conditions in
// each, evaluated at random instants.
class AgreementTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(AgreementTest, IncrementalAndBatchAgreeAndNextChangeIsNeverLate) {
  World world(GetParam());
  ProfileTable profiles;
  world.Fill(profiles, 300);
  Schema schema = SchemaOf(profiles);
  int conditions = 0, members = 0, timed = 0;
  AggregateCache cache;
  for (int i = 0; i < 600; ++i) {
    std::string text = world.Condition(2);
    auto plan = Plan::CompileText(text, schema);
    ASSERT_TRUE(plan.ok()) << text << ": " << plan.status();
    EvalEnv env;
    env.now = world.Now();
    env.overall = OverallValues(**plan, profiles, env.now);
    Roaring batch = EvaluateAll(**plan, profiles, env, i % 2 == 0 ? &cache : nullptr);
    const std::vector<Millis> next_all = NextChangeAll(**plan, profiles, env);
    ++conditions;
    for (ContactId c = 0; c < profiles.contact_rows(); ++c) {
      bool incremental = Matches(**plan, profiles, c, env);
      ASSERT_EQ(incremental, batch.contains(static_cast<uint32_t>(c)))
          << "contact " << c << " at " << env.now << ": " << text;
      members += incremental;
      // Between now and NextChange the value holds.
      std::optional<Millis> next = NextChange(**plan, profiles, c, env);
      ASSERT_EQ(next_all[c], next.value_or(kNoChange))
          << "contact " << c << " at " << env.now << ": " << text;
      if (!next) {
        for (Millis step : {kDay / 7, 2 * kDay + 1, 7 * kDay}) {
          EvalEnv later = env;
          later.now = env.now + step;
          ASSERT_EQ(Matches(**plan, profiles, c, later), incremental)
              << "contact " << c << " changed at " << later.now << " with no NextChange (now "
              << env.now << "): " << text;
        }
        continue;
      }
      ASSERT_GT(*next, env.now);
      ++timed;
      const Millis span = *next - env.now;
      for (Millis t : {env.now + 1, env.now + span / 3, env.now + span / 2, env.now + 2 * span / 3,
                       *next - 1}) {
        if (t <= env.now || t >= *next) continue;
        EvalEnv later = env;
        later.now = t;
        ASSERT_EQ(Matches(**plan, profiles, c, later), incremental)
            << "contact " << c << " changed at " << t << " before NextChange " << *next << " (now "
            << env.now << "): " << text;
      }
    }
    cache.Invalidate();
  }
  EXPECT_EQ(conditions, 600);
  // The random conditions are neither all empty nor all full.
  EXPECT_GT(members, 0);
  EXPECT_GT(timed, 0);
  RecordProperty("members", members);
}

// Over 200,000 contacts (several bitmap chunks, dense and sparse), with rows of every
// type in one column: the batch evaluator's word-at-a-time paths and the bitmap it builds
// agree with the incremental evaluator on every contact.
TEST(AgreementTest, LargePopulationAgrees) {
  ProfileTable profiles;
  constexpr ContactId kContacts = 200000;
  for (ContactId c = 1; c <= kContacts; ++c) {
    Traits traits;
    if (c % 5 == 0) {
      traits["n"] = {"\"" + std::to_string(c % 7) + "\"", 1};
    } else if (c % 11 == 0) {
      traits["n"] = {c % 2 == 0 ? "true" : "false", 1};
    } else if (c % 3 != 0) {
      traits["n"] = {std::to_string(c % 7), 1};
    }
    traits["tier"] = {c < 70000 ? "\"gold\"" : "\"silver\"", 1};
    // More distinct strings than 16-bit ids hold.
    traits["email"] = {"\"c" + std::to_string(c) + "@example.com\"", 1};
    profiles.SetTraits(c, traits, {});
    if (c % 13 == 0) {
      Message m;
      m.type = MessageType::kTrack;
      m.event = "Order Completed";
      m.timestamp = absl::FromUnixMillis(kT0 - (c % 40) * kDay);
      m.properties = "{\"revenue\":" + std::to_string(c % 300) + "}";
      profiles.AddActivity(c, m);
    }
    if (c % 17 == 0) profiles.Erase(c);
  }
  Schema schema = SchemaOf(profiles);
  AggregateCache cache;
  EvalEnv env;
  env.now = kT0;
  for (const char* text :
       {"n >= 3", "n != 2", "n = true", "n is null", "n between 1 and 4 or n = \"6\"",
        "n in [0, 1]", "tier = \"gold\"", "tier = \"gold\" and n > 4",
        "not (tier = \"silver\" or n < 2)", "did \"Order Completed\"",
        "count(\"Order Completed\" within last 10 days) = 0 and n >= 1",
        "sum(\"Order Completed\".revenue) > 150", "last(\"Order Completed\") older than 20 days",
        "n > 100", "n is not null or tier = \"silver\"", "email starts_with \"c12\"",
        "tier = \"gold\" and email ends_with \"7@example.com\""}) {
    auto plan = Plan::CompileText(text, schema);
    ASSERT_TRUE(plan.ok()) << text << ": " << plan.status();
    for (AggregateCache* c : {static_cast<AggregateCache*>(nullptr), &cache}) {
      Roaring batch = EvaluateAll(**plan, profiles, env, c);
      uint64_t expected = 0;
      for (ContactId contact = 0; contact < profiles.contact_rows(); ++contact) {
        const bool member = Matches(**plan, profiles, contact, env);
        expected += member;
        ASSERT_EQ(member, batch.contains(static_cast<uint32_t>(contact)))
            << "contact " << contact << ": " << text;
      }
      EXPECT_EQ(batch.cardinality(), expected) << text;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Worlds, AgreementTest, ::testing::Values(20261125u, 1u, 2u, 3u, 4u));

}  // namespace
}  // namespace segmenta
