// Contact groups through the audience engine (engine.h): defining them, and reading their
// definitions and memberships. Members pages, bitmaps and history are audience reads
// (audience_reads.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/progress.h"
#include "segments/engine_core.h"
#include "segments/group.h"

namespace segmenta {

// A group as the API shows it: its definition (webhook secrets left out), its plan and its
// size.
struct GroupInfo {
  GroupDefinition definition;
  uint64_t members = 0;
  std::string condition_text;  // normalized text form ("" for static groups)
  std::string condition_json;  // JSON form
  std::vector<std::string> warnings;
  std::vector<std::string> uses;     // what its condition reads, as conditions name it
  std::vector<std::string> used_by;  // what reads it
  bool time_dependent = false;
};

// Thread-safe. Definitions run on the worker's writer thread, in order with ingestion, and
// return once their changes are durable; a definition's `progress` (may be null) reports
// how far it came and may cancel it (CancelledError, nothing changed) until its changes are
// recorded.
class ContactGroups {
 public:
  // `core` must outlive it.
  explicit ContactGroups(EngineCore* core) : core_(core) {}

  // Creates a group and computes its members. Errors: AlreadyExists (a group, score or
  // persona has the name); InvalidArgument for a bad name, a condition that does not
  // compile ("line:column: reason; hint"), a cycle, a bad webhook; NotFound naming an
  // unknown listed contact; Cancelled.
  absl::StatusOr<GroupInfo> Create(GroupDefinition definition,
                                   std::shared_ptr<JobProgress> progress = nullptr);
  // Replaces the definition of `name` (its id and creation time are kept) and recomputes
  // its members. Errors: NotFound; InvalidArgument for a new name; as Create.
  absl::StatusOr<GroupInfo> Update(std::string_view name, GroupDefinition definition,
                                   std::shared_ptr<JobProgress> progress = nullptr);
  // Errors: NotFound; FailedPrecondition naming what reads it.
  absl::Status Delete(std::string_view name);
  // Adds and removes listed contacts and accounts of a static group. Errors: NotFound (the
  // group, or naming an unknown contact); FailedPrecondition for a dynamic group.
  absl::StatusOr<GroupInfo> EditStatic(std::string_view name, std::vector<ContactId> add,
                                       std::vector<ContactId> remove,
                                       std::vector<std::string> add_accounts,
                                       std::vector<std::string> remove_accounts);

  // Every group, in creation order.
  std::vector<GroupInfo> List() const;
  // Errors: NotFound.
  absl::StatusOr<GroupInfo> Get(std::string_view name) const;
  // Errors: NotFound for an unknown group.
  absl::StatusOr<bool> IsMember(std::string_view name, ContactId contact) const;
  // The groups `contact` belongs to, by name, sorted.
  std::vector<std::string> Of(ContactId contact) const;

 private:
  EngineCore* core_;
};

}  // namespace segmenta
