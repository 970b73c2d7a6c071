#include "core/time_format.h"

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

}  // namespace
}  // namespace segmenta
