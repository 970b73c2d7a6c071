// What a job is and how it ended, and the form it is kept in in the store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segmenta {

// Where a job stands. A job moves queued -> running -> done | failed | cancelled, or
// queued -> cancelled; the last three are final.
enum class JobState { kQueued, kRunning, kDone, kFailed, kCancelled };

// "queued", "running", "done", "failed", "cancelled".
std::string_view JobStateName(JobState state);

// One job: a plain value (a snapshot of a job, or a job as stored).
struct JobRecord {
  uint64_t id = 0;  // 1, 2, ... in the order jobs were submitted, never reused
  // What the job does ("create", "update", "stages", ...), as its submitter named it.
  std::string kind;
  // The name its result goes under in a description of the job ("group", "persona", ...).
  std::string result_name;
  JobState state = JobState::kQueued;
  double progress = 0;  // 0..1
  int64_t created_ms = 0;
  int64_t started_ms = 0;   // 0 while queued (and for a job cancelled before it started)
  int64_t finished_ms = 0;  // 0 until it ends (and for a job interrupted by a restart)
  // Cancel() was called while it was running; it ends cancelled if its computation
  // honours the request, else as it would have.
  bool cancel_requested = false;
  std::string result;  // JSON text, when done
  absl::Status error;  // why it failed or was cancelled; OK otherwise

  bool ended() const {
    return state == JobState::kDone || state == JobState::kFailed || state == JobState::kCancelled;
  }

  // The value stored under JobKey(id) (store/keys.h): a JSON object of the fields but the
  // id and the result, a line break, then the result as it is (so that it reads back byte
  // for byte).
  std::string Encode() const;
  // Errors: DataLoss when `value` is not what Encode() writes.
  static absl::StatusOr<JobRecord> Decode(uint64_t id, std::string_view value);
};

}  // namespace segmenta
