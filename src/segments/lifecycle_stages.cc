#include "segments/lifecycle_stages.h"

#include "core/status.h"
#include "segments/condition_reads.h"
#include "segments/lifecycle_node.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

LifecycleNode* FindLifecycle(const DefinitionGraph& graph) {
  return dynamic_cast<LifecycleNode*>(graph.Find(kStageNodeKey));
}

LifecycleInfo InfoOf(const LifecycleNode* node) {
  LifecycleInfo info;
  if (node == nullptr) return info;
  const LifecycleDefinition& def = node->definition();
  info.defined = true;
  info.updated_ms = def.updated_ms;
  info.webhooks = def.webhooks;
  for (Webhook& h : info.webhooks) h.secret.clear();
  const std::span<const Audience> audiences = node->audiences();
  const PlanSet& plans = node->plans();
  for (size_t i = 0; i < def.stages.size(); ++i) {
    StageInfo s;
    s.definition = def.stages[i];
    if (i < audiences.size()) s.members = audiences[i].members.cardinality();
    if (i > 0 && i - 1 < plans.size()) s.condition_text = plans.plan(i - 1).text();
    info.stages.push_back(std::move(s));
  }
  for (const auto& plan : plans.all()) {
    for (const std::string& w : plan->warnings()) info.warnings.push_back(w);
  }
  if (!node->error().empty()) {
    info.warnings.push_back("the stages no longer compile: " + node->error());
  }
  return info;
}

}  // namespace

absl::StatusOr<LifecycleInfo> LifecycleStages::Set(LifecycleDefinition def,
                                                   std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(CheckLifecycle(def));
  SEGMENTA_RETURN_IF_ERROR(CheckWebhooks(def.webhooks));
  absl::StatusOr<LifecycleInfo> out = absl::InternalError("not run");
  absl::Status status =
      core_->RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        DefinitionGraph& graph = core_->graph();
        const Millis now = core_->Now();
        const LifecycleNode* existing = FindLifecycle(graph);
        // A stage keeps its id while its name stays; a new one takes the next ids, allocated
        // once the change is made.
        uint32_t fresh = 0;
        for (StageDefinition& stage : def.stages) {
          stage.id = 0;
          if (existing != nullptr) {
            for (const Audience& a : existing->audiences()) {
              if (a.name == stage.name) stage.id = a.id;
            }
          }
          if (stage.id == 0) stage.id = core_->log().next_id() + fresh++;
        }
        def.updated_ms = now;
        auto node = existing != nullptr ? std::make_unique<LifecycleNode>(def, *existing)
                                        : std::make_unique<LifecycleNode>(def);
        SEGMENTA_RETURN_IF_ERROR(node->Compile(SchemaFor(graph, profiles), profiles, now));
        const std::vector<uint32_t> removed = node->RemovedStages();
        const LifecycleNode* set = node.get();
        SEGMENTA_RETURN_IF_ERROR(core_
                                     ->Define(std::move(node), existing, profiles, now,
                                              "stages changed", batch, progress.get())
                                     .status());
        for (uint32_t i = 0; i < fresh; ++i) core_->log().AllocateId();
        for (uint32_t id : removed) core_->log().Forget(id, batch);
        set->Save(core_->store(), batch);
        out = InfoOf(set);
        spdlog::info("lifecycle stages set: {}", set->definition().stages.size());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

LifecycleInfo LifecycleStages::Get() const {
  absl::ReaderMutexLock lock(&core_->mu());
  return InfoOf(FindLifecycle(core_->graph()));
}

absl::Status LifecycleStages::Delete() {
  return core_->RunDefinition(
      [&](ProfileTable& profiles, rocksdb::WriteBatch* batch) -> absl::Status {
        LifecycleNode* node = FindLifecycle(core_->graph());
        if (node == nullptr) return absl::NotFoundError("no lifecycle stages are defined");
        SEGMENTA_RETURN_IF_ERROR(core_->graph().CheckNoUsers(*node));
        node->Vacate(std::nullopt, core_->Context(profiles, core_->Now(), batch, "stages deleted"));
        batch->Delete(core_->store().handle(Family::kMeta), kLifecycleKey);
        core_->Remove(*node, batch);
        return absl::OkStatus();
      });
}

}  // namespace segmenta
