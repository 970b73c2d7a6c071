#include "segments/engine.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/time_format.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "profile/contact_reader.h"
#include "tests/segments/engine_fixture.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using EngineTest = EngineFixture;

constexpr char kCartAbandonment[] =
    "last(\"Product Added\") older than 1 hour and "
    "count(\"Order Completed\" since last(\"Product Added\")) = 0";

// The engine keeps groups current from the profile table: a worker without it is refused.
TEST_F(EngineTest, AWorkerWithoutTheProfileTableIsRefused) {
  Close();
  store_ = *Store::Open(dir_);
  WorkerOptions options;
  options.keep_profiles = false;
  worker_ = *Worker::Start(store_.get(), options, &clock_);
  auto engine = AudienceEngine::Start(store_.get(), worker_.get(), &clock_);
  EXPECT_TRUE(absl::IsFailedPrecondition(engine.status())) << engine.status();
}

TEST_F(EngineTest, CartAbandonmentFiresOneHourAfterTheAddWithNoNewEvent) {
  Track("seed", "Product Added");  // the event names exist before the group
  clock_.Advance(absl::Seconds(1));
  Track("seed", "Order Completed");
  Create("Cart abandoners", kCartAbandonment);
  Track("ana", "Product Added", R"({"price":20})");
  Track("bob", "Product Added", R"({"price":30})");
  EXPECT_FALSE(In("Cart abandoners", "ana"));
  Advance(absl::Minutes(30));
  Track("bob", "Order Completed", R"({"revenue":30})");
  Advance(absl::Minutes(29));
  EXPECT_FALSE(In("Cart abandoners", "ana"));
  Advance(absl::Minutes(2));  // one hour and a minute after the add
  EXPECT_TRUE(In("Cart abandoners", "ana"));
  EXPECT_FALSE(In("Cart abandoners", "bob"));
  // Ordering takes ana out at once (read-your-writes).
  Track("ana", "Order Completed", R"({"revenue":20})");
  EXPECT_FALSE(In("Cart abandoners", "ana"));
  // Every enter and exit is recorded, with its cause.
  auto history = engine_->audiences().ContactHistory(Id("ana"), 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_FALSE((*history)[0].entered);
  EXPECT_EQ((*history)[0].cause, "event: Order Completed");
  EXPECT_TRUE((*history)[1].entered);
  EXPECT_EQ((*history)[1].cause, "time");
  EXPECT_EQ((*history)[1].time_ms, ToMillis(kStart + absl::Seconds(1) + absl::Minutes(61)));
}

TEST_F(EngineTest, ReadersGetInWhileTheEngineKeepsALargeGroupCurrent) {
  // 20,000 new visitors in one write group: a reader that takes the profile table and then
  // the engine (as a decide does) is let in between contacts while the engine re-evaluates
  // them, and sees part of the group's changes done, without deadlock.
  Track("seed", "Product Viewed");
  Create("Viewers", "did \"Product Viewed\"");
  engine_->ResetKeepCurrentStats();
  constexpr int kVisitors = 20000;
  std::vector<Message> group = Visitors(0, kVisitors, "Product Viewed");
  std::atomic<bool> done{false};
  std::vector<uint64_t> seen;
  std::thread reader([&] {
    while (!done.load()) {
      seen.push_back(worker_->ReadProfiles(
          [&](const ProfileTable&) { return engine_->keep_current_stats().changes; }));
    }
  });
  auto result = worker_->SubmitAndWait(std::move(group));
  done = true;
  reader.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(engine_->keep_current_stats().changes, static_cast<uint64_t>(kVisitors));
  const size_t partway = std::count_if(seen.begin(), seen.end(), [&](uint64_t changes) {
    return changes > 0 && changes < static_cast<uint64_t>(kVisitors);
  });
  EXPECT_GT(partway, 0u) << seen.size() << " reads, none while the engine worked";
  EXPECT_TRUE(In("Viewers", "anonymous:visitor-19999"));
}

TEST_F(EngineTest, TimersOfThousandsOfContactsFireWhetherSetByTheGroupOrByLaterEvents) {
  // A contact's timer lives at its id in a paged vector: contacts past the first pages get
  // theirs both when the group is created (every contact at once) and one by one as their
  // events come after it.
  Track("seed", "Product Added");
  clock_.Advance(absl::Seconds(1));
  Track("seed", "Order Completed");
  constexpr int kEach = 6000;  // past the first page of 4,096 contacts
  ASSERT_TRUE(worker_->SubmitAndWait(Visitors(0, kEach, "Product Added")).ok());
  Create("Cart abandoners", kCartAbandonment);
  ASSERT_TRUE(worker_->SubmitAndWait(Visitors(kEach, 2 * kEach, "Product Added")).ok());
  EXPECT_EQ(engine_->groups().Get("Cart abandoners")->members, 0u);
  Advance(absl::Minutes(61));
  for (int i : {0, 4095, 4096, kEach - 1, kEach, 2 * kEach - 1}) {
    EXPECT_TRUE(In("Cart abandoners", "anonymous:visitor-" + std::to_string(i))) << i;
  }
  EXPECT_EQ(engine_->groups().Get("Cart abandoners")->members, static_cast<uint64_t>(2 * kEach));
}

TEST_F(EngineTest, MembershipsAndTimersSurviveARestart) {
  Track("seed", "Product Added");
  clock_.Advance(absl::Minutes(1));
  Track("seed", "Order Completed");
  Create("Cart abandoners", kCartAbandonment);
  Track("ana", "Product Added");
  Advance(absl::Minutes(90));
  Track("bob", "Product Added");
  EXPECT_TRUE(In("Cart abandoners", "ana"));
  Close();
  clock_.Advance(absl::Minutes(61));
  Open();
  EXPECT_TRUE(In("Cart abandoners", "ana"));
  ASSERT_TRUE(worker_->RunDueTimers().ok());
  EXPECT_TRUE(In("Cart abandoners", "bob"));
  auto info = engine_->groups().Get("Cart abandoners");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->members, 2u);  // seed ordered after adding
}

