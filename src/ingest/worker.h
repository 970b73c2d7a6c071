// The worker: the write path. It applies submitted messages to contacts and makes them
// durable with group commit: while one commit (everything queued, as one atomic RocksDB
// batch) is written and fsynced, the next is applied, and one fsync serves many requests
// (LevelDB's write path, pipelined).
//
// Life of a submission, with the thread that carries each step:
//  1. Worker::Submit (the caller's thread: a network thread, the import's reader, the
//     decider) queues the messages and their `done` as a Submission (ingest/submission.h),
//     or refuses them at once (queue full, worker broken).
//  2. Worker::WriteLoop (thread "writer") takes everything queued, up to
//     WorkerOptions::max_commit_messages, as one Commit and, holding the profile table
//     exclusively, calls Applier::ApplyCommit (ingest/applier.h): dedupe, identities, merges,
//     accounts, erasures and tasks, all into the commit's batch; ApplyCommit then calls
//     IngestObserver::OnApplied (ingest/ingest_observer.h; the audience engine), which adds
//     what the changes did to memberships to that batch, and OnTimer when a timer is due.
//  3. Worker::WriteToStore writes the batch to RocksDB (WAL and memtables): on thread
//     "store-write" (Worker::StoreLoop) while the writer applies the next commit, or on the
//     writer itself for a commit under WorkerOptions::min_pipelined_commit_messages.
//  4. Worker::SyncLoop (thread "fsync") fsyncs the WAL once for every commit written so far.
//  5. Worker::Complete runs each submission's `done` with its IngestResult, on "fsync".
// A commit made only of submissions that asked for Acknowledge::kWhenWritten is completed
// once written (step 3, on that step's thread); the sync thread fsyncs it within
// WorkerOptions::written_sync_delay. A commit that fails is completed with the error, on
// the thread that found it.
//
// On a store opened for a bulk load (StoreOptions::bulk_load), whose writes readers see only
// after a spill, the writer reads back nothing it wrote: it keeps every contact and account
// it loaded, a fingerprint of every messageId and every activity's index entry in memory
// until the load ends, and refuses tasks and erasures (FailedPrecondition).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "collect/message.h"
#include "core/clock.h"
#include "identity/identity_graph.h"
#include "ingest/ingest_observer.h"
#include "ingest/submission.h"
#include "profile/profile_table.h"
#include "store/store.h"

namespace segmenta {

struct WorkerOptions {
  IdentityOptions identity;
  // Acknowledge only after the WAL is fsynced. Default: true. False is for bulk imports
  // into a store opened with disable_wal, which flush at the end.
  bool durable = true;
  // Most messages applied in one commit (one RocksDB batch). Default: 20,000.
  size_t max_commit_messages = 20000;
  // Commits of at least this many messages are written to RocksDB by a store thread while
  // the writer applies the next commit; smaller ones (a few exposures, a trickle of events)
  // the writer writes itself: handing them over costs more than it saves, and a second busy
  // thread on a small machine delays the network threads that answer decisions. 64
  // messages take about 250 µs to write; the handover 10–20 µs. Default: 64.
  size_t min_pipelined_commit_messages = 64;
  // Contacts (and accounts) the writer keeps decoded in memory between commits, so that a
  // visitor's next event needs no read of the store. Default: 200,000.
  size_t max_cached_contacts = 200000;
  // How long writes acknowledged Acknowledge::kWhenWritten may wait for an fsync of the WAL
  // (one that a submission acknowledged kWhenSynced asks for comes first). Default: 200 ms,
  // PostgreSQL's wal_writer_delay for asynchronous commits.
  std::chrono::milliseconds written_sync_delay{200};
  // Keep the profile table in memory: what contact groups, personas and decisions read.
  // Default: true. False is for a process that only writes the store, such as
  // `segmenta import` (the server loads the table from the store when it starts): the
  // table is neither loaded nor kept, ReadProfiles sees it empty, tasks are refused and no
  // observer may be set.
  bool keep_profiles = true;
  // In a bulk load (StoreOptions::bulk_load), about how many messages will come: what
  // remembers their messageIds is sized for them at once, instead of doubling as it fills
  // (each time rehashing it into fresh memory the kernel zeroes; about 1 s of CPU at 10
  // million). An estimate too high costs memory: 20 to 40 bytes a message, for at most 100
  // million (beyond, the set grows as it fills). Default: 0, unknown.
  size_t expected_messages = 0;
};

// Totals since the store was created (persisted with every commit).
struct WorkerStats {
  uint64_t contacts = 0;  // contacts alive (absorbed ones excluded)
  uint64_t merges = 0;    // contacts absorbed by identity merges
  uint64_t refused_links = 0;
  uint64_t accounts = 0;
  uint64_t activities = 0;  // messages stored
  uint64_t duplicates = 0;  // messages dropped as repeated messageIds
  uint64_t suppressed = 0;  // messages dropped for a suppressed identity
  uint64_t erased = 0;      // contacts erased
};

class Applier;

// The write path of a store (one worker per store): its queue, its three threads and the
// applier they run. Thread-safe, but for FindIdentity (see there).
class Worker {
 public:
  // Loads the identity graph and counters from `store` and starts the threads.
  // `store` and `clock` must outlive the worker.
  static absl::StatusOr<std::unique_ptr<Worker>> Start(Store* store, WorkerOptions options,
                                                       Clock* clock = Clock::Real());
  // Stops after completing everything submitted.
  ~Worker();

