#include "decide/decider.h"

#include <chrono>
#include <thread>

#include "analytics/experiment.h"
#include "core/time_format.h"
#include "eval/schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/segments/engine_fixture.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;

class DeciderTest : public EngineFixture {
 protected:
  void SetUp() override {
    EngineFixture::SetUp();
    StartDecider();
  }
  void TearDown() override {
    decider_.reset();
    EngineFixture::TearDown();
  }
  void StartDecider() {
    auto d = Decider::Start(store_.get(), worker_.get(), engine_.get(), &clock_);
    ASSERT_TRUE(d.ok()) << d.status();
    decider_ = std::move(*d);
  }
  // Decides one slot for a visitor landing with `context` (JSON).
  Decision Decide(std::string user, std::string anon, std::string slot,
                  std::string context = "{}") {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(context);
    simdjson::dom::element root = parser.parse(padded);
    auto visit = ReadVisit(&root, ToMillis(clock_.Now()), false);
    EXPECT_TRUE(visit.ok()) << visit.status();
    DecideRequest request{std::move(user), std::move(anon), {std::move(slot)}, *visit};
    auto decisions = decider_->Decide(std::move(request));
    EXPECT_TRUE(decisions.ok()) << decisions.status();
    // Exposures are held, then queued: hand them over and wait (the worker keeps order).
    decider_->FlushExposures();
    EXPECT_TRUE(worker_->SubmitAndWait({}).ok());
    return decisions.ok() ? (*decisions)[0] : Decision{};
  }
  std::unique_ptr<Decider> decider_;
};

constexpr char kFromGoogle[] =
    R"({"page":{"url":"https://shop.example.com/products/road-bike?utm_source=google&utm_medium=cpc",
  "referrer":"https://www.google.com/search?q=road+bike"},
  "userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
  "timezone":"Europe/Madrid","location":{"country":"es"}})";

