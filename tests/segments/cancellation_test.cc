// A definition change whose job is cancelled (JobProgress::cancelled) before it records
// anything returns CancelledError and leaves the engine and the store as they were: no new
// definition, the edited one unchanged, no enter or exit, no id taken, and the same after a
// restart.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/segments/engine_fixture.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;

class CancellationTest : public EngineFixture {
 protected:
  std::shared_ptr<JobProgress> Cancelled() {
    auto progress = std::make_shared<JobProgress>();
    progress->cancelled = true;
    return progress;
  }
  size_t History(std::string_view identity) {
    auto history = engine_->audiences().ContactHistory(Id(identity), 1000);
    EXPECT_TRUE(history.ok()) << history.status();
    return history.ok() ? history->size() : 0;
  }
  static GroupDefinition Group(std::string name, std::string condition) {
    GroupDefinition def;
    def.name = std::move(name);
    def.condition = std::move(condition);
    return def;
  }
  static LifecycleDefinition Stages(std::vector<std::string> names) {
    LifecycleDefinition def;
    for (size_t i = 0; i < names.size(); ++i) {
      def.stages.push_back({0, names[i], "", i == 0 ? "" : "age > " + std::to_string(i * 20)});
    }
    return def;
  }
};

TEST_F(CancellationTest, ACancelledDefinitionChangesNothing) {
  Send(MessageType::kIdentify, "ana", "", "", "{}", R"({"age":50})");
  Send(MessageType::kIdentify, "bob", "", "", "{}", R"({"age":30})");
  const GroupInfo adults = Create("Adults", "age >= 18");
  ASSERT_TRUE(engine_->scores().Create(AgePersona("Grown-ups", 5)).ok());
  ASSERT_TRUE(engine_->stages().Set(Stages({"Young", "Middle"})).ok());
  const size_t ana = History("ana"), bob = History("bob");

  // A new group, an edited group.
  EXPECT_TRUE(absl::IsCancelled(
      engine_->groups().Create(Group("Seniors", "age >= 45"), Cancelled()).status()));
  EXPECT_TRUE(absl::IsNotFound(engine_->groups().Get("Seniors").status()));
  EXPECT_TRUE(absl::IsCancelled(
      engine_->groups().Update("Adults", Group("Adults", "age >= 40"), Cancelled()).status()));
  EXPECT_EQ(engine_->groups().Get("Adults")->condition_text, adults.condition_text);
  EXPECT_TRUE(In("Adults", "bob"));
  // A new score, an edited persona (its threshold would take ana out).
  ScoreDefinition lead;
  lead.name = "Lead";
  lead.rules = {{ScoreRule::Kind::kMacro, "age > 20", 1, 0, 0}};
  EXPECT_TRUE(absl::IsCancelled(engine_->scores().Create(lead, Cancelled()).status()));
  EXPECT_TRUE(absl::IsNotFound(engine_->scores().Get("Lead").status()));
  EXPECT_TRUE(absl::IsCancelled(
      engine_->scores().Update("Grown-ups", AgePersona("Grown-ups", 50), Cancelled()).status()));
  EXPECT_EQ(engine_->scores().Get("Grown-ups")->definition.threshold, 5);
  EXPECT_EQ(engine_->scores().Of(Id("ana")).persona, "Grown-ups");
  // New stages (one removed, one added).
  EXPECT_TRUE(
      absl::IsCancelled(engine_->stages().Set(Stages({"Young", "Old"}), Cancelled()).status()));
  LifecycleInfo stages = engine_->stages().Get();
  ASSERT_EQ(stages.stages.size(), 2u);
  EXPECT_EQ(stages.stages[1].definition.name, "Middle");
  EXPECT_EQ(engine_->scores().Of(Id("ana")).stage, "Middle");

  EXPECT_EQ(History("ana"), ana);
  EXPECT_EQ(History("bob"), bob);
  // No id was taken: the next definition gets the one after the stages'.
  const uint32_t last_stage = stages.stages[1].definition.id;
  EXPECT_EQ(Create("Seniors", "age >= 45").definition.id, last_stage + 1);
  // And the store holds what the engine shows.
  Close();
  Open();
  EXPECT_TRUE(absl::IsNotFound(engine_->scores().Get("Lead").status()));
  EXPECT_EQ(engine_->stages().Get().stages[1].definition.name, "Middle");
  EXPECT_EQ(engine_->groups().Get("Adults")->condition_text, adults.condition_text);
}

TEST_F(CancellationTest, ProgressReachesTheEndOfAChangeThatIsNotCancelled) {
  Send(MessageType::kIdentify, "ana", "", "", "{}", R"({"age":50})");
  auto progress = std::make_shared<JobProgress>();
  ASSERT_TRUE(engine_->groups().Create(Group("Adults", "age >= 18"), progress).ok());
  EXPECT_EQ(progress->fraction.load(), 1.0);
  EXPECT_THAT(engine_->groups().Of(Id("ana")), ElementsAre("Adults"));
}

}  // namespace
}  // namespace segmenta
