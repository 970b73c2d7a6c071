// Contact groups, scores, buyer personas and lifecycle stages kept current: their
// definitions, their members (roaring bitmaps) and scores, and every enter and exit (of a
// group, a persona, a stage) with its time and cause, recorded in the history and published
// to the outbox as part of the same durable write as the event that caused it.
//
// Groups, scores, the persona assignment and the stages form one graph of definitions (a
// condition may read another group, a score, the persona or the stage; cycles are refused)
// evaluated in dependency order.
//
// The engine observes the worker: after each group of messages it re-evaluates the groups
// whose conditions read what changed, for the contacts that changed (read-your-writes:
// before the messages are acknowledged); its timers re-evaluate a contact when a
// time-dependent condition may flip with no new event. Creating or editing a group
// evaluates it over every contact at once (eval/batch.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "core/progress.h"
#include "eval/batch.h"
#include "ingest/ingest_observer.h"
#include "ingest/worker.h"
#include "lang/compiler.h"
#include "roaring/roaring.hh"
#include "segments/group.h"
#include "segments/scoring.h"
#include "store/store.h"

namespace segmenta {

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

// What a membership is of.
enum class AudienceKind : uint8_t { kGroup, kPersona, kStage };
// "group", "persona", "stage".
std::string_view AudienceKindName(AudienceKind kind);

// One enter or exit.
struct MembershipEvent {
  int64_t time_ms = 0;
  uint32_t group = 0;  // the id of the group, persona or stage
  std::string group_name;
  AudienceKind kind = AudienceKind::kGroup;
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

// A score or persona as the API shows it.
struct ScoreInfo {
  ScoreDefinition definition;  // webhook secrets left out
  uint64_t members = 0;        // personas: contacts assigned to it
  std::vector<std::string> warnings;
  std::vector<std::string> uses;     // what its rules read: groups, score("…"), persona, stage
  std::vector<std::string> used_by;  // what reads it
  bool time_dependent = false;
};

// How a score's points spread over the contacts.
struct ScoreDistribution {
  uint64_t contacts = 0;  // alive contacts
  uint64_t nonzero = 0;   // with points other than 0
  double min = 0, max = 0, mean = 0;
  double p25 = 0, p50 = 0, p75 = 0, p90 = 0, p99 = 0;
  struct Bucket {
    double from = 0, to = 0;  // [from, to), the last one closed
    uint64_t contacts = 0;
  };
  std::vector<Bucket> histogram;  // 10 equal buckets from min to max
  // Personas: contacts at or above the threshold (members or not).
  uint64_t qualified = 0;
};

struct StageInfo {
  StageDefinition definition;
  uint64_t members = 0;
  std::string condition_text;  // normalized ("" for the first stage)
};

struct LifecycleInfo {
  bool defined = false;
  std::vector<StageInfo> stages;
  std::vector<Webhook> webhooks;  // secrets left out
  int64_t updated_ms = 0;
  std::vector<std::string> warnings;
};

// A contact's scores, persona and stage.
struct ContactScores {
  struct Score {
    std::string name;
    double points = 0;
    bool persona = false;
    double threshold = 0;
  };
  std::vector<Score> scores;  // in creation order
  std::string persona;        // "" when none
  std::string stage;          // "" when no lifecycle is defined
};

// A trait that conditions read, ranked by how many of them read it.
struct TraitUse {
  std::string trait;
  uint32_t rules = 0;  // group conditions, score rules and stage conditions reading it
  // Completeness: the share of contacts (of the audience asked about, and of all) that
  // have it.
  double filled = 0;
  double filled_overall = 0;
};

struct ConditionCheck {
  std::string text;  // normalized
  std::string json;
  std::vector<std::string> warnings;
  bool time_dependent = false;
  std::optional<uint64_t> matches;  // contacts matching now, when asked
};

class GroupEngine : public IngestObserver {
 public:
  // Loads the definitions and memberships from `store`, compiles the conditions against the
  // worker's profile table, schedules timers, and registers as the worker's observer.
  // `store`, `worker` and `clock` must outlive the engine.
  // Errors: DataLoss for malformed records; FailedPrecondition when the worker does not keep
  // the profile table (WorkerOptions::keep_profiles). A stored condition that no longer
  // compiles is kept (its members frozen) and logged.
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
                                   std::shared_ptr<JobProgress> progress = nullptr);
  // Replaces the definition of `name` (its id, creation time and, when `keep_webhooks`,
  // webhooks are kept) and recomputes its members. Errors: NotFound; as Create.
  absl::StatusOr<GroupInfo> Update(std::string_view name, GroupDefinition definition,
                                   std::shared_ptr<JobProgress> progress = nullptr);
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
  std::vector<GroupInfo> List() const;  // groups only
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

