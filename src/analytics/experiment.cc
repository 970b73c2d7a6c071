#include "analytics/experiment.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "absl/strings/ascii.h"
#include "core/json_writer.h"
#include "eval/batch.h"
#include "fmt/format.h"
#include "lang/parser.h"

namespace segmenta {
namespace {

struct Exposure {
  int arm = -1;
  Millis time = 0;
};

// The first exposure of each contact to the experiment, and the arms' names.
absl::Status ReadExposures(const ProfileTable& profiles, const ExperimentQuery& query,
                           std::vector<Exposure>* exposures, std::vector<std::string>* arms) {
  const int t = profiles.table_index(MessageType::kTrack, query.exposure_event);
  if (t < 0) {
    return absl::NotFoundError(fmt::format("no \"{}\" activity yet", query.exposure_event));
  }
  const EventTable& table = profiles.table(static_cast<uint16_t>(t));
  const Column* id = table.column("experiment_id");
  const Column* name = table.column("experiment_name");
  const Column* variation_id = table.column("variation_id");
  const Column* variation_name = table.column("variation_name");
  auto text = [](const Column* c, size_t row) -> std::string_view {
    return c != nullptr && c->type(row) == ValueType::kString ? c->string(row) : std::string_view();
  };
  exposures->assign(profiles.contact_rows(), Exposure{});
  std::map<std::string, int, std::less<>> arm_of;
  std::vector<std::pair<uint32_t, std::string_view>> firsts;  // (contact, variation)
  for (size_t row = 0; row < table.rows(); ++row) {
    const uint32_t c = table.contact[row];
    if (c == 0 || profiles.contact(c) == nullptr) continue;
    if (text(id, row) != query.experiment && text(name, row) != query.experiment) continue;
    std::string_view variation = text(variation_id, row);
    if (variation.empty()) variation = text(variation_name, row);
    if (variation.empty()) continue;
    Exposure& e = (*exposures)[c];
    // The first exposure is the contact's arm for good (merges keep the older one).
    if (e.arm >= 0 && e.time <= table.time[row]) continue;
    auto [it, inserted] = arm_of.try_emplace(std::string(variation), 0);
    e.arm = 0;  // placeholder: numbered once all names are known
    e.time = table.time[row];
    firsts.emplace_back(c, it->first);
  }
  if (arm_of.empty()) {
    return absl::NotFoundError(
        fmt::format("nobody was exposed to experiment \"{}\"", query.experiment));
  }
  int i = 0;
  for (auto& [variation, index] : arm_of) {
    index = i++;
    arms->push_back(variation);
  }
  // The last assignment of each contact in `firsts` is its earliest exposure.
  for (auto& [c, variation] : firsts) (*exposures)[c].arm = arm_of.find(variation)->second;
  return absl::OkStatus();
}

// count(GOAL between first(EXPOSURE) and first(EXPOSURE) + window) and, with revenue, the
// sum of its revenue: one plan whose two aggregates give each contact's numbers.
absl::StatusOr<std::shared_ptr<const Plan>> GoalPlan(const ExperimentGoal& goal,
                                                     const ExperimentQuery& query,
                                                     const Schema& schema, bool by_name) {
  auto parsed = ParseCondition("count(" + goal.selector + ") >= 0");
  if (!parsed.ok()) return parsed.status();
  NodePtr root = *std::move(parsed);
  Node& count = *root->children[0];
  if (count.kind != NodeKind::kAggregate || !count.selector->property.empty()) {
    return absl::InvalidArgumentError("expected an event selector such as \"Order Completed\"");
  }
  if (count.selector->window.kind != Window::Kind::kNone) {
    return absl::InvalidArgumentError("the window is the goal's: leave it out of the selector");
  }
  std::string exposure = "first(";
  AppendJsonString(query.exposure_event, &exposure);
  exposure += by_name ? " where experiment_name = " : " where experiment_id = ";
  AppendJsonString(query.experiment, &exposure);
  exposure += ") = now";
  auto exposure_root = ParseCondition(exposure);
  if (!exposure_root.ok()) return exposure_root.status();
  const Node& first = *(*exposure_root)->children[0];
  auto window = [&](Selector& s) {
    s.window.kind = Window::Kind::kBetween;
    s.window.from = CloneNode(first);
    auto to = std::make_unique<Node>();
    to->kind = NodeKind::kArith;
    to->op = Op::kAdd;
    to->children.push_back(CloneNode(first));
    auto duration = std::make_unique<Node>();
    duration->kind = NodeKind::kLiteral;
    duration->value = Value::Duration(goal.window);
    to->children.push_back(std::move(duration));
    s.window.to = std::move(to);
  };
  window(*count.selector);
  if (!goal.revenue.empty()) {
    NodePtr sum = CloneNode(count);
    sum->aggregate = Aggregate::kSum;
    sum->selector->property = goal.revenue;
    auto zero = std::make_unique<Node>();
    zero->kind = NodeKind::kLiteral;
    zero->value = Value::Number(0);
    auto compare = std::make_unique<Node>();
    compare->kind = NodeKind::kCompare;
    compare->op = Op::kGe;
    compare->children.push_back(std::move(sum));
    compare->children.push_back(std::move(zero));
    auto both = std::make_unique<Node>();
    both->kind = NodeKind::kAnd;
    both->children.push_back(std::move(root));
    both->children.push_back(std::move(compare));
    root = std::move(both);
  }
  return Plan::Compile(std::move(root), schema);
}

}  // namespace

absl::StatusOr<ExperimentReport> ReportExperiment(const ProfileTable& profiles,
                                                  const Schema& schema,
                                                  const ExperimentQuery& query, Millis now) {
  if (query.experiment.empty()) return absl::InvalidArgumentError("experiment: is required");
  if (query.goals.empty()) return absl::InvalidArgumentError("goals: at least one goal");
  if (!(query.confidence > 0.5 && query.confidence < 1)) {
    return absl::InvalidArgumentError("confidence: between 0.5 and 1 (exclusive)");
  }
  std::vector<Exposure> exposures;
  std::vector<std::string> names;
  absl::Status read = ReadExposures(profiles, query, &exposures, &names);
  if (!read.ok()) return read;
  const size_t k = names.size();

  ExperimentReport report;
  report.experiment = query.experiment;
  // The control.
  int control = -1;
  for (size_t i = 0; i < k; ++i) {
    if (!query.control.empty() ? names[i] == query.control
                               : absl::AsciiStrToLower(names[i]) == "control") {
      control = static_cast<int>(i);
    }
  }
  if (control < 0 && !query.control.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("control: no variation \"{}\" among the exposures ({})", query.control,
                    fmt::join(names, ", ")));
  }
  if (control < 0) control = 0;
  report.control = names[control];
  // Arms in report order: the control first.
  std::vector<int> order = {control};
  for (size_t i = 0; i < k; ++i) {
    if (static_cast<int>(i) != control) order.push_back(static_cast<int>(i));
  }
  std::vector<double> weights(k, 1.0);
  if (!query.allocation.empty()) {
    std::fill(weights.begin(), weights.end(), 0.0);
    for (const auto& [variation, share] : query.allocation) {
      auto it = std::find(names.begin(), names.end(), variation);
      if (it == names.end()) {
        return absl::InvalidArgumentError(
            fmt::format("allocation: no variation \"{}\" among the exposures", variation));
      }
      if (!(share > 0)) return absl::InvalidArgumentError("allocation: shares are positive");
      weights[it - names.begin()] = share;
    }
    for (size_t i = 0; i < k; ++i) {
      if (weights[i] == 0) {
        report.warnings.push_back(
            fmt::format("variation \"{}\" was exposed but has no allocation", names[i]));
      }
    }
  }
  std::vector<double> exposed(k, 0);
  for (const Exposure& e : exposures) {
    if (e.arm >= 0) exposed[e.arm] += 1;
  }
  report.srm_p = SampleRatioMismatchP(exposed, weights);
  report.srm_warning = report.srm_p < 0.001;
  if (report.srm_warning) {
    report.warnings.push_back(
        fmt::format("sample ratio mismatch (chi-square p = {:.2g}): the arms are not the sizes the "
                    "allocation says; check the assignment before trusting the lifts",
                    report.srm_p));
  }
  const double total = std::accumulate(exposed.begin(), exposed.end(), 0.0);
  const double weight_sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  for (int arm : order) {
    ArmResult a;
    a.variation = names[arm];
    a.exposed = static_cast<uint64_t>(exposed[arm]);
    a.expected_share = weights[arm] / weight_sum;
    a.observed_share = exposed[arm] / total;
    report.arms.push_back(std::move(a));
  }

