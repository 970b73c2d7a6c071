// A node of the audience engine: one definition (a contact group, a score, the persona
// assignment, the lifecycle stages; later a model score, an affinity, a workflow trigger)
// behind the few operations the engine runs on every kind alike, as DuckDB's executor runs
// every PhysicalOperator. The engine orders nodes by what they read (definition_graph.h),
// hands them each changed contact (Evaluate) or every contact at once (Recompute),
// schedules their timers (NextChange) and publishes their values to conditions
// (ComputedValue, Members); it never asks what kind a node is. A new kind is a new subclass
// and, for definitions that outlive a restart, a NodeLoader (engine.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/progress.h"
#include "eval/batch.h"
#include "eval/evaluator.h"
#include "lang/compiler.h"
#include "lang/computed.h"
#include "profile/profile_table.h"
#include "rocksdb/write_batch.h"
#include "segments/audience.h"
#include "segments/derived_state.h"
#include "store/store.h"

namespace segmenta {

class DefinitionGraph;
class MembershipLog;

// What evaluating a node needs: the data and the time, the other nodes (what its
// conditions read of them) and where its enters and exits are recorded. Built by the engine
// for one evaluation or recomputation; holds no ownership.
struct NodeContext {
  const ProfileTable& profiles;
  Millis now = 0;
  const DefinitionGraph& graph;
  // Where changes are recorded; null while loading, when a node records nothing.
  MembershipLog* log = nullptr;
  rocksdb::WriteBatch* batch = nullptr;
  const Store* store = nullptr;
  AggregateCache* cache = nullptr;  // for batch evaluations; may be null
  // Why the evaluation runs: "event: Order Completed", "time", "group created".
  std::string_view cause;

  // Records that `contact` entered (or exited) `audience` now, with `cause`, and adds it to
  // (or removes it from) its members.
  void Record(Audience& audience, ContactId contact, bool entered) const;
};

// The plans a node runs (a group's condition, a score's rules, stages' entry conditions),
// each with the values of its overall(...) aggregates. Not thread-safe.
class PlanSet {
 public:
  // Replaces the plans and computes their overall values at `now`.
  void Assign(std::vector<std::shared_ptr<const Plan>> plans, const ProfileTable& profiles,
              Millis now);
  void Clear();

  size_t size() const { return plans_.size(); }
  const Plan& plan(size_t i) const { return *plans_[i]; }
  const std::vector<std::shared_ptr<const Plan>>& all() const { return plans_; }
  // The keys the plans read (Schema::definitions), each once, in order of first use.
  std::vector<std::string> Uses() const;
  bool time_dependent() const { return time_dependent_; }
  bool has_overall() const { return has_overall_; }

  // The overall values of every plan at `now`; stored with SetOverall.
  std::vector<std::vector<Value>> OverallAt(const ProfileTable& profiles, Millis now) const;
  void SetOverall(std::vector<std::vector<Value>> overall) { overall_ = std::move(overall); }
  // True when an overall value differs at `now` from the stored ones.
  bool OverallChanged(const ProfileTable& profiles, Millis now) const;

  // The environment of plan `i` at `now`, reading other nodes from `graph`, with the stored
  // overall values or `overall` when given.
  EvalEnv Env(size_t i, const DefinitionGraph& graph, Millis now,
              const std::vector<Value>* overall = nullptr) const;
  // The earliest instant at which a time-dependent plan may change for `contact` (or every
  // contact row, kNoChange where none), as eval/evaluator.h's NextChange.
  std::optional<Millis> NextChange(ContactId contact, const NodeContext& ctx) const;
  std::vector<Millis> NextChanges(const NodeContext& ctx) const;

 private:
  std::vector<std::shared_ptr<const Plan>> plans_;
  std::vector<std::vector<Value>> overall_;
  bool time_dependent_ = false;
  bool has_overall_ = false;
};

// How a node is named.
struct NodeNames {
  // In Schema::definitions and in what nodes use: a group's name; for a node that publishes a
  // computed value, ComputedKey(word, name) ("score:NAME", "persona:", "stage:"). Unique in
  // the graph. Conditions write it as lang/computed.h's DependencyText(key) says.
  std::string key;
  // In messages and causes: group "VIP", persona "Cycling engineer", the lifecycle stages.
  std::string described;
  // The path its derived columns are named under: "group/VIP", "stages".
  std::string columns;
};

// What changes of a contact concern a node: it is evaluated for a contact whose change
// touches one of these.
struct NodeTriggers {
  std::vector<std::string> events;  // event keys; "*": any event
  std::vector<std::string> traits;  // trait names (the first segment of a path)
  bool accounts = false;            // the contact's accounts or their traits
  // Any change of a contact for which ComputedValue() is null (a contact new to the
  // lifecycle enters its first stage, whatever it did), with the cause kNewContactCause
  // unless the change touches what it reads.
  bool unvalued_contacts = false;
};

// The cause of a move that a contact makes because it is new (its first stage).
inline constexpr std::string_view kNewContactCause = "new contact";

// How the engine treats a node beyond its hooks; set by its kind.
struct NodeFlags {
  // Its output is kept in memory only (a score's points): the engine recomputes it at load.
  bool output_in_memory = false;
  // What changes because of it keeps the cause it was changed by (points have no history
  // of their own), instead of its own ("group "VIP" changed").
  bool passes_cause_on = false;
  // It shows in the used-by lists of what it reads (the persona assignment, which reads
  // every persona's points, does not).
  bool listed_as_user = true;
  // It is recomputed at the first timer run after a start whatever it reads (it is built
  // on nodes recomputed then).
  bool recompute_at_start = false;
  // Its output may change with time by rules of its own (a workflow's waits), not only
  // through its plans: the engine asks NextChange at every evaluation.
  bool own_timers = false;
};

// Not thread-safe: the engine calls a node under its lock. Public methods: the names and
// state the engine reads (10), and 14 hooks a kind implements, 4 of them required (Compile,
// Evaluate, Recompute, DeclareColumns), the others with the defaults most kinds want: more
// than 15 because the hooks are what makes a new kind a class and not a branch.
class AudienceNode {
 public:
  virtual ~AudienceNode() = default;
  AudienceNode(const AudienceNode&) = delete;
  AudienceNode& operator=(const AudienceNode&) = delete;

