// Scores, buyer personas and lifecycle stages kept current by the engine: the brief's
// persona, assignment and tie-breaking, threshold edges, negative points, caps, windows and
// decay flipping with time alone, recomputation, restarts, conditions on persona, score and
// stage, and the progressive-profiling question.
#include <cmath>
#include <vector>

#include "analytics/progressive_profiling.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/segments/engine_fixture.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ScoringTest = EngineFixture;

ScoreRule Attribute(std::string condition, double points) {
  return {ScoreRule::Kind::kAttribute, std::move(condition), points, 0, 0};
}
ScoreRule Macro(std::string condition, double points) {
  return {ScoreRule::Kind::kMacro, std::move(condition), points, 0, 0};
}
ScoreRule Activity(std::string selector, double points, Millis within = 0, double cap = 0) {
  return {ScoreRule::Kind::kActivity, std::move(selector), points, within, cap};
}
constexpr Millis kDay = 86400000;

// The brief's persona: a 47-year-old Spanish engineer on his way to management, who likes
// cycling and good food and prefers text over video.
ScoreDefinition CyclingEngineer() {
  ScoreDefinition d;
  d.name = "Cycling engineer";
  d.description = "47, Spanish, engineer moving into management; cycling, good food; text";
  d.image_url = "https://example.com/personas/javier.png";
  d.persona = true;
  d.threshold = 40;
  d.rules = {
      Attribute("job_title icontains \"engineer\"", 10),
      Attribute("age between 40 and 55", 5),
      Attribute("country = \"ES\"", 5),
      Attribute("age < 25", -20),
      Macro("did page where path starts_with \"/management\"", 5),
      Macro("count(\"Article Read\" where format = \"text\") > count(\"Video Played\")", 5),
      Activity("\"Product Viewed\" where category = \"cycling\"", 2, 90 * kDay, 20),
      Activity("\"Recipe Viewed\"", 1, 0, 5),
  };
  return d;
}

ScoreDefinition Foodie(double threshold = 10) {
  ScoreDefinition d;
  d.name = "Foodie";
  d.persona = true;
  d.threshold = threshold;
  d.rules = {Activity("\"Recipe Viewed\"", 2, 0, 20)};
  return d;
}

class Scoring : public ScoringTest {
 protected:
  // The names the rules read exist before the definitions (as in a running shop).
  void Seed() {
    Send(MessageType::kIdentify, "seed", "", "", "{}",
         R"({"job_title":"x","age":1,"country":"x","email":"seed@example.com"})");
    Send(MessageType::kPage, "seed", "", "", R"({"path":"/"})");
    for (const char* e :
         {"Article Read", "Video Played", "Product Viewed", "Recipe Viewed", "Order Completed"}) {
      Track("seed-anon", e, R"({"format":"text","category":"x","revenue":1})");
    }
  }
  void Identify(std::string user, std::string traits) {
    Send(MessageType::kIdentify, std::move(user), "", "", "{}", std::move(traits));
  }
  void UserTrack(std::string user, std::string event, std::string properties = "{}") {
    Send(MessageType::kTrack, std::move(user), "", std::move(event), std::move(properties));
  }
  double Points(std::string_view score, std::string_view identity) {
    for (const auto& s : engine_->scores().Of(Id(identity)).scores) {
      if (s.name == score) return s.points;
    }
    ADD_FAILURE() << "no score " << score;
    return NAN;
  }
  std::string Persona(std::string_view identity) {
    return engine_->scores().Of(Id(identity)).persona;
  }
  std::string Stage(std::string_view identity) { return engine_->scores().Of(Id(identity)).stage; }
  ScoreInfo CreateScore(ScoreDefinition def) {
    auto info = engine_->scores().Create(std::move(def));
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : ScoreInfo{};
  }
  // Javier, as the brief describes him.
  void Javier() {
    Identify("javier", R"({"job_title":"Senior Software Engineer","age":47,"country":"ES"})");
    Send(MessageType::kPage, "javier", "", "", R"({"path":"/management/courses"})");
    UserTrack("javier", "Article Read", R"({"format":"text"})");
    UserTrack("javier", "Article Read", R"({"format":"text"})");
    UserTrack("javier", "Video Played");
    for (int i = 0; i < 3; ++i) UserTrack("javier", "Product Viewed", R"({"category":"cycling"})");
    UserTrack("javier", "Recipe Viewed");
  }
};

