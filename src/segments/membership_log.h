// The membership log: every enter and exit of an audience (a group, a persona, a stage),
// written to the same batch as the change that caused it. One record is three rows and an
// optional fourth: the membership itself (Family::kMemberships, since when), the history
// row under the audience and under the contact (Family::kHistory, newest read first), and,
// when the audience has webhooks, an outbox entry for the webhook sender (Family::kOutbox).
// The log also hands out the ids of definitions and keeps its sequence counters (one
// record in Family::kMeta, written once per batch that moved them).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/write_batch.h"
#include "segments/audience.h"
#include "store/store.h"

namespace segmenta {

// Records and counters: the writer thread, under the engine's lock. History reads: any
// thread (they read the store only).
class MembershipLog {
 public:
  // `store` must outlive the log.
  explicit MembershipLog(const Store* store) : store_(store) {}

  // Reads the counters. Errors: DataLoss for a malformed record; store errors.
  absl::Status Load();
  // Calls `restore` with every stored membership (audience id, contact).
  // Errors: DataLoss for a malformed key; store errors.
  absl::Status ForEachMembership(
      const std::function<void(uint32_t audience, ContactId contact)>& restore) const;

  // The id the next AllocateId() returns: definitions take it tentatively and allocate it
  // once they are made (a cancelled one leaves it free).
  uint32_t next_id() const { return next_id_; }
  uint32_t AllocateId();

  // Records that `contact` entered (or exited) `audience` at `now` because of `cause`:
  // adds it to (removes it from) the audience's members and writes the rows to `batch`.
  void Record(Audience& audience, ContactId contact, bool entered, Millis now,
              std::string_view cause, rocksdb::WriteBatch* batch);
  // Deletes every stored membership of audience `id` (a deleted audience; its history
  // stays).
  void Forget(uint32_t id, rocksdb::WriteBatch* batch) const;
  // Writes the counters to `batch` when records or ids moved them since the last flush.
  void Flush(rocksdb::WriteBatch* batch);

  // The enters and exits of audience `id`, or of `contact`, newest first, at most `limit`.
  // Names and kinds are as recorded. Errors: DataLoss for a malformed record; store errors.
  absl::StatusOr<std::vector<MembershipEvent>> AudienceHistory(uint32_t id, size_t limit) const;
  absl::StatusOr<std::vector<MembershipEvent>> ContactHistory(ContactId contact,
                                                              size_t limit) const;

 private:
  absl::StatusOr<std::vector<MembershipEvent>> ReadBackwards(const std::string& prefix,
                                                             const std::string& end,
                                                             size_t limit) const;

  const Store* store_;
  uint32_t next_id_ = 1;
  uint64_t next_history_seq_ = 1;
  uint64_t next_outbox_seq_ = 1;
  bool dirty_ = false;
};

}  // namespace segmenta
