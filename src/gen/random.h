// The traffic generator's randomness: splitmix64 to seed, xoshiro256** to draw, and
// integer-only distributions, so that the same seed gives the same bytes on any machine and
// compiler (std:: distributions and libm differ between platforms). Internal to src/gen.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace segmenta::traffic {

// 2^64 / golden ratio: the step between splitmix64 seeds.
inline constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

// splitmix64's finalizer: a bijection on 64-bit values with good avalanche.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// xoshiro256** seeded through splitmix64. Deterministic; not thread-safe (one per contact).
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& v : s_) {
      seed += kGolden;
      v = Mix64(seed);
    }
  }

  // The next 64 random bits.
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0 (Lemire's multiply; the bias is below 2^-32).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  // True with probability per_mille / 1000.
  bool Chance(uint32_t per_mille) { return Below(1000) < per_mille; }

  // An index drawn with the given integer weights.
  template <size_t N>
  size_t Pick(const std::array<uint32_t, N>& weights) {
    uint64_t total = 0;
    for (uint32_t w : weights) total += w;
    uint64_t r = Below(total);
    for (size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    return N - 1;
  }

  // Index into a table of structs with a `weight` member.
  template <typename T, size_t N>
  size_t PickWeighted(const std::array<T, N>& table) {
    uint64_t total = 0;
    for (const T& t : table) total += t.weight;
    uint64_t r = Below(total);
    for (size_t i = 0; i < N; ++i) {
      if (r < table[i].weight) return i;
      r -= table[i].weight;
    }
    return N - 1;
  }

  // Exponentially distributed duration with mean `mean_ms` (quantile table, capped at
  // about 6.2 means), in milliseconds.
  int64_t ExpMs(int64_t mean_ms);

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace segmenta::traffic
