// NumberRange answers as the scalar comparisons and time tests it stands for, one row or
// 64 at a time.
#include "eval/number_range.h"

#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"

namespace segmenta {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(NumberRangeTest, ComparisonsWithAConstantHoldAsCompare) {
  const double values[] = {-kInf, -3, -0.5, 0, 1, 2, 2.5, 7, kInf};
  for (Op op : {Op::kEq, Op::kNe, Op::kLt, Op::kLe, Op::kGt, Op::kGe}) {
    for (double c : {-3.0, 0.0, 2.0}) {
      std::optional<NumberRange> range = RangeOfComparison(op, Scalar::Number(c));
      ASSERT_TRUE(range.has_value());
      EXPECT_EQ(range->type, ValueType::kNumber);
      for (double x : values) {
        EXPECT_EQ(range->Holds(x), Compare(op, Scalar::Number(x), Scalar::Number(c)))
            << static_cast<int>(op) << " " << x << " " << c;
      }
    }
  }
  std::optional<NumberRange> time = RangeOfComparison(Op::kLt, Scalar::Time(1000));
  ASSERT_TRUE(time.has_value());
  EXPECT_EQ(time->type, ValueType::kTime);
  EXPECT_TRUE(time->Holds(999));
  EXPECT_FALSE(time->Holds(1000));
}

TEST(NumberRangeTest, OtherOperatorsAndConstantsHaveNoRange) {
  EXPECT_FALSE(RangeOfComparison(Op::kMatches, Scalar::Number(1)).has_value());
  EXPECT_FALSE(RangeOfComparison(Op::kAdd, Scalar::Number(1)).has_value());
  Scalar text;
  text.type = ValueType::kString;
  text.str = "1";
  EXPECT_FALSE(RangeOfComparison(Op::kEq, text).has_value());
  EXPECT_FALSE(RangeOfComparison(Op::kEq, Scalar()).has_value());
  EXPECT_FALSE(RangeOfBetween(Scalar::Number(1), Scalar::Time(5)).has_value());
}

TEST(NumberRangeTest, BetweenIsInclusiveOnBothEnds) {
  std::optional<NumberRange> range = RangeOfBetween(Scalar::Number(2), Scalar::Number(5));
  ASSERT_TRUE(range.has_value());
  EXPECT_FALSE(range->Holds(1.999));
  EXPECT_TRUE(range->Holds(2));
  EXPECT_TRUE(range->Holds(5));
  EXPECT_FALSE(range->Holds(5.001));
  EXPECT_FALSE(range->Holds(kNaN));
}

TEST(NumberRangeTest, TimeTestsHoldAsPassesTimeTest) {
  std::mt19937_64 rng(3);
  const Millis now = 1795500000000;
  for (TimeTest test : {TimeTest::kWithinLast, TimeTest::kWithinNext, TimeTest::kOlderThan}) {
    for (Millis duration : {Millis{0}, Millis{1000}, Millis{86400000}}) {
      const NumberRange range = RangeOfTimeTest(test, duration, now);
      EXPECT_EQ(range.type, ValueType::kTime);
      for (int i = 0; i < 2000; ++i) {
        // Around the bounds, where an off-by-one would show.
        const Millis bound = i % 2 == 0 ? now : (i % 4 == 1 ? now - duration : now + duration);
        const Millis t = bound + static_cast<Millis>(rng() % 5) - 2;
        ASSERT_EQ(range.Holds(static_cast<double>(t)), PassesTimeTest(test, duration, t, now))
            << static_cast<int>(test) << " " << duration << " " << t - now;
      }
    }
  }
}

TEST(NumberRangeTest, InRangeWordMatchesHoldsAndFindsNaNs) {
  std::mt19937_64 rng(5);
  const double pool[] = {kNaN, -kInf, kInf, -1, 0, 1, 1.5, 2, 3, 10};
  for (int round = 0; round < 500; ++round) {
    NumberRange r;
    r.lo = pool[1 + rng() % 9];
    r.hi = pool[1 + rng() % 9];
    r.lo_open = rng() % 2;
    r.hi_open = rng() % 2;
    r.negated = rng() % 2;  // InRangeWord ignores it
    double x[64];
    for (double& v : x) v = pool[rng() % 10];
    uint64_t nan = 0;
    const uint64_t in = InRangeWord(x, r, &nan);
    NumberRange plain = r;
    plain.negated = false;
    for (int k = 0; k < 64; ++k) {
      ASSERT_EQ((in >> k) & 1, uint64_t{plain.Holds(x[k])}) << k << " " << x[k];
      ASSERT_EQ((nan >> k) & 1, uint64_t{std::isnan(x[k])}) << k;
    }
  }
}

}  // namespace
}  // namespace segmenta
