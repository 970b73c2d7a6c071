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
