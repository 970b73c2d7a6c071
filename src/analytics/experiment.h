// The report of an experiment: who was exposed to which variation (the first "Experiment
// Viewed" activity of each contact for that experiment), what each arm did afterwards on
// each goal, and the statistics of each arm against the control (stats/inference.h;
// formulas in docs/statistics.md).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "lang/compiler.h"
#include "profile/profile_table.h"
#include "stats/inference.h"

namespace segmenta {

struct ExperimentGoal {
  std::string name;  // "purchase"
  // The conversion, an event selector of the condition language: "\"Order Completed\"",
  // "\"Order Completed\" where revenue > 0", "page where path = \"/thanks\"".
  std::string selector;
  std::string revenue;              // its property holding revenue ("" when none)
  Millis window = 14LL * 86400000;  // counted from the exposure, inclusive
};

struct ExperimentQuery {
  std::string experiment;  // experiment_id (or experiment_name) of the exposures
  // The control's variation; "" picks a variation named "control" (any case), else the
  // first in name order.
  std::string control;
  // Expected shares of the arms, for the sample-ratio-mismatch check (default: equal).
  std::vector<std::pair<std::string, double>> allocation;
  std::vector<ExperimentGoal> goals;
  // A numeric contact trait measured before exposure, for CUPED on revenue ("" none).
  std::string covariate;
  double confidence = 0.95;
  enum class Correction : uint8_t { kNone, kHolm, kBenjaminiHochberg };
  Correction correction = Correction::kHolm;
  // Always-valid intervals are tightest around this many contacts per arm.
  double sequential_tuning = 5000;
  std::string exposure_event = "Experiment Viewed";
};

struct GoalResult {
  std::string goal;
  uint64_t converted = 0;  // contacts with at least one conversion in the window
  uint64_t conversions = 0;
  double revenue = 0;
  Estimate rate;                 // converted / exposed
  Estimate revenue_per_visitor;  // revenue / exposed
  Estimate average_order_value;  // revenue / conversions
  // Against the control (the control's own row leaves these empty).
  bool compared = false;
  Difference rate_lift;
  Difference revenue_lift;
  Difference revenue_lift_cuped;  // with a covariate
  Difference aov_lift;
  double rate_p_adjusted = 1;
  double revenue_p_adjusted = 1;
  double chance_to_beat_control = 0;  // on the rate
  Interval rate_always_valid;
  double rate_p_always_valid = 1;
};

struct ArmResult {
  std::string variation;
  uint64_t exposed = 0;
  double expected_share = 0;
  double observed_share = 0;
  std::vector<GoalResult> goals;
};

struct ExperimentReport {
  std::string experiment;
  std::string control;
  std::vector<ArmResult> arms;  // the control first
  double srm_p = 1;
  bool srm_warning = false;  // srm_p < 0.001
  double cuped_theta = 0;    // of the first goal with revenue
  std::vector<std::string> warnings;
};

// Reads the exposures and goals in `profiles` at `now` (activities after now are not yet).
// Errors: NotFound when nobody was exposed; InvalidArgument naming the goal whose selector
// does not compile, an unknown control or covariate, a bad allocation.
// REQUIRES: the caller holds the profile table for reading.
absl::StatusOr<ExperimentReport> ReportExperiment(const ProfileTable& profiles,
                                                  const Schema& schema,
                                                  const ExperimentQuery& query, Millis now);

}  // namespace segmenta