  const Column* covariate = nullptr;
  if (!query.covariate.empty()) {
    covariate = profiles.trait(query.covariate);
    if (covariate == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("covariate: no contact has trait \"{}\"", query.covariate));
    }
  }
  EvalEnv env;
  env.now = now;
  const bool by_name = !schema.properties.contains(query.exposure_event) ||
                       !schema.properties.at(query.exposure_event).contains("experiment_id");
  std::vector<double> p_values;
  std::vector<std::pair<GoalResult*, int>> p_slots;  // 0: rate, 1: revenue
  for (size_t g = 0; g < query.goals.size(); ++g) {
    const ExperimentGoal& goal = query.goals[g];
    auto plan = GoalPlan(goal, query, schema, by_name);
    if (!plan.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("goals[{}] ({}): {}", g, goal.name, std::string(plan.status().message())));
    }
    const Node& root = (*plan)->root();
    const Node& count_node =
        goal.revenue.empty() ? *root.children[0] : *root.children[0]->children[0];
    std::vector<double> counts = NumbersAll(**plan, count_node, profiles, env);
    std::vector<double> revenue;
    if (!goal.revenue.empty()) {
      revenue = NumbersAll(**plan, *root.children[1]->children[0], profiles, env);
    }
    // Per arm: conversions and revenue per exposed contact (with the covariate).
    std::vector<Moments> converted(k);
    std::vector<JointMoments> money(k);      // revenue (y) with the covariate (x)
    std::vector<JointMoments> per_order(k);  // revenue (y) over conversions (x)
    for (size_t c = 0; c < exposures.size(); ++c) {
      const int arm = exposures[c].arm;
      if (arm < 0) continue;
      const double n = std::isnan(counts[c]) ? 0 : counts[c];
      const double r = revenue.empty() || std::isnan(revenue[c]) ? 0 : revenue[c];
      converted[arm].Add(n > 0 ? 1 : 0);
      const double x = covariate != nullptr && covariate->type(c) == ValueType::kNumber
                           ? covariate->number(c)
                           : 0;
      money[arm].Add(r, x);
      per_order[arm].Add(r, n);
    }
    const double theta = covariate != nullptr && !goal.revenue.empty() ? CupedTheta(money) : 0;
    if (report.cuped_theta == 0) report.cuped_theta = theta;  // the first goal with revenue
    double x_all = 0, n_all = 0;
    for (const JointMoments& m : money) {
      x_all += m.x.sum;
      n_all += m.x.n;
    }
    const double x_mean = n_all > 0 ? x_all / n_all : 0;
    for (size_t i = 0; i < order.size(); ++i) {
      const int arm = order[i];
      GoalResult r;
      r.goal = goal.name;
      r.converted = static_cast<uint64_t>(converted[arm].sum);
      r.conversions = static_cast<uint64_t>(per_order[arm].x.sum);
      r.revenue = money[arm].y.sum;
      r.rate = ProportionEstimate(converted[arm].sum, converted[arm].n, query.confidence);
      r.revenue_per_visitor = MeanEstimate(money[arm].y, query.confidence);
      r.average_order_value = RatioEstimate(per_order[arm], query.confidence);
      report.arms[i].goals.push_back(std::move(r));
    }
    for (size_t i = 1; i < order.size(); ++i) {
      const int arm = order[i];
      GoalResult& r = report.arms[i].goals.back();
      r.compared = true;
      r.rate_lift = CompareProportions(converted[arm].sum, converted[arm].n, converted[control].sum,
                                       converted[control].n, query.confidence);
      r.chance_to_beat_control = ChanceToBeatControl(converted[arm].sum, converted[arm].n,
                                                     converted[control].sum, converted[control].n);
      const double pooled = (converted[arm].sum + converted[control].sum) /
                            std::max(1.0, converted[arm].n + converted[control].n);
      const double tau_sq = 2 * pooled * (1 - pooled) / query.sequential_tuning;
      const double variance = r.rate_lift.standard_error * r.rate_lift.standard_error;
      r.rate_always_valid =
          AlwaysValidInterval(r.rate_lift.absolute, variance, tau_sq, 1 - query.confidence);
      r.rate_p_always_valid = AlwaysValidPValue(r.rate_lift.absolute, variance, tau_sq);
      p_values.push_back(r.rate_lift.p_value);
      p_slots.emplace_back(&r, 0);
      if (!goal.revenue.empty()) {
        r.revenue_lift = CompareMeans(money[arm].y, money[control].y, query.confidence);
        r.aov_lift = CompareRatios(per_order[arm], per_order[control], query.confidence);
        if (covariate != nullptr) {
          r.revenue_lift_cuped =
              CompareMeans(CupedAdjusted(money[arm], theta, x_mean),
                           CupedAdjusted(money[control], theta, x_mean), query.confidence);
        }
        p_values.push_back(r.revenue_lift.p_value);
        p_slots.emplace_back(&r, 1);
      }
    }
  }
  std::vector<double> adjusted =
      query.correction == ExperimentQuery::Correction::kHolm ? HolmAdjust(p_values)
      : query.correction == ExperimentQuery::Correction::kBenjaminiHochberg
          ? BenjaminiHochbergAdjust(p_values)
          : p_values;
  for (size_t i = 0; i < p_slots.size(); ++i) {
    auto [r, which] = p_slots[i];
    (which == 0 ? r->rate_p_adjusted : r->revenue_p_adjusted) = adjusted[i];
  }
  return report;
}

}  // namespace segmenta
