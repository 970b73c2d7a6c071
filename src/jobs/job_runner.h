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

// Runs jobs one at a time, in the order they were submitted, on the runner's thread "jobs".
// Submit() and Cancel() only change memory and wake the runner, so that a caller on an HTTP
// io thread never waits for the disk: the runner's second thread, "jobs-log", keeps each
// submission in the store (Family::kMeta, JobKey in store/keys.h; fsynced, several at once
// when they come together) before the job may run, and each cancellation of a queued job;
// "jobs" keeps a job's start and its end. A job is durable once its submission is kept
// (RecordedCallback): one submitted but not yet kept when the process dies is lost, having
// never been acknowledged; one kept reads after a restart, and one that was queued or
// running when the process stopped reads failed, "interrupted by a restart".
// Thread-safe.
class JobRunner {
 public:
  // A computation: reports its progress in `progress.fraction`, stops at its next safe
  // point once `progress.cancelled` is set (returning absl::CancelledError, which ends the
  // job cancelled), and returns its result as JSON text or an error (the job fails).
  using Computation = std::function<absl::StatusOr<std::string>(JobProgress& progress)>;
  // Called once with the job as it ended (done, failed or cancelled), on the runner's
  // thread that ended it, once the end is kept in the store; a job dropped because the
  // runner stopped before it started ends failed with Unavailable (on the stopping thread).
  using EndCallback = std::function<void(const JobRecord& job)>;
  // Called once, on the runner's "jobs-log" thread (or the stopping one), when the job's
  // submission is kept in the store, with the job as it stands then; or with the error that
  // kept it out (a store error; Unavailable when the runner stopped first), and the job
  // then ends failed without running. Acknowledge a job's id to others from here on: until
  // then a restart may give the id to another job.
  using RecordedCallback = std::function<void(absl::StatusOr<JobRecord> job)>;

  // Loads the jobs kept in `store` (which must outlive the runner), marks those that were
  // queued or running as failed, deletes ended jobs beyond options.max_ended_jobs, and starts
  // the runner's threads. Errors: those of the store.
  static absl::StatusOr<std::unique_ptr<JobRunner>> Start(Store* store,
                                                          JobRunnerOptions options = {});
  // Waits for the running job to end; the queued ones are dropped (their EndCallback gets
  // Unavailable; the store keeps them queued, hence "interrupted by a restart" next time),
  // and so are submissions not yet kept (their RecordedCallback gets Unavailable).
  ~JobRunner();

  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Queues `computation` as a job of `kind` whose result is named `result_name`, in memory:
  // it runs once its submission is kept, and `on_recorded` (may be null) hears of that;
  // `on_end` (may be null) is called when it ends. Returns the job as queued. Never waits
  // for the disk. Errors: Unavailable once the runner is stopping.
  absl::StatusOr<JobRecord> Submit(std::string kind, std::string result_name,
                                   Computation computation, EndCallback on_end = nullptr,
                                   RecordedCallback on_recorded = nullptr);

  // The job with `id` as it stands (with its progress while it runs).
  // Errors: NotFound for an unknown or pruned id; those of the store.
  absl::StatusOr<JobRecord> Get(uint64_t id) const;

  struct Page {
    std::vector<JobRecord> jobs;  // newest first
    uint64_t next = 0;            // the id to list from for the next page; 0 after the last
  };
  // Up to `limit` jobs, newest first, starting at id `from` (0: the newest); a job is
  // listed once its submission is kept (Get() finds it from Submit() on).
  // Errors: those of the store.
  absl::StatusOr<Page> List(uint64_t from, size_t limit) const;

  // Cancels a job: a queued one ends cancelled now for every reader (and in the store,
  // and for its EndCallback, once "jobs-log" has kept that); a running one has its
  // `progress.cancelled` set and ends when its computation honours it (cancelled) or not.
  // Returns the job as it stands after the call. Never waits for the disk. Errors: NotFound
  // for an unknown id; FailedPrecondition when the job has already ended; Unavailable for a
  // queued job once the runner is stopping.
  absl::StatusOr<JobRecord> Cancel(uint64_t id);

 private:
  struct Job;

  JobRunner(Store* store, JobRunnerOptions options);
  absl::Status Load();
  // The "jobs" thread: runs the kept jobs in turn.
  void RunLoop();
  // The "jobs-log" thread: keeps submissions, and the ends of jobs cancelled while queued.
  void LogLoop();
  // Records how `job` ended, durably, then tells its submitter; returns the ended job.
  JobRecord End(const std::shared_ptr<Job>& job, absl::StatusOr<std::string> result);
  // Ends `job`, which never ran, failed with `error` in memory only (the store keeps what it
  // had), and tells its submitter.
  void Drop(const std::shared_ptr<Job>& job, const absl::Status& error);
  // Drop()'s change: returns the ended job. REQUIRES: mu_ held.
  JobRecord FailLocked(Job& job, const absl::Status& error);
  // Drop()'s telling: the submitter hears that the job (`ended`) was not kept, if it has
  // not heard otherwise yet, and that it ended.
  static void Tell(const std::shared_ptr<Job>& job, const JobRecord& ended);
  // Writes `record` under its key, with `sync` an fsync; logs a failure (the job goes on).
  void Persist(const JobRecord& record, bool sync);
  int64_t NowMs() const;

  Store* const store_;
  const JobRunnerOptions options_;

  mutable std::mutex mu_;
  std::condition_variable run_cv_;                 // wakes "jobs": queue_ or stopping_
  std::condition_variable log_cv_;                 // wakes "jobs-log": to_log_ or stopping_
  std::map<uint64_t, std::shared_ptr<Job>> live_;  // submitted jobs that have not ended
  std::vector<std::shared_ptr<Job>> to_log_;       // jobs whose change "jobs-log" must keep
  std::deque<std::shared_ptr<Job>> queue_;         // kept, queued jobs, oldest first
  std::set<uint64_t> ended_;                       // ids of the ended jobs kept in the store
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread run_thread_;
  std::thread log_thread_;
};

}  // namespace segmenta
