// What the persona assignment and the lifecycle stages share: a node that puts each
// contact in at most one of its audiences (a persona, a stage), records each move as an
// exit and an enter, and publishes the name of the contact's audience to conditions
// (persona = "…", stage = "…").
#pragma once

#include <optional>
#include <vector>

#include "core/paged_vector.h"
#include "segments/audience_node.h"

namespace segmenta {

// Not thread-safe (see AudienceNode).
class AssignmentNode : public AudienceNode {
 public:
  // The index (into audiences()) of the audience `contact` is in, or -1.
  int AudienceOf(ContactId contact) const {
    return contact < audience_of_.size() ? audience_of_[contact] : -1;
  }
  // Moves the members of the audience with `id` (of every audience when nullopt) out of
  // it, recording the exits with ctx.cause. True when one moved (what reads this node must
  // then be recomputed).
  bool Vacate(std::optional<uint32_t> id, const NodeContext& ctx);

  // AudienceNode.
  std::span<Audience> audiences() override { return audiences_; }
  using AudienceNode::audiences;
  void RestoreMember(size_t audience, ContactId contact) override;
  Scalar ComputedValue(ContactId contact) const override;
  void DeclareColumns(DerivedColumns* out) const override;

 protected:
  using AudienceNode::AudienceNode;

  // Moves `contact` to audience `to` (-1: none), recording the exit and the enter; false
  // when it was there already.
  bool MoveTo(ContactId contact, int to, const NodeContext& ctx);
  // Moves every contact c to `assigned[c]` (-1 past its end); true when one moved.
  bool Reassign(const std::vector<int>& assigned, const NodeContext& ctx);
  // Rebuilds audience_of_ (`rows` long at least) from the audiences' members.
  void IndexAudiences(size_t rows);

  std::vector<Audience> audiences_;
  PagedVector<int16_t> audience_of_;  // by contact id: index into audiences_, -1 for none
};

}  // namespace segmenta