TEST_F(DeciderTest, TheBriefsDiscountGoesToNewVisitorsLandingOnAProductPageFromAGoogleSearch) {
  ExperienceDefinition e;
  e.slot = "product-page-banner";
  e.variations = {{"welcome-discount",
                   "visit.new and visit.referrer.host contains \"google.\" and "
                   "visit.referrer.search_engine and visit.page.path starts_with \"/products/\"",
                   R"({"text":"10% off your first order","code":"WELCOME10"})"}};
  e.default_payload = R"({"text":"Free shipping over 50 €"})";
  auto put = decider_->Put(e);
  ASSERT_TRUE(put.ok()) << put.status();

  Decision d = Decide("", "anon-new", "product-page-banner", kFromGoogle);
  EXPECT_EQ(d.variation, "welcome-discount");
  EXPECT_THAT(d.payload, HasSubstr("WELCOME10"));
  EXPECT_THAT(d.reason, HasSubstr("the condition of variation \"welcome-discount\" holds"));
  // The unknown visitor is now a contact with its exposure recorded once, however often it
  // is decided.
  EXPECT_EQ(Decide("", "anon-new", "product-page-banner", kFromGoogle).variation,
            "welcome-discount");
  auto contact = ContactReader(store_.get()).Find("anonymous:anon-new");
  ASSERT_TRUE(contact.ok()) << contact.status();
  int exposures = worker_->ReadProfiles([&](const ProfileTable& p) {
    const int t = p.table_index(MessageType::kTrack, "Experience Viewed");
    int n = 0;
    for (const EventRef& ref : p.contact(contact->id)->events) n += ref.table == t;
    return n;
  });
  EXPECT_EQ(exposures, 1);
  // Landing on the home page, or from Bing, or coming back: the default.
  EXPECT_EQ(
      Decide("", "anon-home", "product-page-banner",
             R"({"page":{"url":"https://shop.example.com/","referrer":"https://www.google.es/"}})")
          .variation,
      "default");
  EXPECT_EQ(
      Decide(
          "", "anon-bing", "product-page-banner",
          R"({"page":{"url":"https://shop.example.com/products/x","referrer":"https://www.bing.com/search?q=x"}})")
          .variation,
      "default");
  Track("anon-returning", "Product Viewed");
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(Decide("", "anon-returning", "product-page-banner", kFromGoogle).variation, "default");
  // Two hours later the first visitor is a returning one.
  EXPECT_EQ(Decide("", "anon-new", "product-page-banner", kFromGoogle).variation, "default");
}

TEST_F(DeciderTest, HeldExposuresReachTheStoreWithinTheDelayWithoutAFlush) {
  ExperienceDefinition e;
  e.slot = "hero";
  e.default_payload = R"({"hero":"classic"})";
  ASSERT_TRUE(decider_->Put(e).ok());
  DecideRequest request{"", "held-visitor", {"hero"}, Visit()};
  ASSERT_TRUE(decider_->Decide(std::move(request)).ok());
  // No FlushExposures: the decider's own thread submits what it holds.
  int exposures = 0;
  for (int i = 0; i < 200 && exposures == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    exposures = worker_->ReadProfiles([&](const ProfileTable& p) {
      auto id = worker_->FindIdentity(IdentityKind::kAnonymous, "held-visitor");
      const ContactState* state = id ? p.contact(*id) : nullptr;
      return state != nullptr ? static_cast<int>(state->events.size()) : 0;
    });
  }
  EXPECT_EQ(exposures, 1);
}

TEST_F(DeciderTest, VisitFieldsAreReadFromTheContext) {
  auto visit = [&](std::string context) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(context);
    simdjson::dom::element root = parser.parse(padded);
    return ReadVisit(&root, ToMillis(kStart), true);
  };
  auto v = visit(kFromGoogle);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("page.path")->as_string(), "/products/road-bike");
  EXPECT_EQ(v->Find("page.host")->as_string(), "shop.example.com");
  EXPECT_EQ(v->Find("referrer.host")->as_string(), "google.com");
  EXPECT_TRUE(v->Find("referrer.search_engine")->as_bool());
  EXPECT_EQ(v->Find("utm.source")->as_string(), "google");
  EXPECT_EQ(v->Find("utm.medium")->as_string(), "cpc");
  EXPECT_EQ(v->Find("device.type")->as_string(), "mobile");
  EXPECT_EQ(v->Find("os.name")->as_string(), "iOS");
  EXPECT_EQ(v->Find("browser.name")->as_string(), "Mobile Safari");
  EXPECT_EQ(v->Find("os.version")->as_number(), 17);
  EXPECT_EQ(v->Find("device.family")->as_string(), "iPhone");
  EXPECT_EQ(v->Find("device.brand")->as_string(), "Apple");
  EXPECT_EQ(v->Find("country")->as_string(), "ES");
  // 2026-11-24T06:00Z is 07:00 on a Tuesday in Madrid.
  EXPECT_EQ(v->Find("hour")->as_number(), 7);
  EXPECT_EQ(v->Find("weekday")->as_string(), "tuesday");
  // Without a country in the context, the IP's (Debian's geoip-database).
  auto by_ip = visit(R"({"ip":"8.8.8.8"})");
  ASSERT_TRUE(by_ip.ok()) << by_ip.status();
  ASSERT_NE(by_ip->Find("country"), nullptr);
  EXPECT_EQ(by_ip->Find("country")->as_string(), "US");
  EXPECT_THAT(visit(R"({"ip":"999.1.1.1"})").status().message(), HasSubstr("context.ip"));
  EXPECT_THAT(visit(R"({"timezone":"Mars/Olympus"})").status().message(),
              HasSubstr("context.timezone"));
  EXPECT_THAT(visit(R"({"page":"x"})").status().message(), HasSubstr("context.page"));
}

