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

  // The record with the live progress. REQUIRES: the runner's mu_ held.
  JobRecord Snapshot() const {
    JobRecord r = record;
    if (!r.ended()) r.progress = progress.fraction.load();
    return r;
  }
};

JobRunner::JobRunner(Store* store, JobRunnerOptions options) : store_(store), options_(options) {}

absl::StatusOr<std::unique_ptr<JobRunner>> JobRunner::Start(Store* store,
                                                            JobRunnerOptions options) {
  std::unique_ptr<JobRunner> runner(new JobRunner(store, options));
  SEGMENTA_RETURN_IF_ERROR(runner->Load());
  runner->thread_ = std::thread([r = runner.get()] {
    pthread_setname_np(pthread_self(), "jobs");
    r->Loop();
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
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (const std::shared_ptr<Job>& job : dropped) {
    JobRecord ended;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job->record.state = JobState::kFailed;
      job->record.error = absl::UnavailableError("the job runner stopped before the job started");
      ended = job->record;
      live_.erase(job->record.id);
    }
    if (job->on_end) job->on_end(ended);
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
                                            Computation computation, EndCallback on_end) {
  auto job = std::make_shared<Job>();
  job->computation = std::move(computation);
  job->on_end = std::move(on_end);
  JobRecord& record = job->record;
  record.kind = std::move(kind);
  record.result_name = std::move(result_name);
  record.created_ms = NowMs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("the job runner is stopping");
    record.id = next_id_++;
  }
  // Kept before it can run, so that the job can always be read back. No fsync on the
  // caller's thread: the job thread's fsync when the job ends makes it durable.
  rocksdb::WriteBatch batch;
  batch.Put(store_->handle(Family::kMeta), JobKey(record.id), record.Encode());
  SEGMENTA_RETURN_IF_ERROR(store_->Write(&batch, /*sync=*/false));
  JobRecord queued = record;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Stopping since: the job stays queued in the store, and reads interrupted next time.
    if (stopping_) return absl::UnavailableError("the job runner is stopping");
    live_.emplace(record.id, job);
    queue_.push_back(job);
  }
  cv_.notify_one();
  return queued;
}

void JobRunner::Loop() {
  while (true) {
    std::shared_ptr<Job> job;
    JobRecord running;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
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
    r.finished_ms = NowMs();
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
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(id);
    if (it != live_.end()) {
      job = it->second;
      JobRecord& r = job->record;
      if (r.state == JobState::kRunning) {
        r.cancel_requested = true;
        job->progress.cancelled = true;
        return job->Snapshot();
      }
      auto queued = std::find(queue_.begin(), queue_.end(), job);
      if (r.state != JobState::kQueued || queued == queue_.end()) {
        return absl::FailedPreconditionError(
            fmt::format("job {} has already ended ({})", id, JobStateName(r.state)));
      }
      queue_.erase(queued);
      // Ended from here on for every reader, before End() records it.
      r.state = JobState::kCancelled;
      job->progress.cancelled = true;
    }
  }
  if (job != nullptr) return End(job, absl::CancelledError("cancelled before it started"));
  SEGMENTA_ASSIGN_OR_RETURN(JobRecord ended, Get(id));
  return absl::FailedPreconditionError(
      fmt::format("job {} has already ended ({})", id, JobStateName(ended.state)));
}

}  // namespace segmenta
