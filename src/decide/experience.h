// An experience: a personalization slot ("home-hero") with ordered variations, each a
// targeting condition and a content payload, and a default; optionally run as an
// experiment with a traffic allocation and a control group that sees the default.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace segmenta {

struct Variation {
  std::string name;
  // Who sees it (text or JSON form; may read visit.… hot data). "" for everyone.
  std::string condition;
  std::string payload;  // JSON: text, HTML, image, discount code…
};

struct ExperienceDefinition {
  uint32_t id = 0;
  std::string slot;  // unique: what /v1/decide asks for
  std::string description;
  std::vector<Variation> variations;     // the first whose condition holds wins
  std::string default_payload = "null";  // JSON, when no variation applies
  // Experiment: `experiment` names it (the key of its exposures and report); the visitors
  // for whom `audience` holds are split by `allocation` (variation name → percent) and
  // `control` percent, summing to 100. Conditions of variations are not used then.
  std::string experiment;
  std::string audience;
  std::vector<std::pair<std::string, double>> allocation;
  double control = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  bool is_experiment() const { return !experiment.empty(); }
  std::string Encode() const;
  // Errors: DataLoss.
  static absl::StatusOr<ExperienceDefinition> Decode(std::string_view bytes);
};

// Checks names, payloads (valid JSON) and the allocation (known variations, percents
// summing to 100 with the control) without the data. Errors: InvalidArgument naming the
// field ("allocation: sums to 90%, not 100%").
absl::Status CheckExperience(const ExperienceDefinition& def);

inline constexpr std::string_view kExperienceKeyPrefix = "experience/";
std::string ExperienceKey(uint32_t id);

}  // namespace segmenta
