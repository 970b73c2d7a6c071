// How the write path tells what is derived from the profile table (contact groups, scores,
// personas, lifecycle stages: src/segments) that contacts changed, so that it changes in the
// same durable write. The observer registers with Worker::SetObserver.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/value.h"
#include "profile/profile_table.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"

namespace segmenta {

// What a commit changed for one contact: what an observer re-evaluates.
struct ContactChange {
  ContactId contact = 0;
  std::vector<uint16_t> event_tables;  // tables that got an activity of this contact
  uint32_t activities = 0;             // activities of this contact in the commit
  std::vector<std::string> traits;     // traits set
  bool accounts = false;               // accounts joined, or their traits changed
  bool merged = false;                 // absorbed another contact (anything may change)
  bool erased = false;                 // erased, or merged into `merged_into`
  ContactId merged_into = 0;
};

// Told of every commit the worker applies, and asked for timers.
//
// Thread and locks: every call comes from the worker's writer thread, one at a time, so
// what only these calls change needs no lock against them. OnApplied and OnTimer run while
// the writer holds the profile table exclusively: no ReadProfiles callback runs meanwhile,
// except those let in by `let_readers_in`. NextTimer runs with the table held (shared at
// least) and, between commits, with the worker's queue locked. So no call may call the
// worker (Submit, RunTask, ReadProfiles, Drain…): it would wait for itself.
//
// The batch: what OnApplied or OnTimer adds to `batch` is written in the same atomic
// RocksDB write as the commit's messages and acknowledged with them: after a crash, both
// are in the store or neither.
//
// Errors: an error from OnApplied or OnTimer fails the commit as a store error would:
// nothing of it is written, each of its submissions gets the error, the commits before it
// are still written and acknowledged, and the worker refuses every later submission until
// the process restarts (the in-memory profile table already holds the failed commit).
class IngestObserver {
 public:
  virtual ~IngestObserver() = default;

  // After a commit's messages were applied to `profiles`, before its batch is written;
  // `now` is the clock's time when the commit began. `changes` has one entry per contact
  // that changed, in contact id order; not called when no contact changed.
  // `let_readers_in` lets readers of the profile table waiting meanwhile read it: call it
  // between changes, where the observer's state is whole, holding none of the observer's
  // own locks (readers may take them).
  virtual absl::Status OnApplied(const ProfileTable& profiles, Millis now,
                                 const std::vector<ContactChange>& changes,
                                 rocksdb::WriteBatch* batch,
                                 const std::function<void()>& let_readers_in) = 0;

  // The earliest instant at which the observer wants OnTimer(), or nullopt. Asked before
  // every commit and while the writer waits for work: keep it cheap.
  virtual std::optional<Millis> NextTimer() const = 0;

  // Once the clock reached NextTimer(): in the next commit, after its OnApplied (a commit
  // of its own when nothing is queued). May add writes to `batch`.
  virtual absl::Status OnTimer(const ProfileTable& profiles, Millis now,
                               rocksdb::WriteBatch* batch) = 0;
};

}  // namespace segmenta
