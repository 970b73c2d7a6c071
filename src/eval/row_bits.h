// Dense bit sets over the rows of a table (contacts, accounts or the events of one event
// table), and the word kernels that answer a test for 64 rows at a time: what the batch
// evaluator (batch.h) computes with before it hands out a Roaring bitmap.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/value.h"
#include "roaring/roaring.hh"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace segmenta {

// A fixed number of rows, each in or out; word w holds rows 64w .. 64w+63, row 64w+k in
// bit k. Bits past the last row are always clear. Copyable; not thread-safe.
class RowBits {
 public:
  // `n` rows, all set to `value`.
  explicit RowBits(size_t n, bool value = false)
      : n_(n), words_((n + 63) / 64, value ? ~uint64_t{0} : 0) {
    Trim();
  }
  // `n` rows from `words` (missing words read as clear, extra ones are dropped).
  RowBits(size_t n, const std::vector<uint64_t>& words) : n_(n), words_((n + 63) / 64, 0) {
    std::copy_n(words.begin(), std::min(words.size(), words_.size()), words_.begin());
    Trim();
  }

  size_t size() const { return n_; }
  // Row accessors. REQUIRES: i < size().
  bool get(size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }
  void set(size_t i) { words_[i >> 6] |= uint64_t{1} << (i & 63); }
  void clear(size_t i) { words_[i >> 6] &= ~(uint64_t{1} << (i & 63)); }

  // Word accessors. REQUIRES: w < words(). set_word drops bits past the last row.
  size_t words() const { return words_.size(); }
  uint64_t word(size_t w) const { return words_[w]; }
  void set_word(size_t w, uint64_t bits) {
    words_[w] = bits;
    if (w + 1 == words_.size()) Trim();
  }

  // Sets the rows of `bitmap`; those at or past size() are ignored.
  void SetAll(const Roaring& bitmap);

  // In-place set operations. REQUIRES: o.size() == size().
  void And(const RowBits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= o.words_[i];
  }
  void Or(const RowBits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] |= o.words_[i];
  }
  void AndNot(const RowBits& o) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] &= ~o.words_[i];
  }
  // Flips every row (and only the rows: the bits past the last stay clear).
  void Not() {
    for (uint64_t& w : words_) w = ~w;
    Trim();
  }

  // True when some row is set.
  bool any() const {
    for (uint64_t w : words_) {
      if (w) return true;
    }
    return false;
  }

  // Calls f(row) for each row set, in increasing order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < words_.size(); ++i) {
      for (uint64_t w = words_[i]; w != 0; w &= w - 1) f(i * 64 + std::countr_zero(w));
    }
  }

  // The rows set, as a bitmap (not run-optimized).
  Roaring ToRoaring() const;

 private:
  void Trim() {
    if (n_ % 64 != 0 && !words_.empty()) words_.back() &= (uint64_t{1} << (n_ % 64)) - 1;
  }

  size_t n_;
  std::vector<uint64_t> words_;
};

// Word kernels: each reads 64 consecutive entries and returns bit k for entry k. Inline,
// with SSE2 where the compiler targets it: the batch evaluator's loops are mostly these.

// Bit k set for types[k] == t.
inline uint64_t TypeWord(const ValueType* types, ValueType t) {
  uint64_t out = 0;
#if defined(__SSE2__)
  const __m128i want = _mm_set1_epi8(static_cast<char>(t));
  for (int k = 0; k < 64; k += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(types + k));
    out |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, want))) &
                                 0xFFFF)
           << k;
  }
#else
  for (int k = 0; k < 64; ++k) out |= static_cast<uint64_t>(types[k] == t) << k;
#endif
  return out;
}

// Bit k set for words[k] != 0.
inline uint64_t NonZeroWord(const uint64_t* words) {
  uint64_t zero = 0;
#if defined(__SSE2__)
  for (int k = 0; k < 64; k += 2) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(words + k));
    const __m128i halves = _mm_cmpeq_epi32(v, _mm_setzero_si128());
    // A word is zero when both its halves are.
    const __m128i both = _mm_and_si128(halves, _mm_shuffle_epi32(halves, _MM_SHUFFLE(2, 3, 0, 1)));
    zero |= static_cast<uint64_t>(_mm_movemask_pd(_mm_castsi128_pd(both))) << k;
  }
#else
  for (int k = 0; k < 64; ++k) zero |= static_cast<uint64_t>(words[k] == 0) << k;
#endif
  return ~zero;
}

// test(row) for rows base .. base+63 of a table of `size` rows, those in `wanted`, as a
// word: all 64 with no branch on the result when many are wanted, else only the wanted
// ones. Rows at or past `size` read clear.
template <typename F>
uint64_t RowsOfWord(size_t base, uint64_t wanted, size_t size, F&& test) {
  uint64_t word = 0;
  if (std::popcount(wanted) >= 16) {
    const size_t end = std::min<size_t>(64, size - base);
    for (size_t k = 0; k < end; ++k) word |= uint64_t{test(base + k) ? 1u : 0u} << k;
    return word & wanted;
  }
  for (uint64_t m = wanted; m != 0; m &= m - 1) {
    const int k = std::countr_zero(m);
    if (base + k < size) word |= uint64_t{test(base + k) ? 1u : 0u} << k;
  }
  return word;
}

}  // namespace segmenta