  using Done = Submission::Done;

  // Queues `messages`, all stored or none. `done` runs on a worker thread once they are
  // durable, or written with Acknowledge::kWhenWritten (OK), or failed (the error; nothing
  // of them is stored). A message whose messageId was stored before is counted as a
  // duplicate, not stored again. Refused at once, `done` runs on the caller's thread before
  // Submit returns: ResourceExhausted when too many messages are queued (backpressure), or
  // the error that broke the worker. Thread-safe.
  void Submit(std::vector<Message> messages, Done done,
              Acknowledge acknowledge = Acknowledge::kWhenSynced);

  // Submit and wait. Thread-safe.
  absl::StatusOr<IngestResult> SubmitAndWait(std::vector<Message> messages);

  // Erases contact `id` (the survivor id, as ContactReader::Find returns it) for a GDPR
  // request: its profile, identities, activities, account memberships and the ids of
  // contacts merged into it. With `suppress`, its identities are also remembered as
  // suppressed: later messages carrying any of them are acknowledged but never stored.
  // Ordered after everything submitted before it; `done` runs on a worker thread once the
  // erasure is durable. Errors: NotFound when no contact has this id; as Submit.
  // Thread-safe.
  using EraseDone = std::function<void(absl::StatusOr<EraseResult>)>;
  void Erase(ContactId id, bool suppress, EraseDone done);
  // Erase and wait. Thread-safe.
  absl::StatusOr<EraseResult> EraseAndWait(ContactId id, bool suppress);

  // Runs `task` on the writer thread, in order with everything submitted, with the profile
  // table held exclusively and the commit's batch to write to; `done` gets its status once
  // the batch is durable. A task that fails must not have written to the batch. Errors:
  // FailedPrecondition in a bulk load or when the worker does not keep the profile table.
  // Thread-safe.
  using Task = Submission::Task;
  void RunTask(Task task, std::function<void(absl::Status)> done);
  absl::Status RunTaskAndWait(Task task);

  // Calls `read` with the profile table (empty unless WorkerOptions::keep_profiles), shared
  // with other readers and never while the writer changes it. Keep it short: the writer
  // waits. Thread-safe.
  // The writer lets waiting readers in every 16 messages of a commit and writes the commit's
  // batch to RocksDB without holding the table, so a read waits for about 16 messages' work
  // or the audience engine's step of a commit, not for a whole commit and its store write.
  template <typename F>
  auto ReadProfiles(F&& read) const {
    readers_waiting_.fetch_add(1, std::memory_order_acq_rel);
    absl::ReaderMutexLock lock(&profiles_mu_);
    readers_waiting_.fetch_sub(1, std::memory_order_acq_rel);
    readers_waiting_.notify_one();  // the writer may sleep in LetReadersIn until we are in
    return read(static_cast<const ProfileTable&>(*profiles_));
  }

