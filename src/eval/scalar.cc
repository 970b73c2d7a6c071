#include "eval/scalar.h"

#include <algorithm>

#include "core/time_format.h"

namespace segmenta {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualFold(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

bool ContainsFold(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (EqualFold(hay.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

}  // namespace

Scalar ScalarOf(const Column* column, size_t row) {
  Scalar s;
  if (column == nullptr) return s;
  s.type = column->type(row);
  switch (s.type) {
    case ValueType::kNull:
      break;
    case ValueType::kBool:
      s.b = column->boolean(row);
      break;
    case ValueType::kNumber:
      s.num = column->number(row);
      break;
    case ValueType::kString:
      s.str = column->string(row);
      s.column = column;
      s.string_id = column->string_id(row);
      break;
    case ValueType::kTime:
    case ValueType::kDuration:
      column->time(row, &s.ms);
      break;
  }
  return s;
}

Scalar DictionaryScalar(const Column* column, uint32_t id) {
  Scalar s;
  s.type = ValueType::kString;
  s.str = column->dictionary_string(id);
  s.column = column;
  s.string_id = id;
  return s;
}

Scalar ScalarOf(const Value& value) {
  Scalar s;
  s.type = value.type();
  switch (s.type) {
    case ValueType::kNull:
      break;
    case ValueType::kBool:
      s.b = value.as_bool();
      break;
    case ValueType::kNumber:
      s.num = value.as_number();
      break;
    case ValueType::kString:
      s.str = value.as_string();
      break;
    case ValueType::kTime:
    case ValueType::kDuration:
      s.ms = value.as_millis();
      break;
  }
  return s;
}

bool AsTime(const Scalar& s, Millis* out) {
  switch (s.type) {
    case ValueType::kTime:
      *out = s.ms;
      return true;
    case ValueType::kString: {
      if (s.column != nullptr) return s.column->dictionary_time(s.string_id, out);
      absl::StatusOr<absl::Time> t = ParseTimestamp(s.str);
      if (!t.ok()) return false;
      *out = ToMillis(*t);
      return true;
    }
    default:
      return false;
  }
}

bool Compare(Op op, const Scalar& l, const Scalar& r) {
  if (l.is_null() || r.is_null()) return false;
  switch (op) {
    case Op::kContains:
      return l.type == ValueType::kString && r.type == ValueType::kString &&
             l.str.find(r.str) != std::string_view::npos;
    case Op::kIContains:
      return l.type == ValueType::kString && r.type == ValueType::kString &&
             ContainsFold(l.str, r.str);
    case Op::kStartsWith:
      return l.type == ValueType::kString && r.type == ValueType::kString &&
             l.str.substr(0, r.str.size()) == r.str;
    case Op::kIStartsWith:
      return l.type == ValueType::kString && r.type == ValueType::kString &&
             r.str.size() <= l.str.size() && EqualFold(l.str.substr(0, r.str.size()), r.str);
    case Op::kEndsWith:
      return l.type == ValueType::kString && r.type == ValueType::kString &&
             r.str.size() <= l.str.size() && l.str.substr(l.str.size() - r.str.size()) == r.str;
    case Op::kIEndsWith:
      return l.type == ValueType::kString && r.type == ValueType::kString &&
             r.str.size() <= l.str.size() &&
             EqualFold(l.str.substr(l.str.size() - r.str.size()), r.str);
    default:
      break;
  }
  if (l.type == ValueType::kTime || r.type == ValueType::kTime) {
    Millis a, b;
    if (!AsTime(l, &a) || !AsTime(r, &b)) return false;
    return Ordered(op, a, b);
  }
  if (l.type != r.type) return false;
  switch (l.type) {
    case ValueType::kNumber:
      return Ordered(op, l.num, r.num);
    case ValueType::kString:
      return Ordered(op, l.str, r.str);
    case ValueType::kBool:
      return (op == Op::kEq || op == Op::kNe) && Ordered(op, l.b, r.b);
    case ValueType::kDuration:
      return Ordered(op, l.ms, r.ms);
    default:
      return false;
  }
}

bool PassesTimeTest(TimeTest test, Millis duration, Millis t, Millis now) {
  switch (test) {
    case TimeTest::kWithinLast:
      return now - duration <= t && t <= now;
    case TimeTest::kWithinNext:
      return now <= t && t <= now + duration;
    case TimeTest::kOlderThan:
      return t < now - duration;
  }
  return false;
}

int SelectorTable(const ProfileTable& profiles, const Selector& selector) {
  switch (selector.kind) {
    case ActivityKind::kAny:
      return -2;
    case ActivityKind::kTrack:
      return profiles.table_index(MessageType::kTrack, selector.event);
    case ActivityKind::kPage:
      return profiles.table_index(MessageType::kPage);
    case ActivityKind::kScreen:
      return profiles.table_index(MessageType::kScreen);
    case ActivityKind::kIdentify:
      return profiles.table_index(MessageType::kIdentify);
    case ActivityKind::kGroup:
      return profiles.table_index(MessageType::kGroup);
    case ActivityKind::kAlias:
      return profiles.table_index(MessageType::kAlias);
  }
  return -1;
}

Scalar Arith(Op op, const Scalar& l, const Scalar& r) {
  if (l.is_null() || r.is_null()) return Scalar();
  const bool lt = l.type == ValueType::kTime || l.type == ValueType::kString;
  const bool rt = r.type == ValueType::kTime || r.type == ValueType::kString;
  if (l.type == ValueType::kNumber && r.type == ValueType::kNumber) {
    switch (op) {
      case Op::kAdd:
        return Scalar::Number(l.num + r.num);
      case Op::kSub:
        return Scalar::Number(l.num - r.num);
      case Op::kMul:
        return Scalar::Number(l.num * r.num);
      case Op::kDiv:
        return r.num == 0 ? Scalar() : Scalar::Number(l.num / r.num);
      default:
        return Scalar();
    }
  }
  Millis a = 0, b = 0;
  if (lt && r.type == ValueType::kDuration && (op == Op::kAdd || op == Op::kSub)) {
    if (!AsTime(l, &a)) return Scalar();
    return Scalar::Time(op == Op::kAdd ? a + r.ms : a - r.ms);
  }
  if (l.type == ValueType::kDuration && rt && op == Op::kAdd) {
    if (!AsTime(r, &b)) return Scalar();
    return Scalar::Time(b + l.ms);
  }
  if (lt && rt && op == Op::kSub) {
    if (!AsTime(l, &a) || !AsTime(r, &b)) return Scalar();
    return Scalar::Duration(a - b);
  }
  if (l.type == ValueType::kDuration && r.type == ValueType::kDuration) {
    if (op == Op::kAdd) return Scalar::Duration(l.ms + r.ms);
    if (op == Op::kSub) return Scalar::Duration(l.ms - r.ms);
  }
  if (l.type == ValueType::kDuration && r.type == ValueType::kNumber) {
    if (op == Op::kMul) return Scalar::Duration(static_cast<Millis>(l.ms * r.num));
    if (op == Op::kDiv && r.num != 0) return Scalar::Duration(static_cast<Millis>(l.ms / r.num));
  }
  if (l.type == ValueType::kNumber && r.type == ValueType::kDuration && op == Op::kMul) {
    return Scalar::Duration(static_cast<Millis>(l.num * r.ms));
  }
  return Scalar();
}

}  // namespace segmenta
