#include "core/mapped_vector.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "gtest/gtest.h"

namespace segmenta {
namespace {

struct Item {
  uint64_t key;
  uint32_t a;
  uint32_t b;
};

// Growing remaps the pages: every element keeps its value through many growths, and a
// refill after clear() uses the same memory without growing.
TEST(MappedVectorTest, KeepsEveryElementThroughGrowthAndRefillsInPlace) {
  MappedVector<Item> v;
  EXPECT_TRUE(v.empty());
  constexpr uint32_t kCount = 300000;  // 4.8 MB: from 64 KiB, seven growths
  for (uint32_t i = 0; i < kCount; ++i) v.push_back({uint64_t{i} * 7919, i, ~i});
  ASSERT_EQ(v.size(), kCount);
  EXPECT_GE(v.capacity(), kCount);
  for (uint32_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(v[i].key, uint64_t{i} * 7919) << i;
    ASSERT_EQ(v[i].b, ~i) << i;
  }
  // Sorts as a contiguous range.
  std::sort(v.begin(), v.end(), [](const Item& x, const Item& y) { return x.b < y.b; });
  EXPECT_EQ(v[0].a, kCount - 1);
  EXPECT_EQ(v.back().a, 0u);

  v.truncate(10);
  EXPECT_EQ(v.size(), 10u);
  EXPECT_EQ(v.end() - v.begin(), 10);
  const Item* before = v.begin();
  const size_t capacity = v.capacity();
  v.clear();
  EXPECT_TRUE(v.empty());
  for (uint32_t i = 0; i < kCount; ++i) v.push_back({i, i, i});
  EXPECT_EQ(v.begin(), before);
  EXPECT_EQ(v.capacity(), capacity);
  EXPECT_EQ(v[kCount - 1].a, kCount - 1);
}

TEST(MappedVectorTest, MovesTakeTheMemory) {
  MappedVector<Item> a;
  for (uint32_t i = 0; i < 5000; ++i) a.push_back({i, i, i});
  MappedVector<Item> b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved from is empty
  EXPECT_EQ(a.capacity(), 0u);
  ASSERT_EQ(b.size(), 5000u);
  EXPECT_EQ(b[4999].key, 4999u);
  MappedVector<Item> c;
  c.push_back({1, 2, 3});
  c = std::move(b);
  ASSERT_EQ(c.size(), 5000u);
  EXPECT_EQ(c[123].a, 123u);
  a.push_back({9, 9, 9});  // a moved-from vector grows again
  EXPECT_EQ(a[0].key, 9u);
}

TEST(MappedVectorTest, AppendsRunsOfBytesPageAligned) {
  MappedVector<char> v;
  v.append("", 0);
  EXPECT_TRUE(v.empty());
  std::string expected;
  // Runs that cross each growth, one larger than the whole mapping at the time.
  for (size_t n : {size_t{10}, size_t{70'000}, size_t{3}, size_t{400'000}, size_t{1}}) {
    const std::string run(n, static_cast<char>('a' + n % 26));
    v.append(run.data(), run.size());
    expected += run;
  }
  ASSERT_EQ(v.size(), expected.size());
  EXPECT_EQ(std::string_view(v.begin(), v.size()), expected);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.begin()) % 4096, 0u);
  const size_t capacity = v.capacity();
  v.clear();
  v.append(expected.data(), expected.size());
  EXPECT_EQ(v.capacity(), capacity);
  EXPECT_EQ(std::string_view(v.begin(), v.size()), expected);
}

}  // namespace
}  // namespace segmenta
