// The definition graph on its own, with nodes that only have names, uses and triggers:
// dependency order whatever the insertion order, what reads what, cycle refusal, lookups by
// key, id and audience, and the routes from a contact's change to the nodes it concerns.
#include "segments/definition_graph.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/segments/fake_node.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

// Each node's cause, or "-" when the node is not marked.
std::vector<std::string> Causes(const AffectedNodes& affected, size_t nodes) {
  std::vector<std::string> causes;
  for (size_t i = 0; i < nodes; ++i) {
    causes.push_back(affected.marked(i) ? std::string(affected.cause(i)) : "-");
  }
  return causes;
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
  AffectedNodes affected;
  affected.Reset(graph.size());
  graph.routes().Mark(change, profiles, graph, &affected);
  EXPECT_THAT(Causes(affected, graph.size()), ElementsAre("trait: age", "-", "-"));
  EXPECT_EQ(affected.count(), 1u);
  change.traits.clear();
  change.accounts = true;
  affected.Reset(graph.size());
  graph.routes().Mark(change, profiles, graph, &affected);
  EXPECT_THAT(Causes(affected, graph.size()), ElementsAre("-", "account", "-"));
}

// Issue 25: an identify that set a trait recorded "event: identify" on every node, because
// the change's first event was taken as the cause of all of them.
TEST(DefinitionGraphTest, EachNodeTakesTheCauseOfWhatItReads) {
  ProfileTable profiles;
  const uint16_t identify =
      profiles.AddActivity(1, MessageType::kIdentify, "", 1000, nullptr, nullptr);
  const uint16_t ordered =
      profiles.AddActivity(1, MessageType::kTrack, "Order Completed", 1000, nullptr, nullptr);
  DefinitionGraph graph;
  auto add = [&](uint32_t id, std::string key, std::vector<std::string> events,
                 std::vector<std::string> traits) {
    NodeTriggers triggers;
    triggers.events = std::move(events);
    triggers.traits = std::move(traits);
    graph.Add(std::make_unique<FakeNode>(id, std::move(key), std::vector<std::string>{},
                                         std::move(triggers)));
  };
  add(1, "age", {}, {"age"});
  add(2, "did identify", {"identify"}, {});
  add(3, "age or did identify", {"identify"}, {"age"});  // the trait comes first
  add(4, "did anything", {"*"}, {});                     // the change's first event
  add(5, "ordered", {"Order Completed"}, {});
  add(6, "city", {}, {"city"});
  add(7, "email", {}, {"email"});
  ContactChange change;
  change.contact = 1;
  change.event_tables = {identify, ordered};
  change.traits = {"name", "email", "age"};  // "email" first: the first trait each reads
  AffectedNodes affected;
  affected.Reset(graph.size());
  graph.routes().Mark(change, profiles, graph, &affected);
  EXPECT_THAT(Causes(affected, graph.size()),
              ElementsAre("trait: age", "event: identify", "trait: age", "event: identify",
                          "event: Order Completed", "-", "trait: email"));
}

TEST(DefinitionGraphTest, ANodeReadingANodeThatChangedTakesItsCauseUnlessItHasItsOwn) {
  AffectedNodes affected;
  affected.Reset(4);
  const size_t first = 0, own = 2, provisional = 3;
  affected.Mark({&first, 1}, "event: ", "page");
  affected.Mark({&own, 1}, "trait: ", "age");
  affected.Mark({&provisional, 1}, kNewContactCause, {}, /*provisional=*/true);
  for (size_t d : {size_t{1}, own, provisional}) affected.MarkDependent(d, first);
  EXPECT_THAT(Causes(affected, 4),
              ElementsAre("event: page", "event: page", "trait: age", "event: page"));
  // Marking does not replace a cause; MarkAll marks what is left.
  affected.Reset(3);
  affected.Mark({&first, 1}, "time");
  affected.MarkAll("contacts merged");
  EXPECT_THAT(Causes(affected, 3), ElementsAre("time", "contacts merged", "contacts merged"));
}

}  // namespace
}  // namespace segmenta
