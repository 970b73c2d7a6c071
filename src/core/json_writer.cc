#include "core/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace segmenta {

namespace {

// Characters that need an escape in a JSON string: '"', '\\' and controls below 0x20.
constexpr bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  // Runs of characters that need no escape (nearly all of them) are appended at once; the
  // scan tests eight bytes at a time (SWAR: a byte below 0x20, or equal to '"' or '\\').
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  size_t run = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      uint64_t special = ((word - kOnes * 0x20) & ~word & kHighs) | has_zero(word ^ (kOnes * '"')) |
                         has_zero(word ^ (kOnes * '\\'));
      if (special == 0) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (!NeedsEscape(c)) {
      ++i;
      continue;
    }
    out->append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[(c >> 4) & 0xf]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendJsonNumber(double value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);  // shortest round trip
  out->append(buf, ec == std::errc() ? end - buf : 0);
}

void AppendMinifiedJson(simdjson::dom::element element, std::string* out) {
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT:
      AppendMinifiedJson(simdjson::dom::object(element), out);
      return;
    case simdjson::dom::element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      for (simdjson::dom::element item : simdjson::dom::array(element)) {
        if (!first) out->push_back(',');
        first = false;
        AppendMinifiedJson(item, out);
      }
      out->push_back(']');
      return;
    }
    case simdjson::dom::element_type::STRING:
      AppendJsonString(std::string_view(element), out);
      return;
    case simdjson::dom::element_type::INT64:
      absl::StrAppend(out, int64_t(element));
      return;
    case simdjson::dom::element_type::UINT64:
      absl::StrAppend(out, uint64_t(element));
      return;
    case simdjson::dom::element_type::DOUBLE:
      AppendJsonNumber(double(element), out);
      return;
    case simdjson::dom::element_type::BOOL:
      out->append(bool(element) ? "true" : "false");
      return;
    case simdjson::dom::element_type::NULL_VALUE:
      out->append("null");
      return;
  }
}

void AppendMinifiedJson(simdjson::dom::object object, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (simdjson::dom::key_value_pair field : object) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(field.key, out);
    out->push_back(':');
    AppendMinifiedJson(field.value, out);
  }
  out->push_back('}');
}

std::string MinifiedJson(simdjson::dom::element element) {
  std::string out;
  AppendMinifiedJson(element, &out);
  return out;
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_element_.empty()) {
    if (has_element_.back()) out_->push_back(',');
    has_element_.back() = true;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_->push_back('{');
  has_element_.push_back(false);
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  out_->push_back('}');
  has_element_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_->push_back('[');
  has_element_.push_back(false);
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  out_->push_back(']');
  has_element_.pop_back();
  return *this;
}
JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendJsonString(key, out_);
  out_->push_back(':');
  after_key_ = true;
  return *this;
}
JsonWriter& JsonWriter::String(std::string_view value) {
  Separate();
  AppendJsonString(value, out_);
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t value) {
  Separate();
  absl::StrAppend(out_, value);
  return *this;
}
JsonWriter& JsonWriter::Uint(uint64_t value) {
  Separate();
  absl::StrAppend(out_, value);
  return *this;
}
JsonWriter& JsonWriter::Double(double value) {
  Separate();
  AppendJsonNumber(value, out_);
  return *this;
}
JsonWriter& JsonWriter::Bool(bool value) {
  Separate();
  out_->append(value ? "true" : "false");
  return *this;
}
JsonWriter& JsonWriter::Null() {
  Separate();
  out_->append("null");
  return *this;
}
JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_->append(json);
  return *this;
}

}  // namespace segmenta
