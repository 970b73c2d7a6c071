// The engine's timers on their own: the heap hands out due timers earliest first, a
// rescheduled or forgotten timer never fires, and compaction drops stale timers.
#include "segments/timers.h"

#include <utility>
#include <vector>

#include "eval/evaluator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Fired = std::vector<std::pair<uint32_t, ContactId>>;

Fired PopDue(Timers& timers, Millis now) {
  Fired fired;
  timers.PopDue(now, [&](uint32_t node, ContactId contact) { fired.emplace_back(node, contact); });
  return fired;
}

TEST(TimersTest, DueTimersFireEarliestFirstAndOnlyOnce) {
  Timers timers;
  timers.Schedule(1, 5, 300, 10);
  timers.Schedule(1, 6, 100, 10);
  timers.Schedule(2, 5, 200, 10);
  EXPECT_EQ(timers.Next(), 100);
  EXPECT_EQ(timers.DueOf(2, 5), 200);
  EXPECT_THAT(PopDue(timers, 250),
              ElementsAre(std::pair{1u, ContactId{6}}, std::pair{2u, ContactId{5}}));
  EXPECT_EQ(timers.DueOf(2, 5), std::nullopt);
  EXPECT_THAT(PopDue(timers, 250), IsEmpty());
  EXPECT_THAT(PopDue(timers, 300), ElementsAre(std::pair{1u, ContactId{5}}));
  EXPECT_EQ(timers.Next(), std::nullopt);
}

TEST(TimersTest, ARescheduledOrForgottenTimerDoesNotFire) {
  Timers timers;
  timers.Schedule(1, 5, 100, 10);
  timers.Schedule(1, 5, 400, 10);  // moved later: the timer at 100 is stale
  timers.Schedule(1, 6, 100, 10);
  timers.Schedule(1, 6, std::nullopt, 10);  // cancelled
  timers.Schedule(2, 7, 100, 10);
  timers.Forget(2);  // the node was deleted
  EXPECT_THAT(PopDue(timers, 300), IsEmpty());
  EXPECT_THAT(PopDue(timers, 400), ElementsAre(std::pair{1u, ContactId{5}}));
}

TEST(TimersTest, ScheduleAllReplacesEveryTimerOfANode) {
  Timers timers;
  timers.Schedule(1, 0, 100, 3);
  timers.Schedule(1, 2, 150, 3);
  timers.ScheduleAll(1, {kNoChange, 200, kNoChange});
  EXPECT_EQ(timers.DueOf(1, 0), std::nullopt);
  EXPECT_EQ(timers.DueOf(1, 1), 200);
  EXPECT_THAT(PopDue(timers, 1000), ElementsAre(std::pair{1u, ContactId{1}}));
  timers.Schedule(1, 2, 300, 3);
  timers.ScheduleAll(1, {});  // no longer time-dependent
  EXPECT_THAT(PopDue(timers, 1000), IsEmpty());
}

TEST(TimersTest, CompactionDropsStaleTimersAndKeepsLiveOnes) {
  Timers timers;
  for (ContactId c = 0; c < 100; ++c) {
    timers.Schedule(1, c, 1000 + static_cast<Millis>(c), 100);
    timers.Schedule(1, c, 5000 + static_cast<Millis>(c), 100);  // the first one goes stale
  }
  EXPECT_EQ(timers.heap_size(), 200u);
  timers.Compact();
  EXPECT_EQ(timers.heap_size(), 100u);
  EXPECT_EQ(timers.Next(), 5000);
  EXPECT_EQ(PopDue(timers, 10000).size(), 100u);
}

TEST(TimersTest, EachNodesDueColumnIsDeclared) {
  Timers timers;
  timers.Schedule(3, 10, 100, 20);
  DerivedColumns columns;
  timers.DeclareColumns([](uint32_t node) { return "node/" + std::to_string(node); }, &columns);
  ASSERT_EQ(columns.columns().size(), 2u);
  EXPECT_EQ(columns.columns()[0].name, "node/3/due");
  EXPECT_EQ(columns.columns()[0].what, kDueColumn);
  EXPECT_GE(columns.columns()[0].bytes, 20 * sizeof(Millis));
  EXPECT_EQ(columns.columns()[1].what, kTimerHeapColumn);
}

}  // namespace
}  // namespace segmenta
