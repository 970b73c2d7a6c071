#include "server/experiments_api.h"

#include <variant>

#include "analytics/experiment.h"
#include "core/json_writer.h"
#include "core/time_format.h"
#include "eval/schema.h"
#include "fmt/format.h"
#include "lang/parser.h"
#include "server/replies.h"
#include "simdjson.h"

namespace segmenta {
namespace {

std::variant<ExperimentQuery, HttpResponse> ReadQuery(simdjson::dom::element root) {
  ExperimentQuery q;
  std::string_view text;
  simdjson::dom::element e;
  if (root["control"].get(e) == simdjson::SUCCESS) {
    if (e.get(text) != simdjson::SUCCESS) return BadParameter("control", "must be a string");
    q.control = std::string(text);
  }
  if (root["covariate"].get(e) == simdjson::SUCCESS) {
    if (e.get(text) != simdjson::SUCCESS) return BadParameter("covariate", "a trait's name");
    q.covariate = std::string(text);
  }
  if (root["confidence"].get(e) == simdjson::SUCCESS && e.get(q.confidence) != simdjson::SUCCESS) {
    return BadParameter("confidence", "must be a number such as 0.95");
  }
  if (root["sequentialTuning"].get(e) == simdjson::SUCCESS &&
      (e.get(q.sequential_tuning) != simdjson::SUCCESS || !(q.sequential_tuning > 0))) {
    return BadParameter("sequentialTuning", "must be a positive number of contacts per arm");
  }
  if (root["correction"].get(e) == simdjson::SUCCESS) {
    if (e.get(text) != simdjson::SUCCESS) return BadParameter("correction", "must be a string");
    if (text == "holm") {
      q.correction = ExperimentQuery::Correction::kHolm;
    } else if (text == "bh") {
      q.correction = ExperimentQuery::Correction::kBenjaminiHochberg;
    } else if (text == "none") {
      q.correction = ExperimentQuery::Correction::kNone;
    } else {
      return BadParameter("correction", "must be \"holm\", \"bh\" or \"none\"");
    }
  }
  if (root["allocation"].get(e) == simdjson::SUCCESS) {
    simdjson::dom::object shares;
    if (e.get(shares) != simdjson::SUCCESS) {
      return BadParameter("allocation", "must be an object {variation: share}");
    }
    for (auto [key, value] : shares) {
      double share;
      if (value.get(share) != simdjson::SUCCESS) {
        return BadParameter(fmt::format("allocation.{}", std::string_view(key)), "a number");
      }
      q.allocation.emplace_back(std::string(key), share);
    }
  }
  simdjson::dom::array goals;
  if (root["goals"].get(goals) != simdjson::SUCCESS) {
    return BadParameter("goals", "is required: [{name, selector, revenue, window}]");
  }
  size_t i = 0;
  for (simdjson::dom::element g : goals) {
    const std::string at = fmt::format("goals[{}]", i++);
    ExperimentGoal goal;
    if (g["selector"].get(text) != simdjson::SUCCESS) {
      return BadParameter(at + ".selector",
                          "is required: an event selector such as \"\\\"Order Completed\\\"\"");
    }
    goal.selector = std::string(text);
    goal.name = g["name"].get(text) == simdjson::SUCCESS ? std::string(text) : goal.selector;
    if (g["revenue"].get(e) == simdjson::SUCCESS) {
      if (e.get(text) != simdjson::SUCCESS) return BadParameter(at + ".revenue", "a property");
      goal.revenue = std::string(text);
    }
    if (g["window"].get(e) == simdjson::SUCCESS) {
      if (e.get(text) != simdjson::SUCCESS) return BadParameter(at + ".window", "\"14 days\"");
      absl::StatusOr<Millis> ms = ParseDuration(text);
      if (!ms.ok()) return BadParameter(at + ".window", std::string(ms.status().message()));
      goal.window = *ms;
    }
    q.goals.push_back(std::move(goal));
  }
  return q;
}

void EstimateJson(JsonWriter& w, std::string_view key, const Estimate& e) {
  w.Key(key).BeginObject().Field("value", e.value).Key("ci").BeginArray();
  w.Double(e.ci.low).Double(e.ci.high).EndArray().EndObject();
}

void DifferenceJson(JsonWriter& w, std::string_view key, const Difference& d) {
  w.Key(key).BeginObject().Field("absolute", d.absolute).Key("ci").BeginArray();
  w.Double(d.ci.low).Double(d.ci.high).EndArray().Field("relative", d.relative);
  w.Key("relativeCi").BeginArray().Double(d.relative_ci.low).Double(d.relative_ci.high);
  w.EndArray().Field("statistic", d.statistic).Field("pValue", d.p_value);
  if (d.df > 0) w.Field("df", d.df);
  w.EndObject();
}

std::string ReportJson(const ExperimentReport& r, bool revenue_cuped) {
  JsonWriter w;
  w.BeginObject().Field("experiment", r.experiment).Field("control", r.control);
  w.Key("sampleRatio").BeginObject().Field("pValue", r.srm_p).Field("mismatch", r.srm_warning);
  w.EndObject();
  if (revenue_cuped) w.Field("cupedTheta", r.cuped_theta);
  w.Key("arms").BeginArray();
  for (const ArmResult& a : r.arms) {
    w.BeginObject().Field("variation", a.variation).Field("exposed", a.exposed);
    w.Field("expectedShare", a.expected_share).Field("observedShare", a.observed_share);
    w.Key("goals").BeginArray();
    for (const GoalResult& g : a.goals) {
      w.BeginObject().Field("goal", g.goal).Field("converted", g.converted);
      w.Field("conversions", g.conversions).Field("revenue", g.revenue);
      EstimateJson(w, "conversionRate", g.rate);
      EstimateJson(w, "revenuePerVisitor", g.revenue_per_visitor);
      EstimateJson(w, "averageOrderValue", g.average_order_value);
      if (g.compared) {
        DifferenceJson(w, "conversionLift", g.rate_lift);
        w.Field("conversionPAdjusted", g.rate_p_adjusted);
        w.Field("chanceToBeatControl", g.chance_to_beat_control);
        w.Key("conversionAlwaysValid").BeginObject().Key("ci").BeginArray();
        w.Double(g.rate_always_valid.low).Double(g.rate_always_valid.high).EndArray();
        w.Field("pValue", g.rate_p_always_valid).EndObject();
        DifferenceJson(w, "revenueLift", g.revenue_lift);
        w.Field("revenuePAdjusted", g.revenue_p_adjusted);
        if (revenue_cuped) DifferenceJson(w, "revenueLiftCuped", g.revenue_lift_cuped);
        DifferenceJson(w, "averageOrderValueLift", g.aov_lift);
      }
      w.EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().Key("warnings").BeginArray();
  for (const std::string& s : r.warnings) w.String(s);
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace

ExperimentsApi::ExperimentsApi(const Worker* worker, Clock* clock)
    : worker_(worker), clock_(clock) {}

std::optional<HttpResponse> ExperimentsApi::Report(RouteCall& call) {
  auto query = ReadQuery(call.body());
  if (auto* bad = std::get_if<HttpResponse>(&query)) return *bad;
  ExperimentQuery q = std::get<ExperimentQuery>(std::move(query));
  q.experiment = call.param("key");
  const Millis now = ToMillis(clock_->Now());
  absl::StatusOr<ExperimentReport> report =
      worker_->ReadProfiles([&](const ProfileTable& profiles) {
        return ReportExperiment(profiles, SchemaOf(profiles), q, now);
      });
  if (!report.ok()) return StatusReply(report.status());
  return JsonReply(200, ReportJson(*report, !q.covariate.empty()));
}

}  // namespace segmenta
