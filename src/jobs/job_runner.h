// The one runner of long computations (recomputing a definition over every contact today;
// analyses, model training and clustering next): one at a time on a thread of its own, with
// progress, cancellation, and a durable result that outlives the process.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/progress.h"
#include "jobs/job_record.h"
#include "store/store.h"

namespace segmenta {

struct JobRunnerOptions {
  // Ended jobs kept in the store, the newest ones; older ones are deleted as new ones end.
  // Default: 1,000.
  size_t max_ended_jobs = 1000;
  // The source of jobs' times; must outlive the runner. Default: the real clock.
  Clock* clock = Clock::Real();
};

// Runs jobs one at a time, in the order they were submitted, on the runner's own thread.
// Every job is kept in the store (Family::kMeta, JobKey in store/keys.h) from the moment it
// is submitted, so that it can be read after a restart: a job that was queued or running
// when the process stopped reads failed, "interrupted by a restart".
// Thread-safe.
class JobRunner {
 public:
  // A computation: reports its progress in `progress.fraction`, stops at its next safe
  // point once `progress.cancelled` is set (returning absl::CancelledError, which ends the
  // job cancelled), and returns its result as JSON text or an error (the job fails).
  using Computation = std::function<absl::StatusOr<std::string>(JobProgress& progress)>;
  // Called once with the job as it ended (done, failed or cancelled), on whichever thread
  // ended it; a job dropped because the runner stopped before it started ends failed with
  // Unavailable.
  using EndCallback = std::function<void(const JobRecord& job)>;

  // Loads the jobs kept in `store` (which must outlive the runner), marks those that were
  // queued or running as failed, deletes ended jobs beyond options.max_ended_jobs, and starts
  // the runner's thread. Errors: those of the store.
  static absl::StatusOr<std::unique_ptr<JobRunner>> Start(Store* store,
                                                          JobRunnerOptions options = {});
  // Waits for the running job to end; the queued ones are dropped (their EndCallback gets
  // Unavailable; the store keeps them queued, hence "interrupted by a restart" next time).
  ~JobRunner();

  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Queues `computation` as a job of `kind` whose result is named `result_name`; `on_end`
  // (may be null) is called when it ends. Returns the job as queued.
  // Errors: Unavailable once the runner is stopping; those of the store.
  absl::StatusOr<JobRecord> Submit(std::string kind, std::string result_name,
                                   Computation computation, EndCallback on_end = nullptr);

  // The job with `id` as it stands (with its progress while it runs).
  // Errors: NotFound for an unknown or pruned id; those of the store.
  absl::StatusOr<JobRecord> Get(uint64_t id) const;

  struct Page {
    std::vector<JobRecord> jobs;  // newest first
    uint64_t next = 0;            // the id to list from for the next page; 0 after the last
  };
  // Up to `limit` jobs, newest first, starting at id `from` (0: the newest).
  // Errors: those of the store.
  absl::StatusOr<Page> List(uint64_t from, size_t limit) const;

  // Cancels a job: a queued one ends cancelled now; a running one has its
  // `progress.cancelled` set and ends when its computation honours it (cancelled) or not.
  // Returns the job as it stands after the call. Errors: NotFound for an unknown id;
  // FailedPrecondition when the job has already ended.
  absl::StatusOr<JobRecord> Cancel(uint64_t id);

 private:
  struct Job;

  JobRunner(Store* store, JobRunnerOptions options);
  absl::Status Load();
  void Loop();
  // Records how `job` ended, durably, then tells its submitter; returns the ended job.
  JobRecord End(const std::shared_ptr<Job>& job, absl::StatusOr<std::string> result);
  // Writes `record` under its key, with `sync` an fsync; logs a failure (the job goes on).
  void Persist(const JobRecord& record, bool sync);
  int64_t NowMs() const;

  Store* const store_;
  const JobRunnerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, std::shared_ptr<Job>> live_;  // queued and running jobs
  std::deque<std::shared_ptr<Job>> queue_;         // queued jobs, oldest first
  std::set<uint64_t> ended_;                       // ids of the ended jobs kept in the store
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace segmenta
