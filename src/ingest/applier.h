// The applier: what the worker's writer thread does to the submissions of one commit.
// Internal to segmenta_ingest: only the Worker uses it (see ingest/worker.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "collect/message.h"
#include "core/huge_page_allocator.h"
#include "core/string_view.h"
#include "core/value.h"
#include "identity/identity_graph.h"
#include "ingest/ingest_observer.h"
#include "ingest/submission.h"
#include "ingest/worker.h"
#include "profile/contact.h"
#include "profile/profile_table.h"
#include "store/store.h"

namespace segmenta {

// Applies the submissions of a commit into one RocksDB batch: drops repeated messageIds
// and messages of suppressed identities, resolves identities (creating and merging
// contacts), stores activities and their index, upserts accounts (the group call), erases
// contacts (with suppression), runs tasks, and tells the observer what changed. Owns what
// the writer keeps between commits: the identity graph, the counters, decoded contacts and
// accounts (a bounded cache), the messageIds of the previous commit, suppressed identities.
// In a bulk load (StoreOptions::bulk_load) it reads back nothing it wrote: it keeps every
// contact, a fingerprint of every messageId and every activity's index entry until the end.
//
// Not thread-safe: the writer thread only, but for graph(), which readers may use while the
// worker holds the profile table for them (Worker::FindIdentity).
class Applier {
 public:
  // `store` must outlive the applier. `profiles` is null when the worker does not keep the
  // profile table.
  Applier(Store* store, const WorkerOptions& options, ProfileTable* profiles);

  // Loads the identity graph, the profile table (when kept), the suppressed identities and
  // the counters from the store. Errors: DataLoss for a malformed or corrupt record;
  // Internal for other store errors.
  absl::Status Load();

  const IdentityGraph& graph() const { return graph_; }

  // Before a commit of `messages` is applied, without readers held off: makes the room it may
  // need in the identity graph, the contact cache and the profile table's vectors, so that
  // applying it does not rehash or copy them while readers wait (a copy of a large index
  // held them off for 10 ms and more). `growth` gets the table's larger vectors.
  void PrepareGrowth(size_t messages, VectorGrowth* growth);
  // Puts in place what PrepareGrowth made, with readers held off.
  void ApplyGrowth(VectorGrowth* growth);

  // Applies every submission of a commit into one batch, for the worker to write
  // (TakeBatch, TakeActivities), then tells `observer` (may be null) what changed, and runs
  // its timers when `run_timers`. `results[i]` is the outcome of `submissions[i]`: a
  // submission with an invalid message is refused alone. A store or observer error fails
  // the whole commit (returned) and leaves the worker broken. `between_messages` runs
  // between submissions and every few messages, where the profile table is consistent
  // (Worker::LetReadersIn).
  absl::Status ApplyCommit(const std::vector<Submission*>& submissions,
                           std::vector<absl::StatusOr<IngestResult>>* results,
                           IngestObserver* observer, Millis now, bool run_timers,
                           const std::function<void()>& between_messages);

  // True when applying `queued` reads the store beyond what the previous commit's batch
  // (perhaps not written yet) could have changed unseen: a task or an erasure (they read
  // the store freely), or contact caches about to start over (contacts are then read back
  // from the store). The caller then waits for the previous batch to be written first.
  bool NeedsStoreCurrent(const std::deque<Submission>& queued) const;

  // The batch ApplyCommit built, for the store thread to write; `next` (empty) takes its
  // place for the next commit.
  std::unique_ptr<rocksdb::WriteBatch> TakeBatch(std::unique_ptr<rocksdb::WriteBatch> next);
  // A bulk load's activities that ApplyCommit put aside (PutActivity), which follow the
  // batch's writes.
  std::vector<OwnedPut> TakeActivities() { return std::exchange(activities_, {}); }

  // The totals, as of the last commit applied.
  const WorkerStats& stats() const { return stats_; }

 private:
  // An estimate of the messages to come is trusted up to this many (2.3 GB of set): a wrong
  // one should not fail a load, or take the machine's memory, before its first message.
  static constexpr size_t kMaxReservedMessageIds = 100'000'000;

  // In a bulk load, bulk_message_ids_ outgrows the caches (160 MB at 10 million messages)
  // and its lookups miss them. The slot of the message this many ahead is fetched while
  // the current one is applied.
  static constexpr size_t kPrefetchAhead = 8;

  // The ids of `m` that identity resolution works with.
  IdentityClaim ClaimOf(const Message& m) const;

  // A message the graph cannot place would fail the whole commit: refuse its submission
  // alone, up front.
  absl::Status CheckSubmission(const std::vector<Message>& messages);

  // A bulk load keeps every contact it loaded: the store shows their changes only after a
  // spill.
  bool CacheFull() const;

  // Finds which messageIds of a submission the store holds, in one batched lookup before
  // the submission is applied (what IsDuplicate then consults). The store then holds every
  // commit but the previous one, whose ids are still in memory.
  absl::Status LookUpStoredIds(const std::vector<Message>& messages);

