#include "core/paged_vector.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace segmenta {
namespace {

TEST(PagedVectorTest, GrowingKeepsEveryElementWhereItWas) {
  PagedVector<int64_t> v;
  v.resize(3, -1);
  v[2] = 42;
  const int64_t* third = &v[2];
  // Past many pages: a std::vector would have moved its elements several times.
  v.resize(100 * PagedVector<int64_t>::kPage + 5, -1);
  EXPECT_EQ(third, &v[2]);
  EXPECT_EQ(v[2], 42);
  EXPECT_EQ(v[0], -1);
  EXPECT_EQ(v[v.size() - 1], -1);
  EXPECT_EQ(v.size(), 100 * PagedVector<int64_t>::kPage + 5);
}

TEST(PagedVectorTest, MatchesAStdVectorThroughResizesAndWrites) {
  PagedVector<int16_t> paged;
  std::vector<int16_t> plain;
  const size_t sizes[] = {0, 1, 4095, 4096, 4097, 9000, 10, 12000, 0, 5000};
  int16_t fill = 0;
  for (size_t n : sizes) {
    ++fill;
    paged.resize(n, fill);
    plain.resize(n, fill);
    for (size_t i = 0; i < n; i += 7) {
      paged[i] = static_cast<int16_t>(i);
      plain[i] = static_cast<int16_t>(i);
    }
    ASSERT_EQ(paged.size(), plain.size());
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(paged[i], plain[i]) << "size " << n << ", index " << i;
  }
  paged.assign(6000, 9);
  for (size_t i = 0; i < 6000; ++i) ASSERT_EQ(paged[i], 9);
  paged.clear();
  EXPECT_TRUE(paged.empty());
}

TEST(PagedVectorTest, EqualWhenSizesAndElementsAre) {
  PagedVector<float> a, b;
  a.resize(5000, 0.5f);
  b.resize(5000, 0.5f);
  EXPECT_EQ(a, b);
  b[4999] = 1.0f;
  EXPECT_FALSE(a == b);
  b[4999] = 0.5f;
  b.resize(5001, 0.5f);
  EXPECT_FALSE(a == b);
}

}  // namespace
}  // namespace segmenta
