#include "eval/number_range.h"

namespace segmenta {

std::optional<NumberRange> RangeOfComparison(Op op, const Scalar& c) {
  NumberRange r;
  double v;
  if (c.type == ValueType::kNumber) {
    v = c.num;
  } else if (c.type == ValueType::kTime) {
    r.type = ValueType::kTime;
    v = static_cast<double>(c.ms);
  } else {
    return std::nullopt;
  }
  switch (op) {
    case Op::kEq:
      r.lo = r.hi = v;
      break;
    case Op::kNe:
      r.lo = r.hi = v;
      r.negated = true;
      break;
    case Op::kLt:
      r.hi = v;
      r.hi_open = true;
      break;
    case Op::kLe:
      r.hi = v;
      break;
    case Op::kGt:
      r.lo = v;
      r.lo_open = true;
      break;
    case Op::kGe:
      r.lo = v;
      break;
    default:
      return std::nullopt;
  }
  return r;
}

std::optional<NumberRange> RangeOfBetween(const Scalar& lo, const Scalar& hi) {
  std::optional<NumberRange> from = RangeOfComparison(Op::kGe, lo);
  std::optional<NumberRange> to = RangeOfComparison(Op::kLe, hi);
  if (!from || !to || from->type != to->type) return std::nullopt;
  from->hi = to->hi;
  return from;
}

NumberRange RangeOfTimeTest(TimeTest test, Millis duration, Millis now) {
  NumberRange r;
  r.type = ValueType::kTime;
  switch (test) {
    case TimeTest::kWithinLast:
      r.lo = static_cast<double>(now - duration);
      r.hi = static_cast<double>(now);
      break;
    case TimeTest::kWithinNext:
      r.lo = static_cast<double>(now);
      r.hi = static_cast<double>(now + duration);
      break;
    case TimeTest::kOlderThan:
      r.hi = static_cast<double>(now - duration);
      r.hi_open = true;
      break;
  }
  return r;
}

}  // namespace segmenta
