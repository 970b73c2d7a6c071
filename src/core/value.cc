#include "core/value.h"

#include "core/json_writer.h"
#include "core/time_format.h"

namespace segmenta {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return "boolean";
    case ValueType::kNumber:
      return "number";
    case ValueType::kString:
      return "string";
    case ValueType::kTime:
      return "time";
    case ValueType::kDuration:
      return "duration";
  }
  return "?";
}

Value Value::FromJson(simdjson::dom::element element) {
  switch (element.type()) {
    case simdjson::dom::element_type::INT64:
      return Number(static_cast<double>(int64_t(element)));
    case simdjson::dom::element_type::UINT64:
      return Number(static_cast<double>(uint64_t(element)));
    case simdjson::dom::element_type::DOUBLE:
      return Number(double(element));
    case simdjson::dom::element_type::STRING:
      return String(std::string(std::string_view(element)));
    case simdjson::dom::element_type::BOOL:
      return Bool(bool(element));
    case simdjson::dom::element_type::NULL_VALUE:
      return Null();
    case simdjson::dom::element_type::OBJECT:
    case simdjson::dom::element_type::ARRAY:
      return String(MinifiedJson(element));
  }
  return Null();
}

Value Value::FromJsonText(std::string_view json) {
  if (json.empty()) return Null();
  // Fast paths for the common scalars, without a parser.
  if (json == "null") return Null();
  if (json == "true") return Bool(true);
  if (json == "false") return Bool(false);
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element element;
  if (parser.parse(json.data(), json.size()).get(element) != simdjson::SUCCESS) return Null();
  return FromJson(element);
}

bool Value::ToTime(Millis* out) const {
  switch (type_) {
    case ValueType::kTime:
      *out = as_millis();
      return true;
    case ValueType::kString: {
      absl::StatusOr<absl::Time> t = ParseTimestamp(as_string());
      if (!t.ok()) return false;
      *out = ToMillis(*t);
      return true;
    }
    case ValueType::kNumber:
      *out = static_cast<Millis>(as_number());
      return true;
    default:
      return false;
  }
}

std::string Value::ToJson() const {
  std::string out;
  switch (type_) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return as_bool() ? "true" : "false";
    case ValueType::kNumber:
      AppendJsonNumber(as_number(), &out);
      return out;
    case ValueType::kString:
      AppendJsonString(as_string(), &out);
      return out;
    case ValueType::kTime:
      AppendJsonString(FormatTimestamp(FromMillis(as_millis())), &out);
      return out;
    case ValueType::kDuration:
      return std::to_string(as_millis());
  }
  return "null";
}

}  // namespace segmenta
