#include "ingest/worker.h"

#include <pthread.h>

#include <algorithm>
#include <functional>
#include <future>

#include "core/status.h"
#include "core/time_format.h"
#include "ingest/applier.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

// Most messages waiting in the queue before Submit() refuses more (backpressure).
constexpr size_t kMaxQueuedMessages = 500000;

}  // namespace

// Submissions applied as one batch, on their way from the writer to the store thread and
// the sync thread.
struct Worker::Commit {
  std::vector<Done> dones;
  std::vector<absl::StatusOr<IngestResult>> results;
  // What the store thread writes, unless `status` (the applier's) is an error.
  std::unique_ptr<rocksdb::WriteBatch> batch;
  std::vector<OwnedPut> activities;  // a bulk load's, after the batch (Store::Write)
  absl::Status status;
  WorkerStats stats;  // the totals once this commit is written
  // Completed only once the WAL is fsynced: false when every submission in it asked for
  // Acknowledge::kWhenWritten.
  bool needs_sync = true;
};

Worker::Worker(Store* store, WorkerOptions options, Clock* clock)
    : store_(store),
      options_(options),
      clock_(clock),
      profiles_(std::make_unique<ProfileTable>()),
      applier_(std::make_unique<Applier>(store, options,
                                         options.keep_profiles ? profiles_.get() : nullptr)) {}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Start(Store* store, WorkerOptions options,
                                                      Clock* clock) {
  std::unique_ptr<Worker> worker(new Worker(store, options, clock));
  SEGMENTA_RETURN_IF_ERROR(worker->applier_->Load());
  worker->stats_ = worker->applier_->stats();
  worker->writer_ = std::thread([w = worker.get()] {
    pthread_setname_np(pthread_self(), "writer");
    w->WriteLoop();
  });
  worker->storer_ = std::thread([w = worker.get()] {
    pthread_setname_np(pthread_self(), "store-write");
    w->StoreLoop();
  });
  worker->syncer_ = std::thread([w = worker.get()] {
    pthread_setname_np(pthread_self(), "fsync");
    w->SyncLoop();
  });
  return worker;
}

Worker::~Worker() {
  Drain();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  store_cv_.notify_all();
  sync_cv_.notify_all();
  writer_.join();
  storer_.join();
  syncer_.join();
}

void Worker::Submit(std::vector<Message> messages, Done done, Acknowledge acknowledge) {
  Enqueue(Submission{std::move(messages), std::move(done), std::nullopt, nullptr, acknowledge});
}

void Worker::Enqueue(Submission submission) {
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++submitted_;
    const size_t size = submission.messages.size();
    if (!broken_.ok()) {
      refused = broken_;
    } else if (queued_messages_ + size > kMaxQueuedMessages && !queue_.empty()) {
      refused = absl::ResourceExhaustedError(
          "the worker has too many messages queued; retry after a short wait");
    } else {
      queued_messages_ += size;
      queue_.push_back(std::move(submission));
    }
  }
  if (refused.ok()) {
    queue_cv_.notify_one();
    return;
  }
  submission.done(refused);
  std::lock_guard<std::mutex> lock(mu_);
  ++completed_;
  drained_cv_.notify_all();
}

void Worker::Erase(ContactId id, bool suppress, EraseDone done) {
  auto result = std::make_shared<EraseResult>();
  Enqueue(Submission{{},
                     [result, done = std::move(done)](absl::StatusOr<IngestResult> r) {
                       if (!r.ok()) return done(r.status());
                       done(*result);
                     },
                     Submission::EraseRequest{id, suppress, result},
                     nullptr});
}