TEST_F(Scoring, TheBriefsPersonaIsAssignedFromAllThreeRuleKinds) {
  Seed();
  CreateScore(CyclingEngineer());
  Javier();
  // 10 engineer + 5 age + 5 Spain + 5 management + 5 text over video + 3×2 cycling + 1 food.
  EXPECT_EQ(Points("Cycling engineer", "javier"), 37);
  EXPECT_EQ(Persona("javier"), "");
  UserTrack("javier", "Product Viewed", R"({"category":"cycling"})");
  UserTrack("javier", "Product Viewed", R"({"category":"cycling"})");
  EXPECT_EQ(Points("Cycling engineer", "javier"), 41);
  EXPECT_EQ(Persona("javier"), "Cycling engineer");
  // Views of other categories give nothing; the cap stops cycling at 20 points.
  UserTrack("javier", "Product Viewed", R"({"category":"running"})");
  for (int i = 0; i < 20; ++i) UserTrack("javier", "Product Viewed", R"({"category":"cycling"})");
  EXPECT_EQ(Points("Cycling engineer", "javier"), 51);
  // The enter is in the history, with its cause.
  auto history = engine_->audiences().ContactHistory(Id("javier"), 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].kind, AudienceKind::kPersona);
  EXPECT_EQ((*history)[0].audience_name, "Cycling engineer");
  EXPECT_TRUE((*history)[0].entered);
  EXPECT_EQ((*history)[0].cause, "event: Product Viewed");
  auto members = engine_->audiences().Bitmap(AudienceKind::kPersona, "Cycling engineer");
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(members->cardinality(), 1u);
}

TEST_F(Scoring, ThresholdEdgesAndNegativePoints) {
  Seed();
  ScoreDefinition d;
  d.name = "Engineer";
  d.persona = true;
  d.threshold = 15;
  d.rules = {Attribute("job_title icontains \"engineer\"", 10), Attribute("age >= 30", 5),
             Attribute("age < 25", -20)};
  CreateScore(d);
  Identify("exact", R"({"job_title":"Engineer","age":30})");  // 15: at the threshold
  Identify("below", R"({"job_title":"Engineer","age":29})");  // 10
  Identify("young", R"({"job_title":"Engineer","age":20})");  // -10
  EXPECT_EQ(Persona("exact"), "Engineer");
  EXPECT_EQ(Persona("below"), "");
  EXPECT_EQ(Points("Engineer", "young"), -10);
  EXPECT_EQ(Persona("young"), "");
  // A trait change moves a contact across the threshold both ways.
  Identify("below", R"({"age":31})");
  EXPECT_EQ(Persona("below"), "Engineer");
  Identify("exact", R"({"age":24})");
  EXPECT_EQ(Points("Engineer", "exact"), -10);
  EXPECT_EQ(Persona("exact"), "");
}

TEST_F(Scoring, ThePersonaWithTheHighestScoreOverThresholdWinsAndTiesGoToTheFirstCreated) {
  Seed();
  ScoreDefinition engineer;
  engineer.name = "Engineer";
  engineer.persona = true;
  engineer.threshold = 10;
  engineer.rules = {Attribute("job_title icontains \"engineer\"", 10)};
  CreateScore(engineer);
  CreateScore(Foodie(10));
  // Engineer 10/10 = 1.0; Foodie 2 recipes = 4/10: below its threshold.
  Identify("ana", R"({"job_title":"Engineer"})");
  UserTrack("ana", "Recipe Viewed");
  UserTrack("ana", "Recipe Viewed");
  EXPECT_EQ(Persona("ana"), "Engineer");
  // Foodie 10/10 = 1.0 too: a tie, the first created keeps her.
  for (int i = 0; i < 3; ++i) UserTrack("ana", "Recipe Viewed");
  EXPECT_EQ(Points("Foodie", "ana"), 10);
  EXPECT_EQ(Persona("ana"), "Engineer");
  // Foodie 12/10 = 1.2 beats Engineer's 1.0, though 12 points is not 12× 10.
  UserTrack("ana", "Recipe Viewed");
  EXPECT_EQ(Persona("ana"), "Foodie");
  // She is in exactly one persona, and both moves are recorded.
  auto history = engine_->audiences().ContactHistory(Id("ana"), 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);  // newest first: enter Foodie, exit Engineer, enter Engineer
  EXPECT_EQ((*history)[0].audience_name, "Foodie");
  EXPECT_TRUE((*history)[0].entered);
  EXPECT_EQ((*history)[1].audience_name, "Engineer");
  EXPECT_FALSE((*history)[1].entered);
}

