#include "core/time_format.h"

#include <limits>

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

TEST(TimeFormatTest, ParsesSegmentTimestampsWithAndWithoutOffsets) {
  auto utc = ParseTimestamp("2026-11-24T10:00:00.123Z");
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ(ToMillis(*utc), 1795514400123);
  auto offset = ParseTimestamp("2026-11-24T11:00:00.123+01:00");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(*offset, *utc);
  auto date = ParseTimestamp("2026-11-24");
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(FormatTimestamp(*date), "2026-11-24T00:00:00.000Z");
  auto month = ParseTimestamp("2028-06");
  ASSERT_TRUE(month.ok());
  EXPECT_EQ(FormatTimestamp(*month), "2028-06-01T00:00:00.000Z");
}

TEST(TimeFormatTest, RejectsGarbageWithAHint) {
  auto bad = ParseTimestamp("yesterday");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ISO-8601"), std::string::npos);
}

TEST(TimeFormatTest, FormatsRoundTrip) {
  absl::Time t = FromMillis(1795514400123);
  EXPECT_EQ(FormatTimestamp(t), "2026-11-24T10:00:00.123Z");
  EXPECT_EQ(*ParseTimestamp(FormatTimestamp(t)), t);
}

// The fast paths for the common "…Z" form must agree with absl's general parser and
// formatter, across leap years, centuries, negative times and fractions.
TEST(TimeFormatTest, FastPathsAgreeWithAbslOverManyInstants) {
  absl::BitGen gen;
  for (int i = 0; i < 20000; ++i) {
    // Years 1000-9999 (absl writes earlier years without padding to four digits).
    int64_t ms = absl::Uniform<int64_t>(gen, -30610224000000, 253402300799999);
    absl::Time t = FromMillis(ms);
    std::string general = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
    ASSERT_EQ(FormatTimestamp(t), general) << ms;
    absl::StatusOr<absl::Time> parsed = ParseTimestamp(general);
    ASSERT_TRUE(parsed.ok()) << general;
    ASSERT_EQ(ToMillis(*parsed), ms) << general;
  }
  EXPECT_EQ(ToMillis(*ParseTimestamp("2024-02-29T23:59:59.999999Z")), 1709251199999);
  EXPECT_EQ(*ParseTimestamp("2026-11-24T10:00:00Z"), *ParseTimestamp("2026-11-24T10:00:00.000Z"));
  EXPECT_FALSE(ParseTimestamp("2026-02-29T10:00:00Z").ok());  // not a leap year
  EXPECT_FALSE(ParseTimestamp("2026-13-01T10:00:00Z").ok());
  EXPECT_FALSE(ParseTimestamp("2026-11-24T10:00:00.Z").ok());
}

// Each thread keeps the last dates it wrote: instants that go back and forth between a few
// days, as an import's timestamps and receivedAt do, must still each get their own date.
TEST(TimeFormatTest, DatesKeptBetweenCallsAreTheRightOnes) {
  absl::BitGen gen;
  const int64_t day = 86400000;
  const int64_t base = 20000 * day;  // 2024-10-04
  for (int i = 0; i < 20000; ++i) {
    // Mostly the same two days, sometimes a third or a time before 1970.
    const int64_t pick = absl::Uniform<int64_t>(gen, 0, 10);
    const int64_t days = pick < 4 ? 0 : pick < 8 ? 55 : pick < 9 ? 1 : -20001;
    const int64_t ms = base + days * day + absl::Uniform<int64_t>(gen, 0, day);
    const absl::Time t = FromMillis(ms);
    ASSERT_EQ(FormatTimestamp(t), absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()))
        << ms;
  }
}

// Outside years 0-9999 FormatTimestamp falls back on absl's formatter; the text still fits
// kMaxTimestampChars, down to the smallest and largest times in milliseconds.
TEST(TimeFormatTest, ExtremeYearsFitTheBufferAndMatchAbsl) {
  for (int64_t ms : {std::numeric_limits<int64_t>::min(), int64_t{-62167219200001},
                     int64_t{253402300800000}, std::numeric_limits<int64_t>::max()}) {
    absl::Time t = FromMillis(ms);
    std::string general = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
    EXPECT_LE(general.size(), kMaxTimestampChars) << general;
    char buf[kMaxTimestampChars];
    EXPECT_EQ(std::string(buf, FormatTimestampTo(t, buf)), general);
    EXPECT_EQ(FormatTimestamp(t), general);
  }
}

}  // namespace
}  // namespace segmenta