  // 128 bits of two unrelated hashes of a messageId: what a bulk load remembers of each.
  // Two ids of a load of 10 million share one with a chance of about 1 in 10^23. Abseil's
  // half hashes an AbslView: given a std::string_view it would hash std::hash's value, and
  // the two halves would be one 64-bit hash (core/string_view.h).
  static absl::uint128 Fingerprint(std::string_view message_id);

  // Puts the activity `m` under `seq`: its JSON (MessageJson) written into the batch in
  // parts, so that its properties and context are copied once. A bulk load takes the JSON
  // the message came with (Message::json), without a copy, into activities_ instead.
  void PutActivity(uint64_t seq, Message& m);

  // In a bulk load, the Fingerprint of each message of `messages` into fingerprints_ (0
  // for one whose messageId is not checked), computed once for the prefetch, the check and
  // the insert.
  void TakeFingerprints(const std::vector<Message>& messages);

  // `fingerprint` is the messageId's Fingerprint in a bulk load (unused otherwise).
  void RememberMessageId(const std::string& message_id, absl::uint128 fingerprint);
  bool IsDuplicate(const std::string& message_id, absl::uint128 fingerprint) const;

  absl::StatusOr<Contact*> LoadContact(ContactId id);
  absl::StatusOr<Account*> LoadAccount(const std::string& group_id, int64_t time_ms);
  absl::Status UpsertAccount(const Message& m, int64_t time_ms);
  ContactChange& Change(ContactId id);

  // `fingerprint`: as RememberMessageId.
  absl::Status ApplyMessage(Message& m, absl::uint128 fingerprint, IngestResult* result);

  // Folds `absorbed` into `survivor` in the batch: profile, identities, accounts,
  // activities; leaves a redirect so that the old id still finds the survivor.
  absl::Status Merge(Contact* absorbed, Contact* survivor);

  bool IsSuppressed(const Message& m) const;

  // Removes every trace of contact `id` from the store and the writer's state, in the
  // commit's batch. Errors: NotFound when there is no such contact.
  absl::StatusOr<EraseResult> Erase(ContactId id, bool suppress);

  std::string CountersJson() const;

  Store* store_;
  WorkerOptions options_;
  // The store buffers writes in a bulk load (StoreOptions::bulk_load): nothing written is
  // read back from it.
  const bool bulk_load_;
  // In a bulk load, whether the messages family had any key when the worker started.
  bool store_had_messages_ = false;
  IdentityGraph graph_;
  ContactId next_contact_ = 1;
  uint64_t next_seq_ = 1;
  WorkerStats stats_;

  // State of the commit being applied.
  std::unique_ptr<rocksdb::WriteBatch> batch_ = std::make_unique<rocksdb::WriteBatch>();
  std::unordered_map<ContactId, Contact> contacts_;  // node-based: pointers stay valid
  absl::flat_hash_set<ContactId> dirty_contacts_;
  std::unordered_map<std::string, Account> accounts_;
  absl::flat_hash_set<std::string> dirty_accounts_;
  absl::flat_hash_set<std::string> message_ids_;
  absl::flat_hash_set<std::string> previous_message_ids_;  // of the previous commit
  // In a bulk load, the Fingerprint of every messageId written (instead of message_ids_).
  // On huge pages: at 10 million messages, 2-4 % less wall time (docs/benchmarks.md).
  absl::flat_hash_set<absl::uint128, absl::Hash<absl::uint128>, std::equal_to<absl::uint128>,
                      HugePageAllocator<absl::uint128>>
      bulk_message_ids_;
  std::vector<absl::uint128> fingerprints_;  // TakeFingerprints
  // The messageIds of the submission being applied that the store holds (LookUpStoredIds);
  // views into its messages.
  absl::flat_hash_set<absl::string_view> stored_ids_;  // core/string_view.h
  // Identity keys (as IdentityKey) erased with suppression.
  absl::flat_hash_set<std::string> suppressed_;
  // Activities written in this commit (in a bulk load, since it began), per contact: a
  // merge later moves them.
  struct PendingActivity {
    int64_t time_ms;
    uint64_t seq;
  };
  absl::flat_hash_map<ContactId, std::vector<PendingActivity>> pending_activities_;
  // The previous commit's, still moved by merges here: its batch may not be written yet.
  absl::flat_hash_map<ContactId, std::vector<PendingActivity>> previous_pending_activities_;
  ProfileTable* profiles_;
  // A bulk load's activities of the commit being applied (PutActivity).
  std::vector<OwnedPut> activities_;
  // PutActivity's buffers, kept between messages.
  std::string activity_scratch_;
  std::vector<std::string_view> activity_parts_;
  std::vector<rocksdb::Slice> activity_slices_;
  // Contacts changed by the commit being applied (node-based: a reference to one entry
  // stays valid while others are added).
  absl::node_hash_map<ContactId, ContactChange> changes_;
};

}  // namespace segmenta
