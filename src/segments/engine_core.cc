#include "segments/engine_core.h"

#include "core/status.h"

namespace segmenta {

absl::Status EngineCore::RunDefinition(
    const std::function<absl::Status(ProfileTable& profiles, rocksdb::WriteBatch* batch)>& task) {
  return worker_->RunTaskAndWait([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    absl::Status status = task(profiles, batch);
    if (status.ok()) log_.Flush(batch);
    return status;
  });
}

NodeContext EngineCore::Context(const ProfileTable& profiles, Millis now,
                                rocksdb::WriteBatch* batch, std::string_view cause) {
  return NodeContext{profiles, now,    graph_,  batch != nullptr ? &log_ : nullptr,
                     batch,    store_, &cache_, cause};
}

absl::StatusOr<bool> EngineCore::RecomputeNode(AudienceNode& node, const NodeContext& ctx,
                                               JobProgress* progress) {
  SEGMENTA_ASSIGN_OR_RETURN(bool changed, node.Recompute(ctx, progress));
  // Replaces the node's timers (none when it no longer depends on time).
  timers_.ScheduleAll(node.id(),
                      node.TimeDependent() ? node.NextChanges(ctx) : std::vector<Millis>());
  if (progress != nullptr) progress->fraction = 1.0;
  return changed;
}

absl::StatusOr<bool> EngineCore::Define(std::unique_ptr<AudienceNode> node,
                                        const AudienceNode* replaces, const ProfileTable& profiles,
                                        Millis now, std::string_view cause,
                                        rocksdb::WriteBatch* batch, JobProgress* progress) {
  SEGMENTA_RETURN_IF_ERROR(graph_.CheckAcyclic(*node, replaces));
  // Placed first, so that what links to it (the persona assignment to a new persona) is
  // checked for cycles too; taken out again when refused or cancelled, before anything is
  // recorded.
  AudienceNode* placed = node.get();
  std::unique_ptr<AudienceNode> previous;
  if (replaces != nullptr) {
    previous = graph_.Replace(replaces, std::move(node));
  } else {
    graph_.Add(std::move(node));
  }
  auto take_out = [&] {
    if (previous != nullptr) {
      graph_.Replace(placed, std::move(previous));
    } else {
      graph_.Remove(placed);
    }
  };
  if (absl::Status acyclic = graph_.CheckAcyclic(*placed, nullptr); !acyclic.ok()) {
    take_out();
    return acyclic;
  }
  cache_.Invalidate();
  absl::StatusOr<bool> changed =
      RecomputeNode(*placed, Context(profiles, now, batch, cause), progress);
  if (!changed.ok()) {
    take_out();
    return changed.status();
  }
  if (*changed) RecomputeDependents(*placed, profiles, now, cause, batch);
  return *changed;
}

bool EngineCore::Recompute(AudienceNode& node, const ProfileTable& profiles, Millis now,
                           std::string_view cause, rocksdb::WriteBatch* batch) {
  // Without a progress to cancel it, a recomputation cannot fail.
  const bool changed =
      RecomputeNode(node, Context(profiles, now, batch, cause), nullptr).value_or(false);
  if (changed) RecomputeDependents(node, profiles, now, cause, batch);
  return changed;
}

void EngineCore::RecomputeDependents(const AudienceNode& node, const ProfileTable& profiles,
                                     Millis now, std::string_view cause,
                                     rocksdb::WriteBatch* batch) {
  // What is built on `node` changes with it, recorded with its cause or with `cause`.
  const std::string next_cause =
      node.flags().passes_cause_on ? std::string(cause) : node.names().described + " changed";
  const size_t index = graph_.IndexOf(node.id());
  if (index == DefinitionGraph::kNone) return;
  for (size_t d : graph_.dependents(index)) {
    Recompute(graph_.node(d), profiles, now, next_cause, batch);
  }
}

void EngineCore::Remove(const AudienceNode& node, rocksdb::WriteBatch* batch) {
  for (const Audience& a : node.audiences()) log_.Forget(a.id, batch);
  timers_.Forget(node.id());
  graph_.Remove(&node);
}

void EngineCore::Reevaluate(const ProfileTable& profiles, ContactId contact,
                            AffectedNodes& affected, Millis now, rocksdb::WriteBatch* batch) {
  NodeContext ctx = Context(profiles, now, batch, "");
  const size_t rows = profiles.contact_rows();
  for (size_t i = 0; i < graph_.size(); ++i) {
    if (!affected.marked(i)) continue;
    AudienceNode& node = graph_.node(i);
    ctx.cause = affected.cause(i);
    const bool changed = node.Evaluate(contact, ctx);
    if (node.TimeDependent()) {
      timers_.Schedule(node.id(), contact, node.NextChange(contact, ctx), rows);
    }
    if (changed) {
      for (size_t d : graph_.dependents(i)) affected.MarkDependent(d, i);
    }
  }
}

}  // namespace segmenta
