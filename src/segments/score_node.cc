#include "segments/score_node.h"

#include <cmath>

#include "core/json_writer.h"
#include "core/status.h"
#include "fmt/format.h"
#include "segments/condition_reads.h"

namespace segmenta {
namespace {

NodeNames ScoreNames(const ScoreDefinition& def) {
  const std::string_view kind = def.persona ? "persona" : "score";
  return {ScoreNodeKey(def.name), fmt::format("{} \"{}\"", kind, def.name),
          fmt::format("{}/{}", kind, def.name)};
}

}  // namespace

ScoreNode::ScoreNode(ScoreDefinition def)
    : AudienceNode(def.id, ScoreNames(def)), def_(std::move(def)) {
  flags_.output_in_memory = true;
  // Points have no history of their own: what moves with them keeps their cause.
  flags_.passes_cause_on = true;
}

ScoreNode::ScoreNode(ScoreDefinition def, const ScoreNode& previous) : ScoreNode(std::move(def)) {
  points_.assign(previous.points_.size(), 0.0f);
  for (size_t c = 0; c < points_.size(); ++c) points_[c] = previous.points_[c];
}

const ComputedKind* ScoreNode::PublishedKind() const {
  return ComputedKinds::BuiltIn().Find("score");
}

void ScoreNode::Save(const Store& store, rocksdb::WriteBatch* batch) const {
  batch->Put(store.handle(Family::kMeta), ScoreKey(def_.id), def_.Encode());
}

absl::Status ScoreNode::Compile(const Schema& schema, const ProfileTable& profiles, Millis now) {
  SEGMENTA_ASSIGN_OR_RETURN(std::vector<CompiledRule> rules,
                            CompileRules(def_, schema, names_.key));
  rules_ = std::move(rules);
  std::vector<std::shared_ptr<const Plan>> plans;
  for (const CompiledRule& r : rules_) plans.push_back(r.plan);
  SetPlans(std::move(plans), profiles, now);
  return absl::OkStatus();
}

double ScoreNode::ScoreOf(ContactId contact, const NodeContext& ctx) const {
  double total = 0;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const CompiledRule& r = rules_[i];
    const EvalEnv env = plans_.Env(i, ctx.graph, ctx.now);
    if (r.count != nullptr) {
      Scalar n = ValueOfNode(*r.plan, *r.count, ctx.profiles, contact, env);
      total += r.PointsForCount(n.type == ValueType::kNumber ? n.num : 0);
    } else {
      total += r.PointsFor(Matches(*r.plan, ctx.profiles, contact, env));
    }
  }
  return total;
}

bool ScoreNode::Evaluate(ContactId contact, const NodeContext& ctx) {
  if (!error_.empty()) return false;
  const bool alive = ctx.profiles.contact(contact) != nullptr;
  const float points = alive ? static_cast<float>(ScoreOf(contact, ctx)) : 0.0f;
  if (points == PointsOf(contact)) return false;
  if (contact >= points_.size()) points_.resize(ctx.profiles.contact_rows(), 0.0f);
  points_[contact] = points;
  return true;
}

absl::StatusOr<bool> ScoreNode::Recompute(const NodeContext& ctx, JobProgress* progress) {
  if (!error_.empty()) return false;
  std::vector<std::vector<Value>> overall = plans_.OverallAt(ctx.profiles, ctx.now);
  const size_t rows = ctx.profiles.contact_rows();
  std::vector<double> total(rows, 0.0);
  for (size_t i = 0; i < rules_.size(); ++i) {
    const CompiledRule& r = rules_[i];
    const EvalEnv env = plans_.Env(i, ctx.graph, ctx.now, &overall[i]);
    if (r.count != nullptr) {
      std::vector<double> n = NumbersAll(*r.plan, *r.count, ctx.profiles, env, ctx.cache);
      for (size_t c = 0; c < rows; ++c) total[c] += r.PointsForCount(std::isnan(n[c]) ? 0 : n[c]);
    } else {
      Roaring matched = EvaluateAll(*r.plan, ctx.profiles, env, ctx.cache);
      // Adding 0 where the rule does not hold keeps the sums those of ScoreOf, to the bit.
      for (uint32_t c : matched) total[c] += r.points;
    }
    if (progress != nullptr) {
      progress->fraction = 0.8 * static_cast<double>(i + 1) / static_cast<double>(rules_.size());
    }
    SEGMENTA_RETURN_IF_ERROR(CheckNotCancelled(progress));
  }
  SEGMENTA_RETURN_IF_ERROR(CheckNotCancelled(progress));
  PagedVector<float> next;
  next.assign(rows, 0.0f);
  for (size_t c = 0; c < rows; ++c) {
    if (ctx.profiles.contact(c) != nullptr) next[c] = static_cast<float>(total[c]);
  }
  plans_.SetOverall(std::move(overall));
  const bool changed = next != points_;
  points_ = std::move(next);
  return changed;
}

void ScoreNode::DeclareColumns(DerivedColumns* out) const {
  out->Add(names_.columns + "/points", kPointsColumn, PagedBytes(points_));
}

absl::Status LoadScores(const Store& store, std::vector<std::unique_ptr<AudienceNode>>* nodes) {
  const rocksdb::Slice prefix(kScoreKeyPrefix.data(), kScoreKeyPrefix.size());
  auto it = store.NewIterator(Family::kMeta);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    SEGMENTA_ASSIGN_OR_RETURN(ScoreDefinition def, ScoreDefinition::Decode(std::string_view(
                                                       it->value().data(), it->value().size())));
    nodes->push_back(std::make_unique<ScoreNode>(std::move(def)));
  }
  return FromRocks(it->status(), "loading scores");
}

}  // namespace segmenta
