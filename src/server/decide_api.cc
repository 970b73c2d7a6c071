#include "server/decide_api.h"

#include <variant>

#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "server/replies.h"
#include "simdjson.h"

namespace segmenta {
namespace {

HttpResponse WithCors(HttpResponse response) {
  response.headers.emplace_back("Access-Control-Allow-Origin", "*");
  return response;
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

std::variant<ExperienceDefinition, HttpResponse> ReadExperience(std::string_view body,
                                                                std::string slot) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root, e;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return BadParameter("body", "must be a JSON object");
  }
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

DecideApi::DecideApi(Decider* decider, const KeyRing* keys, Clock* clock)
    : decider_(decider), keys_(keys), clock_(clock) {}

bool DecideApi::Serves(std::string_view path) {
  return path == "/v1/decide" || path == "/api/experiences" ||
         path.rfind("/api/experiences/", 0) == 0 || path == "/api/emails" ||
         path.rfind("/api/emails/", 0) == 0;
}

void DecideApi::Handle(const HttpRequest& request, Responder respond) {
  if (decider_ == nullptr) {
    return respond(ErrorResponse(503, "unavailable", "personalization is not running"));
  }
  if (request.path == "/v1/decide") return Decide(request, std::move(respond));
  if (request.path.rfind("/api/emails", 0) == 0) return Emails(request, std::move(respond));
  Experiences(request, std::move(respond));
}

void DecideApi::Decide(const HttpRequest& request, Responder respond) {
  if (request.method == "OPTIONS") {
    HttpResponse r;
    r.status = 204;
    r.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
    r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
    return respond(WithCors(std::move(r)));
  }
  if (request.method != "POST") return respond(MethodNotAllowed(request.path, "POST, OPTIONS"));
  // One parser per io thread: its buffers are reused, not allocated per request.
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(request.body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return respond(WithCors(BadParameter("body", "must be a JSON object")));
  }
  std::string key;
  std::string_view text;
  if (std::string_view h = request.Header("authorization"); !h.empty()) {
    if (!BasicUsername(h, &key)) {
      return respond(WithCors(ErrorResponse(401, "unauthorized",
                                            "use HTTP Basic auth with the write key as username")));
    }
  } else if (root["writeKey"].get(text) == simdjson::SUCCESS) {
    key = std::string(text);
  }
  absl::StatusOr<KeyRecord> record = key.empty() ? absl::NotFoundError("") : keys_->Check(key);
  if (!record.ok() || record->kind != KeyKind::kWrite) {
    return respond(WithCors(ErrorResponse(401, "unauthorized", "a valid write key is required")));
  }
  DecideRequest d;
  for (auto [field, out] :
       {std::pair{"userId", &d.user_id}, std::pair{"anonymousId", &d.anonymous_id}}) {
    simdjson::dom::element e;
    if (root[field].get(e) != simdjson::SUCCESS || e.is_null()) continue;
    if (e.get(text) != simdjson::SUCCESS) {
      return respond(WithCors(BadParameter(field, "must be a string")));
    }
    *out = std::string(text);
  }
  simdjson::dom::array slots;
  if (root["slots"].get(slots) != simdjson::SUCCESS) {
    return respond(WithCors(BadParameter("slots", "is required: an array of slot names")));
  }
  for (simdjson::dom::element s : slots) {
    if (s.get(text) != simdjson::SUCCESS) {
      return respond(WithCors(BadParameter("slots", "must hold strings")));
    }
    d.slots.emplace_back(text);
  }
  simdjson::dom::element context;
  const bool has_context = root["context"].get(context) == simdjson::SUCCESS;
  absl::StatusOr<Visit> visit =
      ReadVisit(has_context ? &context : nullptr, ToMillis(clock_->Now()), false);
  if (!visit.ok()) {
    std::string message(visit.status().message());
    return respond(WithCors(
        BadParameter(message.substr(0, message.find(':')), message.substr(message.find(':') + 2))));
  }
  d.visit = *std::move(visit);
  absl::StatusOr<std::vector<Decision>> decisions = decider_->Decide(std::move(d));
  if (!decisions.ok()) {
    std::string message(decisions.status().message());
    return respond(WithCors(
        BadParameter(message.substr(0, message.find(':')), message.substr(message.find(':') + 2))));
  }
  JsonWriter w;
  w.BeginObject().Key("decisions").BeginArray();
  for (const Decision& x : *decisions) {
    w.BeginObject().Field("slot", x.slot).Field("variation", x.variation);
    w.Key("payload").Raw(x.payload).Field("reason", x.reason);
    if (!x.experiment.empty()) w.Field("experiment", x.experiment);
    w.Field("exposed", x.exposed).EndObject();
  }
  w.EndArray().EndObject();
  HttpResponse r = JsonReply(200, w.Take());
  r.log_note = fmt::format("key={}", record->id);
  respond(WithCors(std::move(r)));
}

void DecideApi::Experiences(const HttpRequest& request, Responder respond) {
  const bool mutating = request.method != "GET" && request.method != "HEAD";
  std::variant<KeyRecord, HttpResponse> auth = AuthorizeAdmin(request, *keys_, mutating);
  if (auto* refused = std::get_if<HttpResponse>(&auth)) return respond(*refused);
  std::string_view rest = request.path;
  rest.remove_prefix(std::string_view("/api/experiences").size());
  if (rest.empty() || rest == "/") {
    if (request.method != "GET") return respond(MethodNotAllowed(request.path, "GET"));
    JsonWriter w;
    w.BeginObject().Key("experiences").BeginArray();
    for (const ExperienceInfo& e : decider_->List()) w.Raw(ExperienceJson(e));
    w.EndArray().EndObject();
    return respond(JsonReply(200, w.Take()));
  }
  absl::StatusOr<std::string> slot = PercentDecode(rest.substr(1));
  if (!slot.ok()) return respond(BadParameter("path", std::string(slot.status().message())));
  if (request.method == "GET") {
    auto info = decider_->Get(*slot);
    if (!info.ok()) return respond(StatusReply(info.status()));
    return respond(JsonReply(200, ExperienceJson(*info)));
  }
  if (request.method == "DELETE") {
    absl::Status s = decider_->Delete(*slot);
    if (!s.ok()) return respond(StatusReply(s));
    return respond(JsonReply(200, R"({"deleted":true})"));
  }
  if (request.method != "PUT") return respond(MethodNotAllowed(request.path, "GET, PUT, DELETE"));
  auto def = ReadExperience(request.body, *slot);
  if (auto* bad = std::get_if<HttpResponse>(&def)) return respond(*bad);
  auto info = decider_->Put(std::get<ExperienceDefinition>(std::move(def)));
  if (!info.ok()) return respond(StatusReply(info.status()));
  respond(JsonReply(200, ExperienceJson(*info)));
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

void DecideApi::Emails(const HttpRequest& request, Responder respond) {
  const bool rendering =
      request.path.size() > 7 && request.path.substr(request.path.size() - 7) == "/render";
  const bool mutating = request.method != "GET" && request.method != "HEAD" && !rendering;
  std::variant<KeyRecord, HttpResponse> auth = AuthorizeAdmin(request, *keys_, mutating);
  if (auto* refused = std::get_if<HttpResponse>(&auth)) return respond(*refused);
  std::string_view rest = request.path;
  rest.remove_prefix(std::string_view("/api/emails").size());
  if (rest.empty() || rest == "/") {
    if (request.method != "GET") return respond(MethodNotAllowed(request.path, "GET"));
    JsonWriter w;
    w.BeginObject().Key("templates").BeginArray();
    for (const EmailTemplate& t : decider_->ListTemplates()) w.Raw(TemplateJson(t));
    w.EndArray().EndObject();
    return respond(JsonReply(200, w.Take()));
  }
  rest.remove_prefix(1);
  if (rendering) rest.remove_suffix(7);
  absl::StatusOr<std::string> name = PercentDecode(rest);
  if (!name.ok()) return respond(BadParameter("path", std::string(name.status().message())));
  simdjson::dom::parser parser;
  simdjson::padded_string padded(request.body.empty() ? std::string_view("{}") : request.body);
  simdjson::dom::element root;
  if ((request.method == "PUT" || rendering) &&
      (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object())) {
    return respond(BadParameter("body", "must be a JSON object"));
  }
  if (rendering) {
    if (request.method != "POST") return respond(MethodNotAllowed(request.path, "POST"));
    std::string_view text;
    if (root["contact"].get(text) == simdjson::SUCCESS) {
      auto r = decider_->RenderFor(*name, text);
      if (!r.ok()) return respond(StatusReply(r.status()));
      return respond(JsonReply(200, RenderedJson(*r)));
    }
    for (auto [field, kind] :
         {std::pair{"group", AudienceKind::kGroup}, std::pair{"persona", AudienceKind::kPersona},
          std::pair{"stage", AudienceKind::kStage}}) {
      if (root[field].get(text) != simdjson::SUCCESS) continue;
      std::string lines;
      std::vector<Decider::Skipped> skipped;
      uint64_t rendered = 0;
      absl::Status s = decider_->RenderAudience(
          *name, kind, text,
          [&](const Decider::RenderedFor& r) {
            lines += RenderedJson(r);
            lines += '\n';
            ++rendered;
          },
          &skipped);
      if (!s.ok()) return respond(StatusReply(s));
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
      return respond(std::move(r));
    }
    return respond(
        BadParameter("contact", "give \"contact\", or \"group\", \"persona\" or \"stage\""));
  }
  if (request.method == "GET") {
    auto t = decider_->GetTemplate(*name);
    if (!t.ok()) return respond(StatusReply(t.status()));
    return respond(JsonReply(200, TemplateJson(*t)));
  }
  if (request.method == "DELETE") {
    absl::Status s = decider_->DeleteTemplate(*name);
    if (!s.ok()) return respond(StatusReply(s));
    return respond(JsonReply(200, R"({"deleted":true})"));
  }
  if (request.method != "PUT") return respond(MethodNotAllowed(request.path, "GET, PUT, DELETE"));
  EmailTemplate t;
  t.name = *name;
  std::string_view text;
  for (auto [key, out] : {std::pair{"subject", &t.subject}, std::pair{"body", &t.body}}) {
    simdjson::dom::element e;
    if (root[key].get(e) != simdjson::SUCCESS) continue;
    if (e.get(text) != simdjson::SUCCESS) return respond(BadParameter(key, "must be a string"));
    *out = std::string(text);
  }
  simdjson::dom::object defaults;
  simdjson::dom::element e;
  if (root["defaults"].get(e) == simdjson::SUCCESS) {
    if (e.get(defaults) != simdjson::SUCCESS) {
      return respond(BadParameter("defaults", "must be an object {trait: text}"));
    }
    for (auto [k, v] : defaults) {
      if (v.get(text) != simdjson::SUCCESS) {
        return respond(BadParameter(fmt::format("defaults.{}", std::string_view(k)), "a string"));
      }
      t.defaults[std::string(k)] = std::string(text);
    }
  }
  absl::Status s = decider_->PutTemplate(t);
  if (!s.ok()) {
    std::string message(s.message());
    size_t colon = message.find(':');
    return respond(BadParameter(message.substr(0, colon), message.substr(colon + 2)));
  }
  auto stored = decider_->GetTemplate(*name);
  respond(JsonReply(200, stored.ok() ? TemplateJson(*stored) : "{}"));
}

}  // namespace segmenta
