// The persona assignment as a node of the audience engine: one audience per persona, in
// creation order, and each contact in the persona whose threshold it reaches with the
// highest points relative to the threshold (ties go to the persona created first; see
// scoring.h). It reads every persona's points, found in the graph at each Link.
#pragma once

#include <memory>
#include <vector>

#include "segments/assignment_node.h"
#include "segments/score_node.h"

namespace segmenta {

// Not thread-safe (see AudienceNode).
class PersonaAssignmentNode : public AssignmentNode {
 public:
  // Timers and definitions name it by this id.
  static constexpr uint32_t kId = 0xFFFFFFFE;

  PersonaAssignmentNode();

  // AudienceNode.
  absl::Status Compile(const Schema& schema, const ProfileTable& profiles, Millis now) override;
  bool Evaluate(ContactId contact, const NodeContext& ctx) override;
  absl::StatusOr<bool> Recompute(const NodeContext& ctx, JobProgress* progress) override;
  void Link(const DefinitionGraph& graph) override;
  const ComputedKind* PublishedKind() const override;

 private:
  // The index of the persona `contact` qualifies for best, or -1.
  int Assign(ContactId contact) const;

  std::vector<const ScoreNode*> scores_;  // per audience: the persona's points
};

// Makes the persona assignment (it has no stored definition of its own).
absl::Status LoadPersonaAssignment(const Store& store,
                                   std::vector<std::unique_ptr<AudienceNode>>* nodes);

}  // namespace segmenta