TEST_F(EngineTest, StaticGroupsListContactsAndWholeAccounts) {
  Send(MessageType::kIdentify, "u1", "", "", "{}", R"({"plan":"pro"})");
  Send(MessageType::kGroup, "u2", "", "acme", "{}", R"({"industry":"Retail"})");
  GroupDefinition def;
  def.name = "VIP";
  def.contacts = {Id("u1")};
  def.accounts = {"acme"};
  auto info = engine_->groups().Create(def);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->members, 2u);
  // A future contact of the account joins too.
  Send(MessageType::kGroup, "u3", "", "acme");
  EXPECT_TRUE(In("VIP", "u3"));
  auto edited = engine_->groups().EditStatic("VIP", {}, {Id("u1")}, {}, {"acme"});
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_EQ(edited->members, 0u);
  auto dynamic_edit = engine_->groups().EditStatic("nope", {}, {}, {}, {});
  EXPECT_TRUE(absl::IsNotFound(dynamic_edit.status()));
}

// Account traits sent without a contact (a CRM sync) move the account's contacts.
TEST_F(EngineTest, AnAccountsNewTraitsMoveItsContactsInAndOut) {
  Send(MessageType::kGroup, "u1", "", "acme", "{}", R"({"industry":"Retail"})");
  Send(MessageType::kGroup, "u2", "", "globex", "{}", R"({"industry":"Software"})");
  Create("Retail", R"(any account (industry = "Retail"))");
  EXPECT_TRUE(In("Retail", "u1"));
  EXPECT_FALSE(In("Retail", "u2"));
  clock_.Advance(absl::Seconds(1));
  Send(MessageType::kGroup, "", "", "globex", "{}", R"({"industry":"Retail"})");
  EXPECT_TRUE(In("Retail", "u2"));
  clock_.Advance(absl::Seconds(1));
  Send(MessageType::kGroup, "", "", "acme", "{}", R"({"industry":"Energy"})");
  EXPECT_FALSE(In("Retail", "u1"));
  EXPECT_TRUE(In("Retail", "u2"));
  // An account no contact joined yet: its traits wait for its first contact.
  Send(MessageType::kGroup, "", "", "initech", "{}", R"({"industry":"Retail"})");
  Send(MessageType::kGroup, "u3", "", "initech");
  EXPECT_TRUE(In("Retail", "u3"));
  EXPECT_EQ(engine_->groups().Get("Retail")->members, 2u);
}

