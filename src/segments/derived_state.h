// Derived per-contact state: what the audience engine computes from the data and keeps
// current for every contact (a group's members, a score's points, the persona and stage
// each contact is in, the instants its timers are due). Each part that keeps such a column
// declares it here by name with its bytes, so that memory is accounted for in one place
// (GET /api/stats, "derived") and a new kind of node adds its columns visibly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/paged_vector.h"

namespace segmenta {

// What a column holds.
inline constexpr std::string_view kMembersColumn = "members";        // a membership bitmap
inline constexpr std::string_view kPointsColumn = "points";          // a number per contact
inline constexpr std::string_view kAssignmentColumn = "assignment";  // an audience per contact
inline constexpr std::string_view kDueColumn = "due";                // a timer per contact
inline constexpr std::string_view kTimerHeapColumn = "timer heap";   // the timers' queue

struct DerivedColumn {
  // Where it lives and what it is, as a path: "group/VIP/members", "score/Lead score/points",
  // "stages/assignment", "group/Cart abandoners/due".
  std::string name;
  std::string what;  // one of the k…Column kinds above, or a new kind's own
  uint64_t bytes = 0;
};

// The columns declared by the parts of the engine, in the order they were declared. Not
// thread-safe: built by one thread, then read.
class DerivedColumns {
 public:
  // Declares a column `name` holding `what` that takes `bytes` of memory.
  void Add(std::string name, std::string_view what, uint64_t bytes);

  const std::vector<DerivedColumn>& columns() const { return columns_; }
  // Bytes of every column, or of the columns holding `what`.
  uint64_t bytes() const;
  uint64_t bytes(std::string_view what) const;

 private:
  std::vector<DerivedColumn> columns_;
};

// The bytes of the pages `column` holds (whole pages of PagedVector<T>::kPage elements).
template <typename T>
uint64_t PagedBytes(const PagedVector<T>& column) {
  constexpr size_t kPage = PagedVector<T>::kPage;
  return (column.size() + kPage - 1) / kPage * kPage * sizeof(T);
}

}  // namespace segmenta
