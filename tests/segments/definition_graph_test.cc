// The definition graph on its own, with nodes that only have names, uses and triggers:
// dependency order whatever the insertion order, what reads what, cycle refusal, lookups by
// key, id and audience, and the routes from a contact's change to the nodes it concerns.
#include "segments/definition_graph.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A node with given uses and triggers, and one audience named after it.
class FakeNode : public AudienceNode {
 public:
  FakeNode(uint32_t id, std::string key, std::vector<std::string> uses, NodeTriggers triggers = {})
      : AudienceNode(id, {key, "fake \"" + key + "\"", "fake/" + key}),
        triggers_(std::move(triggers)) {
    uses_ = std::move(uses);
    audience_.id = id;
    audience_.name = key;
  }
  absl::Status Compile(const Schema&, const ProfileTable&, Millis) override {
    return absl::OkStatus();
  }
  bool Evaluate(ContactId, const NodeContext&) override { return false; }
  absl::StatusOr<bool> Recompute(const NodeContext&, JobProgress*) override { return false; }
  void DeclareColumns(DerivedColumns*) const override {}
  NodeTriggers Triggers() const override { return triggers_; }
  std::span<Audience> audiences() override { return {&audience_, 1}; }
  using AudienceNode::audiences;

 private:
  NodeTriggers triggers_;
  Audience audience_;
};

std::vector<std::string> Order(const DefinitionGraph& graph) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < graph.size(); ++i) keys.push_back(graph.node(i).names().key);
  return keys;
}

TEST(DefinitionGraphTest, NodesComeAfterWhatTheyUseWhateverTheOrderTheyCameIn) {
  DefinitionGraph graph;
  graph.Add(std::make_unique<FakeNode>(3, "c", std::vector<std::string>{"b"}));
  graph.Add(std::make_unique<FakeNode>(2, "b", std::vector<std::string>{"a"}));
  graph.Add(std::make_unique<FakeNode>(4, "d", std::vector<std::string>{}));
  graph.Add(std::make_unique<FakeNode>(1, "a", std::vector<std::string>{}));
  EXPECT_THAT(Order(graph), ElementsAre("d", "a", "b", "c"));
  const size_t a = graph.IndexOf(1);
  ASSERT_NE(a, DefinitionGraph::kNone);
  EXPECT_EQ(graph.node(a).names().key, "a");
  ASSERT_EQ(graph.dependents(a).size(), 1u);
  EXPECT_EQ(graph.node(graph.dependents(a)[0]).names().key, "b");
  EXPECT_EQ(graph.Find("c"), &graph.node(graph.IndexOf(3)));
  EXPECT_EQ(graph.Find("nope"), nullptr);
  EXPECT_EQ(graph.IndexOf(99), DefinitionGraph::kNone);
  // What reads a node keeps it from going.
  EXPECT_THAT(graph.CheckNoUsers(*graph.Find("b")).message(),
              HasSubstr("fake \"b\" is used by fake \"c\""));
  EXPECT_TRUE(graph.CheckNoUsers(*graph.Find("c")).ok());
  graph.Remove(graph.Find("c"));
  EXPECT_THAT(Order(graph), ElementsAre("d", "a", "b"));
  EXPECT_THAT(graph.UsedBy(*graph.Find("b")), IsEmpty());
}

TEST(DefinitionGraphTest, ANodeThatWouldCloseACycleIsRefused) {
  DefinitionGraph graph;
  graph.Add(std::make_unique<FakeNode>(1, "a", std::vector<std::string>{}));
  graph.Add(std::make_unique<FakeNode>(2, "b", std::vector<std::string>{"a"}));
  graph.Add(std::make_unique<FakeNode>(3, "c", std::vector<std::string>{"b"}));
  // "a" edited to read "c": a → c → b → a.
  FakeNode edited(1, "a", {"c"});
  absl::Status cycle = graph.CheckAcyclic(edited, graph.Find("a"));
  EXPECT_TRUE(absl::IsInvalidArgument(cycle));
  // Named as conditions name them (the fake nodes are keyed like groups).
  EXPECT_THAT(cycle.message(), HasSubstr("cycle between groups: a → c → b → a"));
  // Reading itself is a cycle too; reading what does not read it is not.
  EXPECT_FALSE(graph.CheckAcyclic(FakeNode(4, "d", {"d"}), nullptr).ok());
  EXPECT_TRUE(graph.CheckAcyclic(FakeNode(4, "d", {"c", "a"}), nullptr).ok());
  EXPECT_TRUE(graph.CheckAcyclic(FakeNode(1, "a", {}), graph.Find("a")).ok());
}

TEST(DefinitionGraphTest, ReplacingANodeKeepsWhatReadsItAndReordersByItsNewUses) {
  DefinitionGraph graph;
  graph.Add(std::make_unique<FakeNode>(1, "a", std::vector<std::string>{}));
  graph.Add(std::make_unique<FakeNode>(2, "b", std::vector<std::string>{"a"}));
  graph.Add(std::make_unique<FakeNode>(3, "c", std::vector<std::string>{}));
  EXPECT_THAT(Order(graph), ElementsAre("a", "b", "c"));
  std::unique_ptr<AudienceNode> old = graph.Replace(
      graph.Find("a"), std::make_unique<FakeNode>(1, "a", std::vector<std::string>{"c"}));
  EXPECT_EQ(old->names().key, "a");
  EXPECT_THAT(Order(graph), ElementsAre("c", "a", "b"));
  EXPECT_THAT(graph.UsedBy(*graph.Find("a")), ElementsAre(graph.Find("b")));
}

TEST(DefinitionGraphTest, AudiencesAreFoundByIdAndByKindAndName) {
  DefinitionGraph graph;
  graph.Add(std::make_unique<FakeNode>(7, "seven", std::vector<std::string>{}));
  const AudienceDirectory::Entry* entry = graph.audiences().ById(7);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->audience().name, "seven");
  EXPECT_EQ(graph.audiences().Find(AudienceKind::kGroup, "seven"), &entry->audience());
  EXPECT_EQ(graph.audiences().Find(AudienceKind::kPersona, "seven"), nullptr);
  EXPECT_EQ(graph.audiences().ById(8), nullptr);
}

TEST(DefinitionGraphTest, AChangeConcernsTheNodesThatReadWhatItTouched) {
  ProfileTable profiles;
  DefinitionGraph graph;
  NodeTriggers by_age;
  by_age.traits = {"age"};
  NodeTriggers by_accounts;
  by_accounts.accounts = true;
  graph.Add(std::make_unique<FakeNode>(1, "age", std::vector<std::string>{}, by_age));
  graph.Add(std::make_unique<FakeNode>(2, "accounts", std::vector<std::string>{}, by_accounts));
  graph.Add(std::make_unique<FakeNode>(3, "nothing", std::vector<std::string>{}));
  ContactChange change;
  change.contact = 1;
  change.traits = {"age"};
  std::vector<bool> affected(graph.size());
  std::string cause;
  graph.routes().Mark(change, profiles, graph, &affected, &cause);
  EXPECT_THAT(affected, ElementsAre(true, false, false));
  EXPECT_EQ(cause, "trait: age");
  change.traits.clear();
  change.accounts = true;
  affected.assign(graph.size(), false);
  cause.clear();
  graph.routes().Mark(change, profiles, graph, &affected, &cause);
  EXPECT_THAT(affected, ElementsAre(false, true, false));
  EXPECT_EQ(cause, "account");
}

}  // namespace
}  // namespace segmenta
