// Conditions outside definitions, through the audience engine (engine.h): checking one
// against the current data and definitions, and evaluating one for a contact now, reading
// groups, scores, persona and stage as they stand (what experiences do).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "eval/scalar.h"
#include "lang/compiler.h"
#include "segments/engine_core.h"

namespace segmenta {

struct ConditionCheck {
  std::string text;  // normalized
  std::string json;
  std::vector<std::string> warnings;
  bool time_dependent = false;
  std::optional<uint64_t> matches;  // contacts matching now, when asked
};

// Thread-safe.
class ConditionChecks {
 public:
  // `core` must outlive it.
  explicit ConditionChecks(EngineCore* core) : core_(core) {}

  // Compiles `condition` against the current data and definitions; with `count`, also
  // counts the contacts matching it now. Errors: InvalidArgument "line:column: reason;
  // hint".
  absl::StatusOr<ConditionCheck> Check(std::string_view condition, bool count) const;
  // The schema conditions compile against: the data's names and every definition's key.
  // REQUIRES: the caller holds the profile table for reading.
  Schema ConditionSchema(const ProfileTable& profiles) const;
  // `plan` for `contact` at `now`, with `overall` as its overall values, reading groups,
  // scores, persona and stage as they stand and `visit` for visit.… fields; a contact not
  // seen yet is evaluated as an empty one. REQUIRES: the caller holds the profile table for
  // reading.
  bool MatchesNow(const Plan& plan, const ProfileTable& profiles, ContactId contact, Millis now,
                  const std::vector<Value>& overall,
                  const std::function<Scalar(const Node&)>& visit) const;

 private:
  EngineCore* core_;
};

}  // namespace segmenta
