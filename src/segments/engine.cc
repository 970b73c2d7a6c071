#include "segments/engine.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <limits>

#include "absl/strings/str_join.h"
#include "core/json_writer.h"
#include "core/paged_vector.h"
#include "core/status.h"
#include "core/string_view.h"
#include "core/time_format.h"
#include "eval/evaluator.h"
#include "eval/schema.h"
#include "fmt/format.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

// How often overall(...) aggregates are refreshed.
constexpr Millis kOverallRefresh = 60 * 1000;

// Timer ids of the nodes that are not a group or a score (whose ids they are).
constexpr uint32_t kLifecycleId = 0xFFFFFFFF;
constexpr uint32_t kPersonasId = 0xFFFFFFFE;

constexpr std::string_view kPersonaNodeKey = "persona:";
constexpr std::string_view kStageNodeKey = "stage:";

std::string ScoreNodeKey(std::string_view name) { return "score:" + std::string(name); }

std::string BigEndianMillis(Millis ms) {
  std::string out;
  AppendBigEndian64(static_cast<uint64_t>(ms), &out);
  return out;
}

absl::Status CheckWebhook(const Webhook& hook) {
  if (hook.url.rfind("http://", 0) != 0 && hook.url.rfind("https://", 0) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("webhook url \"{}\" must start with http:// or https://", hook.url));
  }
  if (hook.secret.size() < 16) {
    return absl::InvalidArgumentError("a webhook secret has at least 16 characters");
  }
  return absl::OkStatus();
}

template <typename T>
void SortUnique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Checks what can be checked without the data, and puts the lists in order.
absl::Status Normalize(GroupDefinition* def) {
  SEGMENTA_RETURN_IF_ERROR(CheckGroupName(def->name));
  for (const Webhook& hook : def->webhooks) SEGMENTA_RETURN_IF_ERROR(CheckWebhook(hook));
  SortUnique(def->contacts);
  SortUnique(def->accounts);
  return absl::OkStatus();
}

std::string HistoryRecord(const MembershipEvent& e) {
  JsonWriter w;
  w.BeginObject().Field("group", static_cast<uint64_t>(e.group)).Field("contact", e.contact);
  w.Field("entered", e.entered).Field("time", e.time_ms).Field("cause", e.cause);
  if (e.kind != AudienceKind::kGroup) w.Field("kind", AudienceKindName(e.kind));
  w.Field("name", e.group_name).EndObject();
  return w.Take();
}

absl::StatusOr<MembershipEvent> ParseHistory(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  MembershipEvent e;
  uint64_t group = 0;
  std::string_view cause;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["group"].get(group) != simdjson::SUCCESS ||
      root["contact"].get(e.contact) != simdjson::SUCCESS ||
      root["entered"].get(e.entered) != simdjson::SUCCESS ||
      root["time"].get(e.time_ms) != simdjson::SUCCESS ||
      root["cause"].get(cause) != simdjson::SUCCESS) {
    return absl::DataLossError("malformed history record");
  }
  e.group = static_cast<uint32_t>(group);
  e.cause = std::string(cause);
  std::string_view kind, name;
  if (root["kind"].get(kind) == simdjson::SUCCESS) {
    e.kind = kind == "persona" ? AudienceKind::kPersona : AudienceKind::kStage;
  }
  if (root["name"].get(name) == simdjson::SUCCESS) e.group_name = std::string(name);
  return e;
}

}  // namespace

std::string_view AudienceKindName(AudienceKind kind) {
  switch (kind) {
    case AudienceKind::kGroup:
      return "group";
    case AudienceKind::kPersona:
      return "persona";
    case AudienceKind::kStage:
      return "stage";
  }
  return "group";
}

// A persona or a lifecycle stage: the contacts assigned to it.
struct GroupEngine::Audience {
  uint32_t id = 0;
  std::string name;
  Roaring members;
  std::vector<Webhook> webhooks;
  const Group* score = nullptr;  // personas: the node of its points
  double threshold = 0;          // personas
};

// A node of the graph of definitions.
struct GroupEngine::Group {
  enum class Kind : uint8_t { kGroup, kScore, kPersonas, kLifecycle };
  Kind kind = Kind::kGroup;
  // Its name in Schema::groups and in what others use: a group's name, "score:NAME",
  // "persona:", "stage:".
  std::string key;

  // kGroup
  GroupDefinition def;
  std::shared_ptr<const Plan> plan;  // null for static groups and broken conditions
  std::string error;                 // why a stored definition no longer compiles
  Roaring members;

  // kScore
  ScoreDefinition score;
  std::vector<CompiledRule> rules;
  PagedVector<float> values;  // points by contact id

  // kPersonas (one audience per persona, in creation order), kLifecycle (one per stage)
  LifecycleDefinition lifecycle;
  std::vector<Audience> audiences;
  PagedVector<int16_t> audience_of;  // by contact id: index into audiences, -1 for none

  // Every plan the node runs (a group's condition; a score's rules; the entry conditions
  // of stages 1..n), each with the values of its overall(...) aggregates.
  std::vector<std::shared_ptr<const Plan>> plans;
  std::vector<std::vector<Value>> overall;

  // The instant each contact's timer is due, by contact id (kNoChange: none); the heap may
  // hold stale entries.
  PagedVector<Millis> due;
  std::vector<size_t> dependents;  // indexes into groups_ of the nodes that use this one
  std::vector<std::string> uses;   // keys

  uint32_t timer_id() const {
    switch (kind) {
      case Kind::kGroup:
        return def.id;
      case Kind::kScore:
        return score.id;
      case Kind::kPersonas:
        return kPersonasId;
      case Kind::kLifecycle:
        return kLifecycleId;
    }
    return 0;
  }
  bool time_dependent() const {
    for (const auto& p : plans) {
      if (p->time_dependent()) return true;
    }
    return false;
  }
  bool has_overall() const {
    for (const auto& p : plans) {
      if (!p->overall_aggregates().empty()) return true;
    }
    return false;
  }
  int AudienceOf(ContactId c) const { return c < audience_of.size() ? audience_of[c] : -1; }
  float ValueOf(ContactId c) const { return c < values.size() ? values[c] : 0.0f; }
  // Its value for `c` as a computed value of conditions (keyed ComputedKey, as `key` is):
  // a score's points; the name of a contact's persona or stage (null when none).
  Scalar ComputedValueOf(ContactId c) const {
    if (kind == Kind::kScore) return Scalar::Number(ValueOf(c));
    const int a = AudienceOf(c);
    if (kind == Kind::kGroup || a < 0) return Scalar();
    Scalar out;
    out.type = ValueType::kString;
    out.str = audiences[a].name;
    return out;
  }
  // audience_of from the members of the audiences.
  void IndexAudiences(size_t rows) {
    audience_of.assign(rows, -1);
    for (size_t i = 0; i < audiences.size(); ++i) {
      for (uint32_t c : audiences[i].members) {
        if (c >= audience_of.size()) audience_of.resize(c + 1, -1);
        audience_of[c] = static_cast<int16_t>(i);
      }
    }
  }
};

GroupEngine::GroupEngine(Store* store, Worker* worker, Clock* clock)
    : store_(store), worker_(worker), clock_(clock) {}

// Clearing the observer cannot fail.
GroupEngine::~GroupEngine() { worker_->SetObserver(nullptr).IgnoreError(); }

absl::StatusOr<std::unique_ptr<GroupEngine>> GroupEngine::Start(Store* store, Worker* worker,
                                                                Clock* clock) {
  // Checked before Load, which compiles the conditions against the worker's table.
  if (!worker->keeps_profiles()) {
    return absl::FailedPreconditionError("the worker does not keep the profile table");
  }
  std::unique_ptr<GroupEngine> engine(new GroupEngine(store, worker, clock));
  SEGMENTA_RETURN_IF_ERROR(engine->Load());
  SEGMENTA_RETURN_IF_ERROR(worker->SetObserver(engine.get()));
  return engine;
}

absl::Status GroupEngine::Load() {
  // Lock order everywhere: the profile table, then the engine.
  return worker_->ReadProfiles([&](const ProfileTable& profiles) {
    absl::MutexLock lock(&mu_);
    return LoadLocked(profiles);
  });
}

