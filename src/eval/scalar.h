// The values evaluators compute with: like Value, but not owning its string, so that
// reading a column allocates nothing. Shared by the incremental and batch evaluators, so
// that both compare, compute and read times the same way.
#pragma once

#include <string_view>

#include "core/value.h"
#include "lang/ast.h"
#include "profile/profile_table.h"

namespace segmenta {

struct Scalar {
  ValueType type = ValueType::kNull;
  double num = 0;
  bool b = false;
  Millis ms = 0;  // time or duration
  std::string_view str;
  // Where a string was read from: its column caches the string read as a time.
  const Column* column = nullptr;
  uint32_t string_id = 0;

  bool is_null() const { return type == ValueType::kNull; }
  static Scalar Number(double v) {
    Scalar s;
    s.type = ValueType::kNumber;
    s.num = v;
    return s;
  }
  static Scalar Bool(bool v) {
    Scalar s;
    s.type = ValueType::kBool;
    s.b = v;
    return s;
  }
  static Scalar Time(Millis v) {
    Scalar s;
    s.type = ValueType::kTime;
    s.ms = v;
    return s;
  }
  static Scalar Duration(Millis v) {
    Scalar s;
    s.type = ValueType::kDuration;
    s.ms = v;
    return s;
  }
};

// Row `row` of `column` (null when the column is null or the row is empty).
Scalar ScalarOf(const Column* column, size_t row);
// String `id` of `column`'s dictionary.
Scalar DictionaryScalar(const Column* column, uint32_t id);
// A view of `value`, which must outlive the scalar.
Scalar ScalarOf(const Value& value);

// The scalar read as a time: a time, or an ISO-8601 string.
bool AsTime(const Scalar& s, Millis* out);

// `l op r` for the comparison operators (= != < <= > >= and the string operators except
// matches). False when either side is null or their types do not compare.
bool Compare(Op op, const Scalar& l, const Scalar& r);

// `l op r` for the ordering operators (= != < <= > >=) on comparable values.
template <typename T>
bool Ordered(Op op, const T& l, const T& r) {
  switch (op) {
    case Op::kEq:
      return l == r;
    case Op::kNe:
      return l != r;
    case Op::kLt:
      return l < r;
    case Op::kLe:
      return l <= r;
    case Op::kGt:
      return l > r;
    case Op::kGe:
      return l >= r;
    default:
      return false;
  }
}

// Whether time `t` passes `within last/next duration` or `older than duration` at `now`.
bool PassesTimeTest(TimeTest test, Millis duration, Millis t, Millis now);

// The event table a selector reads: its index, -1 when there is none yet, -2 for `any`
// (every table).
int SelectorTable(const ProfileTable& profiles, const Selector& selector);

// `l op r` for + - * /; null when the types do not combine or a side is null.
Scalar Arith(Op op, const Scalar& l, const Scalar& r);

}  // namespace segmenta
