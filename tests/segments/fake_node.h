// A node of the audience engine that only has a key, uses and triggers, and one audience
// named after it: for the tests of the definition graph and the routing of changes, which
// need nodes but no evaluation.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "segments/audience_node.h"

namespace segmenta {

// Evaluates to nothing; not thread-safe (see AudienceNode).
class FakeNode : public AudienceNode {
 public:
  // Named "fake "KEY"" in messages.
  FakeNode(uint32_t id, std::string key, std::vector<std::string> uses, NodeTriggers triggers = {})
      : AudienceNode(id, {key, "fake \"" + key + "\"", "fake/" + key}),
        triggers_(std::move(triggers)) {
    uses_ = std::move(uses);
    audience_.id = id;
    audience_.name = key;
  }
  absl::Status Compile(const Schema&, const ProfileTable&, Millis) override {
    return absl::OkStatus();
  }
  bool Evaluate(ContactId, const NodeContext&) override { return false; }
  absl::StatusOr<bool> Recompute(const NodeContext&, JobProgress*) override { return false; }
  void DeclareColumns(DerivedColumns*) const override {}
  NodeTriggers Triggers() const override { return triggers_; }
  std::span<Audience> audiences() override { return {&audience_, 1}; }
  using AudienceNode::audiences;

 private:
  NodeTriggers triggers_;
  Audience audience_;
};

}  // namespace segmenta
