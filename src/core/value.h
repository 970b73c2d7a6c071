// A typed scalar: what a trait, an event property or a condition's expression holds.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "simdjson.h"

namespace segmenta {

// Milliseconds since the Unix epoch, the engine's unit of time.
using Millis = int64_t;

enum class ValueType : uint8_t { kNull, kBool, kNumber, kString, kTime, kDuration };

// "null", "boolean", "number", "string", "time", "duration".
std::string_view ValueTypeName(ValueType type);

// A null, a boolean, a number (double), a string, a time or a duration (both in ms).
// Copyable; small strings stay inline (std::string's SSO).
class Value {
 public:
  Value() = default;
  static Value Null() { return Value(); }
  static Value Bool(bool b) { return Value(ValueType::kBool, b); }
  static Value Number(double d) { return Value(ValueType::kNumber, d); }
  static Value String(std::string s) { return Value(ValueType::kString, std::move(s)); }
  static Value Time(Millis ms) { return Value(ValueType::kTime, ms); }
  static Value Duration(Millis ms) { return Value(ValueType::kDuration, ms); }

  // A JSON scalar as a Value: numbers, strings, booleans, null. Objects and arrays become
  // their compact JSON text as a string (conditions compare them as text).
  static Value FromJson(simdjson::dom::element element);

  ValueType type() const { return type_; }
  bool is_null() const { return type_ == ValueType::kNull; }
  bool as_bool() const { return std::get<bool>(data_); }
  double as_number() const { return std::get<double>(data_); }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  Millis as_millis() const { return std::get<Millis>(data_); }  // time or duration

  // The value as JSON text ("null", "true", "47", "\"ES\""; a time as an ISO string, a
  // duration as milliseconds).
  std::string ToJson() const;

  bool operator==(const Value& other) const = default;

 private:
  template <typename T>
  Value(ValueType type, T v) : type_(type), data_(std::move(v)) {}
  ValueType type_ = ValueType::kNull;
  std::variant<std::monostate, bool, double, std::string, Millis> data_;
};

}  // namespace segmenta
