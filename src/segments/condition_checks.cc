#include "segments/condition_checks.h"

#include "eval/batch.h"
#include "eval/evaluator.h"
#include "segments/condition_reads.h"

namespace segmenta {

absl::StatusOr<ConditionCheck> ConditionChecks::Check(std::string_view condition,
                                                      bool count) const {
  return core_->worker().ReadProfiles(
      [&](const ProfileTable& profiles) -> absl::StatusOr<ConditionCheck> {
        absl::ReaderMutexLock lock(&core_->mu());
        const DefinitionGraph& graph = core_->graph();
        auto plan = Plan::CompileText(condition, SchemaFor(graph, profiles));
        if (!plan.ok()) return plan.status();
        ConditionCheck out;
        out.text = (*plan)->text();
        out.json = (*plan)->json();
        out.warnings = (*plan)->warnings();
        out.time_dependent = (*plan)->time_dependent();
        if (count) {
          const Millis now = core_->Now();
          EvalEnv env;
          env.now = now;
          env.overall = OverallValues(**plan, profiles, now);
          BindReads(graph, **plan, &env);
          out.matches = EvaluateAll(**plan, profiles, env).cardinality();
        }
        return out;
      });
}

Schema ConditionChecks::ConditionSchema(const ProfileTable& profiles) const {
  absl::ReaderMutexLock lock(&core_->mu());
  return SchemaFor(core_->graph(), profiles);
}

bool ConditionChecks::MatchesNow(const Plan& plan, const ProfileTable& profiles, ContactId contact,
                                 Millis now, const std::vector<Value>& overall,
                                 const std::function<Scalar(const Node&)>& visit) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const DefinitionGraph& graph = core_->graph();
  EvalEnv env;
  env.now = now;
  env.overall = overall;
  env.absent_is_empty = true;
  BindReads(graph, plan, &env);
  env.derived = [&](const Node& node, ContactId c) -> Scalar {
    return node.kind == NodeKind::kVisit ? visit(node) : ComputedValueOf(graph, node, c);
  };
  return Matches(plan, profiles, contact, env);
}

}  // namespace segmenta
