#include "segments/assignment_node.h"

#include <algorithm>

namespace segmenta {

bool AssignmentNode::Vacate(std::optional<uint32_t> id, const NodeContext& ctx) {
  bool moved = false;
  for (size_t c = 0; c < audience_of_.size(); ++c) {
    const int a = audience_of_[c];
    if (a >= 0 && (!id || audiences_[a].id == *id)) moved = MoveTo(c, -1, ctx) || moved;
  }
  return moved;
}

void AssignmentNode::RestoreMember(size_t audience, ContactId contact) {
  audiences_[audience].members.add(static_cast<uint32_t>(contact));
  if (contact >= audience_of_.size()) audience_of_.resize(contact + 1, -1);
  audience_of_[contact] = static_cast<int16_t>(audience);
}

Scalar AssignmentNode::ComputedValue(ContactId contact) const {
  const int a = AudienceOf(contact);
  if (a < 0) return Scalar();
  Scalar out;
  out.type = ValueType::kString;
  out.str = audiences_[a].name;
  return out;
}

void AssignmentNode::DeclareColumns(DerivedColumns* out) const {
  for (const Audience& a : audiences_) {
    out->Add(std::string(AudienceKindName(a.kind)) + "/" + a.name + "/members", kMembersColumn,
             a.members.getSizeInBytes());
  }
  out->Add(names_.columns + "/assignment", kAssignmentColumn, PagedBytes(audience_of_));
}

bool AssignmentNode::MoveTo(ContactId contact, int to, const NodeContext& ctx) {
  const int from = AudienceOf(contact);
  if (from == to) return false;
  if (from >= 0) ctx.Record(audiences_[from], contact, false);
  if (to >= 0) ctx.Record(audiences_[to], contact, true);
  if (contact >= audience_of_.size()) audience_of_.resize(contact + 1, -1);
  audience_of_[contact] = static_cast<int16_t>(to);
  return true;
}

bool AssignmentNode::Reassign(const std::vector<int>& assigned, const NodeContext& ctx) {
  bool changed = false;
  const size_t rows = std::max(assigned.size(), audience_of_.size());
  for (size_t c = 0; c < rows; ++c) {
    const int to = c < assigned.size() ? assigned[c] : -1;
    changed = MoveTo(c, to, ctx) || changed;
  }
  return changed;
}

void AssignmentNode::IndexAudiences(size_t rows) {
  audience_of_.assign(rows, -1);
  for (size_t i = 0; i < audiences_.size(); ++i) {
    for (uint32_t c : audiences_[i].members) {
      if (c >= audience_of_.size()) audience_of_.resize(c + 1, -1);
      audience_of_[c] = static_cast<int16_t>(i);
    }
  }
}

}  // namespace segmenta
