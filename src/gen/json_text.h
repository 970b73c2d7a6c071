// Appenders that assemble the generator's JSON lines without a JSON writer: the values the
// generator writes are known to need no escaping (vocabulary.h). Internal to src/gen.
// All are pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace segmenta::traffic {

// `digits` lowercase hexadecimal digits of `v` (the low ones), zero-padded.
void AppendHex(uint64_t v, int digits, std::string* out);

// `v` in decimal.
void AppendUint(uint64_t v, std::string* out);

// `v` in decimal, zero-padded to `width` digits.
void AppendPadded(uint64_t v, int width, std::string* out);

// Cents as a JSON number with two decimals ("49.99"). REQUIRES: cents >= 0.
void AppendMoney(int64_t cents, std::string* out);

// A version-4-shaped UUID from 128 bits (the version and variant bits overwritten).
void AppendUuid(uint64_t hi, uint64_t lo, std::string* out);

// Milliseconds since the epoch as "2026-09-14T18:03:12.345Z" (core/time_format.h).
void AppendTimestamp(int64_t ms, std::string* out);

// Lowercase, spaces and '&' to '-', other non-alphanumerics dropped (ASCII names only).
void AppendSlug(std::string_view s, std::string* out);

// `s` with spaces as '+', as a query string value.
void AppendQueryValue(std::string_view s, std::string* out);

}  // namespace segmenta::traffic