absl::StatusOr<EraseResult> Worker::EraseAndWait(ContactId id, bool suppress) {
  std::promise<absl::StatusOr<EraseResult>> promise;
  auto future = promise.get_future();
  Erase(id, suppress,
        [&promise](absl::StatusOr<EraseResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

absl::StatusOr<IngestResult> Worker::SubmitAndWait(std::vector<Message> messages) {
  std::promise<absl::StatusOr<IngestResult>> promise;
  auto future = promise.get_future();
  Submit(std::move(messages),
         [&promise](absl::StatusOr<IngestResult> result) { promise.set_value(std::move(result)); });
  return future.get();
}

void Worker::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = submitted_;
  drained_cv_.wait(lock, [&] { return completed_ >= target; });
}

WorkerStats Worker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

uint64_t Worker::wal_syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wal_syncs_;
}

void Worker::Complete(Commit* commit, const absl::Status& status) {
  for (size_t i = 0; i < commit->dones.size(); ++i) {
    if (!status.ok()) {
      commit->dones[i](status);
    } else {
      commit->dones[i](std::move(commit->results[i]));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  completed_ += commit->dones.size();
  drained_cv_.notify_all();
}

void Worker::WriteLoop() {
  std::deque<Submission> taken;
  absl::Status failed;  // the first commit that failed to apply, if any
  while (true) {
    bool timers_due = false;
    size_t messages = 0;
    Millis now = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Wake up for work, or when the observer's next timer falls due (checked at least
      // once a second, so that a clock that jumps is noticed).
      while (true) {
        IngestObserver* observer = observer_.load();
        now = ToMillis(clock_->Now());
        std::optional<Millis> next;
        if (observer != nullptr && broken_.ok()) {
          absl::ReaderMutexLock profiles(&profiles_mu_);
          next = observer->NextTimer();
        }
        timers_due = next.has_value() && *next <= now;
        if (stopping_ || !queue_.empty() || timers_due) break;
        Millis wait = next.has_value() ? std::clamp<Millis>(*next - now, 1, 1000) : 1000;
        queue_cv_.wait_for(lock, std::chrono::milliseconds(wait));
      }
      if (queue_.empty() && !timers_due) return;  // stopping
      messages = 0;
      while (!queue_.empty() && (taken.empty() || messages + queue_.front().messages.size() <=
                                                      options_.max_commit_messages)) {
        messages += queue_.front().messages.size();
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_messages_ -= messages;
    }
    if (applier_->NeedsStoreCurrent(taken)) AwaitStoreCurrent();
    auto commit = std::make_unique<Commit>();
    std::vector<Submission*> submissions;
    // A commit of timers alone is fsynced: nobody asked for less.
    commit->needs_sync = taken.empty();
    for (Submission& p : taken) {
      submissions.push_back(&p);
      commit->dones.push_back(std::move(p.done));
      if (p.acknowledge == Acknowledge::kWhenSynced) commit->needs_sync = true;
    }
    commit->status = failed;
    if (commit->status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      commit->status = broken_;
    }
    // Room this commit may need is made before readers are held off, and only put in place
    // while they are; the buffers it replaces are freed after.
    VectorGrowth growth;
    if (commit->status.ok()) {
      applier_->PrepareGrowth(messages, &growth);
      absl::MutexLock profiles(&profiles_mu_);
      applier_->ApplyGrowth(&growth);
      IngestObserver* observer = observer_.load();
      if (observer != nullptr && !timers_due) {
        std::optional<Millis> next = observer->NextTimer();
        timers_due = next.has_value() && *next <= now;
      }
      commit->status =
          applier_->ApplyCommit(submissions, &commit->results, observer, now, timers_due,
                                [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { LetReadersIn(); });
    }
    taken.clear();
    commit->stats = applier_->stats();
    // A failed commit goes the same way, so that the commits before it are still written and
    // acknowledged; it then breaks the worker (WriteToStore). No later commit is applied.
    if (!commit->status.ok()) failed = commit->status;
    std::unique_lock<std::mutex> lock(mu_);
    // One commit in the store thread's hands at a time: this one goes once the previous one
    // is written, and its batch (cleared) serves the next commit.
    store_cv_.wait(lock, [&] { return !store_busy_; });
    commit->batch =
        applier_->TakeBatch(spare_batch_ != nullptr ? std::move(spare_batch_)
                                                    : std::make_unique<rocksdb::WriteBatch>());
    commit->activities = applier_->TakeActivities();
    store_busy_ = true;
    if (messages < options_.min_pipelined_commit_messages) {
      lock.unlock();
      WriteToStore(std::move(commit));
      continue;
    }
    to_store_ = std::move(commit);
    lock.unlock();
    store_cv_.notify_all();
  }
}

void Worker::AwaitStoreCurrent() {
  std::unique_lock<std::mutex> lock(mu_);
  store_cv_.wait(lock, [&] { return !store_busy_; });
}

void Worker::StoreLoop() {
  while (true) {
    std::unique_ptr<Commit> commit;
    {
      std::unique_lock<std::mutex> lock(mu_);
      store_cv_.wait(lock, [&] { return to_store_ != nullptr || stopping_; });
      if (to_store_ == nullptr) return;  // stopping
      commit = std::move(to_store_);
    }
    WriteToStore(std::move(commit));
  }
}

void Worker::WriteToStore(std::unique_ptr<Commit> commit) {
  absl::Status status = commit->status;
  if (status.ok()) {
    // A commit applied after an earlier one failed is not written either.
    std::lock_guard<std::mutex> lock(mu_);
    status = broken_;
  }
  // Writing needs no hold of the profile table: a write that waits on RocksDB (a full
  // memtable, a stall) must not stall readers.
  if (status.ok()) status = store_->Write(commit->batch.get(), /*sync=*/false, &commit->activities);
  commit->batch->Clear();
  const bool written = status.ok() && options_.durable;
  const bool to_sync = written && commit->needs_sync;
  // Otherwise fsynced within written_sync_delay (Acknowledge::kWhenWritten).
  const bool sync_later = written && !commit->needs_sync;
  bool first_unsynced = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!status.ok() && broken_.ok()) {
      spdlog::error("worker: {}; refusing further writes until restart", status.ToString());
      broken_ = status;
    }
    if (status.ok()) stats_ = commit->stats;
    spare_batch_ = std::move(commit->batch);
    store_busy_ = false;
    if (to_sync) to_sync_.push_back(std::move(commit));
    if (sync_later && !unsynced_since_.has_value()) {
      unsynced_since_ = std::chrono::steady_clock::now();
      first_unsynced = true;
    }
  }
  store_cv_.notify_all();
  if (to_sync || first_unsynced) sync_cv_.notify_one();
  if (!to_sync) Complete(commit.get(), status);
}

void Worker::LetReadersIn() const {
  int waiting = readers_waiting_.load(std::memory_order_acquire);
  if (waiting == 0) return;
  profiles_mu_.Unlock();
  // Readers woken by the unlock take the table before the writer asks for it again. The
  // writer sleeps until they have (ReadProfiles wakes it) instead of spinning on
  // sched_yield, which took a fifth of its time under a steady stream of decisions; a few
  // rounds at most, so that a stream of new readers cannot stall it.
  for (int round = 0; round < 4 && waiting > 0; ++round) {
    readers_waiting_.wait(waiting, std::memory_order_acquire);
    waiting = readers_waiting_.load(std::memory_order_acquire);
  }
  profiles_mu_.Lock();
}

std::optional<ContactId> Worker::FindIdentity(IdentityKind kind, std::string_view value) const {
  return applier_->graph().Find(kind, value);
}

absl::Status Worker::SetObserver(IngestObserver* observer) {
  if (observer != nullptr && !options_.keep_profiles) {
    return absl::FailedPreconditionError(
        "observers read the profile table, which this worker does not keep");
  }
  observer_.store(observer);
  queue_cv_.notify_one();
  return absl::OkStatus();
}

void Worker::RunTask(Task task, std::function<void(absl::Status)> done) {
  Enqueue(Submission{{},
                     [done = std::move(done)](absl::StatusOr<IngestResult> r) { done(r.status()); },
                     std::nullopt,
                     std::move(task)});
}

absl::Status Worker::RunTaskAndWait(Task task) {
  std::promise<absl::Status> promise;
  auto future = promise.get_future();
  RunTask(std::move(task), [&promise](absl::Status s) { promise.set_value(s); });
  return future.get();
}

absl::Status Worker::RunDueTimers() {
  // A commit of its own: the writer runs due timers with every commit it applies.
  return RunTaskAndWait([](ProfileTable&, rocksdb::WriteBatch*) { return absl::OkStatus(); });
}

void Worker::SyncLoop() {
  std::deque<std::unique_ptr<Commit>> commits;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Wakes for a commit to fsync now, or when the oldest write acknowledged without an
      // fsync has waited written_sync_delay; at a stop, fsyncs what is left.
      while (to_sync_.empty() && !stopping_) {
        if (!unsynced_since_.has_value()) {
          sync_cv_.wait(lock);
          continue;
        }
        const auto due = *unsynced_since_ + options_.written_sync_delay;
        if (sync_cv_.wait_until(lock, due) == std::cv_status::timeout) break;
      }
      if (to_sync_.empty() && !unsynced_since_.has_value()) return;  // stopping
      commits.swap(to_sync_);
      // This fsync covers every write made so far; one made after it asks for another.
      unsynced_since_.reset();
    }
    // One fsync makes every commit written so far durable.
    absl::Status status = store_->SyncWal();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++wal_syncs_;
      if (!status.ok()) {
        spdlog::error("worker: {}; refusing further writes until restart", status.ToString());
        broken_ = status;
      }
    }
    for (auto& commit : commits) Complete(commit.get(), status);
    commits.clear();
  }
}

}  // namespace segmenta
