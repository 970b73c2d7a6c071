// Routing a contact's change to the nodes it concerns, with each node's cause, allocates
// nothing once the buffers it reuses have grown: it runs on the ingest path for every
// contact of every commit (AudienceEngine::OnApplied). Its own binary, because it counts
// the allocations of the whole process by replacing the global operator new.
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "segments/definition_graph.h"
#include "tests/segments/fake_node.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<size_t> allocations{0};
}  // namespace

// As libstdc++'s own: malloc and free (GCC cannot tell that these are a pair).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace segmenta {
namespace {

TEST(RoutingAllocationsTest, RoutingAChangeAllocatesNothingOnceWarm) {
  ProfileTable profiles;
  const uint16_t identify =
      profiles.AddActivity(1, MessageType::kIdentify, "", 1000, nullptr, nullptr);
  const uint16_t ordered =
      profiles.AddActivity(1, MessageType::kTrack, "Order Completed with a long name to be sure",
                           1000, nullptr, nullptr);
  DefinitionGraph graph;
  NodeTriggers by_age;
  by_age.traits = {"age"};
  NodeTriggers by_order;
  by_order.events = {"Order Completed with a long name to be sure"};
  NodeTriggers by_anything;
  by_anything.events = {"*"};
  by_anything.unvalued_contacts = true;
  graph.Add(std::make_unique<FakeNode>(1, "age", std::vector<std::string>{}, by_age));
  graph.Add(std::make_unique<FakeNode>(2, "order", std::vector<std::string>{}, by_order));
  graph.Add(
      std::make_unique<FakeNode>(3, "reads age", std::vector<std::string>{"age"}, NodeTriggers{}));
  graph.Add(std::make_unique<FakeNode>(4, "anything", std::vector<std::string>{}, by_anything));
  ContactChange change;
  change.contact = 1;
  change.event_tables = {identify, ordered};
  change.traits = {"a trait with a name longer than a short string", "age"};
  AffectedNodes affected;
  auto route = [&] {
    affected.Reset(graph.size());
    graph.routes().Mark(change, profiles, graph, &affected);
    for (size_t i = 0; i < graph.size(); ++i) {
      if (!affected.marked(i)) continue;
      for (size_t d : graph.dependents(i)) affected.MarkDependent(d, i);
    }
    const size_t count = affected.count();
    // Then a merge (every node, one cause).
    affected.Reset(graph.size());
    affected.MarkAll("merged into contact ", "12345678901234567890");
    return count;
  };
  ASSERT_EQ(route(), 4u);  // grows the buffers
  counting = true;
  size_t marked = 0;
  for (int i = 0; i < 100; ++i) marked += route();
  counting = false;
  EXPECT_EQ(marked, 400u);
  EXPECT_EQ(affected.cause(0), "merged into contact 12345678901234567890");
  EXPECT_EQ(allocations.load(), 0u);
}

}  // namespace
}  // namespace segmenta