TEST_F(Scoring, ActivityWindowsLetPointsGoWithTimeAlone) {
  Seed();
  CreateScore(CyclingEngineer());
  Javier();
  for (int i = 0; i < 2; ++i) UserTrack("javier", "Product Viewed", R"({"category":"cycling"})");
  ASSERT_EQ(Persona("javier"), "Cycling engineer");
  Advance(absl::Hours(24 * 90) - absl::Minutes(1));
  EXPECT_EQ(Persona("javier"), "Cycling engineer");
  Advance(absl::Minutes(2));  // the cycling views are now older than 90 days
  EXPECT_EQ(Points("Cycling engineer", "javier"), 31);
  EXPECT_EQ(Persona("javier"), "");
  auto history = engine_->audiences().ContactHistory(Id("javier"), 1);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ((*history)[0].cause, "time");
}

TEST_F(Scoring, DecayTakesAShareOfActivityPointsAtEachStep) {
  Seed();
  ScoreDefinition lead;
  lead.name = "Lead score";
  lead.rules = {Activity("\"Article Read\"", 10), Attribute("country = \"ES\"", 1)};
  lead.decay = {30 * kDay, 50};
  CreateScore(lead);
  Identify("eva", R"({"country":"ES"})");
  UserTrack("eva", "Article Read");
  EXPECT_EQ(Points("Lead score", "eva"), 11);
  Advance(absl::Hours(24 * 30) + absl::Minutes(1));
  EXPECT_EQ(Points("Lead score", "eva"), 6);  // 10 × 0.5 + 1: attribute points do not decay
  UserTrack("eva", "Article Read");
  EXPECT_EQ(Points("Lead score", "eva"), 16);
  Advance(absl::Hours(24 * 30));
  EXPECT_EQ(Points("Lead score", "eva"), 8.5);  // 2.5 + 5 + 1
  // Five steps on, the first read is seven steps old: worth less than 1 %, it counts no
  // more; the second, six steps old, keeps 1/64 of its points.
  Advance(absl::Hours(24 * 30 * 5));
  EXPECT_EQ(Points("Lead score", "eva"), 1 + 10.0 / 64);
}

TEST_F(Scoring, RecomputingAgreesWithWhatWasKeptCurrentAndFollowsEditedRules) {
  Seed();
  CreateScore(CyclingEngineer());
  CreateScore(Foodie());
  Javier();
  for (int i = 0; i < 6; ++i) UserTrack("javier", "Recipe Viewed");
  Identify("young", R"({"job_title":"Engineer","age":22,"country":"ES"})");
  for (int i = 0; i < 10; ++i) UserTrack("young", "Product Viewed", R"({"category":"cycling"})");
  Send(MessageType::kPage, "young", "", "", R"({"path":"/management"})");
  const double javier = Points("Cycling engineer", "javier");
  const double young = Points("Cycling engineer", "young");
  auto before = engine_->audiences().ContactHistory(Id("javier"), 100);
  ASSERT_TRUE(before.ok());
  // The same rules computed over everyone at once: same points, no enter or exit.
  auto progress = std::make_shared<JobProgress>();
  auto same = engine_->scores().Update("Cycling engineer", CyclingEngineer(), progress);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(progress->fraction.load(), 1.0);
  EXPECT_EQ(Points("Cycling engineer", "javier"), javier);
  EXPECT_EQ(Points("Cycling engineer", "young"), young);
  auto after = engine_->audiences().ContactHistory(Id("javier"), 100);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), before->size());
  // Edited rules: the young engineer's penalty goes, and he qualifies.
  ScoreDefinition edited = CyclingEngineer();
  edited.rules.erase(edited.rules.begin() + 3);
  auto info = engine_->scores().Update("Cycling engineer", edited);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(Points("Cycling engineer", "young"), young + 20);
  EXPECT_EQ(Persona("young"), "Cycling engineer");
  auto history = engine_->audiences().ContactHistory(Id("young"), 1);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ((*history)[0].cause, "persona \"Cycling engineer\" updated");
  // A higher threshold empties it again.
  edited.threshold = 1000;
  ASSERT_TRUE(engine_->scores().Update("Cycling engineer", edited).ok());
  EXPECT_EQ(Persona("young"), "");
  EXPECT_EQ(Persona("javier"), "Foodie");
}

