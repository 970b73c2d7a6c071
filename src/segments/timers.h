// The timers of the audience engine. For each node and contact, the instant at which the
// node's output for the contact may change with no new event (a window lets an activity
// go, "older than" comes true), and one min-heap of them all, so that the engine wakes at
// the earliest and re-evaluates exactly that contact in exactly that node.
//
// A timer that is rescheduled or whose node is forgotten stays in the heap, stale, and is
// skipped when popped; compaction drops stale timers when they outnumber live ones.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/paged_vector.h"
#include "core/value.h"
#include "segments/derived_state.h"
#include "store/keys.h"

namespace segmenta {

// Not thread-safe: the engine's lock guards it.
class Timers {
 public:
  // Sets when the timer of `contact` in node `node` is due (nullopt: it has none). `rows`
  // is the number of contact rows, which the node's column grows to.
  void Schedule(uint32_t node, ContactId contact, std::optional<Millis> at, size_t rows);
  // Replaces every timer of `node` by `due` (by contact row; kNoChange where none; empty:
  // none at all).
  void ScheduleAll(uint32_t node, const std::vector<Millis>& due);
  // Drops the timers of `node` (deleted).
  void Forget(uint32_t node);

  // The earliest instant a timer is due (it may be stale), or nullopt.
  std::optional<Millis> Next() const;
  // Pops every timer due at or before `now`; for each that is still current, clears it and
  // calls `fire(node, contact)`, which may schedule timers.
  void PopDue(Millis now, const std::function<void(uint32_t node, ContactId contact)>& fire);
  // Rebuilds the heap from the current timers, dropping the stale ones.
  void Compact();

  // When the timer of `contact` in `node` is due, or nullopt.
  std::optional<Millis> DueOf(uint32_t node, ContactId contact) const;
  // Timers in the heap, stale ones included.
  size_t heap_size() const { return heap_.size(); }
  // Declares each node's column of due instants, named `path_of(node)` + "/due", and the
  // heap.
  void DeclareColumns(const std::function<std::string(uint32_t node)>& path_of,
                      DerivedColumns* out) const;

 private:
  struct Timer {
    Millis due;
    uint32_t node;
    ContactId contact;
    bool operator>(const Timer& o) const { return due > o.due; }
  };
  void Push(Timer t);

  // By node id: the instant each contact's timer is due (kNoChange: none).
  absl::flat_hash_map<uint32_t, PagedVector<Millis>> due_;
  // A min-heap on due (std::push_heap with std::greater).
  std::vector<Timer> heap_;
  // Timers pushed and not known stale: an upper bound of the live ones, for compaction.
  size_t live_ = 0;
};

}  // namespace segmenta
