// Contact groups kept current: their definitions, their members (roaring bitmaps), and
// every enter and exit with its time and cause, recorded in the history and published to
// the outbox as part of the same durable write as the event that caused it.
//
// The engine observes the worker: after each group of messages it re-evaluates the groups
// whose conditions read what changed, for the contacts that changed (read-your-writes:
// before the messages are acknowledged); its timers re-evaluate a contact when a
// time-dependent condition may flip with no new event. Creating or editing a group
// evaluates it over every contact at once (eval/batch.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "eval/batch.h"
#include "lang/compiler.h"
#include "profile/worker.h"
#include "roaring/roaring.hh"
#include "segments/group.h"
#include "store/store.h"

namespace segmenta {

// How far a batch evaluation has come; shared with whoever reports it.
struct GroupProgress {
  std::atomic<double> fraction{0};
};

// A group as the API shows it: its definition (webhook secrets left out), its plan and its
// size.
struct GroupInfo {
  GroupDefinition definition;
  uint64_t members = 0;
  std::string condition_text;  // normalized text form ("" for static groups)
  std::string condition_json;  // JSON form
  std::vector<std::string> warnings;
  std::vector<std::string> uses;     // groups its condition reads
  std::vector<std::string> used_by;  // groups whose conditions read it
  bool time_dependent = false;
};

// One enter or exit.
struct MembershipEvent {
  int64_t time_ms = 0;
  uint32_t group = 0;
  std::string group_name;
  ContactId contact = 0;
  bool entered = false;
  std::string cause;
};

struct MembersPage {
  std::vector<ContactId> contacts;
  std::string next_cursor;  // "" on the last page
};

// What keeping groups current costs, measured on the writer thread.
struct KeepCurrentStats {
  uint64_t changes = 0;      // contact changes handled
  uint64_t activities = 0;   // activities in them
  uint64_t evaluations = 0;  // (group, contact) evaluations
  uint64_t nanos = 0;        // time spent handling them
  // Per change: its time divided by its activities (ns per activity), for percentiles.
  std::vector<uint32_t> per_activity_nanos;
};

struct ConditionCheck {
  std::string text;  // normalized
  std::string json;
  std::vector<std::string> warnings;
  bool time_dependent = false;
  std::optional<uint64_t> matches;  // contacts matching now, when asked
};

class GroupEngine : public WorkerObserver {
 public:
  // Loads the definitions and memberships from `store`, compiles the conditions against the
  // worker's profile table, schedules timers, and registers as the worker's observer.
  // `store`, `worker` and `clock` must outlive the engine.
  // Errors: DataLoss for malformed records; a stored condition that no longer compiles is
  // kept (its members frozen) and logged.
  static absl::StatusOr<std::unique_ptr<GroupEngine>> Start(Store* store, Worker* worker,
                                                            Clock* clock = Clock::Real());
  // Unregisters from the worker.
  ~GroupEngine() override;

  // --- Definitions: each runs on the worker's writer thread, in order with ingestion, and
  // returns once its changes are durable. Thread-safe. ----------------------------------

  // Creates a group and computes its members. Errors: AlreadyExists; InvalidArgument for a
  // bad name, a condition that does not compile ("line:column: reason; hint"), a cycle, a
  // bad webhook URL.
  absl::StatusOr<GroupInfo> Create(GroupDefinition definition,
                                   std::shared_ptr<GroupProgress> progress = nullptr);
  // Replaces the definition of `name` (its id, creation time and, when `keep_webhooks`,
  // webhooks are kept) and recomputes its members. Errors: NotFound; as Create.
  absl::StatusOr<GroupInfo> Update(std::string_view name, GroupDefinition definition,
                                   std::shared_ptr<GroupProgress> progress = nullptr);
  // Errors: NotFound; FailedPrecondition naming the groups whose conditions use it.
  absl::Status Delete(std::string_view name);
  // Adds and removes listed contacts and accounts of a static group.
  // Errors: NotFound; FailedPrecondition for a dynamic group; NotFound naming an unknown
  // contact.
  absl::StatusOr<GroupInfo> EditStatic(std::string_view name, std::vector<ContactId> add,
                                       std::vector<ContactId> remove,
                                       std::vector<std::string> add_accounts,
                                       std::vector<std::string> remove_accounts);

