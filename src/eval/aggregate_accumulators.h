// The running state of one aggregate (count, sum, avg, min, max, first, last) over the
// events of many contacts at once, and its result: what the batch evaluator (batch.h)
// folds a scan of the event tables into.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/value.h"
#include "eval/row_bits.h"
#include "lang/ast.h"

namespace segmenta {

// Numbers that are mostly one value (most contacts never did the event an aggregate
// reads): that value, and the rows that differ with their numbers, in row order.
struct SparseNumbers {
  double fill = 0;  // NaN for null
  std::vector<uint32_t> rows;
  std::vector<double> values;
};

// One aggregate in `slots` slots (one per contact row, or one for all contacts), as
// separate arrays allocated only as the aggregate needs them: a scan touches one small
// array per contact, and random access over contacts is its cost. Not thread-safe.
class AggregateAccumulators {
 public:
  AggregateAccumulators(Aggregate aggregate, size_t slots);

  // What an event gives: its number (sum, avg, min, max: numeric()), its time and where
  // it is (first, last: ordered()), or only itself (count).
  bool numeric() const { return numeric_; }
  bool ordered() const { return ordered_; }

  // Folds one event into `slot`, by what the aggregate reads (above). REQUIRES:
  // slot < slots(); AddNumber only when numeric(), AddOrdered only when ordered().
  void AddNumber(size_t slot, double v) {
    if (aggregate_ == Aggregate::kMin) {
      extremes_[slot] = counts_[slot] == 0 ? v : std::min(extremes_[slot], v);
    } else if (aggregate_ == Aggregate::kMax) {
      extremes_[slot] = counts_[slot] == 0 ? v : std::max(extremes_[slot], v);
    } else {
      sums_[slot] += v;
    }
    ++counts_[slot];
  }
  // `ref` says where the event is (e.g. table << 32 | row). Events are in order when
  // their (time, ref) are: at equal times, first keeps the first added, last takes the
  // last added.
  void AddOrdered(size_t slot, Millis time, uint64_t ref) {
    if (counts_[slot] == 0 ||
        (aggregate_ == Aggregate::kFirst ? time < times_[slot] : time >= times_[slot])) {
      times_[slot] = time;
      refs_[slot] = ref;
    }
    ++counts_[slot];
  }
  void AddCount(size_t slot) { ++counts_[slot]; }

  size_t slots() const { return counts_.size(); }
  // Events folded into `slot`.
  uint32_t count(size_t slot) const { return counts_[slot]; }
  // The ref of the first or last event of `slot`. REQUIRES: ordered(), count(slot) > 0.
  uint64_t ref(size_t slot) const { return refs_[slot]; }

  // The aggregate of each slot: a number, or for first and last the event's time in
  // milliseconds; NaN for null (a slot without events, but for a count: 0), and for the
  // slots not in `live` when it is given (REQUIRES: live->size() >= slots()).
  std::vector<double> Values(const RowBits* live) const;

  // `values` (from Values(&live)) as one fill, what a live slot without events has, and
  // the live slots with events; null when more than a quarter of the slots have events.
  std::shared_ptr<const SparseNumbers> Sparse(const std::vector<double>& values,
                                              const RowBits& live) const;

  // What an aggregate is without any event: 0 for a count, NaN (null) otherwise.
  static double EmptyValue(Aggregate aggregate);
  // The type of an aggregate's numbers: kTime for first and last, else kNumber.
  static ValueType NumberType(Aggregate aggregate);

 private:
  Aggregate aggregate_;
  bool numeric_;
  bool ordered_;
  std::vector<uint32_t> counts_;
  std::vector<double> sums_;      // sum, avg
  std::vector<double> extremes_;  // min, max
  std::vector<Millis> times_;     // first, last
  std::vector<uint64_t> refs_;    // first, last
};

}  // namespace segmenta
