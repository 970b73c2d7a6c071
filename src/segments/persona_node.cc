#include "segments/persona_node.h"

#include <algorithm>

#include "core/status.h"
#include "segments/condition_reads.h"
#include "segments/definition_graph.h"

namespace segmenta {

PersonaAssignmentNode::PersonaAssignmentNode()
    : AssignmentNode(kId, {std::string(kPersonaNodeKey), "the persona assignment", "personas"}) {
  // Reading every persona's points is not a use to show.
  flags_.listed_as_user = false;
  flags_.recompute_at_start = true;
}

const ComputedKind* PersonaAssignmentNode::PublishedKind() const {
  return ComputedKinds::BuiltIn().Find("persona");
}

absl::Status PersonaAssignmentNode::Compile(const Schema&, const ProfileTable&, Millis) {
  return absl::OkStatus();  // nothing of its own: Link finds the personas
}

void PersonaAssignmentNode::Link(const DefinitionGraph& graph) {
  std::vector<const ScoreNode*> scores;
  for (size_t i = 0; i < graph.size(); ++i) {
    const auto* score = dynamic_cast<const ScoreNode*>(&graph.node(i));
    if (score != nullptr && score->definition().persona) scores.push_back(score);
  }
  std::sort(scores.begin(), scores.end(), [](const ScoreNode* a, const ScoreNode* b) {
    return a->definition().id < b->definition().id;
  });
  bool same_ids = scores.size() == audiences_.size();
  std::vector<Audience> audiences;
  uses_.clear();
  for (size_t i = 0; i < scores.size(); ++i) {
    const ScoreDefinition& def = scores[i]->definition();
    Audience a;
    a.id = def.id;
    a.name = def.name;
    a.kind = AudienceKind::kPersona;
    a.webhooks = def.webhooks;
    a.conditions = scores[i]->plans().all();
    for (Audience& old : audiences_) {
      if (old.id == a.id) a.members = std::move(old.members);
    }
    same_ids = same_ids && audiences_[i].id == a.id;
    audiences.push_back(std::move(a));
    uses_.push_back(scores[i]->names().key);
  }
  audiences_ = std::move(audiences);
  scores_ = std::move(scores);
  // The audiences' indexes moved when a persona came or went.
  if (!same_ids) IndexAudiences(audience_of_.size());
}

int PersonaAssignmentNode::Assign(ContactId contact) const {
  int best = -1;
  double best_ratio = 0;
  for (size_t i = 0; i < scores_.size(); ++i) {
    const double points = scores_[i]->PointsOf(contact);
    const double threshold = scores_[i]->definition().threshold;
    if (points < threshold) continue;
    const double ratio = points / threshold;
    // Strictly greater: a tie goes to the persona created first.
    if (best < 0 || ratio > best_ratio) {
      best = static_cast<int>(i);
      best_ratio = ratio;
    }
  }
  return best;
}

bool PersonaAssignmentNode::Evaluate(ContactId contact, const NodeContext& ctx) {
  const bool alive = ctx.profiles.contact(contact) != nullptr;
  return MoveTo(contact, alive ? Assign(contact) : -1, ctx);
}

absl::StatusOr<bool> PersonaAssignmentNode::Recompute(const NodeContext& ctx,
                                                      JobProgress* progress) {
  std::vector<int> assigned(ctx.profiles.contact_rows(), -1);
  for (size_t c = 0; c < assigned.size(); ++c) {
    if (ctx.profiles.contact(c) != nullptr) assigned[c] = Assign(c);
  }
  SEGMENTA_RETURN_IF_ERROR(CheckNotCancelled(progress));
  return Reassign(assigned, ctx);
}

absl::Status LoadPersonaAssignment(const Store&,
                                   std::vector<std::unique_ptr<AudienceNode>>* nodes) {
  nodes->push_back(std::make_unique<PersonaAssignmentNode>());
  return absl::OkStatus();
}

}  // namespace segmenta
