#include "jobs/job_runner.h"

#include <pthread.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>

#include "core/status.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"
#include "store/keys.h"

namespace segmenta {

struct JobRunner::Job {
  JobRecord record;  // guarded by the runner's mu_; `progress` there is unused while live
  JobProgress progress;
  Computation computation;
  EndCallback on_end;
  RecordedCallback on_recorded;  // null once called; called by "jobs-log" or the stopping thread
  bool in_to_log = false;        // in the runner's to_log_; guarded by its mu_

  // The record with the live progress. REQUIRES: the runner's mu_ held.
  JobRecord Snapshot() const {
    JobRecord r = record;
    if (!r.ended()) r.progress = progress.fraction.load();
    return r;
  }

  // Tells the submitter whether the submission is kept, once.
  void TellRecorded(absl::StatusOr<JobRecord> job) {
    RecordedCallback callback = std::move(on_recorded);
    on_recorded = nullptr;
    if (callback) callback(std::move(job));
  }
};

JobRunner::JobRunner(Store* store, JobRunnerOptions options) : store_(store), options_(options) {}

absl::StatusOr<std::unique_ptr<JobRunner>> JobRunner::Start(Store* store,
                                                            JobRunnerOptions options) {
  std::unique_ptr<JobRunner> runner(new JobRunner(store, options));
  SEGMENTA_RETURN_IF_ERROR(runner->Load());
  runner->run_thread_ = std::thread([r = runner.get()] {
    pthread_setname_np(pthread_self(), "jobs");
    r->RunLoop();
  });
  runner->log_thread_ = std::thread([r = runner.get()] {
    pthread_setname_np(pthread_self(), "jobs-log");
    r->LogLoop();
  });
  return runner;
}

JobRunner::~JobRunner() {
  std::deque<std::shared_ptr<Job>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  run_cv_.notify_all();
  log_cv_.notify_all();
  if (run_thread_.joinable()) run_thread_.join();
  if (log_thread_.joinable()) log_thread_.join();
  for (const std::shared_ptr<Job>& job : dropped) {
    Drop(job, absl::UnavailableError("the job runner stopped before the job started"));
  }
}

int64_t JobRunner::NowMs() const { return ToMillis(options_.clock->Now()); }

absl::Status JobRunner::Load() {
  rocksdb::WriteBatch batch;
  rocksdb::ColumnFamilyHandle* meta = store_->handle(Family::kMeta);
  const rocksdb::Slice prefix(kJobKeyPrefix.data(), kJobKeyPrefix.size());
  std::unique_ptr<rocksdb::Iterator> it = store_->NewIterator(Family::kMeta);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.size() != kJobKeyPrefix.size() + 8) continue;
    const uint64_t id = DecodeJobKey(key);
    next_id_ = std::max(next_id_, id + 1);
    ended_.insert(id);  // a record that does not decode is pruned in its turn
    absl::StatusOr<JobRecord> job =
        JobRecord::Decode(id, std::string_view(it->value().data(), it->value().size()));
    if (!job.ok()) {
      spdlog::warn("{}", std::string(job.status().message()));
      continue;
    }
    if (!job->ended()) {
      job->state = JobState::kFailed;
      job->error = absl::AbortedError("interrupted by a restart");
      batch.Put(meta, it->key(), job->Encode());
    }
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading jobs"));
  while (ended_.size() > options_.max_ended_jobs) {
    batch.Delete(meta, JobKey(*ended_.begin()));
    ended_.erase(ended_.begin());
  }
  if (batch.Count() == 0) return absl::OkStatus();
  return store_->Write(&batch, /*sync=*/true);
}

void JobRunner::Persist(const JobRecord& record, bool sync) {
  rocksdb::WriteBatch batch;
  batch.Put(store_->handle(Family::kMeta), JobKey(record.id), record.Encode());
  absl::Status written = store_->Write(&batch, sync);
  if (!written.ok()) {
    spdlog::error("job {} ({}): cannot record that it is {}: {}", record.id, record.kind,
                  JobStateName(record.state), std::string(written.message()));
  }
}

absl::StatusOr<JobRecord> JobRunner::Submit(std::string kind, std::string result_name,
                                            Computation computation, EndCallback on_end,
                                            RecordedCallback on_recorded) {
  auto job = std::make_shared<Job>();
  job->computation = std::move(computation);
  job->on_end = std::move(on_end);
  job->on_recorded = std::move(on_recorded);
  JobRecord& record = job->record;
  record.kind = std::move(kind);
  record.result_name = std::move(result_name);
  record.created_ms = NowMs();
  JobRecord queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the job runner is stopping");
    record.id = next_id_++;
    live_.emplace(record.id, job);
    job->in_to_log = true;
    to_log_.push_back(job);
    queued = record;
  }
  log_cv_.notify_one();
  return queued;
}

