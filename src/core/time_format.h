// ISO-8601 / RFC 3339 timestamps as the Segment spec writes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace segmenta {

// Parses an ISO-8601 timestamp: "2026-11-24T10:00:00Z", with optional fractional seconds
// and a "Z" or "+hh:mm" offset; a date alone ("2026-11-24") means midnight UTC, a month
// alone ("2028-06", as card expiry dates are written) its first day.
// Errors: InvalidArgument saying what was expected. Thread-safe.
absl::StatusOr<absl::Time> ParseTimestamp(std::string_view text);

// Formats `t` as "2026-11-24T10:00:00.123Z" (UTC, milliseconds). Thread-safe.
std::string FormatTimestamp(absl::Time t);

// The most characters FormatTimestamp writes (a year of nine digits and a sign).
inline constexpr size_t kMaxTimestampChars = 32;
// FormatTimestamp's text into `buf`, for writers that must not allocate; returns its
// length. REQUIRES: `buf` holds kMaxTimestampChars characters. Thread-safe.
size_t FormatTimestampTo(absl::Time t, char* buf);

// Milliseconds since the Unix epoch, the unit stored on disk.
inline int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }
inline absl::Time FromMillis(int64_t ms) { return absl::FromUnixMillis(ms); }

}  // namespace segmenta