absl::Status GroupEngine::LoadLocked(const ProfileTable& profiles) {
  SEGMENTA_ASSIGN_OR_RETURN(auto counters, store_->Get(Family::kMeta, kMetaSegments));
  if (counters) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(*counters);
    simdjson::dom::element root;
    uint64_t next_group = 1;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
        root["next_group"].get(next_group) != simdjson::SUCCESS ||
        root["next_history"].get(next_history_seq_) != simdjson::SUCCESS ||
        root["next_outbox"].get(next_outbox_seq_) != simdjson::SUCCESS) {
      return absl::DataLossError("malformed segments counters in the store");
    }
    next_group_id_ = static_cast<uint32_t>(next_group);
  }
  {
    auto it = store_->NewIterator(Family::kGroups);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      SEGMENTA_ASSIGN_OR_RETURN(GroupDefinition def, GroupDefinition::Decode(std::string_view(
                                                         it->value().data(), it->value().size())));
      auto g = std::make_unique<Group>();
      g->def = std::move(def);
      g->key = g->def.name;
      groups_.push_back(std::move(g));
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading groups"));
  }
  {
    auto it = store_->NewIterator(Family::kMeta);
    for (it->Seek(rocksdb::Slice(kScoreKeyPrefix.data(), kScoreKeyPrefix.size()));
         it->Valid() &&
         it->key().starts_with(rocksdb::Slice(kScoreKeyPrefix.data(), kScoreKeyPrefix.size()));
         it->Next()) {
      SEGMENTA_ASSIGN_OR_RETURN(ScoreDefinition def, ScoreDefinition::Decode(std::string_view(
                                                         it->value().data(), it->value().size())));
      auto g = std::make_unique<Group>();
      g->kind = Group::Kind::kScore;
      g->key = ScoreNodeKey(def.name);
      g->score = std::move(def);
      groups_.push_back(std::move(g));
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading scores"));
  }
  SEGMENTA_ASSIGN_OR_RETURN(auto lifecycle, store_->Get(Family::kMeta, std::string(kLifecycleKey)));
  if (lifecycle) {
    SEGMENTA_ASSIGN_OR_RETURN(LifecycleDefinition def, LifecycleDefinition::Decode(*lifecycle));
    auto g = std::make_unique<Group>();
    g->kind = Group::Kind::kLifecycle;
    g->key = std::string(kStageNodeKey);
    g->lifecycle = std::move(def);
    for (const StageDefinition& stage : g->lifecycle.stages) {
      Audience a;
      a.id = stage.id;
      a.name = stage.name;
      a.webhooks = g->lifecycle.webhooks;
      g->audiences.push_back(std::move(a));
    }
    groups_.push_back(std::move(g));
  }
  {
    auto personas = std::make_unique<Group>();
    personas->kind = Group::Kind::kPersonas;
    personas->key = std::string(kPersonaNodeKey);
    groups_.push_back(std::move(personas));
  }
  RebuildPersonas();
  Reindex();
  {
    auto it = store_->NewIterator(Family::kMemberships);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 12) return absl::DataLossError("malformed membership key");
      uint32_t id = static_cast<uint32_t>(
          ReadBigEndian64(std::string(4, '\0') + std::string(it->key().data(), 4)));
      ContactId contact = ReadBigEndian64(std::string_view(it->key().data() + 4, 8));
      if (auto found = by_id_.find(id); found != by_id_.end()) {
        found->second->members.add(static_cast<uint32_t>(contact));
      } else if (auto a = audience_by_id_.find(id); a != audience_by_id_.end()) {
        a->second.first->audiences[a->second.second].members.add(static_cast<uint32_t>(contact));
      }
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading memberships"));
  }
  const Millis now = ToMillis(clock_->Now());
  for (auto& g : groups_) {
    if (g->kind == Group::Kind::kPersonas || g->kind == Group::Kind::kLifecycle) {
      g->IndexAudiences(profiles.contact_rows());
    }
  }
  // Compiled in dependency order: a score's points are computed before what reads them.
  for (auto& g : groups_) {
    absl::Status s = absl::OkStatus();
    switch (g->kind) {
      case Group::Kind::kGroup:
        if (!g->def.is_static()) s = Compile(*g, profiles);
        break;
      case Group::Kind::kScore:
        s = CompileScore(*g, profiles);
        if (s.ok()) ComputeScores(*g, profiles, now, nullptr);
        break;
      case Group::Kind::kLifecycle:
        s = CompileLifecycle(*g, profiles);
        break;
      case Group::Kind::kPersonas:
        break;
    }
    if (!s.ok()) {
      g->error = std::string(s.message());
      spdlog::error("{}: its definition no longer compiles ({}); it is frozen until edited",
                    DependencyName(g->key), g->error);
    }
  }
  Reindex();
  // Time went by while the engine was stopped: time-dependent nodes, and those whose
  // inputs are recomputed at start (personas, stages), are recomputed by the first timer
  // run (which can write), and that schedules their timers again.
  for (auto& g : groups_) {
    if (g->kind == Group::Kind::kPersonas || g->kind == Group::Kind::kLifecycle ||
        g->time_dependent() || g->has_overall()) {
      recompute_on_start_.push_back(g->timer_id());
    }
  }
  spdlog::info("{} contact groups, {} scores and personas loaded", by_id_.size(),
               std::count_if(groups_.begin(), groups_.end(),
                             [](const auto& g) { return g->kind == Group::Kind::kScore; }));
  return absl::OkStatus();
}

Schema GroupEngine::SchemaFor(const ProfileTable& profiles) const {
  Schema schema = SchemaOf(profiles);
  // Every node, by key: a score's "score:NAME", "persona:" and "stage:" are the uses of the
  // computed values every Schema knows (score, persona, stage), answered by DerivedValue.
  for (const auto& g : groups_) schema.groups[g->key] = g->uses;
  return schema;
}

absl::Status GroupEngine::Compile(Group& g, const ProfileTable& profiles) {
  g.plans.clear();
  g.overall.clear();
  if (g.def.is_static()) {
    g.plan = nullptr;
    g.uses.clear();
    return absl::OkStatus();
  }
  auto plan = Plan::CompileText(g.def.condition, SchemaFor(profiles), g.key);
  if (!plan.ok()) return plan.status();
  g.plan = *std::move(plan);
  g.uses = g.plan->groups();
  g.error.clear();
  g.plans = {g.plan};
  g.overall = {OverallValues(*g.plan, profiles, ToMillis(clock_->Now()))};
  return absl::OkStatus();
}

absl::Status GroupEngine::CompileScore(Group& g, const ProfileTable& profiles) {
  SEGMENTA_ASSIGN_OR_RETURN(std::vector<CompiledRule> rules,
                            CompileRules(g.score, SchemaFor(profiles), g.key));
  g.rules = std::move(rules);
  g.plans.clear();
  g.overall.clear();
  g.uses.clear();
  const Millis now = ToMillis(clock_->Now());
  for (const CompiledRule& r : g.rules) {
    g.plans.push_back(r.plan);
    g.overall.push_back(OverallValues(*r.plan, profiles, now));
    for (const std::string& use : r.plan->groups()) {
      if (std::find(g.uses.begin(), g.uses.end(), use) == g.uses.end()) g.uses.push_back(use);
    }
  }
  g.error.clear();
  return absl::OkStatus();
}

absl::Status GroupEngine::CompileLifecycle(Group& g, const ProfileTable& profiles) {
  std::vector<std::shared_ptr<const Plan>> plans;
  std::vector<std::string> uses;
  const Schema schema = SchemaFor(profiles);
  for (size_t i = 1; i < g.lifecycle.stages.size(); ++i) {
    auto plan = Plan::CompileText(g.lifecycle.stages[i].condition, schema, g.key);
    if (!plan.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("stages[{}].condition: {}", i, std::string(plan.status().message())));
    }
    for (const std::string& use : (*plan)->groups()) {
      if (std::find(uses.begin(), uses.end(), use) == uses.end()) uses.push_back(use);
    }
    plans.push_back(*std::move(plan));
  }
  g.plans = std::move(plans);
  g.uses = std::move(uses);
  g.overall.clear();
  const Millis now = ToMillis(clock_->Now());
  for (const auto& p : g.plans) g.overall.push_back(OverallValues(*p, profiles, now));
  g.error.clear();
  return absl::OkStatus();
}

void GroupEngine::RebuildPersonas() {
  Group* personas = nullptr;
  std::vector<Group*> scores;
  for (auto& g : groups_) {
    if (g->kind == Group::Kind::kPersonas) personas = g.get();
    if (g->kind == Group::Kind::kScore && g->score.persona) scores.push_back(g.get());
  }
  if (personas == nullptr) return;
  std::sort(scores.begin(), scores.end(),
            [](const Group* a, const Group* b) { return a->score.id < b->score.id; });
  std::vector<Audience> audiences;
  personas->uses.clear();
  for (Group* score : scores) {
    Audience a;
    a.id = score->score.id;
    a.name = score->score.name;
    a.webhooks = score->score.webhooks;
    a.score = score;
    a.threshold = score->score.threshold;
    for (Audience& old : personas->audiences) {
      if (old.id == a.id) a.members = std::move(old.members);
    }
    audiences.push_back(std::move(a));
    personas->uses.push_back(score->key);
  }
  personas->audiences = std::move(audiences);
  personas->IndexAudiences(personas->audience_of.size());
}