TEST_F(DeciderTest, ExperimentsAssignByHashStickToTheFirstExposureAndFeedTheReport) {
  ExperienceDefinition e;
  e.slot = "home-hero";
  e.variations = {{"video", "", R"({"hero":"video"})"}, {"photo", "", R"({"hero":"photo"})"}};
  e.default_payload = R"({"hero":"classic"})";
  e.experiment = "hero-2026";
  e.allocation = {{"video", 40}, {"photo", 40}};
  e.control = 20;
  ASSERT_TRUE(decider_->Put(e).ok());
  std::map<std::string, int> arms;
  for (int i = 0; i < 2000; ++i) {
    Decision d = Decide("", "visitor-" + std::to_string(i), "home-hero");
    ++arms[d.variation];
    ASSERT_TRUE(d.exposed);
    if (d.variation == "control") {
      EXPECT_THAT(d.payload, HasSubstr("classic"));
    }
  }
  // Every visitor decided again gets the same arm (deterministic), across a restart too.
  decider_.reset();
  StartDecider();
  for (int i = 0; i < 50; ++i) {
    const std::string v = "visitor-" + std::to_string(i);
    EXPECT_EQ(Decide("", v, "home-hero").reason.find("first exposure") != std::string::npos, true);
  }
  // After a merge into a known user, the arm stays.
  Decision before = Decide("", "visitor-7", "home-hero");
  Send(MessageType::kIdentify, "user-7", "visitor-7", "");
  EXPECT_EQ(Decide("user-7", "", "home-hero").variation, before.variation);
  // The allocation holds: the report's sample-ratio check passes.
  ExperimentQuery query;
  query.experiment = "hero-2026";
  query.allocation = {{"control", 20}, {"video", 40}, {"photo", 40}};
  query.goals = {{"purchase", "\"Order Completed\"", "", 86400000}};
  auto report = worker_->ReadProfiles([&](const ProfileTable& p) {
    return ReportExperiment(p, SchemaOf(p), query, ToMillis(clock_.Now()));
  });
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->control, "control");
  EXPECT_GT(report->srm_p, 0.001);
  EXPECT_NEAR(arms["control"], 400, 80);
  // One exposure each, however often decided, across the restart (the profile keeps them)
  // and the merge.
  size_t exposures = worker_->ReadProfiles([&](const ProfileTable& p) {
    return p.table(static_cast<uint16_t>(p.table_index(MessageType::kTrack, "Experiment Viewed")))
        .rows();
  });
  EXPECT_EQ(exposures, 2000u);
}

TEST_F(DeciderTest, TargetingReadsColdDataAndBadDefinitionsAreRefused) {
  Send(MessageType::kIdentify, "ana", "", "", "{}", R"({"country":"ES"})");
  Create("Spain", "country = \"ES\"");
  ExperienceDefinition e;
  e.slot = "banner";
  e.variations = {
      {"spanish", "in group \"Spain\" and visit.device.type = \"desktop\"", R"({"lang":"es"})"}};
  ASSERT_TRUE(decider_->Put(e).ok());
  EXPECT_EQ(
      Decide(
          "ana", "", "banner",
          R"({"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"})")
          .variation,
      "spanish");
  EXPECT_EQ(Decide("ana", "", "banner", kFromGoogle).variation, "default");  // a phone
  ExperienceDefinition bad = e;
  bad.variations[0].condition = "visit.devise.type = \"x\"";
  EXPECT_THAT(decider_->Put(bad).status().message(),
              HasSubstr("variations[0].condition: 1:1: unknown visit field 'devise.type'"));
  bad = e;
  bad.experiment = "x";
  bad.allocation = {{"spanish", 80}};
  bad.control = 10;
  EXPECT_THAT(decider_->Put(bad).status().message(), HasSubstr("sum to 90%, not 100%"));
  auto unknown = decider_->Decide({"ana", "", {"nope"}, {}});
  EXPECT_THAT(unknown.status().message(), HasSubstr("slots[0]: no experience for slot \"nope\""));
  // Groups cannot read the visit.
  GroupDefinition g;
  g.name = "Mobile";
  g.condition = "visit.device.type = \"mobile\"";
  EXPECT_THAT(engine_->groups().Create(g).status().message(), HasSubstr("experiences may read it"));
}

}  // namespace
}  // namespace segmenta