  // --- Scores and personas (same threading as groups) ----------------------------------

  // Creates a score or persona and computes it for every contact (and, for a persona, the
  // persona assignment). Errors: AlreadyExists; InvalidArgument as CheckScore, for a rule
  // that does not compile ("rules[2].condition: 1:5: …") or a cycle.
  absl::StatusOr<ScoreInfo> CreateScore(ScoreDefinition definition,
                                        std::shared_ptr<JobProgress> progress = nullptr);
  // Replaces the rules (and description, threshold, decay, webhooks when given) of `name`
  // and recomputes every contact's points. Errors: NotFound; as CreateScore; a score
  // cannot become a persona or the other way round.
  absl::StatusOr<ScoreInfo> UpdateScore(std::string_view name, ScoreDefinition definition,
                                        std::shared_ptr<JobProgress> progress = nullptr);
  // Errors: NotFound; FailedPrecondition naming what reads it.
  absl::Status DeleteScore(std::string_view name);
  // `personas`: personas only, else scores that are not personas.
  std::vector<ScoreInfo> ListScores(bool personas) const;
  // Errors: NotFound.
  absl::StatusOr<ScoreInfo> GetScore(std::string_view name) const;
  absl::StatusOr<ScoreDistribution> Distribution(std::string_view name) const;
  // The points of `contact` in every score, its persona and its stage.
  ContactScores ScoresOf(ContactId contact) const;

  // --- Lifecycle stages ----------------------------------------------------------------

  // Replaces the stages (a stage keeps its id, members and history while its name stays;
  // the members of a removed stage exit it) and recomputes every contact's stage.
  // Errors: InvalidArgument as CheckLifecycle or for a condition that does not compile
  // ("stages[2].condition: …") or a cycle.
  absl::StatusOr<LifecycleInfo> SetLifecycle(LifecycleDefinition definition,
                                             std::shared_ptr<JobProgress> progress = nullptr);
  LifecycleInfo Lifecycle() const;
  // Removes the stages (their members exit). Errors: NotFound when none are defined;
  // FailedPrecondition naming the conditions that read `stage`.
  absl::Status DeleteLifecycle();

  // --- Members of any audience ---------------------------------------------------------
  // As Members / MemberBitmap / GroupHistory, for a group, a persona or a stage by name.
  // Errors: NotFound.
  absl::StatusOr<MembersPage> AudienceMembers(AudienceKind kind, std::string_view name,
                                              std::string_view cursor, size_t limit) const;
  absl::StatusOr<Roaring> AudienceBitmap(AudienceKind kind, std::string_view name) const;
  absl::StatusOr<std::vector<MembershipEvent>> AudienceHistory(AudienceKind kind,
                                                               std::string_view name,
                                                               size_t limit) const;

  // --- Progressive profiling -----------------------------------------------------------
  // The traits that the definitions read and `contact` lacks, the one that decides the
  // most rules first (ties by name). Errors: NotFound for an unknown contact.
  absl::StatusOr<std::vector<TraitUse>> MissingTraits(ContactId contact) const;
  // The traits a group's, persona's or stage's definition reads, each with how complete it
  // is among its members and among all contacts. Errors: NotFound.
  absl::StatusOr<std::vector<TraitUse>> Completeness(AudienceKind kind,
                                                     std::string_view name) const;

