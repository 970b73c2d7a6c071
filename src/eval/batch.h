// Runs a compiled condition over every contact at once, column by column: what creating or
// editing a definition (a contact group, a score's rules, the stages) does. Agrees with the
// incremental evaluator (evaluator.h) on every contact; a randomized test checks it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "eval/evaluator.h"
#include "roaring/roaring.hh"

namespace segmenta {

// Per-contact results of aggregates, kept between evaluations so that a condition built on
// aggregates already computed runs without scanning events again. An entry is keyed by its
// aggregate's text, and by the evaluation instant when its window or filter reads `now`;
// it does not know the data it was computed from: the owner calls Invalidate() whenever
// the profile table changes. Not thread-safe; the owner serializes evaluations.
class AggregateCache {
 public:
  // Drops every entry.
  void Invalidate() { entries_.clear(); }
  // Entries held, and an estimate of their memory (keys and per-contact values).
  size_t size() const { return entries_.size(); }
  size_t MemoryBytes() const;

 private:
  friend class BatchEvaluator;
  struct Entry;
  absl::flat_hash_map<std::string, std::shared_ptr<const Entry>> entries_;
};

// The members of `plan` among all contacts at env.now: a bitmap of ContactIds.
// `cache` may be null. `progress`, when set, is called with a fraction done (0..1).
// REQUIRES: the caller holds the profile table for reading.
Roaring EvaluateAll(const Plan& plan, const ProfileTable& profiles, const EvalEnv& env,
                    AggregateCache* cache = nullptr,
                    const std::function<void(double)>& progress = nullptr);

// The value of `node` (a numeric expression in `plan`) for every contact row at env.now:
// NaN where it is missing or not a number, and for rows that are not alive contacts.
// REQUIRES: the caller holds the profile table for reading.
std::vector<double> NumbersAll(const Plan& plan, const Node& node, const ProfileTable& profiles,
                               const EvalEnv& env, AggregateCache* cache = nullptr);

// The value of an overall(...) aggregate at `now`: the aggregate over every contact's
// events. REQUIRES: the caller holds the profile table for reading.
Value OverallValue(const Node& aggregate, const Plan& plan, const ProfileTable& profiles,
                   Millis now);

}  // namespace segmenta
