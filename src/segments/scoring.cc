#include "segments/scoring.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "core/json_writer.h"
#include "fmt/format.h"
#include "lang/parser.h"
#include "simdjson.h"

namespace segmenta {
namespace {

// Decay steps counted at most (older activities count no more).
constexpr int kMaxDecaySteps = 24;

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xFF));
}

NodePtr Literal(Value v) {
  auto n = std::make_unique<Node>();
  n->kind = NodeKind::kLiteral;
  n->value = std::move(v);
  return n;
}

NodePtr Binary(NodeKind kind, Op op, NodePtr l, NodePtr r) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->op = op;
  n->children.push_back(std::move(l));
  n->children.push_back(std::move(r));
  return n;
}

// now - `ms`.
NodePtr NowMinus(Millis ms) {
  auto now = std::make_unique<Node>();
  now->kind = NodeKind::kNow;
  return Binary(NodeKind::kArith, Op::kSub, std::move(now), Literal(Value::Duration(ms)));
}

// The plan of an activity rule: `count(...) >= 0`, where count(...) counts the activities
// the selector names in the rule's window, weighted by decay when the score decays.
absl::StatusOr<NodePtr> ActivityCondition(const ScoreRule& rule, const ScoreDecay& decay) {
  auto parsed = ParseCondition("count(" + rule.condition + ") >= 0");
  if (!parsed.ok()) return parsed.status();
  NodePtr root = *std::move(parsed);
  if (root->kind != NodeKind::kCompare || root->children[0]->kind != NodeKind::kAggregate) {
    return absl::InvalidArgumentError("expected an event selector such as \"Product Viewed\"");
  }
  Node& count = *root->children[0];
  const Selector& selector = *count.selector;
  if (!selector.property.empty()) {
    return absl::InvalidArgumentError(
        "an activity rule counts activities; drop the property after the event");
  }
  const bool own_window = selector.window.kind != Window::Kind::kNone;
  if (own_window && (rule.within > 0 || decay.every > 0)) {
    return absl::InvalidArgumentError(
        "give the rule's window either in the selector or as \"within\", not both (and not "
        "in the selector of a decaying score)");
  }
  if (decay.every <= 0) {
    if (rule.within > 0) {
      count.selector->window.kind = Window::Kind::kLast;
      count.selector->window.duration = rule.within;
    }
    return root;
  }
  // Step decay: one count per step of age, weighted by what is left of the points.
  const double keep = 1.0 - decay.percent / 100.0;
  NodePtr sum;
  double weight = 1.0;
  for (int step = 0; step < kMaxDecaySteps && weight >= 0.01; ++step, weight *= keep) {
    const Millis newest = step * decay.every;
    if (rule.within > 0 && newest > rule.within) break;
    Millis oldest = (step + 1) * decay.every - 1;
    if (rule.within > 0) oldest = std::min(oldest, rule.within);
    auto bucket = std::make_unique<Node>();
    bucket->kind = NodeKind::kAggregate;
    bucket->aggregate = Aggregate::kCount;
    bucket->selector = std::make_unique<Selector>();
    bucket->selector->kind = selector.kind;
    bucket->selector->event = selector.event;
    if (selector.where) bucket->selector->where = CloneNode(*selector.where);
    bucket->selector->window.kind = Window::Kind::kBetween;
    bucket->selector->window.from = NowMinus(oldest);
    bucket->selector->window.to = NowMinus(newest);
    NodePtr term =
        Binary(NodeKind::kArith, Op::kMul, std::move(bucket), Literal(Value::Number(weight)));
    sum = sum == nullptr ? std::move(term)
                         : Binary(NodeKind::kArith, Op::kAdd, std::move(sum), std::move(term));
  }
  if (sum == nullptr) return absl::InvalidArgumentError("the decay leaves no points");
  return Binary(NodeKind::kCompare, Op::kGe, std::move(sum), Literal(Value::Number(0)));
}

absl::Status BadRule(size_t i, std::string_view field, std::string_view reason) {
  return absl::InvalidArgumentError(fmt::format("rules[{}].{}: {}", i, field, reason));
}

}  // namespace

std::string_view ScoreRuleKindName(ScoreRule::Kind kind) {
  switch (kind) {
    case ScoreRule::Kind::kAttribute:
      return "attribute";
    case ScoreRule::Kind::kActivity:
      return "activity";
    case ScoreRule::Kind::kMacro:
      return "macro";
  }
  return "macro";
}

