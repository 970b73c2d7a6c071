// Builds compact JSON text into a string.
//
// simdjson (our parser) has no builder in the Debian release (3.0), and the documents we
// write (stored records, API replies) are small and flat, so a writer that appends to one
// string is both the simplest and the fastest option.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "simdjson.h"

namespace segmenta {

// Not thread-safe. Callers must balance Begin/End calls; keys only inside objects.
//
// 21 public methods, more than 15 because a builder's vocabulary is one method per JSON
// token (12) and per value type of the Field shorthand (7 overloads), and the text (2).
class JsonWriter {
 public:
  JsonWriter() = default;
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Inserts already valid JSON text (e.g. a minified object kept from the input).
  JsonWriter& Raw(std::string_view json);

  // Shorthands for `Key(k).X(v)`.
  JsonWriter& Field(std::string_view k, std::string_view v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, const char* v) { return Key(k).String(v); }
  JsonWriter& Field(std::string_view k, int64_t v) { return Key(k).Int(v); }
  JsonWriter& Field(std::string_view k, uint64_t v) { return Key(k).Uint(v); }
  JsonWriter& Field(std::string_view k, int v) { return Key(k).Int(v); }
  JsonWriter& Field(std::string_view k, double v) { return Key(k).Double(v); }
  JsonWriter& Field(std::string_view k, bool v) { return Key(k).Bool(v); }

  const std::string& str() const { return *out_; }
  std::string Take() { return std::move(*out_); }

 private:
  void Separate();

  std::string own_;
  std::string* out_ = &own_;
  // One entry per open container: true once it holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// Appends `s` to `out` as a quoted JSON string, escaping as RFC 8259 requires.
void AppendJsonString(std::string_view s, std::string* out);

// The size of `s` as AppendJsonString writes it, quotes included. Thread-safe.
size_t JsonStringSize(std::string_view s);
// Writes `s` as AppendJsonString does at `p`, which has room for JsonStringSize(s) bytes;
// returns the end of what it wrote. For writers that size their output first. Thread-safe.
char* WriteJsonString(std::string_view s, char* p);

// Appends `value` as a JSON number in its shortest form that reads back the same; a NaN or
// an infinity (which JSON cannot hold) as null.
void AppendJsonNumber(double value, std::string* out);

// Appends `element` (parsed and validated by simdjson) as compact JSON: no whitespace,
// strings escaped as AppendJsonString does, numbers as simdjson read them. Several times
// faster than simdjson::minify, which appends character by character.
void AppendMinifiedJson(simdjson::dom::element element, std::string* out);
void AppendMinifiedJson(simdjson::dom::object object, std::string* out);
std::string MinifiedJson(simdjson::dom::element element);

}  // namespace segmenta
