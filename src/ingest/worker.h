// The worker: applies messages to contacts and makes them durable, with group commit.
//
// Requests from any thread queue their messages; one writer thread takes everything
// queued, resolves identities, merges contacts, appends activities and builds the whole
// commit as one atomic RocksDB batch. A store thread writes that batch (memtables, WAL) while
// the writer applies the next commit; small commits the writer writes itself. A sync thread
// then fsyncs the WAL once for the commit and completes each request. While one commit is
// written and fsynced the next is being applied, so one fsync serves many requests
// (LevelDB's write path, pipelined). A commit made only of submissions that asked for
// Acknowledge::kWhenWritten is completed once written; the sync thread fsyncs it within
// WorkerOptions::written_sync_delay.
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

// Told of every change the writer applies, on the writer thread, while it holds the profile
// table exclusively: what keeps contact groups current (src/segments). What it adds to the
// batch becomes durable with the messages that caused it.
class WorkerObserver {
 public:
  virtual ~WorkerObserver() = default;
  // After a commit of messages was applied to `profiles` and before its batch is written.
  // `changes` has one entry per contact that changed. An error fails the commit like a store
  // error (nothing of it is acknowledged; the worker refuses writes until restarted).
  // `let_readers_in` lets readers of the profile table waiting meanwhile read it: call it
  // between changes, holding none of the observer's own locks (readers may take them).
  virtual absl::Status OnApplied(const ProfileTable& profiles, Millis now,
                                 const std::vector<ContactChange>& changes,
                                 rocksdb::WriteBatch* batch,
                                 const std::function<void()>& let_readers_in) = 0;
  // The earliest instant at which the observer wants OnTimer(), or nullopt.
  virtual std::optional<Millis> NextTimer() const = 0;
  // Once the clock reached NextTimer(): may add writes to `batch`.
  virtual absl::Status OnTimer(const ProfileTable& profiles, Millis now,
                               rocksdb::WriteBatch* batch) = 0;
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

class Worker {
 public:
  // Loads the identity graph and counters from `store` and starts the threads.
  // `store` and `clock` must outlive the worker.
  static absl::StatusOr<std::unique_ptr<Worker>> Start(Store* store, WorkerOptions options,
                                                       Clock* clock = Clock::Real());
  // Stops after completing everything submitted.
  ~Worker();

  using Done = std::function<void(absl::StatusOr<IngestResult>)>;

  // Queues `messages`, all stored or none. `done` runs on a worker thread once they are
  // durable, or written with Acknowledge::kWhenWritten (OK), or failed (the error; nothing
  // of them is stored). A message whose messageId was stored before is counted as a
  // duplicate, not stored again. Thread-safe.
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
  using Task = std::function<absl::Status(ProfileTable& profiles, rocksdb::WriteBatch* batch)>;
  void RunTask(Task task, std::function<void(absl::Status)> done);
  absl::Status RunTaskAndWait(Task task);

  // Calls `read` with the profile table (empty unless WorkerOptions::keep_profiles), shared
  // with other readers and never while the writer changes it. Keep it short: the writer
  // waits. Thread-safe.
  // The writer lets waiting readers in every 16 messages of a commit and writes the commit's
  // batch to RocksDB without holding the table, so a read waits for about 16 messages' work
  // or the group engine's step of a commit, not for a whole commit and its store write.
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
  absl::Status SetObserver(WorkerObserver* observer);

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
  struct EraseRequest {
    ContactId contact = 0;
    bool suppress = false;
    std::shared_ptr<EraseResult> result;  // filled by the writer
  };
  // One submission: messages, an erasure, or a task.
  struct Pending {
    std::vector<Message> messages;
    Done done;
    std::optional<EraseRequest> erase;
    Task task;
    Acknowledge acknowledge = Acknowledge::kWhenSynced;
  };
  // Queues `pending` or completes it at once with the refusal.
  void Enqueue(Pending pending);
  struct Commit;
  class Applier;

  Worker(Store* store, WorkerOptions options, Clock* clock);
  absl::Status Load();
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
  std::atomic<WorkerObserver*> observer_{nullptr};

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;
  std::condition_variable drained_cv_;
  std::deque<Pending> queue_;
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