  // --- Reads. Thread-safe. -------------------------------------------------------------
  std::vector<GroupInfo> List() const;
  // Errors: NotFound.
  absl::StatusOr<GroupInfo> Get(std::string_view name) const;
  // Members in id order after `cursor`. Errors: NotFound; InvalidArgument for a bad cursor.
  absl::StatusOr<MembersPage> Members(std::string_view name, std::string_view cursor,
                                      size_t limit) const;
  // A copy of the members. Errors: NotFound.
  absl::StatusOr<Roaring> MemberBitmap(std::string_view name) const;
  // Errors: NotFound for an unknown group.
  absl::StatusOr<bool> IsMember(std::string_view name, ContactId contact) const;
  // The groups a contact belongs to, by name.
  std::vector<std::string> GroupsOf(ContactId contact) const;
  // Enters and exits of a group (newest first), or of a contact. `before` pages back
  // (exclusive; 0: from the newest). Errors: NotFound; Internal for store errors.
  absl::StatusOr<std::vector<MembershipEvent>> GroupHistory(std::string_view name,
                                                            size_t limit) const;
  absl::StatusOr<std::vector<MembershipEvent>> ContactHistory(ContactId contact,
                                                              size_t limit) const;
  // Compiles a condition against the current data and groups; with `count`, also counts
  // the contacts matching it now. Errors: InvalidArgument as Create.
  absl::StatusOr<ConditionCheck> Check(std::string_view condition, bool count) const;

  // The webhooks of a group, secrets included (for the sender only). Empty when the group
  // does not exist.
  std::vector<Webhook> WebhooksOf(std::string_view name) const;

  // The cost of keeping groups current since start (or the last reset). Thread-safe.
  KeepCurrentStats keep_current_stats() const;
  void ResetKeepCurrentStats();

  // Bytes held by the membership bitmaps.
  size_t MembershipBytes() const;

  // --- WorkerObserver (the writer thread) ----------------------------------------------
  absl::Status OnApplied(const ProfileTable& profiles, Millis now,
                         const std::vector<ContactChange>& changes,
                         rocksdb::WriteBatch* batch) override;
  std::optional<Millis> NextTimer() const override;
  absl::Status OnTimer(const ProfileTable& profiles, Millis now,
                       rocksdb::WriteBatch* batch) override;

 private:
  struct Group;
  struct Timer {
    Millis due;
    uint32_t group;
    ContactId contact;
    bool operator>(const Timer& o) const { return due > o.due; }
  };

  GroupEngine(Store* store, Worker* worker, Clock* clock);
  absl::Status Load();
  absl::Status LoadLocked(const ProfileTable& profiles) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // All below run on the writer thread with mu_ held exclusively.
  Schema SchemaFor(const ProfileTable& profiles) const;
  absl::Status Compile(Group& g, const ProfileTable& profiles);
  void Reindex();
  EvalEnv EnvFor(const Group& g, Millis now) const;
  // Re-evaluates `group` for `contact`; records a change with `cause`.
  bool Reevaluate(Group& g, const ProfileTable& profiles, ContactId contact, Millis now,
                  std::string_view cause, rocksdb::WriteBatch* batch);
  // Re-evaluates `contact` in every group marked in `affected` and their dependents.
  void ReevaluateContact(const ProfileTable& profiles, ContactId contact,
                         std::vector<bool>& affected, Millis now, std::string_view cause,
                         rocksdb::WriteBatch* batch);
  // Recomputes a whole group and records the differences.
  void Recompute(Group& g, const ProfileTable& profiles, Millis now, std::string_view cause,
                 rocksdb::WriteBatch* batch, GroupProgress* progress);
  void Record(Group& g, ContactId contact, bool entered, Millis now, std::string_view cause,
              rocksdb::WriteBatch* batch);
  void Schedule(Group& g, const ProfileTable& profiles, ContactId contact, Millis now);
  bool StaticMember(const Group& g, const ProfileTable& profiles, ContactId contact) const;
  GroupInfo InfoOf(const Group& g) const;
  Group* Find(std::string_view name) const;
  std::string CountersRecord() const;

  Store* store_;
  Worker* worker_;
  Clock* clock_;

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Group>> groups_ ABSL_GUARDED_BY(mu_);  // dependencies first
  absl::flat_hash_map<uint32_t, Group*> by_id_ ABSL_GUARDED_BY(mu_);
  // What each group's condition reads, for picking the groups a change concerns.
  absl::flat_hash_map<std::string, std::vector<size_t>> by_event_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<size_t>> by_trait_ ABSL_GUARDED_BY(mu_);
  std::vector<size_t> by_any_event_ ABSL_GUARDED_BY(mu_);
  std::vector<size_t> by_accounts_ ABSL_GUARDED_BY(mu_);
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_ ABSL_GUARDED_BY(mu_);
  Millis next_overall_refresh_ ABSL_GUARDED_BY(mu_) = 0;
  // Groups to recompute at the first timer run after a start.
  std::vector<uint32_t> recompute_on_start_ ABSL_GUARDED_BY(mu_);
  uint32_t next_group_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_history_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_outbox_seq_ ABSL_GUARDED_BY(mu_) = 1;
  AggregateCache cache_;  // writer thread only
  KeepCurrentStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmenta
