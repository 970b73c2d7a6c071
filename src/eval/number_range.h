// Comparisons of numbers or times with constants, read as one range of doubles: how the
// batch evaluator (batch.h) tests `x op c`, `x between lo and hi` and the time tests on
// whole columns, comparing doubles 64 rows at a time instead of building scalars.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "core/value.h"
#include "eval/scalar.h"
#include "lang/ast.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace segmenta {

// The numbers (or times, as milliseconds) between two bounds, each inclusive or open, or
// outside them when negated (`!=`). NaN (null) is the caller's to handle: it is never
// inside. A value type; thread-compatible.
struct NumberRange {
  ValueType type = ValueType::kNumber;  // kNumber or kTime: the values it reads
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;
  bool negated = false;  // !=

  // Whether `x` passes (negation applied). Branch-free on x (the loops run it over
  // unordered data); the flags are the same for every row.
  bool Holds(double x) const {
    const bool above = lo_open ? x > lo : x >= lo;
    const bool below = hi_open ? x < hi : x <= hi;
    return (above & below) != negated;
  }
};

// The range of `x op c`, for the ordering operators (= != < <= > >=) and a number or time
// constant; nullopt for other operators and constants.
std::optional<NumberRange> RangeOfComparison(Op op, const Scalar& c);

// The range of `x between lo and hi` for constants of one type, number or time; nullopt
// otherwise.
std::optional<NumberRange> RangeOfBetween(const Scalar& lo, const Scalar& hi);

// The times passing a time test (within last/next, older than `duration`) at `now`, as
// PassesTimeTest (scalar.h) decides them.
NumberRange RangeOfTimeTest(TimeTest test, Millis duration, Millis now);

// Bit k set for x[k] (k < 64) inside r's bounds, negation not applied (NaN is outside);
// *nan gets the NaN entries. With SSE2, two entries per instruction: with aggregates
// cached, a recompute is mostly this loop, and compilers do not vectorize the packing into
// bits.
inline uint64_t InRangeWord(const double* x, const NumberRange& r, uint64_t* nan) {
  uint64_t in = 0, nans = 0;
#if defined(__SSE2__)
  const __m128d lo = _mm_set1_pd(r.lo);
  const __m128d hi = _mm_set1_pd(r.hi);
  for (int k = 0; k < 64; k += 2) {
    const __m128d v = _mm_loadu_pd(x + k);
    const __m128d above = r.lo_open ? _mm_cmpgt_pd(v, lo) : _mm_cmpge_pd(v, lo);
    const __m128d below = r.hi_open ? _mm_cmplt_pd(v, hi) : _mm_cmple_pd(v, hi);
    in |= static_cast<uint64_t>(_mm_movemask_pd(_mm_and_pd(above, below))) << k;
    nans |= static_cast<uint64_t>(_mm_movemask_pd(_mm_cmpunord_pd(v, v))) << k;
  }
#else
  for (int k = 0; k < 64; ++k) {
    const bool above = r.lo_open ? x[k] > r.lo : x[k] >= r.lo;
    const bool below = r.hi_open ? x[k] < r.hi : x[k] <= r.hi;
    in |= static_cast<uint64_t>(above & below) << k;
    nans |= static_cast<uint64_t>(std::isnan(x[k])) << k;
  }
#endif
  *nan = nans;
  return in;
}

}  // namespace segmenta