  // --- For other readers of conditions (experiences) ----------------------------------
  // The schema conditions compile against: the data's names and every definition's key.
  // REQUIRES: the caller holds the profile table for reading.
  Schema ConditionSchema(const ProfileTable& profiles) const;
  // `plan` for `contact` now, reading groups, scores, persona and stage as they stand, and
  // `visit` for visit.… fields; a contact not seen yet is evaluated as an empty one.
  // REQUIRES: the caller holds the profile table for reading. Thread-safe otherwise.
  bool MatchesNow(const Plan& plan, const ProfileTable& profiles, ContactId contact, Millis now,
                  const std::vector<Value>& overall,
                  const std::function<Scalar(const Node&)>& visit) const;

  // The webhooks of a group, persona or lifecycle stage by id, secrets included (for the
  // sender only). Empty when it does not exist.
  std::vector<Webhook> WebhooksOf(uint32_t id) const;

  // The cost of keeping groups current since start (or the last reset). Thread-safe.
  KeepCurrentStats keep_current_stats() const;
  void ResetKeepCurrentStats();

  // Bytes held by the membership bitmaps.
  size_t MembershipBytes() const;

  // --- IngestObserver (the writer thread) ----------------------------------------------
  absl::Status OnApplied(const ProfileTable& profiles, Millis now,
                         const std::vector<ContactChange>& changes, rocksdb::WriteBatch* batch,
                         const std::function<void()>& let_readers_in) override;
  std::optional<Millis> NextTimer() const override;
  absl::Status OnTimer(const ProfileTable& profiles, Millis now,
                       rocksdb::WriteBatch* batch) override;

 private:
  struct Audience;
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
  absl::Status CompileScore(Group& g, const ProfileTable& profiles);
  absl::Status CompileLifecycle(Group& g, const ProfileTable& profiles);
  void Reindex();
  // The environment of the `plan`-th plan of `g`.
  EvalEnv EnvFor(const Group& g, size_t plan, Millis now) const;
  Scalar DerivedValue(const Node& node, ContactId contact) const;
  double ScoreOf(const Group& g, const ProfileTable& profiles, ContactId contact, Millis now) const;
  // The audience a persona or lifecycle node assigns `contact` to now (-1: none).
  int AssignPersona(const Group& g, ContactId contact) const;
  int AssignStage(const Group& g, const ProfileTable& profiles, ContactId contact,
                  Millis now) const;
  // Moves `contact` to audience `to` (-1: none) of a persona or lifecycle node, recording
  // the exit and the enter; false when it was there already.
  bool MoveTo(Group& g, ContactId contact, int to, Millis now, std::string_view cause,
              rocksdb::WriteBatch* batch);
  bool RecomputeAudiences(Group& g, const std::vector<int>& assigned, Millis now,
                          std::string_view cause, rocksdb::WriteBatch* batch);
  // Every contact's points in score `g`, and its timers.
  void ComputeScores(Group& g, const ProfileTable& profiles, Millis now, JobProgress* progress);
  // The persona node's audiences from the persona scores (members kept by id).
  void RebuildPersonas();