void JobRunner::RunLoop() {
  while (true) {
    std::shared_ptr<Job> job;
    JobRecord running;
    {
      std::unique_lock<std::mutex> lock(mu_);
      run_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping: the destructor took the queue
      job = queue_.front();
      queue_.pop_front();
      job->record.state = JobState::kRunning;
      job->record.started_ms = NowMs();
      running = job->record;
    }
    Persist(running, /*sync=*/false);
    End(job, job->computation(job->progress));
  }
}

void JobRunner::LogLoop() {
  // A job that ended failed without running: told once the lock is released.
  struct Failed {
    std::shared_ptr<Job> job;
    JobRecord ended;
  };
  while (true) {
    std::vector<std::shared_ptr<Job>> submitted, cancelled;
    std::vector<Failed> failed;
    rocksdb::WriteBatch batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      log_cv_.wait(lock, [&] { return stopping_ || !to_log_.empty(); });
      if (to_log_.empty()) return;  // stopping, with nothing left to keep
      for (std::shared_ptr<Job>& job : to_log_) {
        job->in_to_log = false;
        if (job->record.state == JobState::kCancelled) {
          cancelled.push_back(std::move(job));
        } else if (stopping_) {
          JobRecord ended = FailLocked(
              *job, absl::UnavailableError("the job runner stopped before the job was kept"));
          failed.push_back({std::move(job), std::move(ended)});
        } else {
          batch.Put(store_->handle(Family::kMeta), JobKey(job->record.id), job->record.Encode());
          submitted.push_back(std::move(job));
        }
      }
      to_log_.clear();
    }
    // Cancelled while queued (kept or not yet): the end is kept, then told.
    for (const std::shared_ptr<Job>& job : cancelled) {
      JobRecord ended = End(job, absl::CancelledError("cancelled before it started"));
      job->TellRecorded(std::move(ended));
    }
    for (Failed& f : failed) Tell(f.job, f.ended);
    failed.clear();
    if (submitted.empty()) continue;

    // One fsync keeps every submission that came meanwhile.
    const absl::Status written = store_->Write(&batch, /*sync=*/true);
    if (!written.ok()) {
      spdlog::error("jobs: cannot keep {} submission(s): {}", submitted.size(),
                    std::string(written.message()));
    }
    std::vector<std::pair<std::shared_ptr<Job>, absl::StatusOr<JobRecord>>> recorded;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (std::shared_ptr<Job>& job : submitted) {
        // One cancelled since is in to_log_ again, for its end.
        const bool queued = job->record.state == JobState::kQueued;
        if (!written.ok()) {
          recorded.emplace_back(job, written);
          if (queued) failed.push_back({job, FailLocked(*job, written)});
        } else {
          recorded.emplace_back(job, job->Snapshot());
          if (queued && stopping_) {
            // Kept queued: it reads "interrupted by a restart" next time.
            failed.push_back({job, FailLocked(*job, absl::UnavailableError(
                                                        "the job runner stopped before the job "
                                                        "started"))});
          } else if (queued) {
            queue_.push_back(job);
          }
        }
      }
    }
    run_cv_.notify_one();
    for (auto& [job, record] : recorded) job->TellRecorded(std::move(record));
    for (Failed& f : failed) Tell(f.job, f.ended);
  }
}

JobRecord JobRunner::End(const std::shared_ptr<Job>& job, absl::StatusOr<std::string> result) {
  rocksdb::WriteBatch batch;
  JobRecord ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    JobRecord& r = job->record;
    if (result.ok()) {
      r.state = JobState::kDone;
      r.result = *std::move(result);
    } else {
      r.state = absl::IsCancelled(result.status()) ? JobState::kCancelled : JobState::kFailed;
      r.error = result.status();
    }
    // As the job API always said: an ended job has progressed all the way, unless cancelled.
    r.progress = r.state == JobState::kCancelled ? job->progress.fraction.load() : 1.0;
    if (r.finished_ms == 0) r.finished_ms = NowMs();  // Cancel() may have set it
    job->computation = nullptr;
    ended = r;
    ended_.insert(r.id);
    batch.Put(store_->handle(Family::kMeta), JobKey(r.id), r.Encode());
    while (ended_.size() > options_.max_ended_jobs) {
      batch.Delete(store_->handle(Family::kMeta), JobKey(*ended_.begin()));
      ended_.erase(ended_.begin());
    }
  }
  // Written before the job leaves live_: a reader that does not find it there finds this.
  absl::Status written = store_->Write(&batch, /*sync=*/true);
  if (!written.ok()) {
    spdlog::error("job {} ({}): cannot record that it is {}: {}", ended.id, ended.kind,
                  JobStateName(ended.state), std::string(written.message()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_.erase(ended.id);
  }
  if (job->on_end) job->on_end(ended);
  return ended;
}

void JobRunner::Drop(const std::shared_ptr<Job>& job, const absl::Status& error) {
  JobRecord ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ended = FailLocked(*job, error);
  }
  Tell(job, ended);
}