void GroupEngine::Reindex() {
  // Topological order: a node after every node it uses.
  std::vector<std::unique_ptr<Group>> ordered;
  absl::flat_hash_map<std::string, bool> placed;
  while (ordered.size() < groups_.size()) {
    size_t before = ordered.size();
    for (auto& g : groups_) {
      if (g == nullptr) continue;
      bool ready = true;
      for (const std::string& dep : g->uses) ready = ready && placed.contains(dep);
      if (!ready) continue;
      placed[g->key] = true;
      ordered.push_back(std::move(g));
    }
    if (ordered.size() == before) {
      // Unknown dependencies (a broken definition): place the rest as they are.
      for (auto& g : groups_) {
        if (g != nullptr) ordered.push_back(std::move(g));
      }
    }
  }
  groups_ = std::move(ordered);
  by_id_.clear();
  by_key_.clear();
  by_timer_id_.clear();
  audience_by_id_.clear();
  lifecycle_index_ = -1;
  by_event_.clear();
  by_trait_.clear();
  by_any_event_.clear();
  by_accounts_.clear();
  absl::flat_hash_map<std::string, size_t> index_of;
  for (size_t i = 0; i < groups_.size(); ++i) {
    Group& g = *groups_[i];
    if (g.kind == Group::Kind::kGroup) by_id_[g.def.id] = &g;
    by_key_[g.key] = &g;
    by_timer_id_[g.timer_id()] = &g;
    if (g.kind == Group::Kind::kLifecycle) lifecycle_index_ = static_cast<int64_t>(i);
    for (size_t a = 0; a < g.audiences.size(); ++a) audience_by_id_[g.audiences[a].id] = {&g, a};
    index_of[g.key] = i;
    g.dependents.clear();
  }
  for (size_t i = 0; i < groups_.size(); ++i) {
    Group& g = *groups_[i];
    for (const std::string& dep : g.uses) {
      auto it = index_of.find(dep);
      if (it != index_of.end()) groups_[it->second]->dependents.push_back(i);
    }
    if (g.kind == Group::Kind::kGroup && g.def.is_static()) {
      if (!g.def.accounts.empty()) by_accounts_.push_back(i);
      continue;
    }
    bool accounts = false;
    for (const auto& plan : g.plans) {
      for (const std::string& key : plan->event_keys()) {
        auto& list = key == "*" ? by_any_event_ : by_event_[key];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
      for (const std::string& trait : plan->traits()) {
        // A trait path reads the flattened columns under it too ("address" and
        // "address.city"): index by its first segment, which SetTraits reports.
        auto& list = by_trait_[trait.substr(0, trait.find('.'))];
        if (list.empty() || list.back() != i) list.push_back(i);
      }
      accounts = accounts || plan->uses_accounts();
    }
    if (accounts) by_accounts_.push_back(i);
  }
}

GroupEngine::Group* GroupEngine::Find(std::string_view name) const {
  auto it = by_key_.find(AbslView(name));
  return it != by_key_.end() && it->second->kind == Group::Kind::kGroup ? it->second : nullptr;
}

GroupEngine::Group* GroupEngine::FindNode(std::string_view key) const {
  auto it = by_key_.find(AbslView(key));
  return it != by_key_.end() ? it->second : nullptr;
}

GroupEngine::Group* GroupEngine::FindScore(std::string_view name) const {
  return FindNode(ScoreNodeKey(name));
}

std::string GroupEngine::DependencyName(const std::string& key) const {
  if (key.rfind("score:", 0) == 0) {
    const Group* g = FindNode(key);
    return fmt::format("{} \"{}\"", g != nullptr && g->score.persona ? "persona" : "score",
                       key.substr(6));
  }
  if (key == kPersonaNodeKey) return "the persona assignment";
  if (key == kStageNodeKey) return "the lifecycle stages";
  return fmt::format("group \"{}\"", key);
}

// How a key reads in lists of uses: as conditions write it (a group's name, score("…"),
// persona, stage).
static std::string UseName(const std::string& key) { return DependencyText(key); }

std::vector<std::string> GroupEngine::UsedBy(const Group& g) const {
  std::vector<std::string> out;
  for (size_t d : g.dependents) {
    // A persona's points are read by the persona assignment: that is not a use to show.
    if (g.kind == Group::Kind::kScore && groups_[d]->kind == Group::Kind::kPersonas) continue;
    out.push_back(groups_[d]->key);
  }
  return out;
}

absl::Status GroupEngine::CheckNoUsers(const Group& g, std::string_view what) const {
  std::vector<std::string> users;
  for (const std::string& key : UsedBy(g)) users.push_back(DependencyName(key));
  if (users.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      fmt::format("{} is used by {}; change those first", what, absl::StrJoin(users, ", ")));
}

// Computed values (score, persona and stage: the kinds Schema registers by default) are
// the values of the nodes keyed as their uses.
Scalar GroupEngine::DerivedValue(const Node& node, ContactId contact) const {
  if (node.kind != NodeKind::kComputed) return Scalar();
  const Group* g = FindNode(ComputedKey(node.computed_kind, node.name));
  return g == nullptr ? Scalar() : g->ComputedValueOf(contact);
}

EvalEnv GroupEngine::EnvFor(const Group& g, size_t plan, Millis now) const {
  EvalEnv env;
  env.now = now;
  if (plan < g.overall.size()) env.overall = g.overall[plan];
  if (plan < g.plans.size() && !g.plans[plan]->groups().empty()) {
    env.group_members = [this](std::string_view name) -> const Roaring* {
      Group* other = Find(name);
      return other == nullptr ? nullptr : &other->members;
    };
    // The same computed value is asked for every contact: remember the last node found.
    env.derived = [this, last = static_cast<const Node*>(nullptr),
                   group = static_cast<const Group*>(nullptr)](
                      const Node& node, ContactId contact) mutable -> Scalar {
      if (&node != last) {
        last = &node;
        group = node.kind == NodeKind::kComputed
                    ? FindNode(ComputedKey(node.computed_kind, node.name))
                    : nullptr;
      }
      return group == nullptr ? Scalar() : group->ComputedValueOf(contact);
    };
  }
  return env;
}

bool GroupEngine::StaticMember(const Group& g, const ProfileTable& profiles,
                               ContactId contact) const {
  const ContactState* state = profiles.contact(contact);
  if (state == nullptr) return false;
  if (std::binary_search(g.def.contacts.begin(), g.def.contacts.end(), contact)) return true;
  for (uint32_t account : state->accounts) {
    if (std::binary_search(g.def.accounts.begin(), g.def.accounts.end(),
                           profiles.account(account).group_id)) {
      return true;
    }
  }
  return false;
}

void GroupEngine::Record(Group& g, ContactId contact, bool entered, Millis now,
                         std::string_view cause, rocksdb::WriteBatch* batch) {
  RecordEvent(g.def.id, g.def.name, AudienceKind::kGroup, g.members, g.def.webhooks, contact,
              entered, now, cause, batch);
}

void GroupEngine::RecordEvent(uint32_t id, const std::string& name, AudienceKind kind,
                              Roaring& members, const std::vector<Webhook>& hooks,
                              ContactId contact, bool entered, Millis now, std::string_view cause,
                              rocksdb::WriteBatch* batch) {
  if (entered) {
    members.add(static_cast<uint32_t>(contact));
    batch->Put(store_->handle(Family::kMemberships), MembershipKey(id, contact),
               BigEndianMillis(now));
  } else {
    members.remove(static_cast<uint32_t>(contact));
    batch->Delete(store_->handle(Family::kMemberships), MembershipKey(id, contact));
  }
  MembershipEvent e{now, id, name, kind, contact, entered, std::string(cause)};
  const uint64_t seq = next_history_seq_++;
  std::string record = HistoryRecord(e);
  batch->Put(store_->handle(Family::kHistory), GroupHistoryKey(id, now, seq), record);
  batch->Put(store_->handle(Family::kHistory), ContactHistoryKey(contact, now, seq), record);
  if (!hooks.empty()) {
    const uint64_t out = next_outbox_seq_++;
    const std::string_view kind_name = AudienceKindName(kind);
    JsonWriter w;
    w.BeginObject()
        .Field("seq", out)
        .Field("type", fmt::format("{}.{}", kind_name, entered ? "entered" : "exited"));
    // `group` and `groupId` name the group, persona or stage (the kind is in `type`).
    w.Field("group", name).Field("groupId", static_cast<uint64_t>(id));
    if (kind != AudienceKind::kGroup) w.Field(kind_name, name);
    w.Field("contactId", std::to_string(contact)).Field("time", FormatTimestamp(FromMillis(now)));
    w.Field("cause", cause).EndObject();
    std::string key;
    AppendBigEndian64(out, &key);
    batch->Put(store_->handle(Family::kOutbox), key, w.Take());
  }
  counters_dirty_ = true;  // written once per batch, by FlushCounters
}

absl::Status GroupEngine::RunDefinition(
    const std::function<absl::Status(ProfileTable&, rocksdb::WriteBatch*)>& task) {
  return worker_->RunTaskAndWait([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::Status status = task(profiles, batch);
    absl::MutexLock lock(&mu_);
    FlushCounters(batch);
    return status;
  });
}

void GroupEngine::FlushCounters(rocksdb::WriteBatch* batch) {
  if (!counters_dirty_) return;
  batch->Put(store_->handle(Family::kMeta), kMetaSegments, CountersRecord());
  counters_dirty_ = false;
}

std::string GroupEngine::CountersRecord() const {
  JsonWriter w;
  w.BeginObject().Field("next_group", static_cast<uint64_t>(next_group_id_));
  w.Field("next_history", next_history_seq_).Field("next_outbox", next_outbox_seq_).EndObject();
  return w.Take();
}

void GroupEngine::Schedule(Group& g, const ProfileTable& profiles, ContactId contact, Millis now) {
  std::optional<Millis> next;
  for (size_t i = 0; i < g.plans.size(); ++i) {
    if (!g.plans[i]->time_dependent()) continue;
    std::optional<Millis> t = NextChange(*g.plans[i], profiles, contact, EnvFor(g, i, now));
    if (t && (!next || *t < *next)) next = t;
  }
  if (contact >= g.due.size()) {
    if (!next) return;
    g.due.resize(std::max<size_t>(contact + 1, profiles.contact_rows()), kNoChange);
  }
  const Millis at = next.value_or(kNoChange);
  if (g.due[contact] == at) return;
  g.due[contact] = at;
  if (next) {
    PushTimer(Timer{at, g.timer_id(), contact});
    ++live_timers_;
  }
}

void GroupEngine::PushTimer(Timer t) {
  timers_.push_back(t);
  std::push_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

void GroupEngine::ScheduleAll(Group& g, const ProfileTable& profiles, Millis now) {
  // The node's old timers stay in the heap, stale (due[] no longer names them), until a
  // compaction drops them.
  g.due.clear();
  if (!g.time_dependent()) return;
  g.due.assign(profiles.contact_rows(), kNoChange);
  for (size_t i = 0; i < g.plans.size(); ++i) {
    if (!g.plans[i]->time_dependent()) continue;
    const std::vector<Millis> t = NextChangeAll(*g.plans[i], profiles, EnvFor(g, i, now));
    for (size_t c = 0; c < g.due.size(); ++c) g.due[c] = std::min(g.due[c], t[c]);
  }
  const uint32_t id = g.timer_id();
  const size_t before = timers_.size();
  for (size_t c = 0; c < g.due.size(); ++c) {
    if (g.due[c] != kNoChange) timers_.push_back(Timer{g.due[c], id, c});
  }
  const size_t added = timers_.size() - before;
  if (timers_.size() > 2 * (live_timers_ + added) + 65536) {
    CompactTimers();
  } else if (added > before / 4) {
    std::make_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
  } else {
    for (size_t i = before + 1; i <= timers_.size(); ++i) {
      std::push_heap(timers_.begin(), timers_.begin() + i, std::greater<Timer>());
    }
  }
  live_timers_ += added;
}

void GroupEngine::CompactTimers() {
  timers_.clear();
  live_timers_ = 0;
  for (const auto& g : groups_) {
    const uint32_t id = g->timer_id();
    for (size_t c = 0; c < g->due.size(); ++c) {
      if (g->due[c] != kNoChange) timers_.push_back(Timer{g->due[c], id, c});
    }
  }
  live_timers_ = timers_.size();
  std::make_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
}

double GroupEngine::ScoreOf(const Group& g, const ProfileTable& profiles, ContactId contact,
                            Millis now) const {
  double total = 0;
  for (size_t i = 0; i < g.rules.size(); ++i) {
    const CompiledRule& r = g.rules[i];
    const EvalEnv env = EnvFor(g, i, now);
    if (r.count != nullptr) {
      Scalar n = ValueOfNode(*r.plan, *r.count, profiles, contact, env);
      total += r.PointsForCount(n.type == ValueType::kNumber ? n.num : 0);
    } else {
      total += r.PointsFor(Matches(*r.plan, profiles, contact, env));
    }
  }
  return total;
}

void GroupEngine::ComputeScores(Group& g, const ProfileTable& profiles, Millis now,
                                JobProgress* progress) {
  const size_t rows = profiles.contact_rows();
  std::vector<double> total(rows, 0.0);
  for (size_t i = 0; i < g.rules.size(); ++i) {
    const CompiledRule& r = g.rules[i];
    const EvalEnv env = EnvFor(g, i, now);
    if (r.count != nullptr) {
      std::vector<double> n = NumbersAll(*r.plan, *r.count, profiles, env, &cache_);
      for (size_t c = 0; c < rows; ++c) total[c] += r.PointsForCount(std::isnan(n[c]) ? 0 : n[c]);
    } else {
      Roaring matched = EvaluateAll(*r.plan, profiles, env, &cache_);
      // Adding 0 where the rule does not hold keeps the sums those of ScoreOf, to the bit.
      for (uint32_t c : matched) total[c] += r.points;
    }
    if (progress != nullptr) {
      progress->fraction = 0.8 * static_cast<double>(i + 1) / static_cast<double>(g.rules.size());
    }
  }
  g.values.assign(rows, 0.0f);
  for (size_t c = 0; c < rows; ++c) {
    if (profiles.contact(c) != nullptr) g.values[c] = static_cast<float>(total[c]);
  }
  ScheduleAll(g, profiles, now);
  if (progress != nullptr) progress->fraction = 1.0;
}

int GroupEngine::AssignPersona(const Group& g, ContactId contact) const {
  int best = -1;
  double best_ratio = 0;
  for (size_t i = 0; i < g.audiences.size(); ++i) {
    const Audience& a = g.audiences[i];
    const double points = a.score->ValueOf(contact);
    if (points < a.threshold) continue;
    const double ratio = points / a.threshold;
    // Strictly greater: a tie goes to the persona created first.
    if (best < 0 || ratio > best_ratio) {
      best = static_cast<int>(i);
      best_ratio = ratio;
    }
  }
  return best;
}

int GroupEngine::AssignStage(const Group& g, const ProfileTable& profiles, ContactId contact,
                             Millis now) const {
  if (g.audiences.empty()) return -1;
  if (g.error.empty()) {
    for (size_t i = g.plans.size(); i-- > 0;) {
      if (Matches(*g.plans[i], profiles, contact, EnvFor(g, i, now))) {
        return static_cast<int>(i + 1);
      }
    }
  }
  return 0;
}

bool GroupEngine::MoveTo(Group& g, ContactId contact, int to, Millis now, std::string_view cause,
                         rocksdb::WriteBatch* batch) {
  const int from = g.AudienceOf(contact);
  if (from == to) return false;
  const AudienceKind kind =
      g.kind == Group::Kind::kPersonas ? AudienceKind::kPersona : AudienceKind::kStage;
  if (from >= 0) {
    Audience& a = g.audiences[from];
    RecordEvent(a.id, a.name, kind, a.members, a.webhooks, contact, false, now, cause, batch);
  }
  if (to >= 0) {
    Audience& a = g.audiences[to];
    RecordEvent(a.id, a.name, kind, a.members, a.webhooks, contact, true, now, cause, batch);
  }
  if (contact >= g.audience_of.size()) g.audience_of.resize(contact + 1, -1);
  g.audience_of[contact] = static_cast<int16_t>(to);
  return true;
}

bool GroupEngine::Reevaluate(Group& g, const ProfileTable& profiles, ContactId contact, Millis now,
                             std::string_view cause, rocksdb::WriteBatch* batch) {
  const bool alive = profiles.contact(contact) != nullptr;
  switch (g.kind) {
    case Group::Kind::kGroup: {
      bool member;
      if (g.def.is_static()) {
        member = StaticMember(g, profiles, contact);
      } else if (g.plan == nullptr) {
        return false;  // a broken condition: members frozen
      } else {
        member = Matches(*g.plan, profiles, contact, EnvFor(g, 0, now));
        if (g.plan->time_dependent()) Schedule(g, profiles, contact, now);
      }
      const bool was = g.members.contains(static_cast<uint32_t>(contact));
      if (member == was) return false;
      Record(g, contact, member, now, cause, batch);
      return true;
    }
    case Group::Kind::kScore: {
      if (!g.error.empty()) return false;
      const float points = alive ? static_cast<float>(ScoreOf(g, profiles, contact, now)) : 0.0f;
      if (alive && g.time_dependent()) Schedule(g, profiles, contact, now);
      if (points == g.ValueOf(contact)) return false;
      if (contact >= g.values.size()) g.values.resize(profiles.contact_rows(), 0.0f);
      g.values[contact] = points;
      return true;
    }
    case Group::Kind::kPersonas:
      return MoveTo(g, contact, alive ? AssignPersona(g, contact) : -1, now, cause, batch);
    case Group::Kind::kLifecycle: {
      if (!g.error.empty()) return false;
      if (alive && g.time_dependent()) Schedule(g, profiles, contact, now);
      return MoveTo(g, contact, alive ? AssignStage(g, profiles, contact, now) : -1, now, cause,
                    batch);
    }
  }
  return false;
}

void GroupEngine::ReevaluateContact(const ProfileTable& profiles, ContactId contact,
                                    std::vector<bool>& affected, Millis now, std::string_view cause,
                                    rocksdb::WriteBatch* batch) {
  for (size_t i = 0; i < groups_.size(); ++i) {
    if (!affected[i]) continue;
    Group& g = *groups_[i];
    if (Reevaluate(g, profiles, contact, now, cause, batch)) {
      for (size_t d : g.dependents) affected[d] = true;
    }
  }
}

bool GroupEngine::RecomputeAudiences(Group& g, const std::vector<int>& assigned, Millis now,
                                     std::string_view cause, rocksdb::WriteBatch* batch) {
  bool changed = false;
  const size_t rows = std::max(assigned.size(), g.audience_of.size());
  for (size_t c = 0; c < rows; ++c) {
    const int to = c < assigned.size() ? assigned[c] : -1;
    changed = MoveTo(g, c, to, now, cause, batch) || changed;
  }
  return changed;
}

bool GroupEngine::Recompute(Group& g, const ProfileTable& profiles, Millis now,
                            std::string_view cause, rocksdb::WriteBatch* batch,
                            JobProgress* progress) {
  bool changed = false;
  switch (g.kind) {
    case Group::Kind::kGroup: {
      Roaring next;
      if (g.def.is_static()) {
        for (ContactId c : g.def.contacts) {
          if (profiles.contact(c) != nullptr) next.add(static_cast<uint32_t>(c));
        }
        for (const std::string& group_id : g.def.accounts) {
          const AccountState* account = profiles.FindAccount(group_id);
          if (account == nullptr) continue;
          for (uint32_t c : account->contacts) next.add(c);
        }
      } else if (g.plan != nullptr) {
        g.overall = {OverallValues(*g.plan, profiles, now)};
        next = EvaluateAll(*g.plan, profiles, EnvFor(g, 0, now), &cache_, [&](double f) {
          if (progress != nullptr) progress->fraction = 0.8 * f;
        });
      } else {
        return false;
      }
      Roaring entered = next - g.members;
      Roaring exited = g.members - next;
      for (uint32_t c : entered) Record(g, c, true, now, cause, batch);
      for (uint32_t c : exited) Record(g, c, false, now, cause, batch);
      changed = !entered.isEmpty() || !exited.isEmpty();
      ScheduleAll(g, profiles, now);
      break;
    }
    case Group::Kind::kScore: {
      if (!g.error.empty()) return false;
      for (size_t i = 0; i < g.plans.size(); ++i) {
        g.overall[i] = OverallValues(*g.plans[i], profiles, now);
      }
      PagedVector<float> before = std::move(g.values);
      ComputeScores(g, profiles, now, progress);
      changed = before != g.values;
      break;
    }
    case Group::Kind::kPersonas: {
      std::vector<int> assigned(profiles.contact_rows(), -1);
      for (size_t c = 0; c < assigned.size(); ++c) {
        if (profiles.contact(c) != nullptr) assigned[c] = AssignPersona(g, c);
      }
      changed = RecomputeAudiences(g, assigned, now, cause, batch);
      break;
    }
    case Group::Kind::kLifecycle: {
      if (!g.error.empty()) return false;
      std::vector<int> assigned(profiles.contact_rows(), -1);
      for (size_t c = 0; c < assigned.size(); ++c) {
        if (profiles.contact(c) != nullptr) assigned[c] = 0;
      }
      for (size_t i = 0; i < g.plans.size(); ++i) {
        g.overall[i] = OverallValues(*g.plans[i], profiles, now);
        // A later stage's members overwrite an earlier's: the last stage that holds wins.
        for (uint32_t c : EvaluateAll(*g.plans[i], profiles, EnvFor(g, i, now), &cache_)) {
          assigned[c] = static_cast<int>(i + 1);
        }
        if (progress != nullptr) {
          progress->fraction =
              0.8 * static_cast<double>(i + 1) / static_cast<double>(g.plans.size());
        }
      }
      changed = RecomputeAudiences(g, assigned, now, cause, batch);
      ScheduleAll(g, profiles, now);
      break;
    }
  }
  if (progress != nullptr) progress->fraction = 1.0;
  if (!changed) return false;
  // What is built on this node changes with it. Points have no history of their own: what
  // moves with them keeps their cause.
  const std::string next_cause = g.kind == Group::Kind::kScore
                                     ? std::string(cause)
                                     : fmt::format("{} changed", DependencyName(g.key));
  for (size_t d : g.dependents) {
    Recompute(*groups_[d], profiles, now, next_cause, batch, nullptr);
  }
  return true;
}

GroupInfo GroupEngine::InfoOf(const Group& g) const {
  GroupInfo info;
  info.definition = g.def;
  for (Webhook& h : info.definition.webhooks) h.secret.clear();
  info.members = g.members.cardinality();
  if (g.plan != nullptr) {
    info.condition_text = g.plan->text();
    info.condition_json = g.plan->json();
    info.warnings = g.plan->warnings();
    info.time_dependent = g.plan->time_dependent();
  }
  if (!g.error.empty()) info.warnings.push_back("the condition no longer compiles: " + g.error);
  for (const std::string& use : g.uses) info.uses.push_back(UseName(use));
  for (const std::string& key : UsedBy(g)) info.used_by.push_back(UseName(key));
  return info;
}

// ---------------------------------------------------------------------------------------
// Definitions

absl::StatusOr<GroupInfo> GroupEngine::Create(GroupDefinition def,
                                              std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(Normalize(&def));
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status = RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    if (Find(def.name) != nullptr) {
      return absl::AlreadyExistsError(fmt::format("a group named \"{}\" exists", def.name));
    }
    for (ContactId c : def.contacts) {
      if (profiles.contact(c) == nullptr) {
        return absl::NotFoundError(fmt::format("no contact with id {}", c));
      }
    }
    const Millis now = ToMillis(clock_->Now());
    if (FindScore(def.name) != nullptr) {
      return absl::AlreadyExistsError(
          fmt::format("a score or persona is named \"{}\"; names are shared", def.name));
    }
    auto g = std::make_unique<Group>();
    g->def = def;
    g->key = def.name;
    g->def.id = next_group_id_;
    g->def.created_ms = now;
    g->def.updated_ms = now;
    SEGMENTA_RETURN_IF_ERROR(Compile(*g, profiles));
    ++next_group_id_;
    Group* created = g.get();
    groups_.push_back(std::move(g));
    Reindex();
    cache_.Invalidate();
    Recompute(*created, profiles, now, "group created", batch, progress.get());
    batch->Put(store_->handle(Family::kGroups), GroupKey(created->def.id), created->def.Encode());
    batch->Put(store_->handle(Family::kMeta), kMetaSegments, CountersRecord());
    out = InfoOf(*created);
    spdlog::info("group \"{}\" created: {} members", created->def.name,
                 created->members.cardinality());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<GroupInfo> GroupEngine::Update(std::string_view name, GroupDefinition def,
                                              std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(Normalize(&def));
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status = RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    Group* g = Find(name);
    if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
    if (def.name != g->def.name) {
      return absl::InvalidArgumentError(
          "a group cannot be renamed (its name is how other "
          "groups refer to it)");
    }
    const Millis now = ToMillis(clock_->Now());
    GroupDefinition previous = g->def;
    auto previous_plan = g->plan;
    auto previous_uses = g->uses;
    auto previous_plans = g->plans;
    auto previous_overall = g->overall;
    g->def = def;
    g->def.id = previous.id;
    g->def.created_ms = previous.created_ms;
    g->def.updated_ms = now;
    absl::Status compiled = Compile(*g, profiles);
    if (!compiled.ok()) {
      g->def = previous;
      g->plan = previous_plan;
      g->uses = previous_uses;
      g->plans = previous_plans;
      g->overall = previous_overall;
      return compiled;
    }
    Reindex();
    cache_.Invalidate();
    Recompute(*g, profiles, now, "group updated", batch, progress.get());
    batch->Put(store_->handle(Family::kGroups), GroupKey(g->def.id), g->def.Encode());
    out = InfoOf(*g);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status GroupEngine::Delete(std::string_view name) {
  return RunDefinition([&](ProfileTable&, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    Group* g = Find(name);
    if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
    SEGMENTA_RETURN_IF_ERROR(CheckNoUsers(*g, fmt::format("group \"{}\"", name)));
    const uint32_t id = g->def.id;
    batch->Delete(store_->handle(Family::kGroups), GroupKey(id));
    batch->DeleteRange(store_->handle(Family::kMemberships), MembershipPrefix(id),
                       MembershipPrefix(id + 1));
    groups_.erase(std::remove_if(groups_.begin(), groups_.end(),
                                 [&](const auto& p) {
                                   return p->kind == Group::Kind::kGroup && p->def.id == id;
                                 }),
                  groups_.end());
    Reindex();
    spdlog::info("group \"{}\" deleted", name);
    return absl::OkStatus();
  });
}

absl::StatusOr<GroupInfo> GroupEngine::EditStatic(std::string_view name, std::vector<ContactId> add,
                                                  std::vector<ContactId> remove,
                                                  std::vector<std::string> add_accounts,
                                                  std::vector<std::string> remove_accounts) {
  absl::StatusOr<GroupInfo> out = absl::InternalError("not run");
  absl::Status status = RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    Group* g = Find(name);
    if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
    if (!g->def.is_static()) {
      return absl::FailedPreconditionError(
          fmt::format("group \"{}\" is dynamic: its members follow its condition", name));
    }
    for (ContactId c : add) {
      if (profiles.contact(c) == nullptr) {
        return absl::NotFoundError(fmt::format("no contact with id {}", c));
      }
    }
    std::vector<ContactId>& contacts = g->def.contacts;
    contacts.insert(contacts.end(), add.begin(), add.end());
    SortUnique(contacts);
    for (ContactId c : remove) {
      contacts.erase(std::remove(contacts.begin(), contacts.end(), c), contacts.end());
    }
    std::vector<std::string>& accounts = g->def.accounts;
    accounts.insert(accounts.end(), add_accounts.begin(), add_accounts.end());
    SortUnique(accounts);
    for (const std::string& a : remove_accounts) {
      accounts.erase(std::remove(accounts.begin(), accounts.end(), a), accounts.end());
    }
    const Millis now = ToMillis(clock_->Now());
    g->def.updated_ms = now;
    Reindex();
    Recompute(*g, profiles, now, "listed", batch, nullptr);
    batch->Put(store_->handle(Family::kGroups), GroupKey(g->def.id), g->def.Encode());
    out = InfoOf(*g);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

// ---------------------------------------------------------------------------------------
// Scores, personas and stages

namespace {

absl::Status NormalizeScore(ScoreDefinition* def) {
  SEGMENTA_RETURN_IF_ERROR(CheckScore(*def));
  for (const Webhook& hook : def->webhooks) SEGMENTA_RETURN_IF_ERROR(CheckWebhook(hook));
  if (!def->persona && !def->webhooks.empty()) {
    return absl::InvalidArgumentError(
        "webhooks: only personas have webhooks (deliver enters and "
        "exits); a score has no members");
  }
  return absl::OkStatus();
}

}  // namespace

ScoreInfo GroupEngine::ScoreInfoOf(const Group& g) const {
  ScoreInfo info;
  info.definition = g.score;
  for (Webhook& h : info.definition.webhooks) h.secret.clear();
  if (g.score.persona) {
    if (const Group* personas = FindNode(kPersonaNodeKey); personas != nullptr) {
      for (const Audience& a : personas->audiences) {
        if (a.id == g.score.id) info.members = a.members.cardinality();
      }
    }
  }
  for (const auto& plan : g.plans) {
    for (const std::string& w : plan->warnings()) info.warnings.push_back(w);
  }
  if (!g.error.empty()) info.warnings.push_back("the rules no longer compile: " + g.error);
  for (const std::string& use : g.uses) info.uses.push_back(UseName(use));
  for (const std::string& key : UsedBy(g)) info.used_by.push_back(UseName(key));
  info.time_dependent = g.time_dependent();
  return info;
}

absl::StatusOr<ScoreInfo> GroupEngine::CreateScore(ScoreDefinition def,
                                                   std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(NormalizeScore(&def));
  absl::StatusOr<ScoreInfo> out = absl::InternalError("not run");
  absl::Status status = RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    if (FindScore(def.name) != nullptr || Find(def.name) != nullptr) {
      return absl::AlreadyExistsError(
          fmt::format("\"{}\" is taken (scores, personas and groups share names)", def.name));
    }
    const Millis now = ToMillis(clock_->Now());
    auto g = std::make_unique<Group>();
    g->kind = Group::Kind::kScore;
    g->key = ScoreNodeKey(def.name);
    g->score = def;
    g->score.id = next_group_id_;
    g->score.created_ms = now;
    g->score.updated_ms = now;
    SEGMENTA_RETURN_IF_ERROR(CompileScore(*g, profiles));
    ++next_group_id_;
    Group* created = g.get();
    groups_.push_back(std::move(g));
    RebuildPersonas();
    Reindex();
    cache_.Invalidate();
    const bool moved =
        Recompute(*created, profiles, now, fmt::format("{} created", DependencyName(created->key)),
                  batch, progress.get());
    if (created->score.persona && !moved) {
      Recompute(*FindNode(kPersonaNodeKey), profiles, now, "persona created", batch, nullptr);
    }
    batch->Put(store_->handle(Family::kMeta), ScoreKey(created->score.id), created->score.Encode());
    batch->Put(store_->handle(Family::kMeta), kMetaSegments, CountersRecord());
    out = ScoreInfoOf(*created);
    spdlog::info("{} created", DependencyName(created->key));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ScoreInfo> GroupEngine::UpdateScore(std::string_view name, ScoreDefinition def,
                                                   std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(NormalizeScore(&def));
  absl::StatusOr<ScoreInfo> out = absl::InternalError("not run");
  absl::Status status = RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    Group* g = FindScore(name);
    if (g == nullptr) {
      return absl::NotFoundError(fmt::format("no score or persona named \"{}\"", name));
    }
    if (def.name != g->score.name) {
      return absl::InvalidArgumentError(
          "a score cannot be renamed (its name is how conditions refer to it)");
    }
    if (def.persona != g->score.persona) {
      return absl::InvalidArgumentError(
          g->score.persona ? "a persona cannot become a score; delete it and create the score"
                           : "a score cannot become a persona; delete it and create the persona");
    }
    const Millis now = ToMillis(clock_->Now());
    Group previous;
    previous.score = g->score;
    previous.rules = g->rules;
    previous.plans = g->plans;
    previous.overall = g->overall;
    previous.uses = g->uses;
    previous.error = g->error;
    g->score = def;
    g->score.id = previous.score.id;
    g->score.created_ms = previous.score.created_ms;
    g->score.updated_ms = now;
    absl::Status compiled = CompileScore(*g, profiles);
    if (!compiled.ok()) {
      g->score = previous.score;
      g->rules = previous.rules;
      g->plans = previous.plans;
      g->overall = previous.overall;
      g->uses = previous.uses;
      g->error = previous.error;
      return compiled;
    }
    RebuildPersonas();
    Reindex();
    cache_.Invalidate();
    const bool moved =
        Recompute(*g, profiles, now, fmt::format("{} updated", DependencyName(g->key)), batch,
                  progress.get());
    if (g->score.persona && !moved) {
      // The threshold may have changed with the same points.
      Recompute(*FindNode(kPersonaNodeKey), profiles, now, "persona updated", batch, nullptr);
    }
    batch->Put(store_->handle(Family::kMeta), ScoreKey(g->score.id), g->score.Encode());
    out = ScoreInfoOf(*g);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status GroupEngine::DeleteScore(std::string_view name) {
  return RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    Group* g = FindScore(name);
    if (g == nullptr) {
      return absl::NotFoundError(fmt::format("no score or persona named \"{}\"", name));
    }
    SEGMENTA_RETURN_IF_ERROR(CheckNoUsers(*g, DependencyName(g->key)));
    const Millis now = ToMillis(clock_->Now());
    const uint32_t id = g->score.id;
    const bool persona = g->score.persona;
    Group* personas = FindNode(kPersonaNodeKey);
    if (persona && personas != nullptr) {
      // Its members leave it (and may join another persona below).
      for (size_t c = 0; c < personas->audience_of.size(); ++c) {
        const int a = personas->audience_of[c];
        if (a >= 0 && personas->audiences[a].id == id) {
          MoveTo(*personas, c, -1, now, "persona deleted", batch);
        }
      }
    }
    batch->Delete(store_->handle(Family::kMeta), ScoreKey(id));
    batch->DeleteRange(store_->handle(Family::kMemberships), MembershipPrefix(id),
                       MembershipPrefix(id + 1));
    groups_.erase(std::remove_if(groups_.begin(), groups_.end(),
                                 [&](const auto& p) {
                                   return p->kind == Group::Kind::kScore && p->score.id == id;
                                 }),
                  groups_.end());
    RebuildPersonas();
    Reindex();
    if (persona && personas != nullptr) {
      Recompute(*personas, profiles, now, "persona deleted", batch, nullptr);
    }
    spdlog::info("{} \"{}\" deleted", persona ? "persona" : "score", name);
    return absl::OkStatus();
  });
}

std::vector<ScoreInfo> GroupEngine::ListScores(bool personas) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ScoreInfo> out;
  for (const auto& g : groups_) {
    if (g->kind == Group::Kind::kScore && g->score.persona == personas) {
      out.push_back(ScoreInfoOf(*g));
    }
  }
  std::sort(out.begin(), out.end(), [](const ScoreInfo& a, const ScoreInfo& b) {
    return a.definition.id < b.definition.id;
  });
  return out;
}

absl::StatusOr<ScoreInfo> GroupEngine::GetScore(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  Group* g = FindScore(name);
  if (g == nullptr) {
    return absl::NotFoundError(fmt::format("no score or persona named \"{}\"", name));
  }
  return ScoreInfoOf(*g);
}

absl::StatusOr<ScoreDistribution> GroupEngine::Distribution(std::string_view name) const {
  return worker_->ReadProfiles(
      [&](const ProfileTable& profiles) -> absl::StatusOr<ScoreDistribution> {
        absl::ReaderMutexLock lock(&mu_);
        Group* g = FindScore(name);
        if (g == nullptr) {
          return absl::NotFoundError(fmt::format("no score or persona named \"{}\"", name));
        }
        std::vector<float> points;
        points.reserve(profiles.alive_contacts());
        ScoreDistribution d;
        double sum = 0;
        for (size_t c = 0; c < profiles.contact_rows(); ++c) {
          if (profiles.contact(c) == nullptr) continue;
          const float v = g->ValueOf(c);
          points.push_back(v);
          sum += v;
          if (v != 0) ++d.nonzero;
          if (g->score.persona && v >= g->score.threshold) ++d.qualified;
        }
        d.contacts = points.size();
        if (points.empty()) return d;
        std::sort(points.begin(), points.end());
        auto quantile = [&](double q) {
          // Nearest rank.
          size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(points.size())));
          return static_cast<double>(points[std::clamp<size_t>(rank, 1, points.size()) - 1]);
        };
        d.min = points.front();
        d.max = points.back();
        d.mean = sum / static_cast<double>(points.size());
        d.p25 = quantile(0.25);
        d.p50 = quantile(0.5);
        d.p75 = quantile(0.75);
        d.p90 = quantile(0.9);
        d.p99 = quantile(0.99);
        const int buckets = d.max > d.min ? 10 : 1;
        const double width = (d.max - d.min) / buckets;
        for (int b = 0; b < buckets; ++b) {
          d.histogram.push_back(
              {d.min + b * width, b + 1 == buckets ? d.max : d.min + (b + 1) * width, 0});
        }
        for (float v : points) {
          int b = width > 0 ? static_cast<int>((v - d.min) / width) : 0;
          d.histogram[std::clamp(b, 0, buckets - 1)].contacts++;
        }
        return d;
      });
}

ContactScores GroupEngine::ScoresOf(ContactId contact) const {
  absl::ReaderMutexLock lock(&mu_);
  ContactScores out;
  std::vector<const Group*> scores;
  for (const auto& g : groups_) {
    if (g->kind == Group::Kind::kScore) scores.push_back(g.get());
  }
  std::sort(scores.begin(), scores.end(),
            [](const Group* a, const Group* b) { return a->score.id < b->score.id; });
  for (const Group* g : scores) {
    out.scores.push_back(
        {g->score.name, g->ValueOf(contact), g->score.persona, g->score.threshold});
  }
  for (std::string_view key : {kPersonaNodeKey, kStageNodeKey}) {
    const Group* g = FindNode(key);
    if (g == nullptr) continue;
    const int a = g->AudienceOf(contact);
    if (a >= 0) (key == kPersonaNodeKey ? out.persona : out.stage) = g->audiences[a].name;
  }
  return out;
}

LifecycleInfo GroupEngine::LifecycleInfoOf() const {
  LifecycleInfo info;
  const Group* g = FindNode(kStageNodeKey);
  if (g == nullptr) return info;
  info.defined = true;
  info.updated_ms = g->lifecycle.updated_ms;
  info.webhooks = g->lifecycle.webhooks;
  for (Webhook& h : info.webhooks) h.secret.clear();
  for (size_t i = 0; i < g->lifecycle.stages.size(); ++i) {
    StageInfo s;
    s.definition = g->lifecycle.stages[i];
    if (i < g->audiences.size()) s.members = g->audiences[i].members.cardinality();
    if (i > 0 && i - 1 < g->plans.size()) s.condition_text = g->plans[i - 1]->text();
    info.stages.push_back(std::move(s));
  }
  for (const auto& plan : g->plans) {
    for (const std::string& w : plan->warnings()) info.warnings.push_back(w);
  }
  if (!g->error.empty()) info.warnings.push_back("the stages no longer compile: " + g->error);
  return info;
}

LifecycleInfo GroupEngine::Lifecycle() const {
  absl::ReaderMutexLock lock(&mu_);
  return LifecycleInfoOf();
}

absl::StatusOr<LifecycleInfo> GroupEngine::SetLifecycle(LifecycleDefinition def,
                                                        std::shared_ptr<JobProgress> progress) {
  SEGMENTA_RETURN_IF_ERROR(CheckLifecycle(def));
  for (const Webhook& hook : def.webhooks) SEGMENTA_RETURN_IF_ERROR(CheckWebhook(hook));
  absl::StatusOr<LifecycleInfo> out = absl::InternalError("not run");
  absl::Status status = RunDefinition([&](ProfileTable& profiles, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    const Millis now = ToMillis(clock_->Now());
    Group* existing = FindNode(kStageNodeKey);
    // A stage keeps its id while its name stays.
    for (StageDefinition& stage : def.stages) {
      stage.id = 0;
      if (existing == nullptr) continue;
      for (const Audience& a : existing->audiences) {
        if (a.name == stage.name) stage.id = a.id;
      }
    }
    auto g = std::make_unique<Group>();
    g->kind = Group::Kind::kLifecycle;
    g->key = std::string(kStageNodeKey);
    g->lifecycle = def;
    g->lifecycle.updated_ms = now;
    SEGMENTA_RETURN_IF_ERROR(CompileLifecycle(*g, profiles));
    for (StageDefinition& stage : g->lifecycle.stages) {
      if (stage.id == 0) stage.id = next_group_id_++;
      Audience a;
      a.id = stage.id;
      a.name = stage.name;
      a.webhooks = g->lifecycle.webhooks;
      g->audiences.push_back(std::move(a));
    }
    if (existing != nullptr) {
      // Members stay in the stages that stay; those of removed stages exit them.
      for (size_t c = 0; c < existing->audience_of.size(); ++c) {
        const int from = existing->audience_of[c];
        if (from < 0) continue;
        const uint32_t id = existing->audiences[from].id;
        bool kept = false;
        for (Audience& a : g->audiences) {
          if (a.id == id) {
            a.members.add(static_cast<uint32_t>(c));
            kept = true;
          }
        }
        if (!kept) MoveTo(*existing, c, -1, now, "stage removed", batch);
      }
      for (const Audience& a : existing->audiences) {
        if (FindNode(kStageNodeKey) != nullptr &&
            std::none_of(g->audiences.begin(), g->audiences.end(),
                         [&](const Audience& b) { return b.id == a.id; })) {
          batch->DeleteRange(store_->handle(Family::kMemberships), MembershipPrefix(a.id),
                             MembershipPrefix(a.id + 1));
        }
      }
      for (size_t d : existing->dependents) g->dependents.push_back(d);
      *existing = std::move(*g);
      g.reset();
    }
    Group* node = existing != nullptr ? existing : g.get();
    node->IndexAudiences(profiles.contact_rows());
    if (g != nullptr) groups_.push_back(std::move(g));
    Reindex();
    cache_.Invalidate();
    Recompute(*node, profiles, now, "stages changed", batch, progress.get());
    batch->Put(store_->handle(Family::kMeta), kLifecycleKey, node->lifecycle.Encode());
    batch->Put(store_->handle(Family::kMeta), kMetaSegments, CountersRecord());
    out = LifecycleInfoOf();
    spdlog::info("lifecycle stages set: {}", node->lifecycle.stages.size());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

absl::Status GroupEngine::DeleteLifecycle() {
  return RunDefinition([&](ProfileTable&, rocksdb::WriteBatch* batch) {
    absl::MutexLock lock(&mu_);
    Group* g = FindNode(kStageNodeKey);
    if (g == nullptr) return absl::NotFoundError("no lifecycle stages are defined");
    SEGMENTA_RETURN_IF_ERROR(CheckNoUsers(*g, "the lifecycle stages"));
    const Millis now = ToMillis(clock_->Now());
    for (size_t c = 0; c < g->audience_of.size(); ++c) {
      if (g->audience_of[c] >= 0) MoveTo(*g, c, -1, now, "stages deleted", batch);
    }
    for (const Audience& a : g->audiences) {
      batch->DeleteRange(store_->handle(Family::kMemberships), MembershipPrefix(a.id),
                         MembershipPrefix(a.id + 1));
    }
    batch->Delete(store_->handle(Family::kMeta), kLifecycleKey);
    groups_.erase(
        std::remove_if(groups_.begin(), groups_.end(), [&](const auto& p) { return p.get() == g; }),
        groups_.end());
    Reindex();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<TraitUse>> GroupEngine::MissingTraits(ContactId contact) const {
  return worker_->ReadProfiles(
      [&](const ProfileTable& profiles) -> absl::StatusOr<std::vector<TraitUse>> {
        if (profiles.contact(contact) == nullptr) {
          return absl::NotFoundError(fmt::format("no contact with id {}", contact));
        }
        absl::ReaderMutexLock lock(&mu_);
        absl::flat_hash_map<std::string, uint32_t> rules;
        for (const auto& g : groups_) {
          for (const auto& plan : g->plans) {
            for (const std::string& t : plan->traits()) ++rules[t];
          }
        }
        std::vector<TraitUse> out;
        const double alive = static_cast<double>(std::max<size_t>(1, profiles.alive_contacts()));
        for (const auto& [trait, count] : rules) {
          const Column* column = profiles.trait(trait);
          if (column != nullptr && column->type(contact) != ValueType::kNull) continue;
          TraitUse use{trait, count, 0, 0};
          if (column != nullptr) {
            size_t filled = 0;
            for (size_t c = 0; c < column->size(); ++c) {
              filled += column->type(c) != ValueType::kNull && profiles.contact(c) != nullptr;
            }
            use.filled_overall = static_cast<double>(filled) / alive;
          }
          out.push_back(std::move(use));
        }
        std::sort(out.begin(), out.end(), [](const TraitUse& a, const TraitUse& b) {
          return a.rules != b.rules ? a.rules > b.rules : a.trait < b.trait;
        });
        return out;
      });
}

absl::StatusOr<std::vector<TraitUse>> GroupEngine::Completeness(AudienceKind kind,
                                                                std::string_view name) const {
  return worker_->ReadProfiles(
      [&](const ProfileTable& profiles) -> absl::StatusOr<std::vector<TraitUse>> {
        absl::ReaderMutexLock lock(&mu_);
        uint32_t id = 0;
        const Roaring* members = BitmapOf(kind, name, &id);
        if (members == nullptr) {
          return absl::NotFoundError(
              fmt::format("no {} named \"{}\"", AudienceKindName(kind), name));
        }
        // The plans of its definition.
        std::vector<const Plan*> plans;
        if (kind == AudienceKind::kGroup) {
          if (Group* g = Find(name); g->plan != nullptr) plans.push_back(g->plan.get());
        } else if (kind == AudienceKind::kPersona) {
          for (const auto& p : FindScore(name)->plans) plans.push_back(p.get());
        } else {
          const Group* g = FindNode(kStageNodeKey);
          for (size_t i = 1; i < g->lifecycle.stages.size(); ++i) {
            if (g->lifecycle.stages[i].name == name) plans.push_back(g->plans[i - 1].get());
          }
        }
        absl::flat_hash_map<std::string, uint32_t> rules;
        for (const Plan* plan : plans) {
          for (const std::string& t : plan->traits()) ++rules[t];
        }
        std::vector<TraitUse> out;
        const double alive = static_cast<double>(std::max<size_t>(1, profiles.alive_contacts()));
        const double count = static_cast<double>(std::max<uint64_t>(1, members->cardinality()));
        for (const auto& [trait, n] : rules) {
          TraitUse use{trait, n, 0, 0};
          if (const Column* column = profiles.trait(trait); column != nullptr) {
            size_t filled = 0, in_members = 0;
            for (size_t c = 0; c < column->size(); ++c) {
              if (column->type(c) == ValueType::kNull || profiles.contact(c) == nullptr) continue;
              ++filled;
              in_members += members->contains(static_cast<uint32_t>(c));
            }
            use.filled = members->isEmpty() ? 0 : static_cast<double>(in_members) / count;
            use.filled_overall = static_cast<double>(filled) / alive;
          }
          out.push_back(std::move(use));
        }
        std::sort(out.begin(), out.end(), [](const TraitUse& a, const TraitUse& b) {
          return a.rules != b.rules ? a.rules > b.rules : a.trait < b.trait;
        });
        return out;
      });
}

// ---------------------------------------------------------------------------------------
// Reads

std::vector<GroupInfo> GroupEngine::List() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<GroupInfo> out;
  for (const auto& g : groups_) {
    if (g->kind == Group::Kind::kGroup) out.push_back(InfoOf(*g));
  }
  std::sort(out.begin(), out.end(), [](const GroupInfo& a, const GroupInfo& b) {
    return a.definition.id < b.definition.id;
  });
  return out;
}

absl::StatusOr<GroupInfo> GroupEngine::Get(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  Group* g = Find(name);
  if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
  return InfoOf(*g);
}

absl::StatusOr<MembersPage> GroupEngine::Members(std::string_view name, std::string_view cursor,
                                                 size_t limit) const {
  return AudienceMembers(AudienceKind::kGroup, name, cursor, limit);
}

const Roaring* GroupEngine::BitmapOf(AudienceKind kind, std::string_view name, uint32_t* id) const {
  if (kind == AudienceKind::kGroup) {
    Group* g = Find(name);
    if (g == nullptr) return nullptr;
    *id = g->def.id;
    return &g->members;
  }
  const Group* node = FindNode(kind == AudienceKind::kPersona ? kPersonaNodeKey : kStageNodeKey);
  if (node == nullptr) return nullptr;
  for (const Audience& a : node->audiences) {
    if (a.name == name) {
      *id = a.id;
      return &a.members;
    }
  }
  return nullptr;
}

absl::StatusOr<MembersPage> GroupEngine::AudienceMembers(AudienceKind kind, std::string_view name,
                                                         std::string_view cursor,
                                                         size_t limit) const {
  uint64_t after = 0;
  if (!cursor.empty()) {
    auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), after);
    if (ec != std::errc() || end != cursor.data() + cursor.size()) {
      return absl::InvalidArgumentError(fmt::format("malformed cursor \"{}\"", cursor));
    }
  }
  absl::ReaderMutexLock lock(&mu_);
  uint32_t id = 0;
  const Roaring* members = BitmapOf(kind, name, &id);
  if (members == nullptr) {
    return absl::NotFoundError(fmt::format("no {} named \"{}\"", AudienceKindName(kind), name));
  }
  MembersPage page;
  for (auto it = members->begin(); it != members->end(); ++it) {
    if (*it <= after && !cursor.empty()) continue;
    if (page.contacts.size() == limit) {
      page.next_cursor = std::to_string(page.contacts.back());
      break;
    }
    page.contacts.push_back(*it);
  }
  return page;
}

absl::StatusOr<Roaring> GroupEngine::MemberBitmap(std::string_view name) const {
  return AudienceBitmap(AudienceKind::kGroup, name);
}

absl::StatusOr<Roaring> GroupEngine::AudienceBitmap(AudienceKind kind,
                                                    std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  uint32_t id = 0;
  const Roaring* members = BitmapOf(kind, name, &id);
  if (members == nullptr) {
    return absl::NotFoundError(fmt::format("no {} named \"{}\"", AudienceKindName(kind), name));
  }
  return *members;
}

absl::StatusOr<bool> GroupEngine::IsMember(std::string_view name, ContactId contact) const {
  absl::ReaderMutexLock lock(&mu_);
  Group* g = Find(name);
  if (g == nullptr) return absl::NotFoundError(fmt::format("no group named \"{}\"", name));
  return g->members.contains(static_cast<uint32_t>(contact));
}

std::vector<std::string> GroupEngine::GroupsOf(ContactId contact) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> out;
  for (const auto& g : groups_) {
    if (g->kind == Group::Kind::kGroup && g->members.contains(static_cast<uint32_t>(contact))) {
      out.push_back(g->def.name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<MembershipEvent>> GroupEngine::GroupHistory(std::string_view name,
                                                                       size_t limit) const {
  return AudienceHistory(AudienceKind::kGroup, name, limit);
}

absl::StatusOr<std::vector<MembershipEvent>> GroupEngine::AudienceHistory(AudienceKind kind,
                                                                          std::string_view name,
                                                                          size_t limit) const {
  uint32_t id;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (BitmapOf(kind, name, &id) == nullptr) {
      return absl::NotFoundError(fmt::format("no {} named \"{}\"", AudienceKindName(kind), name));
    }
  }
  std::vector<MembershipEvent> out;
  auto it = store_->NewIterator(Family::kHistory);
  std::string end = GroupHistoryPrefix(id + 1);
  std::string prefix = GroupHistoryPrefix(id);
  it->SeekForPrev(end);
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
    SEGMENTA_ASSIGN_OR_RETURN(
        MembershipEvent e, ParseHistory(std::string_view(it->value().data(), it->value().size())));
    e.group_name = std::string(name);
    e.kind = kind;
    out.push_back(std::move(e));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "reading history"));
  return out;
}

absl::StatusOr<std::vector<MembershipEvent>> GroupEngine::ContactHistory(ContactId contact,
                                                                         size_t limit) const {
  std::vector<MembershipEvent> out;
  auto it = store_->NewIterator(Family::kHistory);
  std::string end = ContactHistoryPrefix(contact + 1);
  std::string prefix = ContactHistoryPrefix(contact);
  it->SeekForPrev(end);
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
    SEGMENTA_ASSIGN_OR_RETURN(
        MembershipEvent e, ParseHistory(std::string_view(it->value().data(), it->value().size())));
    out.push_back(std::move(e));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "reading history"));
  absl::ReaderMutexLock lock(&mu_);
  for (MembershipEvent& e : out) {
    // The current name (a group keeps its name; a stage may be renamed away).
    if (auto g = by_id_.find(e.group); g != by_id_.end()) {
      e.group_name = g->second->def.name;
    } else if (auto a = audience_by_id_.find(e.group); a != audience_by_id_.end()) {
      e.group_name = a->second.first->audiences[a->second.second].name;
    } else if (e.group_name.empty()) {
      e.group_name = fmt::format("(deleted {} {})", AudienceKindName(e.kind), e.group);
    }
  }
  return out;
}

absl::StatusOr<ConditionCheck> GroupEngine::Check(std::string_view condition, bool count) const {
  return worker_->ReadProfiles([&](const ProfileTable& profiles) -> absl::StatusOr<ConditionCheck> {
    absl::ReaderMutexLock lock(&mu_);
    auto plan = Plan::CompileText(condition, SchemaFor(profiles));
    if (!plan.ok()) return plan.status();
    ConditionCheck out;
    out.text = (*plan)->text();
    out.json = (*plan)->json();
    out.warnings = (*plan)->warnings();
    out.time_dependent = (*plan)->time_dependent();
    if (count) {
      Group probe;
      probe.plans = {*plan};
      probe.overall = {OverallValues(**plan, profiles, ToMillis(clock_->Now()))};
      out.matches =
          EvaluateAll(**plan, profiles, EnvFor(probe, 0, ToMillis(clock_->Now()))).cardinality();
    }
    return out;
  });
}

Schema GroupEngine::ConditionSchema(const ProfileTable& profiles) const {
  absl::ReaderMutexLock lock(&mu_);
  return SchemaFor(profiles);
}

bool GroupEngine::MatchesNow(const Plan& plan, const ProfileTable& profiles, ContactId contact,
                             Millis now, const std::vector<Value>& overall,
                             const std::function<Scalar(const Node&)>& visit) const {
  absl::ReaderMutexLock lock(&mu_);
  EvalEnv env;
  env.now = now;
  env.overall = overall;
  env.absent_is_empty = true;
  env.group_members = [this](std::string_view name) -> const Roaring* {
    Group* g = Find(name);
    return g == nullptr ? nullptr : &g->members;
  };
  env.derived = [&](const Node& node, ContactId c) -> Scalar {
    return node.kind == NodeKind::kVisit ? visit(node) : DerivedValue(node, c);
  };
  return Matches(plan, profiles, contact, env);
}

std::vector<Webhook> GroupEngine::WebhooksOf(uint32_t id) const {
  absl::ReaderMutexLock lock(&mu_);
  if (auto g = by_id_.find(id); g != by_id_.end()) return g->second->def.webhooks;
  if (auto a = audience_by_id_.find(id); a != audience_by_id_.end()) {
    return a->second.first->audiences[a->second.second].webhooks;
  }
  return {};
}

size_t GroupEngine::MembershipBytes() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t bytes = 0;
  for (const auto& g : groups_) {
    bytes += g->members.getSizeInBytes();
    for (const Audience& a : g->audiences) bytes += a.members.getSizeInBytes();
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------
// Observer

absl::Status GroupEngine::OnApplied(const ProfileTable& profiles, Millis now,
                                    const std::vector<ContactChange>& changes,
                                    rocksdb::WriteBatch* batch,
                                    const std::function<void()>& let_readers_in) {
  absl::MutexLock lock(&mu_);
  if (groups_.empty()) return absl::OkStatus();
  cache_.Invalidate();
  std::vector<bool> affected(groups_.size());
  for (size_t n = 0; n < changes.size(); ++n) {
    const ContactChange& change = changes[n];
    if (n % 16 == 15) {
      // Readers (a decide, an API read) wait on the profile table, then on this engine:
      // between contacts, each one's memberships are whole, so they may read.
      mu_.Unlock();
      let_readers_in();
      mu_.Lock();
    }
    const absl::Time started = absl::Now();
    std::fill(affected.begin(), affected.end(), false);
    std::string cause;
    if (change.erased) {
      // Listed in static groups: a merged contact's place goes to its survivor.
      for (auto& g : groups_) {
        if (g->kind != Group::Kind::kGroup) continue;
        auto& listed = g->def.contacts;
        auto pos = std::lower_bound(listed.begin(), listed.end(), change.contact);
        if (pos == listed.end() || *pos != change.contact) continue;
        listed.erase(pos);
        if (change.merged_into != 0) {
          auto to = std::lower_bound(listed.begin(), listed.end(), change.merged_into);
          if (to == listed.end() || *to != change.merged_into)
            listed.insert(to, change.merged_into);
        }
        batch->Put(store_->handle(Family::kGroups), GroupKey(g->def.id), g->def.Encode());
      }
      std::fill(affected.begin(), affected.end(), true);
      cause = change.merged_into != 0 ? fmt::format("merged into contact {}", change.merged_into)
                                      : "contact erased";
    } else if (change.merged) {
      std::fill(affected.begin(), affected.end(), true);
      cause = "contacts merged";
    } else {
      for (uint16_t t : change.event_tables) {
        const std::string& key = profiles.table(t).key;
        if (auto it = by_event_.find(key); it != by_event_.end()) {
          for (size_t i : it->second) affected[i] = true;
        }
        if (cause.empty()) cause = "event: " + key;
      }
      if (!change.event_tables.empty()) {
        for (size_t i : by_any_event_) affected[i] = true;
      }
      for (const std::string& trait : change.traits) {
        if (auto it = by_trait_.find(trait); it != by_trait_.end()) {
          for (size_t i : it->second) affected[i] = true;
        }
        if (cause.empty()) cause = "trait: " + trait;
      }
      if (change.accounts) {
        for (size_t i : by_accounts_) affected[i] = true;
        if (cause.empty()) cause = "account";
      }
      // A contact new to the lifecycle enters its first stage, whatever it did.
      if (lifecycle_index_ >= 0 && groups_[lifecycle_index_]->AudienceOf(change.contact) < 0) {
        affected[lifecycle_index_] = true;
        if (cause.empty()) cause = "new contact";
      }
    }
    ReevaluateContact(profiles, change.contact, affected, now, cause, batch);
    const uint64_t nanos = absl::ToInt64Nanoseconds(absl::Now() - started);
    ++stats_.changes;
    stats_.activities += change.activities;
    stats_.nanos += nanos;
    for (bool a : affected) stats_.evaluations += a;
    if (stats_.per_activity_nanos.size() < (1u << 24)) {
      stats_.per_activity_nanos.push_back(static_cast<uint32_t>(
          std::min<uint64_t>(nanos / std::max<uint32_t>(1, change.activities), UINT32_MAX)));
    }
  }
  FlushCounters(batch);
  return absl::OkStatus();
}

KeepCurrentStats GroupEngine::keep_current_stats() const {
  absl::ReaderMutexLock lock(&mu_);
  return stats_;
}

void GroupEngine::ResetKeepCurrentStats() {
  absl::MutexLock lock(&mu_);
  stats_ = KeepCurrentStats();
}

std::optional<Millis> GroupEngine::NextTimer() const {
  absl::ReaderMutexLock lock(&mu_);
  if (!recompute_on_start_.empty()) return std::numeric_limits<Millis>::min();
  std::optional<Millis> next;
  if (!timers_.empty()) next = timers_.front().due;
  for (const auto& g : groups_) {
    if (g->has_overall()) {
      if (!next || next_overall_refresh_ < *next) next = next_overall_refresh_;
      break;
    }
  }
  return next;
}

absl::Status GroupEngine::OnTimer(const ProfileTable& profiles, Millis now,
                                  rocksdb::WriteBatch* batch) {
  absl::MutexLock lock(&mu_);
  // In dependency order.
  for (auto& g : groups_) {
    if (std::find(recompute_on_start_.begin(), recompute_on_start_.end(), g->timer_id()) !=
        recompute_on_start_.end()) {
      Recompute(*g, profiles, now, "time", batch, nullptr);
    }
  }
  recompute_on_start_.clear();
  absl::flat_hash_map<uint32_t, size_t> index_of;
  for (size_t i = 0; i < groups_.size(); ++i) index_of[groups_[i]->timer_id()] = i;
  std::vector<bool> affected(groups_.size());
  while (!timers_.empty() && timers_.front().due <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<Timer>());
    Timer t = timers_.back();
    timers_.pop_back();
    auto found = index_of.find(t.group);
    if (found == index_of.end()) continue;  // the group was deleted
    Group& g = *groups_[found->second];
    if (t.contact >= g.due.size() || g.due[t.contact] != t.due) continue;  // superseded
    g.due[t.contact] = kNoChange;
    std::fill(affected.begin(), affected.end(), false);
    affected[found->second] = true;
    ReevaluateContact(profiles, t.contact, affected, now, "time", batch);
  }
  if (now >= next_overall_refresh_) {
    next_overall_refresh_ = now + kOverallRefresh;
    for (auto& g : groups_) {
      if (!g->has_overall()) continue;
      bool same = true;
      for (size_t i = 0; i < g->plans.size() && same; ++i) {
        same = OverallValues(*g->plans[i], profiles, now) == g->overall[i];
      }
      if (same) continue;
      Recompute(*g, profiles, now, "overall values changed", batch, nullptr);
    }
  }
  FlushCounters(batch);
  return absl::OkStatus();
}

}  // namespace segmenta