  // The contact an identity points to now (the survivor of any merge), from the writer's
  // in-memory identity graph: no store read. Call it only inside a ReadProfiles callback
  // (the graph changes only while the writer holds the table).
  std::optional<ContactId> FindIdentity(IdentityKind kind, std::string_view value) const
      ABSL_SHARED_LOCKS_REQUIRED(profiles_mu_);

  // Sets the observer (before any submission; not owned, must outlive the worker), or
  // clears it with null. Errors: FailedPrecondition for an observer when the worker does not
  // keep the profile table (WorkerOptions::keep_profiles), which observers read.
  absl::Status SetObserver(IngestObserver* observer);

  // Whether the worker keeps the profile table (WorkerOptions::keep_profiles).
  bool keeps_profiles() const { return options_.keep_profiles; }

  // Runs the observer's timers that are due at the clock's now, and waits for them to be
  // durable (the writer also runs them by itself, within a second of being due). For tests
  // with a FakeClock. Thread-safe.
  absl::Status RunDueTimers();

  // Completes everything submitted so far, then returns. Thread-safe.
  void Drain();

  // A copy of the totals. Thread-safe.
  WorkerStats stats() const;

  // fsyncs of the WAL since the worker started. Thread-safe.
  uint64_t wal_syncs() const;

 private:
  // Queues `submission` or completes it at once with the refusal.
  void Enqueue(Submission submission);
  // A commit between the writer, the store thread and the sync thread (worker.cc).
  struct Commit;

  Worker(Store* store, WorkerOptions options, Clock* clock);
  void WriteLoop();
  // Writes each large applied commit's batch to RocksDB while the writer applies the next.
  void StoreLoop();
  // Writes `commit`'s batch, then hands the commit to the sync thread (or completes it).
  // Called by the store thread, or by the writer for a small commit.
  void WriteToStore(std::unique_ptr<Commit> commit);
  void SyncLoop();
  // Waits until the last commit handed to the store thread is written.
  void AwaitStoreCurrent();
  // Runs the callbacks of `commit` with its results, or with `status` when not OK.
  void Complete(Commit* commit, const absl::Status& status);

  Store* store_;
  WorkerOptions options_;
  Clock* clock_;
  std::unique_ptr<ProfileTable> profiles_;
  // Readers blocked on profiles_mu_ (see ReadProfiles and LetReadersIn).
  mutable std::atomic<int> readers_waiting_{0};
  // Called by the writer, holding profiles_mu_, at points where the table is consistent:
  // when readers wait, releases the table until they got in, then takes it back.
  void LetReadersIn() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(profiles_mu_);
  mutable absl::Mutex profiles_mu_;   // the writer holds it exclusively while it applies
  std::unique_ptr<Applier> applier_;  // writer thread only
  std::atomic<IngestObserver*> observer_{nullptr};

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;
  std::condition_variable drained_cv_;
  std::deque<Submission> queue_;
  // The commit applied and waiting for the store thread, and whether that thread has one
  // (waiting or being written): at most one commit is between the writer and the store.
  std::unique_ptr<Commit> to_store_;
  bool store_busy_ = false;
  std::condition_variable store_cv_;
  // The batch of the last commit written, cleared, for the writer's next commit.
  std::unique_ptr<rocksdb::WriteBatch> spare_batch_;
  std::deque<std::unique_ptr<Commit>> to_sync_;
  // When the oldest write completed without an fsync (Acknowledge::kWhenWritten) was made,
  // if none has covered it yet.
  std::optional<std::chrono::steady_clock::time_point> unsynced_since_;
  uint64_t wal_syncs_ = 0;
  std::condition_variable sync_cv_;
  size_t queued_messages_ = 0;
  // Set by the first store error: later submissions fail with it until a restart.
  absl::Status broken_;
  uint64_t submitted_ = 0;
  uint64_t completed_ = 0;
  bool stopping_ = false;
  WorkerStats stats_;  // guarded by mu_

  std::thread writer_;
  std::thread storer_;
  std::thread syncer_;
};

}  // namespace segmenta
