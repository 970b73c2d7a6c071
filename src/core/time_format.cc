#include "core/time_format.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>

#include "fmt/format.h"

namespace segmenta {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's
// algorithms, exact for every int32 year).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

// Reads `n` digits at `s[pos]`; false when one is not a digit.
bool Digits(std::string_view s, size_t pos, size_t n, unsigned* out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    unsigned c = static_cast<unsigned char>(s[i]) - '0';
    if (c > 9) return false;
    v = v * 10 + c;
  }
  *out = v;
  return true;
}

// The form SDKs send nearly always, "YYYY-MM-DDTHH:MM:SS[.fff...]Z", without the cost of a
// general parser. False for anything else (the general parser then decides).
bool ParseUtcFast(std::string_view s, absl::Time* t) {
  unsigned year, month, day, hour, minute, second;
  if (s.size() < 20 || s.back() != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':' || !Digits(s, 0, 4, &year) || !Digits(s, 5, 2, &month) ||
      !Digits(s, 8, 2, &day) || !Digits(s, 11, 2, &hour) || !Digits(s, 14, 2, &minute) ||
      !Digits(s, 17, 2, &second)) {
    return false;
  }
  static constexpr unsigned kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > kDaysIn[month - 1] ||
      (month == 2 && day == 29 && !leap) || hour > 23 || minute > 59 || second > 59) {
    return false;
  }
  int64_t nanos = 0;
  size_t pos = 19;
  if (s[pos] == '.') {
    int64_t scale = 100000000;
    for (++pos; pos + 1 < s.size(); ++pos) {
      unsigned c = static_cast<unsigned char>(s[pos]) - '0';
      if (c > 9) return false;
      nanos += c * scale;
      scale /= 10;
    }
    if (s[pos - 1] == '.') return false;
  }
  if (pos != s.size() - 1) return false;
  const int64_t seconds =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  *t = absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos);
  return true;
}

}  // namespace

absl::StatusOr<absl::Time> ParseTimestamp(std::string_view text) {
  absl::Time fast;
  if (ParseUtcFast(text, &fast)) return fast;
  std::string err;
  absl::Time t;
  std::string s(text);
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  // Some clients omit the offset or write a space; accept the common variants.
  static constexpr const char* kFormats[] = {"%Y-%m-%dT%H:%M:%E*S", "%Y-%m-%d %H:%M:%E*S%Ez",
                                             "%Y-%m-%d %H:%M:%E*S", "%Y-%m-%d", "%Y-%m"};
  for (const char* format : kFormats) {
    if (absl::ParseTime(format, s, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return absl::InvalidArgumentError(fmt::format(
      "expected an ISO-8601 timestamp like 2026-11-24T10:00:00Z, got \"{}\"", text.substr(0, 64)));
}

size_t FormatTimestampTo(absl::Time t, char* buf) {
  // "00" to "99", two digits at a time.
  static constexpr std::array<char, 200> kTwoDigits = [] {
    std::array<char, 200> digits{};
    for (int i = 0; i < 100; ++i) {
      digits[2 * i] = static_cast<char>('0' + i / 10);
      digits[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return digits;
  }();
  const int64_t ms = absl::ToUnixMillis(t);
  const int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  const auto in_day = static_cast<uint32_t>(ms - days * 86400000);
  // Consecutive calls mostly write one of a few days (a stream of events, each with the
  // import's receivedAt): each thread keeps the last two dates it wrote. The calendar
  // arithmetic was half of the cost.
  struct Date {
    int64_t days = std::numeric_limits<int64_t>::min();
    char text[10];
  };
  thread_local Date dates[2];
  thread_local int oldest = 0;
  const Date* date = dates[0].days == days   ? &dates[0]
                     : dates[1].days == days ? &dates[1]
                                             : nullptr;
  if (date == nullptr) {
    int64_t year;
    unsigned month, day;
    CivilFromDays(days, &year, &month, &day);
    if (year < 0 || year > 9999) {
      std::string text = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
      const size_t size = std::min(text.size(), kMaxTimestampChars);
      std::memcpy(buf, text.data(), size);
      return size;
    }
    Date& made = dates[oldest];
    oldest ^= 1;
    std::memcpy(made.text, &kTwoDigits[2 * (year / 100)], 2);
    std::memcpy(made.text + 2, &kTwoDigits[2 * (year % 100)], 2);
    made.text[4] = '-';
    std::memcpy(made.text + 5, &kTwoDigits[2 * month], 2);
    made.text[7] = '-';
    std::memcpy(made.text + 8, &kTwoDigits[2 * day], 2);
    made.days = days;
    date = &made;
  }
  std::memcpy(buf, date->text, 10);
  const uint32_t seconds = in_day / 1000;
  buf[10] = 'T';
  std::memcpy(buf + 11, &kTwoDigits[2 * (seconds / 3600)], 2);
  buf[13] = ':';
  std::memcpy(buf + 14, &kTwoDigits[2 * (seconds / 60 % 60)], 2);
  buf[16] = ':';
  std::memcpy(buf + 17, &kTwoDigits[2 * (seconds % 60)], 2);
  buf[19] = '.';
  const uint32_t millis = in_day % 1000;
  buf[20] = static_cast<char>('0' + millis / 100);
  std::memcpy(buf + 21, &kTwoDigits[2 * (millis % 100)], 2);
  buf[23] = 'Z';
  return 24;
}

std::string FormatTimestamp(absl::Time t) {
  char buf[kMaxTimestampChars];
  return std::string(buf, FormatTimestampTo(t, buf));
}

}  // namespace segmenta