bool ScoreRuleKindFromName(std::string_view name, ScoreRule::Kind* kind) {
  for (ScoreRule::Kind k :
       {ScoreRule::Kind::kAttribute, ScoreRule::Kind::kActivity, ScoreRule::Kind::kMacro}) {
    if (name == ScoreRuleKindName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

std::string ScoreDefinition::Encode() const {
  JsonWriter w;
  w.BeginObject().Field("id", static_cast<uint64_t>(id)).Field("name", name);
  w.Field("description", description).Field("image", image_url).Field("persona", persona);
  w.Field("threshold", threshold).Key("rules").BeginArray();
  for (const ScoreRule& r : rules) {
    w.BeginObject().Field("type", ScoreRuleKindName(r.kind)).Field("condition", r.condition);
    w.Field("points", r.points).Field("within", r.within).Field("cap", r.cap).EndObject();
  }
  w.EndArray().Field("decay_every", decay.every).Field("decay_percent", decay.percent);
  w.Key("webhooks");
  WriteWebhooks(webhooks, w);
  w.Field("created", created_ms).Field("updated", updated_ms).EndObject();
  return w.Take();
}

absl::StatusOr<ScoreDefinition> ScoreDefinition::Decode(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  ScoreDefinition d;
  uint64_t id = 0;
  std::string_view name, description, image;
  simdjson::dom::array rules, webhooks;
  const absl::Status malformed = absl::DataLossError("malformed score record in the store");
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["id"].get(id) != simdjson::SUCCESS || root["name"].get(name) != simdjson::SUCCESS ||
      root["description"].get(description) != simdjson::SUCCESS ||
      root["image"].get(image) != simdjson::SUCCESS ||
      root["persona"].get(d.persona) != simdjson::SUCCESS ||
      root["threshold"].get(d.threshold) != simdjson::SUCCESS ||
      root["rules"].get(rules) != simdjson::SUCCESS ||
      root["decay_every"].get(d.decay.every) != simdjson::SUCCESS ||
      root["decay_percent"].get(d.decay.percent) != simdjson::SUCCESS ||
      root["webhooks"].get(webhooks) != simdjson::SUCCESS ||
      root["created"].get(d.created_ms) != simdjson::SUCCESS ||
      root["updated"].get(d.updated_ms) != simdjson::SUCCESS) {
    return malformed;
  }
  d.id = static_cast<uint32_t>(id);
  d.name = std::string(name);
  d.description = std::string(description);
  d.image_url = std::string(image);
  for (simdjson::dom::element r : rules) {
    ScoreRule rule;
    std::string_view type, condition;
    if (r["type"].get(type) != simdjson::SUCCESS || !ScoreRuleKindFromName(type, &rule.kind) ||
        r["condition"].get(condition) != simdjson::SUCCESS ||
        r["points"].get(rule.points) != simdjson::SUCCESS ||
        r["within"].get(rule.within) != simdjson::SUCCESS ||
        r["cap"].get(rule.cap) != simdjson::SUCCESS) {
      return malformed;
    }
    rule.condition = std::string(condition);
    d.rules.push_back(std::move(rule));
  }
  absl::Status hooks = ReadWebhooks(webhooks, &d.webhooks);
  if (!hooks.ok()) return hooks;
  return d;
}

std::string LifecycleDefinition::Encode() const {
  JsonWriter w;
  w.BeginObject().Key("stages").BeginArray();
  for (const StageDefinition& s : stages) {
    w.BeginObject().Field("id", static_cast<uint64_t>(s.id)).Field("name", s.name);
    w.Field("description", s.description).Field("condition", s.condition).EndObject();
  }
  w.EndArray().Key("webhooks");
  WriteWebhooks(webhooks, w);
  w.Field("updated", updated_ms).EndObject();
  return w.Take();
}

absl::StatusOr<LifecycleDefinition> LifecycleDefinition::Decode(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  simdjson::dom::array stages, webhooks;
  LifecycleDefinition d;
  const absl::Status malformed = absl::DataLossError("malformed lifecycle record in the store");
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["stages"].get(stages) != simdjson::SUCCESS ||
      root["webhooks"].get(webhooks) != simdjson::SUCCESS ||
      root["updated"].get(d.updated_ms) != simdjson::SUCCESS) {
    return malformed;
  }
  for (simdjson::dom::element e : stages) {
    StageDefinition s;
    uint64_t id = 0;
    std::string_view name, description, condition;
    if (e["id"].get(id) != simdjson::SUCCESS || e["name"].get(name) != simdjson::SUCCESS ||
        e["description"].get(description) != simdjson::SUCCESS ||
        e["condition"].get(condition) != simdjson::SUCCESS) {
      return malformed;
    }
    s.id = static_cast<uint32_t>(id);
    s.name = std::string(name);
    s.description = std::string(description);
    s.condition = std::string(condition);
    d.stages.push_back(std::move(s));
  }
  absl::Status hooks = ReadWebhooks(webhooks, &d.webhooks);
  if (!hooks.ok()) return hooks;
  return d;
}

absl::Status CheckScore(const ScoreDefinition& def) {
  absl::Status name = CheckGroupName(def.name);
  if (!name.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("name: {}", std::string(name.message()).replace(0, 7, "a score")));
  }
  if (def.persona && !(def.threshold > 0 && std::isfinite(def.threshold))) {
    return absl::InvalidArgumentError("threshold: a persona's threshold is a number above 0");
  }
  if (!def.persona && def.threshold != 0) {
    return absl::InvalidArgumentError("threshold: only personas have a threshold");
  }
  if (def.rules.empty()) return absl::InvalidArgumentError("rules: at least one rule");
  if (def.rules.size() > 100) return absl::InvalidArgumentError("rules: at most 100 rules");
  for (size_t i = 0; i < def.rules.size(); ++i) {
    const ScoreRule& r = def.rules[i];
    if (r.condition.empty()) {
      return BadRule(i, r.kind == ScoreRule::Kind::kActivity ? "activity" : "condition",
                     "is required");
    }
    if (!std::isfinite(r.points) || r.points == 0) {
      return BadRule(i, "points", "a number other than 0 (negative points take away)");
    }
    if (r.kind != ScoreRule::Kind::kActivity && (r.within != 0 || r.cap != 0)) {
      return BadRule(i, r.within != 0 ? "within" : "cap", "only activity rules have one");
    }
    if (r.within < 0) return BadRule(i, "within", "must be positive");
    if (r.cap < 0 || !std::isfinite(r.cap)) return BadRule(i, "cap", "must be positive");
  }
  if (def.decay.every < 0) return absl::InvalidArgumentError("decay.every: must be positive");
  if (def.decay.every > 0 && !(def.decay.percent > 0 && def.decay.percent < 100)) {
    return absl::InvalidArgumentError("decay.percent: between 0 and 100 (exclusive)");
  }
  if (def.decay.every == 0 && def.decay.percent != 0) {
    return absl::InvalidArgumentError("decay.every: required with decay.percent");
  }
  return absl::OkStatus();
}

