#include "core/time_format.h"

#include <string>

#include "fmt/format.h"

namespace segmenta {

absl::StatusOr<absl::Time> ParseTimestamp(std::string_view text) {
  std::string err;
  absl::Time t;
  std::string s(text);
  if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
  // Some clients omit the offset or write a space; accept the common variants.
  static constexpr const char* kFormats[] = {"%Y-%m-%dT%H:%M:%E*S", "%Y-%m-%d %H:%M:%E*S%Ez",
                                             "%Y-%m-%d %H:%M:%E*S", "%Y-%m-%d"};
  for (const char* format : kFormats) {
    if (absl::ParseTime(format, s, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return absl::InvalidArgumentError(
      fmt::format("expected an ISO-8601 timestamp like 2026-11-24T10:00:00Z, got \"{}\"",
                  text.substr(0, 64)));
}

std::string FormatTimestamp(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

}  // namespace segmenta
