#include "core/json_writer.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace segmenta {

namespace {

// The bytes at `p` (n of them, fewer than 8) as the low bytes of a word, the others zero,
// without a call or a partial store that a load then waits for.
uint64_t ShortWord(const char* p, size_t n) {
  if (n >= 4) {
    uint32_t low;
    uint32_t high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + n - 4, 4);  // overlapping bytes land on themselves
    return low | (uint64_t{high} << (8 * (n - 4)));
  }
  if (n == 0) return 0;
  const uint64_t first = static_cast<unsigned char>(p[0]);
  const uint64_t middle = static_cast<unsigned char>(p[n / 2]);
  const uint64_t last = static_cast<unsigned char>(p[n - 1]);
  return first | (middle << (8 * (n / 2))) | (last << (8 * (n - 1)));
}

// The position of the first character of `s` that needs an escape, or s.size(). Tests
// eight bytes at a time (SWAR), the last few as one word too: strings are mostly short,
// and a loop over single characters was most of the cost of minifying a message.
size_t PlainPrefix(std::string_view s) {
  static_assert(std::endian::native == std::endian::little, "the first byte is the lowest");
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHighs = 0x8080808080808080ull;
  // The high bit of each byte that needs an escape: below 0x20, '"' or '\\'. Borrows may
  // set bits above the lowest, never below it: the lowest set bit is the first such byte.
  auto special = [](uint64_t word) {
    auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHighs; };
    return ((word - kOnes * 0x20) & ~word & kHighs) | has_zero(word ^ (kOnes * '"')) |
           has_zero(word ^ (kOnes * '\\'));
  };
  auto position = [](size_t at, uint64_t found) {
    return at + static_cast<size_t>(std::countr_zero(found) >> 3);
  };
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if (const uint64_t found = special(word); found != 0) return position(i, found);
  }
  if (i == s.size()) return i;
  if (s.size() >= 8) {
    // The last 8 bytes: those tested already are plain.
    uint64_t word;
    std::memcpy(&word, s.data() + s.size() - 8, 8);
    const uint64_t found = special(word);
    return found == 0 ? s.size() : position(s.size() - 8, found);
  }
  // The zero bytes above the string count as controls: the first of them is at s.size().
  return position(0, special(ShortWord(s.data(), s.size())));
}

// The escape of `c`, a character that needs one (PlainPrefix stops at it), at `p`; returns
// its end.
char* WriteEscaped(unsigned char c, char* p) {
  static constexpr char kHex[] = "0123456789abcdef";
  char short_form = 0;
  switch (c) {
    case '"':
      short_form = '"';
      break;
    case '\\':
      short_form = '\\';
      break;
    case '\n':
      short_form = 'n';
      break;
    case '\r':
      short_form = 'r';
      break;
    case '\t':
      short_form = 't';
      break;
    case '\b':
      short_form = 'b';
      break;
    case '\f':
      short_form = 'f';
      break;
    default:
      std::memcpy(p, "\\u00", 4);
      p[4] = kHex[(c >> 4) & 0xf];
      p[5] = kHex[c & 0xf];
      return p + 6;
  }
  p[0] = '\\';
  p[1] = short_form;
  return p + 2;
}

void AppendEscaped(unsigned char c, std::string* out) {
  char escape[6];
  out->append(escape, WriteEscaped(c, escape) - escape);
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  while (true) {
    const size_t plain = PlainPrefix(s);
    out->append(s.data(), plain);
    if (plain == s.size()) break;
    AppendEscaped(static_cast<unsigned char>(s[plain]), out);
    s.remove_prefix(plain + 1);
  }
  out->push_back('"');
}

size_t JsonStringSize(std::string_view s) {
  size_t size = 2;  // the quotes
  while (true) {
    const size_t plain = PlainPrefix(s);
    size += plain;
    if (plain == s.size()) return size;
    char escape[6];
    size += WriteEscaped(static_cast<unsigned char>(s[plain]), escape) - escape;
    s.remove_prefix(plain + 1);
  }
}

char* WriteJsonString(std::string_view s, char* p) {
  *p++ = '"';
  while (true) {
    const size_t plain = PlainPrefix(s);
    std::memcpy(p, s.data(), plain);
    p += plain;
    if (plain == s.size()) break;
    p = WriteEscaped(static_cast<unsigned char>(s[plain]), p);
    s.remove_prefix(plain + 1);
  }
  *p++ = '"';
  return p;
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