  void RecordEvent(uint32_t id, const std::string& name, AudienceKind kind, Roaring& members,
                   const std::vector<Webhook>& hooks, ContactId contact, bool entered, Millis now,
                   std::string_view cause, rocksdb::WriteBatch* batch);
  Group* FindNode(std::string_view key) const;
  Group* FindScore(std::string_view name) const;
  // The members and id of a group, persona or stage; null when unknown.
  const Roaring* BitmapOf(AudienceKind kind, std::string_view name, uint32_t* id) const;
  ScoreInfo ScoreInfoOf(const Group& g) const;
  LifecycleInfo LifecycleInfoOf() const;
  std::string DependencyName(const std::string& key) const;
  std::vector<std::string> UsedBy(const Group& g) const;
  absl::Status CheckNoUsers(const Group& g, std::string_view what) const;
  // Re-evaluates `group` for `contact`; records a change with `cause`.
  bool Reevaluate(Group& g, const ProfileTable& profiles, ContactId contact, Millis now,
                  std::string_view cause, rocksdb::WriteBatch* batch);
  // Re-evaluates `contact` in every group marked in `affected` and their dependents.
  void ReevaluateContact(const ProfileTable& profiles, ContactId contact,
                         std::vector<bool>& affected, Millis now, std::string_view cause,
                         rocksdb::WriteBatch* batch);
  // Recomputes a whole node and records the differences, then what reads it; true when
  // something changed.
  bool Recompute(Group& g, const ProfileTable& profiles, Millis now, std::string_view cause,
                 rocksdb::WriteBatch* batch, JobProgress* progress);
  void Record(Group& g, ContactId contact, bool entered, Millis now, std::string_view cause,
              rocksdb::WriteBatch* batch);
  void Schedule(Group& g, const ProfileTable& profiles, ContactId contact, Millis now);
  void PushTimer(Timer t);
  // Rebuilds the heap from the nodes' due times, dropping stale timers.
  void CompactTimers();
  // Runs a definition change on the writer thread, then writes the counters it moved.
  absl::Status RunDefinition(
      const std::function<absl::Status(ProfileTable&, rocksdb::WriteBatch*)>& task);
  // Writes the counters to `batch` when records changed them: once per batch.
  void FlushCounters(rocksdb::WriteBatch* batch);
  // Schedules every contact's timer of `g` (replacing those it had).
  void ScheduleAll(Group& g, const ProfileTable& profiles, Millis now);
  bool StaticMember(const Group& g, const ProfileTable& profiles, ContactId contact) const;
  GroupInfo InfoOf(const Group& g) const;
  Group* Find(std::string_view name) const;
  std::string CountersRecord() const;

  Store* store_;
  Worker* worker_;
  Clock* clock_;

  mutable absl::Mutex mu_;
  // Groups, scores, the persona assignment and the lifecycle, dependencies first.
  std::vector<std::unique_ptr<Group>> groups_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, Group*> by_id_ ABSL_GUARDED_BY(mu_);  // groups
  absl::flat_hash_map<std::string, Group*> by_key_ ABSL_GUARDED_BY(mu_);
  // Personas and stages by id: their node and audience index.
  absl::flat_hash_map<uint32_t, std::pair<Group*, size_t>> audience_by_id_ ABSL_GUARDED_BY(mu_);
  // What each group's condition reads, for picking the groups a change concerns.
  absl::flat_hash_map<std::string, std::vector<size_t>> by_event_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<size_t>> by_trait_ ABSL_GUARDED_BY(mu_);
  std::vector<size_t> by_any_event_ ABSL_GUARDED_BY(mu_);
  std::vector<size_t> by_accounts_ ABSL_GUARDED_BY(mu_);
  // The lifecycle node's index in groups_ (every new contact enters its first stage), or -1.
  int64_t lifecycle_index_ ABSL_GUARDED_BY(mu_) = -1;
  // A min-heap on due (std::push_heap with std::greater).
  std::vector<Timer> timers_ ABSL_GUARDED_BY(mu_);
  // Timers pushed and not known stale: an upper bound of the live ones, for compaction.
  size_t live_timers_ ABSL_GUARDED_BY(mu_) = 0;
  // Timers name a node by its id: a group's or score's, or kLifecycleId.
  absl::flat_hash_map<uint32_t, Group*> by_timer_id_ ABSL_GUARDED_BY(mu_);
  Millis next_overall_refresh_ ABSL_GUARDED_BY(mu_) = 0;
  // Groups to recompute at the first timer run after a start.
  std::vector<uint32_t> recompute_on_start_ ABSL_GUARDED_BY(mu_);
  uint32_t next_group_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_history_seq_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_outbox_seq_ ABSL_GUARDED_BY(mu_) = 1;
  bool counters_dirty_ ABSL_GUARDED_BY(mu_) = false;
  AggregateCache cache_;  // writer thread only
  KeepCurrentStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmenta
