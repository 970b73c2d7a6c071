#include "server/groups_api.h"

#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "server/replies.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

void EventJson(JsonWriter& w, const MembershipEvent& e) {
  w.BeginObject().Field("group", e.group_name).Field("kind", AudienceKindName(e.kind));
  w.Field("contactId", std::to_string(e.contact)).Field("type", e.entered ? "entered" : "exited");
  w.Field("time", FormatTimestamp(FromMillis(e.time_ms))).Field("cause", e.cause).EndObject();
}

// Reads the definition in a POST/PUT body. Errors: a 400 naming the field.
std::variant<GroupDefinition, HttpResponse> ReadDefinition(
    std::string_view body,
    const std::function<absl::StatusOr<ContactId>(std::string_view)>& resolve, bool* async) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return BadParameter("body", "must be a JSON object");
  }
  GroupDefinition def;
  std::string_view text;
  if (root["name"].get(text) != simdjson::SUCCESS) {
    return BadParameter("name", "is required (a string)");
  }
  def.name = std::string(text);
  simdjson::dom::element e;
  if (root["description"].get(e) == simdjson::SUCCESS) {
    if (e.get(text) != simdjson::SUCCESS) return BadParameter("description", "must be a string");
    def.description = std::string(text);
  }
  if (root["condition"].get(e) == simdjson::SUCCESS) {
    if (e.is_string()) {
      def.condition = std::string(std::string_view(e));
    } else if (e.is_object()) {
      def.condition = MinifiedJson(e);
    } else {
      return BadParameter("condition", "must be a string (text form) or an object (JSON form)");
    }
    if (def.condition.empty()) return BadParameter("condition", "must not be empty");
  }
  if (root["contacts"].get(e) == simdjson::SUCCESS) {
    simdjson::dom::array list;
    if (e.get(list) != simdjson::SUCCESS) return BadParameter("contacts", "must be an array");
    size_t i = 0;
    for (simdjson::dom::element item : list) {
      std::string id = item.is_string()   ? std::string(std::string_view(item))
                       : item.is_uint64() ? std::to_string(uint64_t(item))
                                          : std::string();
      absl::StatusOr<ContactId> c =
          id.empty() ? absl::InvalidArgumentError("not an id") : resolve(id);
      if (!c.ok()) {
        return BadParameter(fmt::format("contacts[{}]", i), std::string(c.status().message()));
      }
      def.contacts.push_back(*c);
      ++i;
    }
  }
  if (root["accounts"].get(e) == simdjson::SUCCESS) {
    simdjson::dom::array list;
    if (e.get(list) != simdjson::SUCCESS) return BadParameter("accounts", "must be an array");
    for (simdjson::dom::element item : list) {
      if (item.get(text) != simdjson::SUCCESS) {
        return BadParameter("accounts", "must hold groupIds (strings)");
      }
      def.accounts.emplace_back(text);
    }
  }
  if (!def.condition.empty() && (!def.contacts.empty() || !def.accounts.empty())) {
    return BadParameter("condition",
                        "a group is dynamic (condition) or static (contacts, "
                        "accounts), not both");
  }
  if (auto bad = ReadWebhooksField(root, &def.webhooks)) return *bad;
  bool flag = false;
  if (root["async"].get(flag) == simdjson::SUCCESS) *async = flag;
  return def;
}

}  // namespace

