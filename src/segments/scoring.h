// Scores, buyer personas and lifecycle stages: their definitions as stored and as the API
// shows them, and how a score's rules compile into plans that the evaluators run.
//
// A score gives each contact points from rules of three kinds: attribute rules (a
// condition on traits), activity rules (points per matching activity, in an optional
// window, with an optional cap) and macro rules (any condition). A persona is a score with a
// threshold: a contact belongs to at most one persona, the one whose threshold it reaches
// with the highest score relative to the threshold (score ÷ threshold); ties go to the
// persona created first. Lifecycle stages are an ordered list; a contact is in the last
// stage whose entry condition holds, and in the first stage when none does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lang/compiler.h"
#include "segments/group.h"

namespace segmenta {

struct ScoreRule {
  enum class Kind : uint8_t { kAttribute, kActivity, kMacro };
  Kind kind = Kind::kMacro;
  // kAttribute: a condition on contact and account traits; kMacro: any condition (text or
  // JSON); kActivity: an event selector ("Product Viewed" where category = "cycling").
  std::string condition;
  double points = 0;  // per activity for kActivity; may be negative
  Millis within = 0;  // kActivity: only the activities of the last `within` count (0: all)
  double cap = 0;     // kActivity: at most this many points, in absolute value (0: no cap)
  bool operator==(const ScoreRule&) const = default;
};

// "attribute", "activity", "macro"; and back (false for an unknown name).
std::string_view ScoreRuleKindName(ScoreRule::Kind kind);
bool ScoreRuleKindFromName(std::string_view name, ScoreRule::Kind* kind);

// Activity points fade: each full `every` of an activity's age takes `percent` % of what is
// left of its points (step decay, as lead-scoring tools do). Points still worth less than
// 1 % of their value, or older than 24 steps, count no more.
struct ScoreDecay {
  Millis every = 0;  // 0: no decay
  double percent = 0;
  bool operator==(const ScoreDecay&) const = default;
};

struct ScoreDefinition {
  uint32_t id = 0;  // assigned at creation, never reused (shared with groups and stages)
  std::string name;
  std::string description;
  std::string image_url;
  bool persona = false;
  double threshold = 0;  // personas: the points that qualify (> 0)
  std::vector<ScoreRule> rules;
  ScoreDecay decay;
  std::vector<Webhook> webhooks;  // personas: entered/exited deliveries
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  // The stored record (secrets included). Thread-safe.
  std::string Encode() const;
  // Errors: DataLoss for a record Encode() did not write.
  static absl::StatusOr<ScoreDefinition> Decode(std::string_view bytes);
};

struct StageDefinition {
  uint32_t id = 0;  // assigned when the stage first appears, kept while its name is
  std::string name;
  std::string description;
  std::string condition;  // "" for the first stage, where every contact starts
  bool operator==(const StageDefinition&) const = default;
};

struct LifecycleDefinition {
  std::vector<StageDefinition> stages;  // in funnel order
  std::vector<Webhook> webhooks;        // stage entered/exited deliveries
  int64_t updated_ms = 0;

  std::string Encode() const;
  // Errors: DataLoss.
  static absl::StatusOr<LifecycleDefinition> Decode(std::string_view bytes);
};

// Checks a score's name, threshold, rules (kinds, points, windows, caps) and decay without
// the data. Errors: InvalidArgument naming the rule ("rules[2].points: …").
absl::Status CheckScore(const ScoreDefinition& def);
// Checks stage names (unique, as group names) and that only the first has no condition.
absl::Status CheckLifecycle(const LifecycleDefinition& def);

// A rule compiled: the plan it runs and how its value turns into points.
struct CompiledRule {
  ScoreRule::Kind kind = ScoreRule::Kind::kMacro;
  double points = 0;
  double cap = 0;
  std::shared_ptr<const Plan> plan;
  // kActivity: the number of matching activities (weighted by decay), a node of `plan`.
  const Node* count = nullptr;

  // The points for a rule whose condition holds (`matched`) or whose activities count
  // `count`.
  double PointsFor(bool matched) const { return matched ? points : 0; }
  double PointsForCount(double count) const;
};

// Compiles each rule of `def` against `schema`; `self` is the score's key ("score:NAME")
// for refusing cycles. Errors: InvalidArgument "rules[i]: line:column: reason; hint", and
// for an attribute rule that reads more than traits.
absl::StatusOr<std::vector<CompiledRule>> CompileRules(const ScoreDefinition& def,
                                                       const Schema& schema, std::string_view self);

// Store keys (in the meta family).
std::string ScoreKey(uint32_t id);
inline constexpr std::string_view kScoreKeyPrefix = "score/";
inline constexpr std::string_view kLifecycleKey = "lifecycle";

}  // namespace segmenta
