// A score (or a persona's score) as a node of the audience engine: each contact's points
// from the score's rules (scoring.h), kept in memory only (recomputed at start) and read by
// conditions as score("NAME"). A score has no members: the persona assignment
// (persona_node.h) turns personas' points into membership.
#pragma once

#include <memory>
#include <vector>

#include "core/paged_vector.h"
#include "segments/audience_node.h"
#include "segments/scoring.h"

namespace segmenta {

// Not thread-safe (see AudienceNode).
class ScoreNode : public AudienceNode {
 public:
  // A score for `def` (its id set), with no points yet.
  explicit ScoreNode(ScoreDefinition def);
  // A score for `def`, an edit of `previous`, starting with its points.
  ScoreNode(ScoreDefinition def, const ScoreNode& previous);

  const ScoreDefinition& definition() const { return def_; }
  float PointsOf(ContactId contact) const {
    return contact < points_.size() ? points_[contact] : 0.0f;
  }
  // Writes its definition record to `batch`.
  void Save(const Store& store, rocksdb::WriteBatch* batch) const;

  // AudienceNode.
  absl::Status Compile(const Schema& schema, const ProfileTable& profiles, Millis now) override;
  bool Evaluate(ContactId contact, const NodeContext& ctx) override;
  absl::StatusOr<bool> Recompute(const NodeContext& ctx, JobProgress* progress) override;
  void DeclareColumns(DerivedColumns* out) const override;
  Scalar ComputedValue(ContactId contact) const override {
    return Scalar::Number(PointsOf(contact));
  }
  const ComputedKind* PublishedKind() const override;

 private:
  double ScoreOf(ContactId contact, const NodeContext& ctx) const;

  ScoreDefinition def_;
  std::vector<CompiledRule> rules_;
  PagedVector<float> points_;  // by contact id
};

// Loads the stored scores and personas. Errors: DataLoss for a malformed record; store
// errors.
absl::Status LoadScores(const Store& store, std::vector<std::unique_ptr<AudienceNode>>* nodes);

}  // namespace segmenta