  // Names its timers; unique in the graph (a definition's id, or a kind's constant).
  uint32_t id() const { return id_; }
  const NodeNames& names() const { return names_; }
  // The keys it reads (NodeNames::key of other nodes): it is evaluated after them.
  const std::vector<std::string>& uses() const { return uses_; }
  const PlanSet& plans() const { return plans_; }
  // Why its stored definition no longer compiles ("" when it does): a frozen node keeps
  // its output as it was until its definition is edited.
  const std::string& error() const { return error_; }
  void Freeze(std::string reason);

  const NodeFlags& flags() const { return flags_; }
  // Whether its output may change with no new event: the engine schedules its timers.
  bool TimeDependent() const { return flags_.own_timers || plans_.time_dependent(); }
  // Whether the engine recomputes it at the first timer run after a start (time went by
  // while stopped): when it depends on time or on overall values, or its flags say so.
  bool RecomputeAtStart() const;

  // --- Hooks ---------------------------------------------------------------------------

  // Compiles its definition against `schema` (which names every other node); sets its
  // plans and uses. Errors: InvalidArgument naming the condition ("rules[2].condition:
  // 1:5: …"), leaving the node as it was.
  virtual absl::Status Compile(const Schema& schema, const ProfileTable& profiles, Millis now) = 0;
  // Re-evaluates one contact (incremental), recording its enters and exits through `ctx`.
  // True when its output for the contact changed (what reads it is re-evaluated too). The
  // engine then schedules its timer for the contact (NextChange) when TimeDependent().
  virtual bool Evaluate(ContactId contact, const NodeContext& ctx) = 0;
  // Re-evaluates every contact at once (batch) and records the differences. Checks
  // `progress->cancelled` (when given) at safe points before it changes anything, and then
  // returns CancelledError having changed nothing; sets `progress->fraction` up to 0.8.
  // True when its output changed. The engine then replaces its timers (NextChanges).
  virtual absl::StatusOr<bool> Recompute(const NodeContext& ctx, JobProgress* progress) = 0;
  // Declares its per-contact columns with their bytes.
  virtual void DeclareColumns(DerivedColumns* out) const = 0;

  // The earliest instant after ctx.now at which its output for `contact` (or for every
  // contact row: kNoChange where none) may change with no new event. Default: its plans'.
  virtual std::optional<Millis> NextChange(ContactId contact, const NodeContext& ctx) const;
  virtual std::vector<Millis> NextChanges(const NodeContext& ctx) const;
  // What changes concern it. Default: what its plans read.
  virtual NodeTriggers Triggers() const;
  // The value `contact` has in it, as conditions read it (a score's points, the persona's
  // name); null when none. Default: null.
  virtual Scalar ComputedValue(ContactId contact) const;
  // The kind of the computed value it publishes (ComputedValue) under its key,
  // ComputedKey(word, name): conditions read it as word("name"), or as the bare word of a
  // kind without names (persona). The engine registers it in the schema conditions compile
  // against, so that a new kind is a node class, not a change to the language. Default:
  // null (it publishes none).
  virtual const ComputedKind* PublishedKind() const { return nullptr; }
  // The contacts `in group KEY` holds for; null when conditions cannot test membership of
  // it. Default: null.
  virtual const Roaring* Members() const { return nullptr; }
  // Its audiences (none for a score). Stable until its next Link().
  virtual std::span<Audience> audiences() { return {}; }
  std::span<const Audience> audiences() const {
    return const_cast<AudienceNode*>(this)->audiences();
  }
  // Puts a stored membership back into audience `audience`, at load. Default: adds it to
  // the audience's members.
  virtual void RestoreMember(size_t audience, ContactId contact);
  // Called whenever the graph changed, before it is ordered: a node built on others of a
  // kind (the persona assignment on every persona) finds them and sets its uses here.
  virtual void Link(const DefinitionGraph& graph) {}
  // `contact` was erased or merged into `merged_into` (0 when erased): a node whose
  // definition names contacts (a static group's list) updates it and writes it to
  // ctx.batch. Every node is then re-evaluated for the contact.
  virtual void OnContactErased(ContactId contact, ContactId merged_into, const NodeContext& ctx) {}

 protected:
  AudienceNode(uint32_t id, NodeNames names) : id_(id), names_(std::move(names)) {}

  // Plans and uses as Compile sets them; clears the error.
  void SetPlans(std::vector<std::shared_ptr<const Plan>> plans, const ProfileTable& profiles,
                Millis now);

  uint32_t id_;
  NodeNames names_;
  std::vector<std::string> uses_;
  PlanSet plans_;
  std::string error_;
  NodeFlags flags_;
};

// Reads the stored definitions of one kind and makes their nodes (at start, before the
// memberships are loaded). Errors: DataLoss for a malformed record; store errors.
using NodeLoader =
    std::function<absl::Status(const Store& store, std::vector<std::unique_ptr<AudienceNode>>*)>;

// Errors: CancelledError when `progress` asks to stop.
absl::Status CheckNotCancelled(const JobProgress* progress);

}  // namespace segmenta