std::string GroupJson(const GroupInfo& info) {
  const GroupDefinition& d = info.definition;
  JsonWriter w;
  w.BeginObject().Field("name", d.name).Field("id", static_cast<uint64_t>(d.id));
  w.Field("description", d.description).Field("kind", d.is_static() ? "static" : "dynamic");
  if (!d.is_static()) {
    w.Field("condition", info.condition_text);
    w.Key("conditionJson").Raw(info.condition_json.empty() ? "null" : info.condition_json);
  } else {
    w.Key("contacts").BeginArray();
    for (ContactId c : d.contacts) w.String(std::to_string(c));
    w.EndArray().Key("accounts").BeginArray();
    for (const std::string& a : d.accounts) w.String(a);
    w.EndArray();
  }
  w.Key("webhooks").BeginArray();
  for (const Webhook& h : d.webhooks) {
    w.BeginObject().Field("url", h.url).Field("enter", h.enter).Field("exit", h.exit).EndObject();
  }
  w.EndArray();
  w.Field("members", info.members).Field("timeDependent", info.time_dependent);
  w.Key("uses").BeginArray();
  for (const std::string& u : info.uses) w.String(u);
  w.EndArray().Key("usedBy").BeginArray();
  for (const std::string& u : info.used_by) w.String(u);
  w.EndArray().Key("warnings").BeginArray();
  for (const std::string& u : info.warnings) w.String(u);
  w.EndArray();
  w.Field("createdAt", FormatTimestamp(FromMillis(d.created_ms)));
  w.Field("updatedAt", FormatTimestamp(FromMillis(d.updated_ms)));
  w.EndObject();
  return w.Take();
}

GroupsApi::GroupsApi(const Store* store, GroupEngine* engine, const KeyRing* keys, JobQueue* jobs)
    : reader_(store), engine_(engine), keys_(keys), jobs_(jobs) {}

bool GroupsApi::Serves(std::string_view path) {
  std::vector<std::string_view> parts = PathSegments(path);
  if (parts.size() < 2 || parts[0] != "api") return false;
  if (parts[1] == "groups" || parts[1] == "jobs" || parts[1] == "conditions") return true;
  return parts[1] == "contacts" && parts.size() == 4 &&
         (parts[3] == "groups" || parts[3] == "history");
}

absl::StatusOr<ContactId> GroupsApi::Resolve(std::string_view identity) const {
  absl::StatusOr<Contact> c = reader_.Find(identity);
  if (!c.ok()) return c.status();
  return c->id;
}

void GroupsApi::Handle(const HttpRequest& request, Responder respond) {
  std::optional<HttpResponse> response = Route(request, respond);
  if (response) respond(*std::move(response));
}

