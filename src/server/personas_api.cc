#include "server/personas_api.h"

#include <variant>

#include "analytics/audience.h"
#include "analytics/progressive_profiling.h"
#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "lang/ast.h"
#include "lang/parser.h"
#include "server/replies.h"
#include "simdjson.h"

namespace segmenta {
namespace {

// A condition given as text or as the JSON form. Returns a 400 naming `field`.
std::optional<HttpResponse> ReadCondition(simdjson::dom::element e, const std::string& field,
                                          std::string* out) {
  if (e.is_string()) {
    *out = std::string(std::string_view(e));
  } else if (e.is_object()) {
    *out = MinifiedJson(e);
  } else {
    return BadParameter(field, "must be a string (text form) or an object (JSON form)");
  }
  if (out->empty()) return BadParameter(field, "must not be empty");
  return std::nullopt;
}

std::optional<HttpResponse> ReadDuration(simdjson::dom::element root, const char* key,
                                         const std::string& field, Millis* out) {
  simdjson::dom::element e;
  if (root[key].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  std::string_view text;
  if (e.get(text) != simdjson::SUCCESS) {
    return BadParameter(field, "must be a duration such as \"30 days\"");
  }
  absl::StatusOr<Millis> ms = ParseDuration(text);
  if (!ms.ok()) return BadParameter(field, std::string(ms.status().message()));
  *out = *ms;
  return std::nullopt;
}

std::optional<HttpResponse> ReadNumber(simdjson::dom::element root, const char* key,
                                       const std::string& field, double* out) {
  simdjson::dom::element e;
  if (root[key].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  if (e.get(*out) != simdjson::SUCCESS) return BadParameter(field, "must be a number");
  return std::nullopt;
}

// A score or persona in a POST/PUT body. Errors: a 400 naming the field.
std::variant<ScoreDefinition, HttpResponse> ReadScore(simdjson::dom::element root, bool persona,
                                                      bool* async) {
  ScoreDefinition def;
  def.persona = persona;
  std::string_view text;
  if (root["name"].get(text) != simdjson::SUCCESS) {
    return BadParameter("name", "is required (a string)");
  }
  def.name = std::string(text);
  for (auto [key, out] :
       {std::pair{"description", &def.description}, std::pair{"image", &def.image_url}}) {
    simdjson::dom::element e;
    if (root[key].get(e) != simdjson::SUCCESS || e.is_null()) continue;
    if (e.get(text) != simdjson::SUCCESS) return BadParameter(key, "must be a string");
    *out = std::string(text);
  }
  if (persona) {
    simdjson::dom::element e;
    if (root["threshold"].get(e) != simdjson::SUCCESS) {
      return BadParameter("threshold", "is required: the points that qualify for the persona");
    }
    if (auto bad = ReadNumber(root, "threshold", "threshold", &def.threshold)) return *bad;
  } else if (root["threshold"].error() == simdjson::SUCCESS) {
    return BadParameter("threshold", "only personas have a threshold");
  }
  simdjson::dom::array rules;
  if (root["rules"].get(rules) != simdjson::SUCCESS) {
    return BadParameter("rules", "is required (an array of rules)");
  }
  size_t i = 0;
  for (simdjson::dom::element r : rules) {
    const std::string at = fmt::format("rules[{}]", i++);
    if (!r.is_object()) return BadParameter(at, "must be an object");
    ScoreRule rule;
    std::string_view type;
    if (r["type"].get(type) != simdjson::SUCCESS || !ScoreRuleKindFromName(type, &rule.kind)) {
      return BadParameter(at + ".type", "must be \"attribute\", \"activity\" or \"macro\"");
    }
    const char* field = rule.kind == ScoreRule::Kind::kActivity ? "activity" : "condition";
    simdjson::dom::element c;
    if (r[field].get(c) != simdjson::SUCCESS) {
      return BadParameter(fmt::format("{}.{}", at, field),
                          rule.kind == ScoreRule::Kind::kActivity
                              ? "is required: an event selector such as \"Product Viewed\" "
                                "where category = \"cycling\""
                              : "is required: a condition");
    }
    if (rule.kind == ScoreRule::Kind::kActivity && !c.is_string()) {
      return BadParameter(at + ".activity", "must be a string (an event selector)");
    }
    if (auto bad = ReadCondition(c, fmt::format("{}.{}", at, field), &rule.condition)) {
      return *bad;
    }
    if (r["points"].error() != simdjson::SUCCESS) {
      return BadParameter(at + ".points", "is required (a number; negative takes away)");
    }
    if (auto bad = ReadNumber(r, "points", at + ".points", &rule.points)) return *bad;
    if (auto bad = ReadDuration(r, "within", at + ".within", &rule.within)) return *bad;
    if (auto bad = ReadNumber(r, "cap", at + ".cap", &rule.cap)) return *bad;
    def.rules.push_back(std::move(rule));
  }
  simdjson::dom::element decay;
  if (root["decay"].get(decay) == simdjson::SUCCESS && !decay.is_null()) {
    if (persona) return BadParameter("decay", "personas do not decay; a score may");
    if (!decay.is_object()) return BadParameter("decay", "must be {\"every\", \"percent\"}");
    if (auto bad = ReadDuration(decay, "every", "decay.every", &def.decay.every)) return *bad;
    if (auto bad = ReadNumber(decay, "percent", "decay.percent", &def.decay.percent)) return *bad;
  }
  if (auto bad = ReadWebhooksField(root, &def.webhooks)) return *bad;
  bool flag = false;
  if (root["async"].get(flag) == simdjson::SUCCESS) *async = flag;
  return def;
}

std::variant<LifecycleDefinition, HttpResponse> ReadLifecycle(simdjson::dom::element root,
                                                              bool* async) {
  LifecycleDefinition def;
  simdjson::dom::array stages;
  if (root["stages"].get(stages) != simdjson::SUCCESS) {
    return BadParameter("stages", "is required: [{name, description, condition}, ...]");
  }
  size_t i = 0;
  for (simdjson::dom::element s : stages) {
    const std::string at = fmt::format("stages[{}]", i++);
    StageDefinition stage;
    std::string_view text;
    if (s["name"].get(text) != simdjson::SUCCESS) return BadParameter(at + ".name", "is required");
    stage.name = std::string(text);
    simdjson::dom::element e;
    if (s["description"].get(e) == simdjson::SUCCESS && !e.is_null()) {
      if (e.get(text) != simdjson::SUCCESS) return BadParameter(at + ".description", "a string");
      stage.description = std::string(text);
    }
    if (s["condition"].get(e) == simdjson::SUCCESS && !e.is_null()) {
      if (auto bad = ReadCondition(e, at + ".condition", &stage.condition)) return *bad;
    }
    def.stages.push_back(std::move(stage));
  }
  if (auto bad = ReadWebhooksField(root, &def.webhooks)) return *bad;
  bool flag = false;
  if (root["async"].get(flag) == simdjson::SUCCESS) *async = flag;
  return def;
}

void WebhooksJson(JsonWriter& w, const std::vector<Webhook>& hooks) {
  w.Key("webhooks").BeginArray();
  for (const Webhook& h : hooks) {
    w.BeginObject().Field("url", h.url).Field("enter", h.enter).Field("exit", h.exit).EndObject();
  }
  w.EndArray();
}

void StringsJson(JsonWriter& w, std::string_view key, const std::vector<std::string>& list) {
  w.Key(key).BeginArray();
  for (const std::string& s : list) w.String(s);
  w.EndArray();
}

std::string LifecycleJson(const LifecycleInfo& info) {
  JsonWriter w;
  w.BeginObject().Field("defined", info.defined).Key("stages").BeginArray();
  for (const StageInfo& s : info.stages) {
    w.BeginObject().Field("name", s.definition.name).Field("id", uint64_t{s.definition.id});
    w.Field("description", s.definition.description);
    w.Key("condition");
    if (s.condition_text.empty()) {
      w.Null();
    } else {
      w.String(s.condition_text);
    }
    w.Field("members", s.members).EndObject();
  }
  w.EndArray();
  WebhooksJson(w, info.webhooks);
  StringsJson(w, "warnings", info.warnings);
  if (info.defined) w.Field("updatedAt", FormatTimestamp(FromMillis(info.updated_ms)));
  w.EndObject();
  return w.Take();
}

void DistributionJson(JsonWriter& w, const ScoreDistribution& d, bool persona) {
  w.Key("distribution").BeginObject().Field("contacts", d.contacts).Field("nonzero", d.nonzero);
  w.Field("min", d.min).Field("max", d.max).Field("mean", d.mean).Field("p25", d.p25);
  w.Field("p50", d.p50).Field("p75", d.p75).Field("p90", d.p90).Field("p99", d.p99);
  if (persona) w.Field("qualified", d.qualified);
  w.Key("histogram").BeginArray();
  for (const auto& b : d.histogram) {
    w.BeginObject().Field("from", b.from).Field("to", b.to).Field("contacts", b.contacts);
    w.EndObject();
  }
  w.EndArray().EndObject();
}

void CommerceJson(JsonWriter& w, std::string_view key, const Commerce& c) {
  w.Key(key).BeginObject().Field("converted", c.contacts).Field("orders", c.orders);
  w.Field("revenue", c.revenue).Field("conversionRate", c.conversion_rate);
  w.Field("averageOrderValue", c.average_order_value);
  w.Field("revenuePerContact", c.revenue_per_contact).EndObject();
}

void ProfileJson(JsonWriter& w, const AudienceProfile& p) {
  w.Key("profile").BeginObject().Field("members", p.members).Field("contacts", p.contacts);
  w.Key("topTraits").BeginArray();
  for (const TraitShare& t : p.traits) {
    w.BeginObject().Field("trait", t.trait).Key("value").Raw(t.value);
    w.Field("share", t.share).Field("shareOverall", t.share_overall).Field("lift", t.lift);
    w.EndObject();
  }
  w.EndArray().Key("numericTraits").BeginArray();
  for (const TraitMean& t : p.numbers) {
    w.BeginObject().Field("trait", t.trait).Field("mean", t.mean);
    w.Field("meanOverall", t.mean_overall).Field("filled", t.filled).EndObject();
  }
  w.EndArray().Key("topActivities").BeginArray();
  for (const ActivityShare& a : p.activities) {
    w.BeginObject().Field("event", a.event).Field("activities", a.activities);
    w.Field("perMember", a.per_member).Field("contacts", a.contacts);
    w.Field("contactsOverall", a.contacts_overall).EndObject();
  }
  w.EndArray();
  CommerceJson(w, "commerce", p.commerce);
  CommerceJson(w, "commerceOverall", p.commerce_overall);
  w.EndObject();
}

std::string TraitUsesJson(std::string_view key, const std::vector<TraitUse>& uses) {
  JsonWriter w;
  w.BeginObject().Key(key).BeginArray();
  for (const TraitUse& u : uses) {
    w.BeginObject().Field("trait", u.trait).Field("rules", uint64_t{u.rules});
    if (key == "traits") w.Field("filled", u.filled);
    w.Field("filledOverall", u.filled_overall).EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

}  // namespace

std::string ScoreJson(const ScoreInfo& info) {
  const ScoreDefinition& d = info.definition;
  JsonWriter w;
  w.BeginObject().Field("name", d.name).Field("id", uint64_t{d.id});
  w.Field("description", d.description);
  if (d.persona) w.Field("image", d.image_url).Field("threshold", d.threshold);
  w.Field("persona", d.persona).Key("rules").BeginArray();
  for (const ScoreRule& r : d.rules) {
    w.BeginObject().Field("type", ScoreRuleKindName(r.kind));
    w.Field(r.kind == ScoreRule::Kind::kActivity ? "activity" : "condition", r.condition);
    w.Field("points", r.points);
    if (r.within > 0) w.Field("within", FormatDuration(r.within));
    if (r.cap > 0) w.Field("cap", r.cap);
    w.EndObject();
  }
  w.EndArray();
  if (!d.persona) {
    w.Key("decay");
    if (d.decay.every > 0) {
      w.BeginObject().Field("every", FormatDuration(d.decay.every));
      w.Field("percent", d.decay.percent).EndObject();
    } else {
      w.Null();
    }
  }
  WebhooksJson(w, d.webhooks);
  if (d.persona) w.Field("members", info.members);
  w.Field("timeDependent", info.time_dependent);
  StringsJson(w, "uses", info.uses);
  StringsJson(w, "usedBy", info.used_by);
  StringsJson(w, "warnings", info.warnings);
  w.Field("createdAt", FormatTimestamp(FromMillis(d.created_ms)));
  w.Field("updatedAt", FormatTimestamp(FromMillis(d.updated_ms)));
  w.EndObject();
  return w.Take();
}

PersonasApi::PersonasApi(const Store* store, const Worker* worker, AudienceEngine* engine,
                         JobsApi* jobs)
    : reader_(store), worker_(worker), engine_(engine), jobs_(jobs) {}

absl::StatusOr<ScoreInfo> PersonasApi::FindScore(const std::string& name, ScoreList list) const {
  const bool personas = list == ScoreList::kPersonas;
  auto info = engine_->scores().Get(name);
  if (info.ok() && info->definition.persona != personas) {
    info = absl::NotFoundError(
        fmt::format("no {} named \"{}\" (it is a {}: /api/{})", personas ? "persona" : "score",
                    name, personas ? "score" : "persona", personas ? "scores" : "personas"));
  }
  return info;
}

AudienceProfile PersonasApi::Describe(const RouteCall& call, const Roaring& members) const {
  AudienceOptions options;
  if (auto goal = call.Query("goal")) options.goal_event = std::string(*goal);
  if (auto revenue = call.Query("revenue")) options.revenue_property = std::string(*revenue);
  return worker_->ReadProfiles(
      [&](const ProfileTable& profiles) { return DescribeAudience(profiles, members, options); });
}

std::optional<HttpResponse> PersonasApi::UnknownAudience(AudienceKind kind,
                                                         const std::string& name) const {
  if (kind != AudienceKind::kPersona) return std::nullopt;
  auto info = FindScore(name, ScoreList::kPersonas);
  if (!info.ok()) return StatusReply(info.status());
  return std::nullopt;
}

std::optional<HttpResponse> PersonasApi::Members(RouteCall& call, AudienceKind kind) {
  const std::string& name = call.param("name");
  if (auto unknown = UnknownAudience(kind, name)) return unknown;
  PageParams page;
  if (auto bad = call.ReadPage(&page)) return bad;
  auto members = engine_->audiences().Members(kind, name, page.cursor, page.limit);
  if (!members.ok()) return StatusReply(members.status());
  return JsonReply(
      200, MembersJson(AudienceKindName(kind), name, *members, page.expand ? &reader_ : nullptr));
}

std::optional<HttpResponse> PersonasApi::History(RouteCall& call, AudienceKind kind) {
  const std::string& name = call.param("name");
  if (auto unknown = UnknownAudience(kind, name)) return unknown;
  PageParams page;
  if (auto bad = call.ReadPage(&page)) return bad;
  auto history = engine_->audiences().History(kind, name, page.limit);
  if (!history.ok()) return StatusReply(history.status());
  JsonWriter w;
  w.BeginObject().Key("history").BeginArray();
  for (const MembershipEvent& e : *history) {
    w.BeginObject().Field(AudienceKindName(kind), e.audience_name);
    w.Field("contactId", std::to_string(e.contact));
    w.Field("type", e.entered ? "entered" : "exited");
    w.Field("time", FormatTimestamp(FromMillis(e.time_ms))).Field("cause", e.cause);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> PersonasApi::Completeness(RouteCall& call, AudienceKind kind) {
  const std::string& name = call.param("name");
  if (auto unknown = UnknownAudience(kind, name)) return unknown;
  auto uses = CompletenessNow(*worker_, engine_->audiences(), kind, name);
  if (!uses.ok()) return StatusReply(uses.status());
  return JsonReply(200, TraitUsesJson("traits", *uses));
}

std::optional<HttpResponse> PersonasApi::Profile(RouteCall& call, AudienceKind kind) {
  const std::string& name = call.param("name");
  if (auto unknown = UnknownAudience(kind, name)) return unknown;
  auto members = engine_->audiences().Bitmap(kind, name);
  if (!members.ok()) return StatusReply(members.status());
  JsonWriter w;
  w.BeginObject().Field(AudienceKindName(kind), name);
  ProfileJson(w, Describe(call, *members));
  w.EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> PersonasApi::ScoresOfContact(RouteCall& call) {
  return ContactReply(reader_, call.param("id"), [this](ContactId contact, JsonWriter& w) {
    ContactScores scores = engine_->scores().Of(contact);
    w.Key("scores").BeginArray();
    for (const auto& s : scores.scores) {
      w.BeginObject().Field("name", s.name).Field("points", s.points);
      w.Field("persona", s.persona);
      if (s.persona) w.Field("threshold", s.threshold);
      w.EndObject();
    }
    w.EndArray();
    for (auto [key, value] :
         {std::pair{"persona", &scores.persona}, std::pair{"stage", &scores.stage}}) {
      w.Key(key);
      if (value->empty()) {
        w.Null();
      } else {
        w.String(*value);
      }
    }
    return absl::OkStatus();
  });
}

std::optional<HttpResponse> PersonasApi::NextQuestion(RouteCall& call) {
  return ContactReply(reader_, call.param("id"), [this](ContactId contact, JsonWriter& w) {
    auto missing = MissingTraitsNow(*worker_, engine_->audiences(), contact);
    if (!missing.ok()) return missing.status();
    w.Key("question");
    if (missing->empty()) {
      w.Null();
    } else {
      w.BeginObject().Field("trait", (*missing)[0].trait);
      w.Field("rules", uint64_t{(*missing)[0].rules}).EndObject();
    }
    w.Key("missing").BeginArray();
    for (const TraitUse& u : *missing) {
      w.BeginObject().Field("trait", u.trait).Field("rules", uint64_t{u.rules});
      w.Field("filledOverall", u.filled_overall).EndObject();
    }
    w.EndArray();
    return absl::OkStatus();
  });
}

std::optional<HttpResponse> PersonasApi::Stages(RouteCall& call) {
  return JsonReply(200, LifecycleJson(engine_->stages().Get()));
}

std::optional<HttpResponse> PersonasApi::DeleteStages(RouteCall& call) {
  return DeletedReply(engine_->stages().Delete());
}

std::optional<HttpResponse> PersonasApi::SetStages(RouteCall& call) {
  bool async = false;
  auto def = ReadLifecycle(call.body(), &async);
  if (auto* bad = std::get_if<HttpResponse>(&def)) return *bad;
  return jobs_->Start(
      call, "stages", "stages",
      DefinitionChangeJob(
          [engine = engine_, d = std::get<LifecycleDefinition>(def)](
              std::shared_ptr<JobProgress> p) { return engine->stages().Set(d, p); },
          LifecycleJson),
      async, 200);
}

std::optional<HttpResponse> PersonasApi::List(RouteCall& call, ScoreList list) {
  const bool personas = list == ScoreList::kPersonas;
  JsonWriter w;
  w.BeginObject().Key(personas ? "personas" : "scores").BeginArray();
  for (const ScoreInfo& info : engine_->scores().List(personas)) w.Raw(ScoreJson(info));
  w.EndArray().EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> PersonasApi::Create(RouteCall& call, ScoreList list) {
  return StartJob(call, list, "create", 201,
                  [engine = engine_](const ScoreDefinition& d, std::shared_ptr<JobProgress> p) {
                    return engine->scores().Create(d, std::move(p));
                  });
}

std::optional<HttpResponse> PersonasApi::Update(RouteCall& call, ScoreList list) {
  const std::string& name = call.param("name");
  auto info = FindScore(name, list);
  if (!info.ok()) return StatusReply(info.status());
  return StartJob(
      call, list, "update", 200,
      [engine = engine_, name](const ScoreDefinition& d, std::shared_ptr<JobProgress> p) {
        return engine->scores().Update(name, d, std::move(p));
      });
}

std::optional<HttpResponse> PersonasApi::StartJob(RouteCall& call, ScoreList list, std::string kind,
                                                  int success_status, DefinitionChange change) {
  const bool personas = list == ScoreList::kPersonas;
  bool async = false;
  auto def = ReadScore(call.body(), personas, &async);
  if (auto* bad = std::get_if<HttpResponse>(&def)) return *bad;
  return jobs_->Start(
      call, std::move(kind), personas ? "persona" : "score",
      DefinitionChangeJob([change = std::move(change), d = std::get<ScoreDefinition>(def)](
                              std::shared_ptr<JobProgress> p) { return change(d, std::move(p)); },
                          ScoreJson),
      async, success_status);
}

std::optional<HttpResponse> PersonasApi::Delete(RouteCall& call, ScoreList list) {
  const std::string& name = call.param("name");
  auto info = FindScore(name, list);
  if (!info.ok()) return StatusReply(info.status());
  absl::Status deleted = engine_->scores().Delete(name);
  if (!deleted.ok()) return StatusReply(deleted);
  JsonWriter w;
  w.BeginObject().Field("name", name).Field("deleted", true).EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> PersonasApi::Get(RouteCall& call, ScoreList list) {
  const bool personas = list == ScoreList::kPersonas;
  const std::string& name = call.param("name");
  auto info = FindScore(name, list);
  if (!info.ok()) return StatusReply(info.status());
  auto distribution = engine_->scores().Distribution(name);
  if (!distribution.ok()) return StatusReply(distribution.status());
  std::string json = ScoreJson(*info);
  json.pop_back();  // the object goes on
  JsonWriter rest;
  rest.BeginObject();
  DistributionJson(rest, *distribution, personas);
  if (personas) {
    auto members = engine_->audiences().Bitmap(AudienceKind::kPersona, name);
    if (!members.ok()) return StatusReply(members.status());
    ProfileJson(rest, Describe(call, *members));
  }
  rest.EndObject();
  // {"distribution": …, "profile": …} spliced into the persona's object.
  const std::string tail = rest.Take();
  json += ',';
  json.append(tail, 1);
  return JsonReply(200, std::move(json));
}

}  // namespace segmenta
