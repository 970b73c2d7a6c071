// The lifecycle stages as a node of the audience engine: one audience per stage, in funnel
// order; each contact is in the last stage whose entry condition holds, and in the first
// stage when none does. A contact new to it enters the first stage whatever it did, with
// the cause "new contact"; a later stage, with the cause of what met its condition.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "segments/assignment_node.h"
#include "segments/scoring.h"

namespace segmenta {

// Not thread-safe (see AudienceNode).
class LifecycleNode : public AssignmentNode {
 public:
  // Timers and definitions name it by this id.
  static constexpr uint32_t kId = 0xFFFFFFFF;

  // Stages for `def` (each stage's id set), with no members.
  explicit LifecycleNode(LifecycleDefinition def);
  // Stages for `def`, an edit of `previous`: a stage that keeps its id keeps its members;
  // the members of a stage `def` removes exit it ("stage removed") when this node is first
  // recomputed, before moving to their new stage.
  LifecycleNode(LifecycleDefinition def, const LifecycleNode& previous);

  const LifecycleDefinition& definition() const { return def_; }
  // The ids of the stages of the edited node that `def` removes.
  std::vector<uint32_t> RemovedStages() const;
  // Writes its definition record to `batch`.
  void Save(const Store& store, rocksdb::WriteBatch* batch) const;

  // AudienceNode.
  absl::Status Compile(const Schema& schema, const ProfileTable& profiles, Millis now) override;
  bool Evaluate(ContactId contact, const NodeContext& ctx) override;
  absl::StatusOr<bool> Recompute(const NodeContext& ctx, JobProgress* progress) override;
  NodeTriggers Triggers() const override;
  const ComputedKind* PublishedKind() const override;

 private:
  // The index of the stage `contact` is in now, or -1 when there are no stages.
  int AssignStage(ContactId contact, const NodeContext& ctx) const;

  LifecycleDefinition def_;
  // Stages removed by an edit, and their members in id order (with the removed stage of
  // each), until the first Recompute records their exits.
  std::vector<Audience> removed_;
  std::vector<std::pair<ContactId, size_t>> removed_members_;
};

// Loads the stored lifecycle stages, if any. Errors: DataLoss for a malformed record; store
// errors.
absl::Status LoadLifecycle(const Store& store, std::vector<std::unique_ptr<AudienceNode>>* nodes);

}  // namespace segmenta