std::optional<HttpResponse> GroupsApi::Route(const HttpRequest& request, const Responder& respond) {
  const std::string& method = request.method;
  const bool mutating = method != "GET" && method != "HEAD";
  std::variant<KeyRecord, HttpResponse> auth = AuthorizeAdmin(request, *keys_, mutating);
  if (auto* refused = std::get_if<HttpResponse>(&auth)) return *refused;
  const std::string note = fmt::format("token={}", std::get<KeyRecord>(auth).id);

  absl::StatusOr<QueryParams> params = ParseQuery(request.query);
  if (!params.ok()) return BadParameter("query", std::string(params.status().message()));
  PageParams page;
  for (const auto& [name, value] : *params) {
    std::optional<HttpResponse> error;
    if (ReadPageParam(name, value, &page, &error)) {
      if (error) return *error;
    } else {
      return BadParameter(name, "unknown parameter");
    }
  }
  auto decoded = DecodedPathSegments(request.path);
  if (auto* bad = std::get_if<HttpResponse>(&decoded)) return *bad;
  const std::vector<std::string>& parts = std::get<std::vector<std::string>>(decoded);
  const size_t n = parts.size();
  auto allow = [&](std::string_view methods) { return CheckMethod(request, methods); };
  auto reply = [&](int status, std::string body) {
    HttpResponse r = JsonReply(status, std::move(body));
    r.log_note = note;
    return r;
  };

  if (parts[1] == "jobs") {
    if (n != 3) return ErrorResponse(404, "not_found", fmt::format("no route {}", request.path));
    if (auto e = allow("GET")) return e;
    std::optional<std::string> job = jobs_->Describe(parts[2]);
    if (!job) return ErrorResponse(404, "not_found", fmt::format("no job \"{}\"", parts[2]));
    return reply(200, *std::move(job));
  }
  if (parts[1] == "conditions") {
    if (n != 3 || parts[2] != "check") {
      return ErrorResponse(404, "not_found", fmt::format("no route {}", request.path));
    }
    if (auto e = allow("POST")) return e;
    simdjson::dom::parser parser;
    simdjson::padded_string padded(request.body);
    simdjson::dom::element root, condition;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
      return BadParameter("body", "must be a JSON object {\"condition\": ...}");
    }
    if (root["condition"].get(condition) != simdjson::SUCCESS ||
        !(condition.is_string() || condition.is_object())) {
      return BadParameter("condition", "is required: the text form (a string) or the JSON form");
    }
    bool count = false;
    if (root["count"].get(count) != simdjson::SUCCESS) count = false;
    std::string text =
        condition.is_string() ? std::string(std::string_view(condition)) : MinifiedJson(condition);
    absl::StatusOr<ConditionCheck> check = engine_->Check(text, count);
    if (!check.ok()) {
      JsonWriter w;
      w.BeginArray().BeginObject().Field("field", "condition");
      w.Field("reason", std::string(check.status().message())).EndObject().EndArray();
      return ErrorResponse(400, "invalid_condition", std::string(check.status().message()),
                           w.str());
    }
    JsonWriter w;
    w.BeginObject().Field("valid", true).Field("condition", check->text);
    w.Key("conditionJson").Raw(check->json).Field("timeDependent", check->time_dependent);
    w.Key("warnings").BeginArray();
    for (const std::string& s : check->warnings) w.String(s);
    w.EndArray();
    if (check->matches) w.Field("matches", *check->matches);
    w.EndObject();
    return reply(200, w.Take());
  }
  if (parts[1] == "contacts") {
    if (auto e = allow("GET")) return e;
    absl::StatusOr<ContactId> contact = Resolve(parts[2]);
    if (!contact.ok()) return StatusReply(contact.status());
    JsonWriter w;
    w.BeginObject().Field("contactId", std::to_string(*contact));
    if (parts[3] == "groups") {
      w.Key("groups").BeginArray();
      for (const std::string& g : engine_->GroupsOf(*contact)) w.String(g);
      w.EndArray();
    } else {
      auto history = engine_->ContactHistory(*contact, page.limit);
      if (!history.ok()) return StatusReply(history.status());
      w.Key("history").BeginArray();
      for (const MembershipEvent& e : *history) EventJson(w, e);
      w.EndArray();
    }
    w.EndObject();
    return reply(200, w.Take());
  }

  // /api/groups...
  auto resolve = [this](std::string_view id) { return Resolve(id); };
  if (n == 2) {
    if (auto e = allow("GET, POST")) return e;
    if (method == "POST") {
      bool async = false;
      auto def = ReadDefinition(request.body, resolve, &async);
      if (auto* bad = std::get_if<HttpResponse>(&def)) return *bad;
      return StartJob(
          "create",
          [this, d = std::get<GroupDefinition>(def)](std::shared_ptr<JobProgress> progress) {
            return engine_->Create(d, progress);
          },
          async, 201, respond);
    }
    JsonWriter w;
    w.BeginObject().Key("groups").BeginArray();
    for (const GroupInfo& info : engine_->List()) w.Raw(GroupJson(info));
    w.EndArray().EndObject();
    return reply(200, w.Take());
  }
  const std::string& name = parts[2];
  if (n == 3) {
    if (auto e = allow("GET, PUT, DELETE")) return e;
    if (method == "GET" || method == "HEAD") {
      auto info = engine_->Get(name);
      if (!info.ok()) return StatusReply(info.status());
      return reply(200, GroupJson(*info));
    }
    if (method == "DELETE") {
      absl::Status deleted = engine_->Delete(name);
      if (!deleted.ok()) return StatusReply(deleted);
      JsonWriter w;
      w.BeginObject().Field("name", name).Field("deleted", true).EndObject();
      return reply(200, w.Take());
    }
    bool async = false;
    auto def = ReadDefinition(request.body, resolve, &async);
    if (auto* bad = std::get_if<HttpResponse>(&def)) return *bad;
    return StartJob(
        "update",
        [this, name, d = std::get<GroupDefinition>(def)](std::shared_ptr<JobProgress> progress) {
          return engine_->Update(name, d, progress);
        },
        async, 200, respond);
  }
  const std::string& sub = parts[3];
  if (sub == "count" && n == 4) {
    if (auto e = allow("GET")) return e;
    auto info = engine_->Get(name);
    if (!info.ok()) return StatusReply(info.status());
    JsonWriter w;
    w.BeginObject().Field("name", name).Field("count", info->members).EndObject();
    return reply(200, w.Take());
  }
  if (sub == "history" && n == 4) {
    if (auto e = allow("GET")) return e;
    auto history = engine_->GroupHistory(name, page.limit);
    if (!history.ok()) return StatusReply(history.status());
    JsonWriter w;
    w.BeginObject().Key("history").BeginArray();
    for (const MembershipEvent& e : *history) EventJson(w, e);
    w.EndArray().EndObject();
    return reply(200, w.Take());
  }
  if (sub == "members" && n == 5) {
    if (auto e = allow("GET")) return e;
    absl::StatusOr<ContactId> contact = Resolve(parts[4]);
    if (!contact.ok()) return StatusReply(contact.status());
    auto member = engine_->IsMember(name, *contact);
    if (!member.ok()) return StatusReply(member.status());
    JsonWriter w;
    w.BeginObject().Field("group", name).Field("contactId", std::to_string(*contact));
    w.Field("member", *member).EndObject();
    return reply(200, w.Take());
  }
  if (sub == "members" && n == 4) {
    if (auto e = allow("GET, POST")) return e;
    if (method == "POST") {
      simdjson::dom::parser parser;
      simdjson::padded_string padded(request.body);
      simdjson::dom::element root;
      if (parser.parse(padded).get(root) != simdjson::SUCCESS || !root.is_object()) {
        return BadParameter("body", "must be a JSON object {\"add\": [...], \"remove\": [...]}");
      }
      std::vector<ContactId> add, remove;
      std::vector<std::string> add_accounts, remove_accounts;
      for (auto [field, contacts] : {std::pair{"add", &add}, std::pair{"remove", &remove}}) {
        simdjson::dom::array list;
        if (root[field].get(list) != simdjson::SUCCESS) continue;
        size_t i = 0;
        for (simdjson::dom::element item : list) {
          std::string id = item.is_string()   ? std::string(std::string_view(item))
                           : item.is_uint64() ? std::to_string(uint64_t(item))
                                              : std::string();
          absl::StatusOr<ContactId> c =
              id.empty() ? absl::InvalidArgumentError("not an id") : Resolve(id);
          if (!c.ok()) {
            return BadParameter(fmt::format("{}[{}]", field, i), std::string(c.status().message()));
          }
          contacts->push_back(*c);
          ++i;
        }
      }
      for (auto [field, accounts] : {std::pair{"addAccounts", &add_accounts},
                                     std::pair{"removeAccounts", &remove_accounts}}) {
        simdjson::dom::array list;
        if (root[field].get(list) != simdjson::SUCCESS) continue;
        for (simdjson::dom::element item : list) {
          std::string_view a;
          if (item.get(a) != simdjson::SUCCESS) return BadParameter(field, "must hold strings");
          accounts->emplace_back(a);
        }
      }
      auto info = engine_->EditStatic(name, add, remove, add_accounts, remove_accounts);
      if (!info.ok()) return StatusReply(info.status());
      return reply(200, GroupJson(*info));
    }
    auto members = engine_->Members(name, page.cursor, page.limit);
    if (!members.ok()) return StatusReply(members.status());
    return reply(200, MembersJson("group", name, *members, page.expand ? &reader_ : nullptr));
  }
  return ErrorResponse(404, "not_found", fmt::format("no route {}", request.path));
}

std::optional<HttpResponse> GroupsApi::StartJob(
    std::string kind, std::function<absl::StatusOr<GroupInfo>(std::shared_ptr<JobProgress>)> run,
    bool async, int success_status, const Responder& respond) {
  return jobs_->Start(
      std::move(kind), "group",
      [run =
           std::move(run)](std::shared_ptr<JobProgress> progress) -> absl::StatusOr<std::string> {
        absl::StatusOr<GroupInfo> info = run(std::move(progress));
        if (!info.ok()) return info.status();
        return GroupJson(*info);
      },
      async, success_status, respond);
}

}  // namespace segmenta