TEST_F(EngineTest, GroupsBuiltOnGroupsFollowThemAndCyclesAreRefused) {
  Send(MessageType::kIdentify, "u1", "", "", "{}", R"({"age":50,"country":"ES"})");
  Send(MessageType::kIdentify, "u2", "", "", "{}", R"({"age":30,"country":"ES"})");
  Create("Spain", "country = \"ES\"");
  Create("Senior Spain", "in group \"Spain\" and age > 40");
  EXPECT_TRUE(In("Senior Spain", "u1"));
  EXPECT_FALSE(In("Senior Spain", "u2"));
  Send(MessageType::kIdentify, "u1", "", "", "{}", R"({"country":"PT"})");
  EXPECT_FALSE(In("Spain", "u1"));
  EXPECT_FALSE(In("Senior Spain", "u1"));  // followed its dependency in the same write
  GroupDefinition cyclic;
  cyclic.name = "Spain";
  cyclic.condition = "in group \"Senior Spain\"";
  auto updated = engine_->groups().Update("Spain", cyclic);
  ASSERT_FALSE(updated.ok());
  EXPECT_THAT(updated.status().message(),
              HasSubstr("cycle between groups: Spain → Senior Spain → Spain"));
  EXPECT_TRUE(In("Spain", "u2"));  // the refused edit changed nothing
  absl::Status deleted = engine_->groups().Delete("Spain");
  EXPECT_TRUE(absl::IsFailedPrecondition(deleted));
  EXPECT_THAT(deleted.message(), HasSubstr("used by group \"Senior Spain\""));
  EXPECT_TRUE(engine_->groups().Delete("Senior Spain").ok());
  EXPECT_TRUE(engine_->groups().Delete("Spain").ok());
  EXPECT_THAT(engine_->groups().List(), IsEmpty());
}

TEST_F(EngineTest, BadDefinitionsChangeNothing) {
  Send(MessageType::kIdentify, "u1", "", "", "{}", R"({"age":50})");
  GroupDefinition bad;
  bad.name = "Typo";
  bad.condition = "agee > 40";
  auto created = engine_->groups().Create(bad);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().message(), "1:1: unknown trait 'agee'; did you mean 'age'?");
  bad.name = "bad/name\n";
  EXPECT_FALSE(engine_->groups().Create(bad).ok());
  EXPECT_THAT(engine_->groups().List(), IsEmpty());
  Create("Adults", "age >= 18");
  EXPECT_TRUE(absl::IsAlreadyExists(engine_->groups()
                                        .Create([] {
                                          GroupDefinition d;
                                          d.name = "Adults";
                                          d.condition = "age >= 21";
                                          return d;
                                        }())
                                        .status()));
}

TEST_F(EngineTest, MergedContactsLeaveTheirGroupsAndTheSurvivorIsReevaluated) {
  Track("phone", "Product Viewed", R"({"category":"cycling"})");
  Send(MessageType::kIdentify, "u1", "", "", "{}", R"({"age":47})");
  Create("Cyclists", "did \"Product Viewed\" where category = \"cycling\"");
  ContactId phone = Id("phone");
  EXPECT_TRUE(In("Cyclists", "phone"));
  EXPECT_FALSE(In("Cyclists", "u1"));
  Message alias;
  alias.type = MessageType::kAlias;
  alias.message_id = "alias";
  alias.user_id = "u1";
  alias.previous_id = "phone";
  alias.timestamp = alias.received_at = clock_.Now();
  ASSERT_TRUE(worker_->SubmitAndWait({alias}).ok());
  EXPECT_TRUE(In("Cyclists", "u1"));
  ContactId survivor = Id("u1");
  EXPECT_THAT(engine_->groups().Of(survivor), ElementsAre("Cyclists"));
  if (survivor != phone) {
    EXPECT_THAT(engine_->groups().Of(phone), IsEmpty());
  }
}

