#include "gen/json_text.h"

#include <charconv>

#include "core/time_format.h"

namespace segmenta::traffic {
namespace {

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void AppendHex(uint64_t v, int digits, std::string* out) {
  for (int i = digits - 1; i >= 0; --i) out->push_back(kHex[(v >> (i * 4)) & 0xF]);
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendPadded(uint64_t v, int width, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  for (int i = static_cast<int>(r.ptr - buf); i < width; ++i) out->push_back('0');
  out->append(buf, r.ptr);
}

void AppendMoney(int64_t cents, std::string* out) {
  AppendUint(static_cast<uint64_t>(cents / 100), out);
  out->push_back('.');
  AppendPadded(static_cast<uint64_t>(cents % 100), 2, out);
}

void AppendUuid(uint64_t hi, uint64_t lo, std::string* out) {
  hi = (hi & ~0xF000ULL) | 0x4000ULL;                         // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  AppendHex(hi >> 32, 8, out);
  out->push_back('-');
  AppendHex((hi >> 16) & 0xFFFF, 4, out);
  out->push_back('-');
  AppendHex(hi & 0xFFFF, 4, out);
  out->push_back('-');
  AppendHex(lo >> 48, 4, out);
  out->push_back('-');
  AppendHex(lo & 0xFFFFFFFFFFFFULL, 12, out);
}

void AppendTimestamp(int64_t ms, std::string* out) {
  char buf[kMaxTimestampChars];
  out->append(buf, FormatTimestampTo(FromMillis(ms), buf));
}

void AppendSlug(std::string_view s, std::string* out) {
  bool dash = false;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (dash && !out->empty() && out->back() != '/') out->push_back('-');
      dash = false;
      out->push_back(c);
    } else if (c >= 'A' && c <= 'Z') {
      if (dash && !out->empty() && out->back() != '/') out->push_back('-');
      dash = false;
      out->push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      dash = true;
    }
  }
}

void AppendQueryValue(std::string_view s, std::string* out) {
  for (char c : s) out->push_back(c == ' ' ? '+' : c);
}

}  // namespace segmenta::traffic