TEST_F(Scoring, ScoresPersonasAndMembershipsSurviveARestartWithoutSpuriousHistory) {
  Seed();
  CreateScore(CyclingEngineer());
  Javier();
  for (int i = 0; i < 2; ++i) UserTrack("javier", "Product Viewed", R"({"category":"cycling"})");
  ASSERT_EQ(Persona("javier"), "Cycling engineer");
  const size_t events = engine_->audiences().ContactHistory(Id("javier"), 100)->size();
  Close();
  Open();
  EXPECT_EQ(Points("Cycling engineer", "javier"), 41);
  EXPECT_EQ(Persona("javier"), "Cycling engineer");
  ASSERT_TRUE(worker_->RunDueTimers().ok());  // the start-up recompute
  EXPECT_EQ(engine_->audiences().ContactHistory(Id("javier"), 100)->size(), events);
  // Time went by while stopped: the window is applied at the first timer run.
  Close();
  clock_.Advance(absl::Hours(24 * 91));
  Open();
  ASSERT_TRUE(worker_->RunDueTimers().ok());
  EXPECT_EQ(Persona("javier"), "");
}

TEST_F(Scoring, ConditionsReadPersonaScoreAndStageAndCyclesAreRefused) {
  Seed();
  CreateScore(CyclingEngineer());
  ScoreDefinition lead;
  lead.name = "Lead score";
  lead.rules = {Activity("page", 1), Macro("did \"Order Completed\"", 50)};
  CreateScore(lead);
  LifecycleDefinition life;
  life.stages = {{0, "Visitor", "", ""},
                 {0, "Lead", "", "email is not null"},
                 {0, "Customer", "", "did \"Order Completed\""}};
  auto stages = engine_->stages().Set(life);
  ASSERT_TRUE(stages.ok()) << stages.status();
  Create("Cycling engineers", "persona = \"Cycling engineer\"");
  Create("Hot leads", "score(\"Lead score\") >= 3 and stage = \"Lead\"");
  Javier();
  for (int i = 0; i < 2; ++i) UserTrack("javier", "Product Viewed", R"({"category":"cycling"})");
  EXPECT_TRUE(In("Cycling engineers", "javier"));
  EXPECT_EQ(Stage("javier"), "Visitor");
  Identify("javier", R"({"email":"javier@example.com"})");
  EXPECT_EQ(Stage("javier"), "Lead");
  for (int i = 0; i < 2; ++i) Send(MessageType::kPage, "javier", "", "", R"({"path":"/x"})");
  EXPECT_TRUE(In("Hot leads", "javier"));  // 3 pages, a lead
  UserTrack("javier", "Order Completed", R"({"revenue":120})");
  EXPECT_EQ(Stage("javier"), "Customer");
  EXPECT_FALSE(In("Hot leads", "javier"));
  EXPECT_EQ(Points("Lead score", "javier"), 53);
  // A score whose rule reads a group built on that score is a cycle.
  ScoreDefinition edited = lead;
  edited.rules.push_back(Macro("in group \"Hot leads\"", 5));
  auto cycle = engine_->scores().Update("Lead score", edited);
  ASSERT_FALSE(cycle.ok());
  EXPECT_THAT(cycle.status().message(), HasSubstr("cycle"));
  EXPECT_THAT(cycle.status().message(), HasSubstr("rules[2].condition"));
  // The stage cannot read itself; what reads a score keeps it from being deleted.
  life.stages.push_back({0, "Loyal", "", "stage = \"Customer\""});
  auto self = engine_->stages().Set(life);
  ASSERT_FALSE(self.ok());
  EXPECT_THAT(self.status().message(), HasSubstr("stages[3].condition"));
  auto deleted = engine_->scores().Delete("Lead score");
  ASSERT_FALSE(deleted.ok());
  EXPECT_THAT(deleted.message(), HasSubstr("used by group \"Hot leads\""));
}

