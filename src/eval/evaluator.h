// Runs a compiled condition on one contact (incremental, on each of its changes and timers)
// and tells when its value may next change with no new event.
#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "core/value.h"
#include "eval/scalar.h"
#include "lang/compiler.h"
#include "profile/profile_table.h"
#include "roaring/roaring.hh"

namespace segmenta {

// What a condition reads besides the contact: the clock, other groups, and the values of
// overall(...) aggregates.
struct EvalEnv {
  Millis now = 0;
  // The members of another group (null when unknown: nobody); null when the plan uses none.
  std::function<const Roaring*(std::string_view group)> group_members;
  // The values of the plan's overall(...) aggregates, by slot (see OverallValues()).
  std::vector<Value> overall;
  // The values the engine computes for a contact, for a kComputed node (score("…"),
  // persona, stage...: of the type its kind has in the schema, null when the contact has
  // none); and the visit's hot data for a kVisit node. Null when the plan reads none; a
  // string returned must outlive the evaluation.
  std::function<Scalar(const Node& node, ContactId contact)> derived;
  // A contact that does not exist (a visitor not seen yet) is evaluated as one with no
  // traits and no activities, instead of matching nothing.
  bool absent_is_empty = false;
};

// True when `contact` satisfies `plan`. A contact that does not exist satisfies nothing.
// REQUIRES: the caller holds the profile table for reading. Thread-safe otherwise.
bool Matches(const Plan& plan, const ProfileTable& profiles, ContactId contact, const EvalEnv& env);

// The earliest instant after env.now at which Matches() may change for `contact` with no
// new event (a window lets an event go, a time test flips, a sequence's wait runs out), or
// nullopt when it cannot. May be early (the value may turn out unchanged), never late.
std::optional<Millis> NextChange(const Plan& plan, const ProfileTable& profiles, ContactId contact,
                                 const EvalEnv& env);

// NextChange for every contact row at once (kNoChange where it cannot change, and for rows
// that are not alive contacts): column by column when the plan depends on time only
// through windows that move with the clock, else contact by contact. Equal to NextChange.
// REQUIRES: the caller holds the profile table for reading.
inline constexpr Millis kNoChange = std::numeric_limits<Millis>::max();
std::vector<Millis> NextChangeAll(const Plan& plan, const ProfileTable& profiles,
                                  const EvalEnv& env);

// `node` (a part of `plan`) for one contact: a condition's truth, or an expression's value.
// For the batch evaluator's per-contact fallbacks.
bool MatchesNode(const Plan& plan, const Node& node, const ProfileTable& profiles,
                 ContactId contact, const EvalEnv& env);
Scalar ValueOfNode(const Plan& plan, const Node& node, const ProfileTable& profiles,
                   ContactId contact, const EvalEnv& env);

// The values of the plan's overall(...) aggregates over every contact's events at `now`.
std::vector<Value> OverallValues(const Plan& plan, const ProfileTable& profiles, Millis now);

}  // namespace segmenta