JobRecord JobRunner::FailLocked(Job& job, const absl::Status& error) {
  job.record.state = JobState::kFailed;
  job.record.error = error;
  live_.erase(job.record.id);
  return job.record;
}

void JobRunner::Tell(const std::shared_ptr<Job>& job, const JobRecord& ended) {
  job->TellRecorded(ended.error);
  if (job->on_end) job->on_end(ended);
}

absl::StatusOr<JobRecord> JobRunner::Get(uint64_t id) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it != live_.end()) return it->second->Snapshot();
  }
  SEGMENTA_ASSIGN_OR_RETURN(std::optional<std::string> value,
                            store_->Get(Family::kMeta, JobKey(id)));
  if (!value) return absl::NotFoundError(fmt::format("no job {}", id));
  return JobRecord::Decode(id, *value);
}

absl::StatusOr<JobRunner::Page> JobRunner::List(uint64_t from, size_t limit) const {
  std::unique_ptr<rocksdb::Iterator> it;
  std::map<uint64_t, JobRecord> live;
  {
    // The store's snapshot is taken with the lock held: a job not in live_ now has had its
    // end written before, so the snapshot holds it as it ended.
    std::lock_guard<std::mutex> lock(mu_);
    it = store_->NewIterator(Family::kMeta);
    for (const auto& [id, job] : live_) live.emplace(id, job->Snapshot());
  }
  Page page;
  const rocksdb::Slice prefix(kJobKeyPrefix.data(), kJobKeyPrefix.size());
  const std::string start = JobKey(from == 0 ? std::numeric_limits<uint64_t>::max() : from);
  for (it->SeekForPrev(start); it->Valid() && it->key().starts_with(prefix); it->Prev()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (key.size() != kJobKeyPrefix.size() + 8) continue;
    const uint64_t id = DecodeJobKey(key);
    if (page.jobs.size() == limit) {
      page.next = id;
      break;
    }
    if (auto l = live.find(id); l != live.end()) {
      page.jobs.push_back(l->second);
      continue;
    }
    absl::StatusOr<JobRecord> job =
        JobRecord::Decode(id, std::string_view(it->value().data(), it->value().size()));
    if (!job.ok()) {
      spdlog::warn("{}", std::string(job.status().message()));
      continue;
    }
    page.jobs.push_back(*std::move(job));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "listing jobs"));
  return page;
}

absl::StatusOr<JobRecord> JobRunner::Cancel(uint64_t id) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it != live_.end()) {
      const std::shared_ptr<Job>& job = it->second;
      JobRecord& r = job->record;
      if (r.state == JobState::kRunning) {
        r.cancel_requested = true;
        job->progress.cancelled = true;
        return job->Snapshot();
      }
      if (r.state != JobState::kQueued) {
        return absl::FailedPreconditionError(
            fmt::format("job {} has already ended ({})", id, JobStateName(r.state)));
      }
      if (stopping_) return absl::UnavailableError("the job runner is stopping");
      if (auto queued = std::find(queue_.begin(), queue_.end(), job); queued != queue_.end()) {
        queue_.erase(queued);
      }
      // Ended from here on for every reader; "jobs-log" keeps the end, then tells.
      r.state = JobState::kCancelled;
      r.error = absl::CancelledError("cancelled before it started");
      r.finished_ms = NowMs();
      job->progress.cancelled = true;
      if (!job->in_to_log) {
        job->in_to_log = true;
        to_log_.push_back(job);
      }
      JobRecord cancelled = job->Snapshot();
      lock.unlock();
      log_cv_.notify_one();
      return cancelled;
    }
  }
  SEGMENTA_ASSIGN_OR_RETURN(JobRecord ended, Get(id));
  return absl::FailedPreconditionError(
      fmt::format("job {} has already ended ({})", id, JobStateName(ended.state)));
}

}  // namespace segmenta
