#include "segments/lifecycle_node.h"

#include "core/status.h"
#include "fmt/format.h"
#include "segments/condition_reads.h"

namespace segmenta {

LifecycleNode::LifecycleNode(LifecycleDefinition def)
    : AssignmentNode(kId, {std::string(kStageNodeKey), "the lifecycle stages", "stages"}),
      def_(std::move(def)) {
  // Stages are built on what the conditions read, which is recomputed at start.
  flags_.recompute_at_start = true;
  for (const StageDefinition& stage : def_.stages) {
    Audience a;
    a.id = stage.id;
    a.name = stage.name;
    a.kind = AudienceKind::kStage;
    a.webhooks = def_.webhooks;
    audiences_.push_back(std::move(a));
  }
}

LifecycleNode::LifecycleNode(LifecycleDefinition def, const LifecycleNode& previous)
    : LifecycleNode(std::move(def)) {
  std::vector<int> kept(previous.audiences_.size(), -1);  // previous stage -> stage
  for (size_t p = 0; p < previous.audiences_.size(); ++p) {
    for (size_t a = 0; a < audiences_.size(); ++a) {
      if (audiences_[a].id == previous.audiences_[p].id) kept[p] = static_cast<int>(a);
    }
    if (kept[p] < 0) {
      kept[p] = -static_cast<int>(removed_.size()) - 2;  // -2, -3, …: removed_[0], [1], …
      removed_.push_back(previous.audiences_[p]);
    }
  }
  // Members stay in the stages that stay; those of removed stages exit them.
  for (size_t c = 0; c < previous.audience_of_.size(); ++c) {
    const int from = previous.audience_of_[c];
    if (from < 0) continue;
    if (kept[from] >= 0) {
      audiences_[kept[from]].members.add(static_cast<uint32_t>(c));
    } else {
      removed_members_.emplace_back(c, static_cast<size_t>(-kept[from] - 2));
    }
  }
  IndexAudiences(previous.audience_of_.size());
}

std::vector<uint32_t> LifecycleNode::RemovedStages() const {
  std::vector<uint32_t> ids;
  for (const Audience& a : removed_) ids.push_back(a.id);
  return ids;
}

void LifecycleNode::Save(const Store& store, rocksdb::WriteBatch* batch) const {
  batch->Put(store.handle(Family::kMeta), kLifecycleKey, def_.Encode());
}

absl::Status LifecycleNode::Compile(const Schema& schema, const ProfileTable& profiles,
                                    Millis now) {
  std::vector<std::shared_ptr<const Plan>> plans;
  for (size_t i = 1; i < def_.stages.size(); ++i) {
    auto plan = Plan::CompileText(def_.stages[i].condition, schema, names_.key);
    if (!plan.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("stages[{}].condition: {}", i, std::string(plan.status().message())));
    }
    plans.push_back(*std::move(plan));
  }
  for (size_t i = 1; i < audiences_.size() && i - 1 < plans.size(); ++i) {
    audiences_[i].conditions = {plans[i - 1]};
  }
  SetPlans(std::move(plans), profiles, now);
  return absl::OkStatus();
}

int LifecycleNode::AssignStage(ContactId contact, const NodeContext& ctx) const {
  if (audiences_.empty()) return -1;
  if (error_.empty()) {
    for (size_t i = plans_.size(); i-- > 0;) {
      if (Matches(plans_.plan(i), ctx.profiles, contact, plans_.Env(i, ctx.graph, ctx.now))) {
        return static_cast<int>(i + 1);
      }
    }
  }
  return 0;
}

bool LifecycleNode::Evaluate(ContactId contact, const NodeContext& ctx) {
  if (!error_.empty()) return false;
  const bool alive = ctx.profiles.contact(contact) != nullptr;
  const int stage = alive ? AssignStage(contact, ctx) : -1;
  if (stage == 0 && AudienceOf(contact) < 0) {
    // A contact new to the stages enters the first because it is new, whatever it did.
    NodeContext first = ctx;
    first.cause = kNewContactCause;
    return MoveTo(contact, stage, first);
  }
  return MoveTo(contact, stage, ctx);
}

absl::StatusOr<bool> LifecycleNode::Recompute(const NodeContext& ctx, JobProgress* progress) {
  if (!error_.empty()) return false;
  std::vector<std::vector<Value>> overall = plans_.OverallAt(ctx.profiles, ctx.now);
  std::vector<int> assigned(ctx.profiles.contact_rows(), -1);
  for (size_t c = 0; c < assigned.size(); ++c) {
    if (ctx.profiles.contact(c) != nullptr) assigned[c] = 0;
  }
  for (size_t i = 0; i < plans_.size(); ++i) {
    // A later stage's members overwrite an earlier's: the last stage that holds wins.
    for (uint32_t c : EvaluateAll(plans_.plan(i), ctx.profiles,
                                  plans_.Env(i, ctx.graph, ctx.now, &overall[i]), ctx.cache)) {
      assigned[c] = static_cast<int>(i + 1);
    }
    if (progress != nullptr) {
      progress->fraction = 0.8 * static_cast<double>(i + 1) / static_cast<double>(plans_.size());
    }
    SEGMENTA_RETURN_IF_ERROR(CheckNotCancelled(progress));
  }
  SEGMENTA_RETURN_IF_ERROR(CheckNotCancelled(progress));
  plans_.SetOverall(std::move(overall));
  if (!removed_members_.empty()) {
    NodeContext removed = ctx;
    removed.cause = "stage removed";
    for (const auto& [contact, stage] : removed_members_) {
      removed.Record(removed_[stage], contact, false);
    }
  }
  removed_.clear();
  removed_members_.clear();
  return Reassign(assigned, ctx);
}

const ComputedKind* LifecycleNode::PublishedKind() const {
  return ComputedKinds::BuiltIn().Find("stage");
}

NodeTriggers LifecycleNode::Triggers() const {
  NodeTriggers triggers = AudienceNode::Triggers();
  triggers.unvalued_contacts = true;
  return triggers;
}

absl::Status LoadLifecycle(const Store& store, std::vector<std::unique_ptr<AudienceNode>>* nodes) {
  SEGMENTA_ASSIGN_OR_RETURN(auto stored, store.Get(Family::kMeta, std::string(kLifecycleKey)));
  if (!stored) return absl::OkStatus();
  SEGMENTA_ASSIGN_OR_RETURN(LifecycleDefinition def, LifecycleDefinition::Decode(*stored));
  nodes->push_back(std::make_unique<LifecycleNode>(std::move(def)));
  return absl::OkStatus();
}

}  // namespace segmenta
