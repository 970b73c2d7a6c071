// RowBits and the word kernels against plain per-row references.
#include "eval/row_bits.h"

#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace segmenta {
namespace {

std::vector<size_t> RowsOf(const RowBits& bits) {
  std::vector<size_t> rows;
  bits.ForEach([&](size_t row) { rows.push_back(row); });
  return rows;
}

TEST(RowBitsTest, BitsPastTheLastRowStayClear) {
  RowBits all(70, true);
  EXPECT_EQ(RowsOf(all).size(), 70u);
  EXPECT_EQ(all.words(), 2u);
  EXPECT_EQ(all.word(1), (uint64_t{1} << 6) - 1);

  RowBits none(70);
  none.Not();
  EXPECT_EQ(none.word(1), (uint64_t{1} << 6) - 1);
  none.Not();
  EXPECT_FALSE(none.any());

  none.set_word(1, ~uint64_t{0});
  EXPECT_EQ(RowsOf(none).size(), 6u);

  RowBits from_words(70, std::vector<uint64_t>{~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}});
  EXPECT_EQ(RowsOf(from_words).size(), 70u);
  RowBits short_words(130, std::vector<uint64_t>{1});
  EXPECT_EQ(RowsOf(short_words), std::vector<size_t>{0});
}

TEST(RowBitsTest, SetOperationsWorkRowByRow) {
  RowBits a(200), b(200);
  for (size_t i = 0; i < 200; i += 2) a.set(i);
  for (size_t i = 0; i < 200; i += 3) b.set(i);
  RowBits both = a, either = a, only_a = a;
  both.And(b);
  either.Or(b);
  only_a.AndNot(b);
  for (size_t i = 0; i < 200; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(both.get(i), i % 2 == 0 && i % 3 == 0);
    EXPECT_EQ(either.get(i), i % 2 == 0 || i % 3 == 0);
    EXPECT_EQ(only_a.get(i), i % 2 == 0 && i % 3 != 0);
  }
  a.clear(0);
  EXPECT_FALSE(a.get(0));
  EXPECT_EQ(RowsOf(a).front(), 2u);
}

TEST(RowBitsTest, SetAllIgnoresRowsPastTheEnd) {
  Roaring bitmap;
  for (uint32_t row : {0u, 5u, 63u, 64u, 99u, 100u, 1000u}) bitmap.add(row);
  RowBits bits(100);
  bits.SetAll(bitmap);
  EXPECT_EQ(RowsOf(bits), (std::vector<size_t>{0, 5, 63, 64, 99}));
}

// ToRoaring writes Roaring's serialization itself: compare it with a bitmap built row by
// row, for sparse and dense 65,536-row chunks (array and bitset containers), at and around
// the 4,096-row limit between them, and a last chunk cut short.
TEST(RowBitsTest, ToRoaringMatchesABitmapBuiltRowByRow) {
  std::mt19937_64 rng(7);
  const size_t size = 4 * 65536 + 1000;
  for (size_t per_chunk : {size_t{0}, size_t{1}, size_t{100}, size_t{4095}, size_t{4096},
                           size_t{4097}, size_t{30000}, size_t{65536}}) {
    SCOPED_TRACE(per_chunk);
    RowBits bits(size);
    Roaring expected;
    for (size_t chunk = 0; chunk * 65536 < size; ++chunk) {
      const size_t rows = std::min<size_t>(65536, size - chunk * 65536);
      // Chunk 1 is left empty; the others get `per_chunk` distinct rows.
      if (chunk == 1) continue;
      std::vector<uint32_t> pool(rows);
      for (size_t i = 0; i < rows; ++i) pool[i] = static_cast<uint32_t>(chunk * 65536 + i);
      std::shuffle(pool.begin(), pool.end(), rng);
      for (size_t i = 0; i < std::min(per_chunk, rows); ++i) {
        bits.set(pool[i]);
        expected.add(pool[i]);
      }
    }
    Roaring actual = bits.ToRoaring();
    EXPECT_EQ(actual.cardinality(), expected.cardinality());
    EXPECT_TRUE(actual == expected);
  }
  EXPECT_TRUE(RowBits(0).ToRoaring().isEmpty());
}

TEST(RowBitsTest, TypeWordAndNonZeroWordMatchAPlainLoop) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 200; ++round) {
    ValueType types[64];
    uint64_t words[64];
    for (int k = 0; k < 64; ++k) {
      types[k] = static_cast<ValueType>(rng() % 6);
      // Zero, or a value with only its low or high half set, or both.
      switch (rng() % 4) {
        case 0:
          words[k] = 0;
          break;
        case 1:
          words[k] = rng() & 0xFFFFFFFF;
          break;
        case 2:
          words[k] = rng() << 32;
          break;
        default:
          words[k] = rng();
      }
    }
    for (int t = 0; t < 6; ++t) {
      uint64_t expected = 0;
      for (int k = 0; k < 64; ++k) expected |= uint64_t{types[k] == ValueType(t)} << k;
      ASSERT_EQ(TypeWord(types, ValueType(t)), expected);
    }
    uint64_t nonzero = 0;
    for (int k = 0; k < 64; ++k) nonzero |= uint64_t{words[k] != 0} << k;
    ASSERT_EQ(NonZeroWord(words), nonzero);
  }
}

TEST(RowBitsTest, RowsOfWordTestsOnlyWantedRowsInTheTable) {
  auto even = [](size_t row) { return row % 2 == 0; };
  // Many rows wanted: all tested, then masked.
  EXPECT_EQ(RowsOfWord(64, ~uint64_t{0}, 1000, even), 0x5555555555555555ULL);
  // Few rows wanted: only those.
  EXPECT_EQ(RowsOfWord(64, 0b1110, 1000, even), 0b0100u);
  // Rows past the table's size read clear, however many are wanted.
  EXPECT_EQ(RowsOfWord(64, ~uint64_t{0}, 68, even), 0b0101u);
  EXPECT_EQ(RowsOfWord(64, 0b110101, 68, even), 0b0101u);
}

}  // namespace
}  // namespace segmenta
