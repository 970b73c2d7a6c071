// Each aggregate folds a contact's events into the value the condition language defines.
#include "eval/aggregate_accumulators.h"

#include <cmath>

#include "gtest/gtest.h"

namespace segmenta {
namespace {

// Slot 0: events 4, 1, 7; slot 1: none; slot 2: one event, 5.
AggregateAccumulators Fold(Aggregate aggregate) {
  AggregateAccumulators acc(aggregate, 3);
  const double numbers[] = {4, 1, 7, 5};
  const size_t slots[] = {0, 0, 0, 2};
  for (int i = 0; i < 4; ++i) {
    if (acc.numeric()) {
      acc.AddNumber(slots[i], numbers[i]);
    } else if (acc.ordered()) {
      acc.AddOrdered(slots[i], static_cast<Millis>(numbers[i]) * 1000, i);
    } else {
      acc.AddCount(slots[i]);
    }
  }
  return acc;
}

TEST(AggregateAccumulatorsTest, EachAggregateFoldsItsEvents) {
  struct Case {
    Aggregate aggregate;
    double slot0, slot2;
  } cases[] = {{Aggregate::kCount, 3, 1},     {Aggregate::kSum, 12, 5},
               {Aggregate::kAvg, 4, 5},       {Aggregate::kMin, 1, 5},
               {Aggregate::kMax, 7, 5},       {Aggregate::kFirst, 1000, 5000},
               {Aggregate::kLast, 7000, 5000}};
  for (const Case& c : cases) {
    SCOPED_TRACE(AggregateName(c.aggregate));
    AggregateAccumulators acc = Fold(c.aggregate);
    EXPECT_EQ(acc.slots(), 3u);
    EXPECT_EQ(acc.count(0), 3u);
    std::vector<double> values = acc.Values(nullptr);
    ASSERT_EQ(values.size(), 3u);
    EXPECT_DOUBLE_EQ(values[0], c.slot0);
    EXPECT_DOUBLE_EQ(values[2], c.slot2);
    // A slot without events: 0 for a count, else null, as EmptyValue says.
    if (c.aggregate == Aggregate::kCount) {
      EXPECT_EQ(values[1], 0);
    } else {
      EXPECT_TRUE(std::isnan(values[1]));
    }
    EXPECT_EQ(std::isnan(AggregateAccumulators::EmptyValue(c.aggregate)),
              c.aggregate != Aggregate::kCount);
    EXPECT_EQ(AggregateAccumulators::NumberType(c.aggregate),
              acc.ordered() ? ValueType::kTime : ValueType::kNumber);
  }
}

// Min and max start from the first number, not from 0.
TEST(AggregateAccumulatorsTest, MinAndMaxOfNegativeAndPositiveNumbers) {
  AggregateAccumulators min(Aggregate::kMin, 1), max(Aggregate::kMax, 1);
  for (double v : {5.0, 3.0, 9.0}) min.AddNumber(0, v);
  for (double v : {-5.0, -3.0, -9.0}) max.AddNumber(0, v);
  EXPECT_EQ(min.Values(nullptr)[0], 3);
  EXPECT_EQ(max.Values(nullptr)[0], -3);
}

// Events come in (time, ref) order; at one time, first keeps the first, last the last.
TEST(AggregateAccumulatorsTest, TiesKeepTheFirstAndTakeTheLast) {
  AggregateAccumulators first(Aggregate::kFirst, 1), last(Aggregate::kLast, 1);
  for (uint64_t ref : {10u, 11u, 12u}) {
    first.AddOrdered(0, 5000, ref);
    last.AddOrdered(0, 5000, ref);
  }
  EXPECT_EQ(first.ref(0), 10u);
  EXPECT_EQ(last.ref(0), 12u);
  // An earlier time after a later one still wins for first, not for last.
  first.AddOrdered(0, 4000, 13);
  last.AddOrdered(0, 4000, 13);
  EXPECT_EQ(first.ref(0), 13u);
  EXPECT_EQ(last.ref(0), 12u);
}

TEST(AggregateAccumulatorsTest, SlotsNotLiveReadNull) {
  AggregateAccumulators acc = Fold(Aggregate::kCount);
  RowBits live(3, true);
  live.clear(2);
  std::vector<double> values = acc.Values(&live);
  EXPECT_EQ(values[0], 3);
  EXPECT_EQ(values[1], 0);
  EXPECT_TRUE(std::isnan(values[2]));
}

TEST(AggregateAccumulatorsTest, SparseWhenAtMostAQuarterOfTheSlotsHaveEvents) {
  // 12 slots, 3 with events (a quarter): sparse; the dead one is left out.
  AggregateAccumulators acc(Aggregate::kCount, 12);
  acc.AddCount(2);
  acc.AddCount(2);
  acc.AddCount(5);
  acc.AddCount(9);
  RowBits live(12, true);
  live.clear(9);
  std::vector<double> values = acc.Values(&live);
  auto sparse = acc.Sparse(values, live);
  ASSERT_NE(sparse, nullptr);
  EXPECT_EQ(sparse->fill, 0);
  EXPECT_EQ(sparse->rows, (std::vector<uint32_t>{2, 5}));
  EXPECT_EQ(sparse->values, (std::vector<double>{2, 1}));
  // A sum's fill is null.
  AggregateAccumulators sum(Aggregate::kSum, 12);
  sum.AddNumber(0, 4);
  auto sum_sparse = sum.Sparse(sum.Values(&live), live);
  ASSERT_NE(sum_sparse, nullptr);
  EXPECT_TRUE(std::isnan(sum_sparse->fill));
  // A fourth slot with events: more than a quarter, not sparse.
  acc.AddCount(7);
  EXPECT_EQ(acc.Sparse(acc.Values(&live), live), nullptr);
}

}  // namespace
}  // namespace segmenta