TEST_F(Scoring, LifecycleStagesMoveWithEventsAndTimeAndRecordEachTransition) {
  Seed();
  LifecycleDefinition life;
  life.stages = {
      {0, "Visitor", "", ""},
      {0, "Lead", "", "email is not null"},
      {0, "Customer", "", "count(\"Order Completed\") = 1"},
      {0, "Repeat customer", "", "count(\"Order Completed\") >= 2"},
      {0, "Inactive", "", "did \"Order Completed\" and last(any) older than 90 days"},
  };
  ASSERT_TRUE(engine_->stages().Set(life).ok());
  Send(MessageType::kPage, "", "anon-1", "", R"({"path":"/"})");
  EXPECT_EQ(Stage("anon-1"), "Visitor");
  Send(MessageType::kIdentify, "", "anon-1", "", "{}", R"({"email":"lu@example.com"})");
  EXPECT_EQ(Stage("anon-1"), "Lead");
  Send(MessageType::kTrack, "", "anon-1", "Order Completed", R"({"revenue":10})");
  EXPECT_EQ(Stage("anon-1"), "Customer");
  Send(MessageType::kTrack, "", "anon-1", "Order Completed", R"({"revenue":10})");
  EXPECT_EQ(Stage("anon-1"), "Repeat customer");
  Advance(absl::Hours(24 * 90) + absl::Minutes(1));
  EXPECT_EQ(Stage("anon-1"), "Inactive");
  Send(MessageType::kPage, "", "anon-1", "", R"({"path":"/back"})");
  EXPECT_EQ(Stage("anon-1"), "Repeat customer");
  auto history = engine_->audiences().ContactHistory(Id("anon-1"), 100);
  ASSERT_TRUE(history.ok());
  std::vector<std::string> entered;
  for (auto it = history->rbegin(); it != history->rend(); ++it) {
    if (it->entered) entered.push_back(it->audience_name);
  }
  EXPECT_THAT(entered, ElementsAre("Visitor", "Lead", "Customer", "Repeat customer", "Inactive",
                                   "Repeat customer"));
  // Renaming a stage away keeps the others' members; its members exit it.
  life.stages[4].name = "Dormant";
  auto renamed = engine_->stages().Set(life);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->stages[3].members, 1u);
  EXPECT_EQ(Stage("anon-1"), "Repeat customer");
}

TEST_F(Scoring, BadDefinitionsAreRefusedNamingTheRule) {
  Seed();
  ScoreDefinition d = CyclingEngineer();
  d.threshold = 0;
  EXPECT_THAT(engine_->scores().Create(d).status().message(), HasSubstr("threshold"));
  d = CyclingEngineer();
  d.rules[1] = Attribute("did page", 5);
  EXPECT_THAT(engine_->scores().Create(d).status().message(),
              HasSubstr("rules[1].condition: an attribute rule reads contact and account traits"));
  d = CyclingEngineer();
  d.rules[2] = Attribute("contry = \"ES\"", 5);
  EXPECT_THAT(
      engine_->scores().Create(d).status().message(),
      HasSubstr("rules[2].condition: 1:1: unknown trait 'contry'; did you mean 'country'?"));
  d = CyclingEngineer();
  d.rules[6].points = 0;
  EXPECT_THAT(engine_->scores().Create(d).status().message(), HasSubstr("rules[6].points"));
  d = CyclingEngineer();
  d.rules[6].condition = "\"Product Viewed\" within last 3 days";
  EXPECT_THAT(engine_->scores().Create(d).status().message(), HasSubstr("rules[6].activity"));
  CreateScore(CyclingEngineer());
  EXPECT_EQ(engine_->scores().Create(CyclingEngineer()).status().code(),
            absl::StatusCode::kAlreadyExists);
  LifecycleDefinition life;
  life.stages = {{0, "Visitor", "", "age > 3"}};
  EXPECT_THAT(engine_->stages().Set(life).status().message(), HasSubstr("stages[0].condition"));
}

TEST_F(Scoring, TheNextQuestionIsTheMissingTraitThatDecidesMostRules) {
  Seed();
  CreateScore(CyclingEngineer());
  Create("Spanish", "country = \"ES\"");
  Identify("nadia", R"({"job_title":"Engineer"})");
  // Progressive profiling (analytics/) reads what the engine's definitions read.
  auto missing = MissingTraitsNow(*worker_, engine_->audiences(), Id("nadia"));
  ASSERT_TRUE(missing.ok()) << missing.status();
  ASSERT_EQ(missing->size(), 2u);
  EXPECT_EQ((*missing)[0].trait, "age");  // two rules read it
  EXPECT_EQ((*missing)[0].rules, 2u);
  EXPECT_EQ((*missing)[1].trait, "country");  // a rule and a group: two too, but after "age"
  auto completeness =
      CompletenessNow(*worker_, engine_->audiences(), AudienceKind::kGroup, "Spanish");
  ASSERT_TRUE(completeness.ok());
  ASSERT_EQ(completeness->size(), 1u);
  EXPECT_EQ((*completeness)[0].trait, "country");
  // Of seed, seed-anon and nadia, only seed has a country.
  EXPECT_DOUBLE_EQ((*completeness)[0].filled_overall, 1.0 / 3);
}

}  // namespace
}  // namespace segmenta
