#include "core/huge_page_allocator.h"

#include <cstdint>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

TEST(HugePageAllocatorTest, LargeBlocksAreAlignedToHugePagesAndSmallOnesAreOrdinary) {
  HugePageAllocator<uint64_t> allocator;
  constexpr size_t kLarge = (size_t{3} << 20) / sizeof(uint64_t);  // 3 MiB
  uint64_t* large = allocator.allocate(kLarge);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % (size_t{2} << 20), 0u);
  std::memset(large, 0xab, kLarge * sizeof(uint64_t));  // all of it is usable
  EXPECT_EQ(large[kLarge - 1], 0xababababababababull);
  allocator.deallocate(large, kLarge);
  uint64_t* small = allocator.allocate(3);
  small[2] = 7;
  EXPECT_EQ(small[2], 7u);
  allocator.deallocate(small, 3);
}

// As the worker uses it: a hash set that grows through small and large tables.
TEST(HugePageAllocatorTest, AHashSetGrowsThroughSmallAndLargeTables) {
  absl::flat_hash_set<uint64_t, absl::Hash<uint64_t>, std::equal_to<uint64_t>,
                      HugePageAllocator<uint64_t>>
      set;
  for (uint64_t i = 0; i < 500000; ++i) set.insert(i * 7919);
  EXPECT_EQ(set.size(), 500000u);
  for (uint64_t i = 0; i < 500000; ++i) ASSERT_TRUE(set.contains(i * 7919)) << i;
  EXPECT_FALSE(set.contains(1));
}

}  // namespace
}  // namespace segmenta