// A data directory written by the engine opens with every kind of definition as it was:
// dynamic and static groups, scores, personas and lifecycle stages, with their members,
// points and history.
TEST_F(EngineTest, EveryKindOfDefinitionSurvivesARestart) {
  Send(MessageType::kIdentify, "u1", "", "", "{}", R"({"age":50,"email":"u1@example.com"})");
  Send(MessageType::kIdentify, "u2", "", "", "{}", R"({"age":20})");
  Track("u1-phone", "Page Viewed");
  Create("Adults", "age >= 40");
  GroupDefinition vip;
  vip.name = "VIP";
  vip.contacts = {Id("u2")};
  ASSERT_TRUE(engine_->groups().Create(vip).ok());
  ScoreDefinition lead;
  lead.name = "Lead";
  lead.rules = {{ScoreRule::Kind::kMacro, "email is not null", 7, 0, 0}};
  ASSERT_TRUE(engine_->scores().Create(lead).ok());
  ASSERT_TRUE(engine_->scores().Create(AgePersona("Grown-ups", 5)).ok());
  LifecycleDefinition life;
  life.stages = {{0, "Visitor", "", ""}, {0, "Lead", "", "email is not null"}};
  ASSERT_TRUE(engine_->stages().Set(life).ok());

  auto snapshot = [&] {
    std::vector<std::string> out;
    for (const GroupInfo& g : engine_->groups().List()) {
      out.push_back(fmt::format("group {} {} {}", g.definition.name, g.definition.id, g.members));
    }
    for (bool personas : {false, true}) {
      for (const ScoreInfo& s : engine_->scores().List(personas)) {
        out.push_back(fmt::format("score {} {} {}", s.definition.name, s.definition.id, s.members));
      }
    }
    for (const StageInfo& s : engine_->stages().Get().stages) {
      out.push_back(fmt::format("stage {} {} {}", s.definition.name, s.definition.id, s.members));
    }
    for (const char* who : {"u1", "u2", "u1-phone"}) {
      const ContactScores scores = engine_->scores().Of(Id(who));
      out.push_back(fmt::format("{}: {} {} {} {} {}", who, scores.scores[0].points,
                                scores.scores[1].points, scores.persona, scores.stage,
                                engine_->audiences().ContactHistory(Id(who), 100)->size()));
    }
    return out;
  };
  const std::vector<std::string> before = snapshot();
  EXPECT_THAT(before, ::testing::Contains("u1: 7 10 Grown-ups Lead 3"));
  Close();
  Open();
  ASSERT_TRUE(worker_->RunDueTimers().ok());  // the start-up recomputation changes nothing
  EXPECT_EQ(snapshot(), before);
}

// Every column of derived per-contact state is declared by name, with its bytes.
TEST_F(EngineTest, DerivedStateNamesEveryColumn) {
  Send(MessageType::kIdentify, "u1", "", "", "{}", R"({"age":50})");
  Track("u1", "Product Added");
  clock_.Advance(absl::Seconds(1));
  Track("u1", "Order Completed");
  Create("Cart abandoners", kCartAbandonment);
  ASSERT_TRUE(engine_->scores().Create(AgePersona("Grown-ups", 5)).ok());
  LifecycleDefinition life;
  life.stages = {{0, "Visitor", "", ""}, {0, "Old", "", "age > 40"}};
  ASSERT_TRUE(engine_->stages().Set(life).ok());
  const DerivedColumns derived = engine_->DerivedState();
  std::vector<std::string> names;
  for (const DerivedColumn& c : derived.columns()) names.push_back(c.name);
  EXPECT_THAT(names,
              ::testing::IsSupersetOf({"group/Cart abandoners/members", "group/Cart abandoners/due",
                                       "persona/Grown-ups/points", "persona/Grown-ups/members",
                                       "personas/assignment", "stage/Old/members",
                                       "stages/assignment", "timers/heap"}));
  EXPECT_GT(derived.bytes(kMembersColumn), 0u);
  EXPECT_EQ(engine_->MembershipBytes(), derived.bytes(kMembersColumn));
  EXPECT_GT(derived.bytes(), derived.bytes(kMembersColumn));
}

}  // namespace
}  // namespace segmenta
