// The audience engine: contact groups, scores, buyer personas and lifecycle stages kept
// current, with every enter and exit (of a group, a persona, a stage) recorded with its time
// and cause in the same durable write as the event that caused it.
//
// Design (issue 25). An "audience" is anything with members; a "group" is a contact group
// only.
//
//   AudienceEngine (this file)     the facade: the ingest path's observer, and the parts the
//     │                            API calls, each a cohesive class:
//     ├─ ContactGroups             contact_groups.h     define and read groups
//     ├─ ScoresAndPersonas         scores.h             define and read scores and personas
//     ├─ LifecycleStages           lifecycle_stages.h   set and read the stages
//     ├─ AudienceReads             audience_reads.h     members, bitmaps, history, webhooks
//     └─ ConditionChecks           condition_checks.h   check and evaluate ad-hoc conditions
//   EngineCore                     engine_core.h        the one lock and what the parts share;
//     │                                                 Reevaluate (one contact) and
//     │                                                 Recompute (one node, every contact)
//     ├─ DefinitionGraph           definition_graph.h   nodes in dependency order, what reads
//     │                                                 what, routes from a contact's change
//     │                                                 to the nodes it concerns, audiences
//     │                                                 by id and name
//     ├─ MembershipLog             membership_log.h     enters/exits: memberships, history,
//     │                                                 outbox; ids and sequence counters
//     └─ Timers                    timers.h             due instants per node and contact
//   AudienceNode                   audience_node.h      one definition behind one interface
//     ├─ ContactGroupNode          contact_group_node.h dynamic and static groups
//     ├─ ScoreNode                 score_node.h         a score's (or persona's) points
//     └─ AssignmentNode            assignment_node.h    each contact in at most one audience
//         ├─ PersonaAssignmentNode persona_node.h       the persona each contact is in
//         └─ LifecycleNode         lifecycle_node.h     the stage each contact is in
//   DerivedColumns                 derived_state.h      per-contact state, by name and bytes
//
// Nodes form one graph (a condition may read a group, a score, the persona or the stage;
// cycles are refused) evaluated in dependency order. Nothing outside a node class asks what
// kind a node is: a new kind (a model score, an affinity, a workflow trigger) is a subclass
// of AudienceNode, added with AddNode() and, when its definitions are stored, loaded by a
// NodeLoader passed to Start(). Conditions read what nodes publish (condition_reads.h): the
// members of a group, and computed values (score("…"), persona, stage, and the kinds new
// node classes publish: AudienceNode::PublishedKind registers them in the schema).
//
// Threading. The engine observes the worker: after each commit of messages it re-evaluates
// the nodes whose conditions read what changed, for the contacts that changed
// (read-your-writes: before the messages are acknowledged); its timers re-evaluate a
// contact when a time-dependent condition may flip with no new event. Definitions run on
// the worker's writer thread through Worker::RunTaskAndWait, in order with ingestion, and
// evaluate over every contact at once (eval/batch.h). One lock guards the engine's state;
// lock order everywhere: the profile table, then the engine.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/progress.h"
#include "ingest/ingest_observer.h"
#include "ingest/worker.h"
#include "segments/audience_node.h"
#include "segments/audience_reads.h"
#include "segments/condition_checks.h"
#include "segments/contact_groups.h"
#include "segments/derived_state.h"
#include "segments/engine_core.h"
#include "segments/lifecycle_stages.h"
#include "segments/scores.h"
#include "store/store.h"

namespace segmenta {

// What keeping audiences current costs, measured on the writer thread.
struct KeepCurrentStats {
  uint64_t changes = 0;      // contact changes handled
  uint64_t activities = 0;   // activities in them
  uint64_t evaluations = 0;  // (node, contact) evaluations
  uint64_t nanos = 0;        // time spent handling them
  // Per change: its time divided by its activities (ns per activity), for percentiles.
  std::vector<uint32_t> per_activity_nanos;
};

// Thread-safe.
class AudienceEngine : public IngestObserver {
 public:
  // Loads the definitions and memberships from `store` (contact groups, scores and
  // personas, lifecycle stages, and the kinds `more_kinds` load), compiles the conditions
  // against the worker's profile table, schedules timers, and registers as the worker's
  // observer. `store`, `worker` and `clock` must outlive the engine.
  // Errors: DataLoss for malformed records; FailedPrecondition when the worker does not keep
  // the profile table (WorkerOptions::keep_profiles). A stored definition that no longer
  // compiles is kept (its output frozen) and logged.
  static absl::StatusOr<std::unique_ptr<AudienceEngine>> Start(
      Store* store, Worker* worker, Clock* clock = Clock::Real(),
      std::vector<NodeLoader> more_kinds = {});
  // Unregisters from the worker.
  ~AudienceEngine() override;

  ContactGroups& groups() { return groups_; }
  ScoresAndPersonas& scores() { return scores_; }
  LifecycleStages& stages() { return stages_; }
  AudienceReads& audiences() { return audiences_; }
  const AudienceReads& audiences() const { return audiences_; }
  ConditionChecks& conditions() { return conditions_; }

  // Adds a node of any kind whose id and key no other node has: compiles it, computes it
  // over every contact and records its members, as a definition (on the writer thread,
  // durable on return, cancellable through `progress`). Its definition is not stored: a
  // kind that outlives a restart stores its own and loads it with a NodeLoader.
  // Errors: AlreadyExists for a key or id in use; as AudienceNode::Compile;
  // InvalidArgument for a cycle; Cancelled.
  absl::Status AddNode(std::unique_ptr<AudienceNode> node,
                       std::shared_ptr<JobProgress> progress = nullptr);

  // Every column of derived per-contact state, by name, with its bytes.
  DerivedColumns DerivedState() const;
  // Bytes held by the membership bitmaps.
  size_t MembershipBytes() const;

  // The cost of keeping audiences current since start (or the last reset).
  KeepCurrentStats keep_current_stats() const;
  void ResetKeepCurrentStats();

  // --- IngestObserver (the writer thread) ----------------------------------------------
  absl::Status OnApplied(const ProfileTable& profiles, Millis now,
                         const std::vector<ContactChange>& changes, rocksdb::WriteBatch* batch,
                         const std::function<void()>& let_readers_in) override;
  std::optional<Millis> NextTimer() const override;
  absl::Status OnTimer(const ProfileTable& profiles, Millis now,
                       rocksdb::WriteBatch* batch) override;

 private:
  AudienceEngine(Store* store, Worker* worker, Clock* clock);
  absl::Status Load(const ProfileTable& profiles, const std::vector<NodeLoader>& loaders)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_.mu());

  Worker* worker_;
  EngineCore core_;
  ContactGroups groups_{&core_};
  ScoresAndPersonas scores_{&core_};
  LifecycleStages stages_{&core_};
  AudienceReads audiences_{&core_};
  ConditionChecks conditions_{&core_};
  // Observer state, guarded by core_.mu().
  Millis next_overall_refresh_ = 0;
  std::vector<uint32_t> recompute_on_start_;  // node ids, for the first timer run
  AffectedNodes affected_;                    // the nodes a change or a timer concerns, reused
  KeepCurrentStats stats_;
};

}  // namespace segmenta