absl::Status CheckLifecycle(const LifecycleDefinition& def) {
  if (def.stages.empty()) return absl::InvalidArgumentError("stages: at least one stage");
  if (def.stages.size() > 50) return absl::InvalidArgumentError("stages: at most 50 stages");
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < def.stages.size(); ++i) {
    const StageDefinition& s = def.stages[i];
    absl::Status name = CheckGroupName(s.name);
    if (!name.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "stages[{}].name: {}", i, std::string(name.message()).replace(0, 7, "a stage")));
    }
    if (!names.insert(s.name).second) {
      return absl::InvalidArgumentError(
          fmt::format("stages[{}].name: \"{}\" appears twice", i, s.name));
    }
    if (i == 0 && !s.condition.empty()) {
      return absl::InvalidArgumentError(
          "stages[0].condition: the first stage has none: it is where every contact starts");
    }
    if (i > 0 && s.condition.empty()) {
      return absl::InvalidArgumentError(
          fmt::format("stages[{}].condition: is required (only the first stage has none)", i));
    }
  }
  return absl::OkStatus();
}

double CompiledRule::PointsForCount(double n) const {
  if (!(n > 0)) return 0;
  double p = points * n;
  if (cap > 0) p = std::clamp(p, -cap, cap);
  return p;
}

absl::StatusOr<std::vector<CompiledRule>> CompileRules(const ScoreDefinition& def,
                                                       const Schema& schema,
                                                       std::string_view self) {
  std::vector<CompiledRule> out;
  for (size_t i = 0; i < def.rules.size(); ++i) {
    const ScoreRule& r = def.rules[i];
    CompiledRule c;
    c.kind = r.kind;
    c.points = r.points;
    c.cap = r.cap;
    const std::string field = r.kind == ScoreRule::Kind::kActivity ? "activity" : "condition";
    absl::StatusOr<std::shared_ptr<const Plan>> plan;
    if (r.kind == ScoreRule::Kind::kActivity) {
      auto root = ActivityCondition(r, def.decay);
      if (!root.ok()) return BadRule(i, field, std::string(root.status().message()));
      plan = Plan::Compile(*std::move(root), schema, self);
    } else {
      plan = Plan::CompileText(r.condition, schema, self);
    }
    if (!plan.ok()) return BadRule(i, field, std::string(plan.status().message()));
    c.plan = *std::move(plan);
    if (r.kind == ScoreRule::Kind::kAttribute &&
        (!c.plan->event_keys().empty() || !c.plan->definitions().empty() ||
         !c.plan->overall_aggregates().empty())) {
      return BadRule(i, field,
                     "an attribute rule reads contact and account traits only; make it a macro "
                     "rule to read activities, groups or scores");
    }
    if (r.kind == ScoreRule::Kind::kActivity) c.count = c.plan->root().children[0].get();
    out.push_back(std::move(c));
  }
  return out;
}

std::string ScoreKey(uint32_t id) {
  std::string key(kScoreKeyPrefix);
  AppendBigEndian32(id, &key);
  return key;
}

}  // namespace segmenta
