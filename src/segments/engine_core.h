// The state the audience engine's parts share (its one lock, the definition graph, the
// membership log, the timers) and the two ways it keeps nodes current:
//  - Reevaluate: one contact, through the nodes its change concerns and, when one of them
//    changes, through what reads it (the ingest path, and timers);
//  - Recompute: one node over every contact and, when it changes, what reads it (a
//    definition made or edited, time at start, overall values).
// It runs nodes through audience_node.h only; the parts of the facade (engine.h) hold the
// kind-specific rules of definitions.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "core/time_format.h"
#include "eval/batch.h"
#include "ingest/worker.h"
#include "segments/definition_graph.h"
#include "segments/membership_log.h"
#include "segments/timers.h"
#include "store/store.h"

namespace segmenta {

// Thread-safety: the graph, the log's records and the timers are guarded by mu(); the
// methods below other than the accessors and RunDefinition REQUIRE mu() held exclusively on
// the worker's writer thread. Lock order everywhere: the profile table, then mu().
//
// 19 public methods, more than 15 because it is the toolbox the facade's parts
// (contact_groups.h, scores.h, lifecycle_stages.h, audience_reads.h, condition_checks.h)
// are written against: 10 accessors of the state they share and 9 operations that keep
// nodes current.
class EngineCore {
 public:
  // `store`, `worker` and `clock` must outlive the core.
  EngineCore(Store* store, Worker* worker, Clock* clock)
      : store_(store), worker_(worker), clock_(clock), log_(store) {}

  absl::Mutex& mu() const ABSL_LOCK_RETURNED(mu_) { return mu_; }
  DefinitionGraph& graph() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return graph_; }
  const DefinitionGraph& graph() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return graph_; }
  MembershipLog& log() { return log_; }
  const MembershipLog& log() const { return log_; }
  Timers& timers() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return timers_; }
  const Timers& timers() const ABSL_SHARED_LOCKS_REQUIRED(mu_) { return timers_; }
  const Store& store() const { return *store_; }
  const Worker& worker() const { return *worker_; }
  Millis Now() const { return ToMillis(clock_->Now()); }

  // Runs `task` on the worker's writer thread, in order with ingestion, with the profile
  // table and mu() held exclusively; then writes the log's counters when the task moved
  // them. Returns once its batch is durable. A failed task must not have written to the
  // batch. Thread-safe; never call it holding mu().
  absl::Status RunDefinition(
      const std::function<absl::Status(ProfileTable& profiles, rocksdb::WriteBatch* batch)>& task);

  // The context of evaluations at `now` that record to `batch` (null: record nothing).
  NodeContext Context(const ProfileTable& profiles, Millis now, rocksdb::WriteBatch* batch,
                      std::string_view cause);

  // Puts the compiled `node` in the graph in place of `replaces` (null: a new node),
  // recomputes it over every contact recording the differences with `cause`, then what
  // reads it when it changed. True when it changed. Errors: InvalidArgument naming a cycle
  // (one through what links to it included); CancelledError when `progress` asks to stop
  // before anything is recorded. On error nothing changed and `node` is dropped.
  absl::StatusOr<bool> Define(std::unique_ptr<AudienceNode> node, const AudienceNode* replaces,
                              const ProfileTable& profiles, Millis now, std::string_view cause,
                              rocksdb::WriteBatch* batch, JobProgress* progress);
  // Recomputes `node` over every contact (`cause` on what it records) and its timers, then,
  // when it changed, what reads it. True when it changed.
  bool Recompute(AudienceNode& node, const ProfileTable& profiles, Millis now,
                 std::string_view cause, rocksdb::WriteBatch* batch);
  // Recomputes what reads `node`, which changed (`cause` on what they record, or
  // '<node> changed' unless NodeFlags::passes_cause_on): after Recompute changed it, or a
  // change made outside Recompute (AssignmentNode::Vacate).
  void RecomputeDependents(const AudienceNode& node, const ProfileTable& profiles, Millis now,
                           std::string_view cause, rocksdb::WriteBatch* batch);
  // Recomputes `node` and its timers only. Errors: as AudienceNode::Recompute.
  absl::StatusOr<bool> RecomputeNode(AudienceNode& node, const NodeContext& ctx,
                                     JobProgress* progress);
  // Takes `node` out of the graph, with its timers and its audiences' stored memberships
  // (their history stays).
  void Remove(const AudienceNode& node, rocksdb::WriteBatch* batch);
  // Re-evaluates `contact` in every node marked in `affected`, in dependency order, each
  // recording its moves with its cause, and marks what reads a node that changed (with
  // that node's cause); schedules their timers.
  void Reevaluate(const ProfileTable& profiles, ContactId contact, AffectedNodes& affected,
                  Millis now, rocksdb::WriteBatch* batch);
  // The aggregate cache of batch evaluations: valid while the profile table does not change.
  void InvalidateCache() { cache_.Invalidate(); }

 private:
  Store* store_;
  Worker* worker_;
  Clock* clock_;
  mutable absl::Mutex mu_;
  DefinitionGraph graph_ ABSL_GUARDED_BY(mu_);
  MembershipLog log_;  // records and counters: under mu_
  Timers timers_ ABSL_GUARDED_BY(mu_);
  AggregateCache cache_;  // the writer thread only
};

}  // namespace segmenta
