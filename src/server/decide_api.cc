#include "server/decide_api.h"

#include <variant>

#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "server/replies.h"
#include "simdjson.h"

namespace segmenta {
namespace {

// The 400 of an error whose message is "FIELD: REASON" (the decider's), naming the field.
HttpResponse BadFieldOf(const absl::Status& status) {
  std::string message(status.message());
  size_t colon = message.find(':');
  if (colon == std::string::npos || colon + 2 > message.size()) {
    return BadParameter("body", message);
  }
  return BadParameter(message.substr(0, colon), message.substr(colon + 2));
}

std::string ExperienceJson(const ExperienceInfo& info) {
  const ExperienceDefinition& d = info.definition;
  JsonWriter w;
  w.BeginObject().Field("slot", d.slot).Field("id", uint64_t{d.id});
  w.Field("description", d.description).Key("variations").BeginArray();
  for (const Variation& v : d.variations) {
    w.BeginObject().Field("name", v.name).Field("condition", v.condition);
    w.Key("payload").Raw(v.payload).EndObject();
  }
  w.EndArray().Key("default").Raw(d.default_payload);
  if (d.is_experiment()) {
    w.Field("experiment", d.experiment).Field("audience", d.audience);
    w.Key("allocation").BeginObject();
    for (const auto& [name, percent] : d.allocation) w.Field(name, percent);
    w.EndObject().Field("control", d.control);
  }
  w.Key("warnings").BeginArray();
  for (const std::string& s : info.warnings) w.String(s);
  w.EndArray().Field("createdAt", FormatTimestamp(FromMillis(d.created_ms)));
  w.Field("updatedAt", FormatTimestamp(FromMillis(d.updated_ms))).EndObject();
  return w.Take();
}

std::variant<ExperienceDefinition, HttpResponse> ReadExperience(simdjson::dom::element root,
                                                                std::string slot) {
  simdjson::dom::element e;
  ExperienceDefinition d;
  d.slot = std::move(slot);
  std::string_view text;
  for (auto [key, out] :
       {std::pair{"description", &d.description}, std::pair{"experiment", &d.experiment},
        std::pair{"audience", &d.audience}}) {
    if (root[key].get(e) != simdjson::SUCCESS || e.is_null()) continue;
    if (std::string_view(key) == "audience" && e.is_object()) {
      *out = MinifiedJson(e);
      continue;
    }
    if (e.get(text) != simdjson::SUCCESS) return BadParameter(key, "must be a string");
    *out = std::string(text);
  }
  if (root["default"].get(e) == simdjson::SUCCESS) d.default_payload = MinifiedJson(e);
  simdjson::dom::array variations;
  if (root["variations"].get(e) == simdjson::SUCCESS) {
    if (e.get(variations) != simdjson::SUCCESS) return BadParameter("variations", "an array");
    size_t i = 0;
    for (simdjson::dom::element v : variations) {
      const std::string at = fmt::format("variations[{}]", i++);
      Variation var;
      if (v["name"].get(text) != simdjson::SUCCESS) return BadParameter(at + ".name", "required");
      var.name = std::string(text);
      simdjson::dom::element c;
      if (v["condition"].get(c) == simdjson::SUCCESS && !c.is_null()) {
        if (c.is_string()) {
          var.condition = std::string(std::string_view(c));
        } else if (c.is_object()) {
          var.condition = MinifiedJson(c);
        } else {
          return BadParameter(at + ".condition", "the text form (a string) or the JSON form");
        }
      }
      simdjson::dom::element payload;
      var.payload = v["payload"].get(payload) == simdjson::SUCCESS ? MinifiedJson(payload) : "null";
      d.variations.push_back(std::move(var));
    }
  }
  simdjson::dom::object allocation;
  if (root["allocation"].get(e) == simdjson::SUCCESS) {
    if (e.get(allocation) != simdjson::SUCCESS) {
      return BadParameter("allocation", "must be an object {variation: percent}");
    }
    for (auto [key, value] : allocation) {
      double percent;
      if (value.get(percent) != simdjson::SUCCESS) {
        return BadParameter(fmt::format("allocation.{}", std::string_view(key)), "a number");
      }
      d.allocation.emplace_back(std::string(key), percent);
    }
  }
  if (root["control"].get(e) == simdjson::SUCCESS && e.get(d.control) != simdjson::SUCCESS) {
    return BadParameter("control", "a percent");
  }
  return d;
}

}  // namespace

DecideApi::DecideApi(Decider* decider, Clock* clock) : decider_(decider), clock_(clock) {}

std::optional<HttpResponse> DecideApi::Decide(RouteCall& call) {
  simdjson::dom::element root = call.body();
  std::string_view text;
  DecideRequest d;
  for (auto [field, out] :
       {std::pair{"userId", &d.user_id}, std::pair{"anonymousId", &d.anonymous_id}}) {
    simdjson::dom::element e;
    if (root[field].get(e) != simdjson::SUCCESS || e.is_null()) continue;
    if (e.get(text) != simdjson::SUCCESS) return BadParameter(field, "must be a string");
    *out = std::string(text);
  }
  simdjson::dom::array slots;
  if (root["slots"].get(slots) != simdjson::SUCCESS) {
    return BadParameter("slots", "is required: an array of slot names");
  }
  for (simdjson::dom::element s : slots) {
    if (s.get(text) != simdjson::SUCCESS) return BadParameter("slots", "must hold strings");
    d.slots.emplace_back(text);
  }
  simdjson::dom::element context;
  const bool has_context = root["context"].get(context) == simdjson::SUCCESS;
  absl::StatusOr<Visit> visit =
      ReadVisit(has_context ? &context : nullptr, ToMillis(clock_->Now()), false);
  if (!visit.ok()) return BadFieldOf(visit.status());
  d.visit = *std::move(visit);
  absl::StatusOr<std::vector<Decision>> decisions = decider_->Decide(std::move(d));
  if (!decisions.ok()) return BadFieldOf(decisions.status());
  JsonWriter w;
  w.BeginObject().Key("decisions").BeginArray();
  for (const Decision& x : *decisions) {
    w.BeginObject().Field("slot", x.slot).Field("variation", x.variation);
    w.Key("payload").Raw(x.payload).Field("reason", x.reason);
    if (!x.experiment.empty()) w.Field("experiment", x.experiment);
    w.Field("exposed", x.exposed).EndObject();
  }
  w.EndArray().EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> DecideApi::ListExperiences(RouteCall& call) {
  JsonWriter w;
  w.BeginObject().Key("experiences").BeginArray();
  for (const ExperienceInfo& e : decider_->List()) w.Raw(ExperienceJson(e));
  w.EndArray().EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> DecideApi::GetExperience(RouteCall& call) {
  return JsonReplyOr(decider_->Get(call.param("slot")), ExperienceJson);
}

std::optional<HttpResponse> DecideApi::DeleteExperience(RouteCall& call) {
  return DeletedReply(decider_->Delete(call.param("slot")));
}

std::optional<HttpResponse> DecideApi::PutExperience(RouteCall& call) {
  auto def = ReadExperience(call.body(), call.param("slot"));
  if (auto* bad = std::get_if<HttpResponse>(&def)) return *bad;
  return JsonReplyOr(decider_->Put(std::get<ExperienceDefinition>(std::move(def))), ExperienceJson);
}

namespace {

std::string TemplateJson(const EmailTemplate& t) {
  JsonWriter w;
  w.BeginObject().Field("name", t.name).Field("subject", t.subject).Field("body", t.body);
  w.Key("defaults").BeginObject();
  for (const auto& [k, v] : t.defaults) w.Field(k, v);
  w.EndObject().Field("updatedAt", FormatTimestamp(FromMillis(t.updated_ms))).EndObject();
  return w.Take();
}

std::string RenderedJson(const Decider::RenderedFor& r) {
  JsonWriter w;
  w.BeginObject().Field("contactId", std::to_string(r.contact)).Field("email", r.email);
  w.Field("subject", r.email_content.subject).Field("body", r.email_content.body).EndObject();
  return w.Take();
}

}  // namespace

std::optional<HttpResponse> DecideApi::ListTemplates(RouteCall& call) {
  JsonWriter w;
  w.BeginObject().Key("templates").BeginArray();
  for (const EmailTemplate& t : decider_->ListTemplates()) w.Raw(TemplateJson(t));
  w.EndArray().EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> DecideApi::Render(RouteCall& call) {
  const std::string& name = call.param("name");
  simdjson::dom::element root = call.body();
  std::string_view text;
  if (root["contact"].get(text) == simdjson::SUCCESS) {
    return JsonReplyOr(decider_->RenderFor(name, text), RenderedJson);
  }
  for (auto [field, kind] :
       {std::pair{"group", AudienceKind::kGroup}, std::pair{"persona", AudienceKind::kPersona},
        std::pair{"stage", AudienceKind::kStage}}) {
    if (root[field].get(text) != simdjson::SUCCESS) continue;
    std::string lines;
    std::vector<Decider::Skipped> skipped;
    uint64_t rendered = 0;
    absl::Status s = decider_->RenderAudience(
        name, kind, text,
        [&](const Decider::RenderedFor& r) {
          lines += RenderedJson(r);
          lines += '\n';
          ++rendered;
        },
        &skipped);
    if (!s.ok()) return StatusReply(s);
    JsonWriter w;
    w.BeginObject().Key("summary").BeginObject().Field("rendered", rendered);
    w.Key("skipped").BeginArray();
    for (const auto& k : skipped) {
      w.BeginObject().Field("contactId", std::to_string(k.contact)).Field("reason", k.reason);
      w.EndObject();
    }
    w.EndArray().EndObject().EndObject();
    lines += w.Take();
    lines += '\n';
    HttpResponse r = JsonReply(200, std::move(lines));
    r.content_type = "application/x-ndjson";
    return r;
  }
  return BadParameter("contact", "give \"contact\", or \"group\", \"persona\" or \"stage\"");
}

std::optional<HttpResponse> DecideApi::GetTemplate(RouteCall& call) {
  return JsonReplyOr(decider_->GetTemplate(call.param("name")), TemplateJson);
}

std::optional<HttpResponse> DecideApi::DeleteTemplate(RouteCall& call) {
  return DeletedReply(decider_->DeleteTemplate(call.param("name")));
}

std::optional<HttpResponse> DecideApi::PutTemplate(RouteCall& call) {
  const std::string& name = call.param("name");
  simdjson::dom::element root = call.body();
  EmailTemplate t;
  t.name = name;
  std::string_view text;
  for (auto [key, out] : {std::pair{"subject", &t.subject}, std::pair{"body", &t.body}}) {
    simdjson::dom::element e;
    if (root[key].get(e) != simdjson::SUCCESS) continue;
    if (e.get(text) != simdjson::SUCCESS) return BadParameter(key, "must be a string");
    *out = std::string(text);
  }
  simdjson::dom::object defaults;
  simdjson::dom::element e;
  if (root["defaults"].get(e) == simdjson::SUCCESS) {
    if (e.get(defaults) != simdjson::SUCCESS) {
      return BadParameter("defaults", "must be an object {trait: text}");
    }
    for (auto [k, v] : defaults) {
      if (v.get(text) != simdjson::SUCCESS) {
        return BadParameter(fmt::format("defaults.{}", std::string_view(k)), "a string");
      }
      t.defaults[std::string(k)] = std::string(text);
    }
  }
  absl::Status s = decider_->PutTemplate(t);
  if (!s.ok()) return BadFieldOf(s);
  auto stored = decider_->GetTemplate(name);
  return JsonReply(200, stored.ok() ? TemplateJson(*stored) : "{}");
}

}  // namespace segmenta
