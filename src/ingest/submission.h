// What a caller hands the worker (a submission) and what it gets back.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "collect/message.h"
#include "profile/profile_table.h"
#include "rocksdb/write_batch.h"
#include "store/keys.h"

namespace segmenta {

// When a submission's `done` runs (see Worker::Submit).
enum class Acknowledge {
  // Once its messages are in the fsynced WAL: what a 2xx of the collection API promises.
  kWhenSynced,
  // Once they are written to the WAL, in the operating system's page cache: a process killed
  // then loses none of them, a machine that loses power the last written_sync_delay of them.
  // For what the caller was not handed by a client to keep, such as the exposures decisions
  // record: an fsync per decision would cost more than the decision.
  kWhenWritten,
};

// What became of one submission.
struct IngestResult {
  size_t stored = 0;
  size_t duplicates = 0;
  // Messages dropped because one of their identities was suppressed (erased with
  // suppression): acknowledged, never stored.
  size_t suppressed = 0;
};

// What an erasure removed.
struct EraseResult {
  ContactId contact = 0;
  size_t identities = 0;
  size_t activities = 0;
  size_t accounts = 0;  // account memberships
};

// One entry of the worker's queue: messages to store, an erasure, or a task. Made by
// Worker::Submit, Worker::Erase and Worker::RunTask on the caller's thread; applied by the
// Applier on the writer thread; `done` runs once the commit that holds it is done.
struct Submission {
  // Gets the outcome of the submission (see Worker::Submit).
  using Done = std::function<void(absl::StatusOr<IngestResult>)>;
  // Work run on the writer thread with the profile table and the commit's batch (see
  // Worker::RunTask).
  using Task = std::function<absl::Status(ProfileTable& profiles, rocksdb::WriteBatch* batch)>;

  struct EraseRequest {
    ContactId contact = 0;
    bool suppress = false;
    std::shared_ptr<EraseResult> result;  // filled by the applier
  };

  std::vector<Message> messages;
  Done done;
  std::optional<EraseRequest> erase;
  Task task;
  Acknowledge acknowledge = Acknowledge::kWhenSynced;
};

}  // namespace segmenta
