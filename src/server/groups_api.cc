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
  w.BeginObject().Field("group", e.audience_name).Field("kind", AudienceKindName(e.kind));
  w.Field("contactId", std::to_string(e.contact)).Field("type", e.entered ? "entered" : "exited");
  w.Field("time", FormatTimestamp(FromMillis(e.time_ms))).Field("cause", e.cause).EndObject();
}

using Resolver = std::function<absl::StatusOr<ContactId>(std::string_view)>;

// Appends the contacts of `list` (identities, as strings or numbers) to `out`. Returns the
// 400 naming `field[i]` of one that is no contact's, or nullopt.
std::optional<HttpResponse> ReadContacts(simdjson::dom::array list, std::string_view field,
                                         const Resolver& resolve, std::vector<ContactId>* out) {
  size_t i = 0;
  for (simdjson::dom::element item : list) {
    std::string id = item.is_string()   ? std::string(std::string_view(item))
                     : item.is_uint64() ? std::to_string(uint64_t(item))
                                        : std::string();
    absl::StatusOr<ContactId> c =
        id.empty() ? absl::InvalidArgumentError("not an id") : resolve(id);
    if (!c.ok()) {
      return BadParameter(fmt::format("{}[{}]", field, i), std::string(c.status().message()));
    }
    out->push_back(*c);
    ++i;
  }
  return std::nullopt;
}

// Reads the definition in a POST/PUT body. Errors: a 400 naming the field.
std::variant<GroupDefinition, HttpResponse> ReadDefinition(simdjson::dom::element root,
                                                           const Resolver& resolve, bool* async) {
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
    if (auto bad = ReadContacts(list, "contacts", resolve, &def.contacts)) return *bad;
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

GroupsApi::GroupsApi(const Store* store, AudienceEngine* engine, JobsApi* jobs)
    : reader_(store), engine_(engine), jobs_(jobs) {}

absl::StatusOr<ContactId> GroupsApi::Resolve(std::string_view identity) const {
  absl::StatusOr<Contact> c = reader_.Find(identity);
  if (!c.ok()) return c.status();
  return c->id;
}

std::optional<HttpResponse> GroupsApi::CheckCondition(RouteCall& call) {
  simdjson::dom::element root = call.body(), condition;
  if (root["condition"].get(condition) != simdjson::SUCCESS ||
      !(condition.is_string() || condition.is_object())) {
    return BadParameter("condition", "is required: the text form (a string) or the JSON form");
  }
  bool count = false;
  if (root["count"].get(count) != simdjson::SUCCESS) count = false;
  std::string text =
      condition.is_string() ? std::string(std::string_view(condition)) : MinifiedJson(condition);
  absl::StatusOr<ConditionCheck> check = engine_->conditions().Check(text, count);
  if (!check.ok()) {
    JsonWriter w;
    w.BeginArray().BeginObject().Field("field", "condition");
    w.Field("reason", std::string(check.status().message())).EndObject().EndArray();
    return ErrorResponse(400, "invalid_condition", std::string(check.status().message()), w.str());
  }
  JsonWriter w;
  w.BeginObject().Field("valid", true).Field("condition", check->text);
  w.Key("conditionJson").Raw(check->json).Field("timeDependent", check->time_dependent);
  w.Key("warnings").BeginArray();
  for (const std::string& s : check->warnings) w.String(s);
  w.EndArray();
  if (check->matches) w.Field("matches", *check->matches);
  w.EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> GroupsApi::ContactGroups(RouteCall& call) {
  return ContactReply(reader_, call.param("id"), [this](ContactId contact, JsonWriter& w) {
    w.Key("groups").BeginArray();
    for (const std::string& g : engine_->groups().Of(contact)) w.String(g);
    w.EndArray();
    return absl::OkStatus();
  });
}

std::optional<HttpResponse> GroupsApi::ContactHistory(RouteCall& call) {
  PageParams page;
  if (auto bad = call.ReadPage(&page)) return bad;
  return ContactReply(reader_, call.param("id"), [&](ContactId contact, JsonWriter& w) {
    auto history = engine_->audiences().ContactHistory(contact, page.limit);
    if (!history.ok()) return history.status();
    w.Key("history").BeginArray();
    for (const MembershipEvent& e : *history) EventJson(w, e);
    w.EndArray();
    return absl::OkStatus();
  });
}

std::optional<HttpResponse> GroupsApi::List(RouteCall& call) {
  JsonWriter w;
  w.BeginObject().Key("groups").BeginArray();
  for (const GroupInfo& info : engine_->groups().List()) w.Raw(GroupJson(info));
  w.EndArray().EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> GroupsApi::Create(RouteCall& call) {
  return StartJob(call, "create", 201,
                  [engine = engine_](const GroupDefinition& d, std::shared_ptr<JobProgress> p) {
                    return engine->groups().Create(d, std::move(p));
                  });
}

std::optional<HttpResponse> GroupsApi::Get(RouteCall& call) {
  return JsonReplyOr(engine_->groups().Get(call.param("name")), GroupJson);
}

std::optional<HttpResponse> GroupsApi::Update(RouteCall& call) {
  return StartJob(call, "update", 200,
                  [engine = engine_, name = call.param("name")](const GroupDefinition& d,
                                                                std::shared_ptr<JobProgress> p) {
                    return engine->groups().Update(name, d, std::move(p));
                  });
}

std::optional<HttpResponse> GroupsApi::Delete(RouteCall& call) {
  const std::string& name = call.param("name");
  absl::Status deleted = engine_->groups().Delete(name);
  if (!deleted.ok()) return StatusReply(deleted);
  JsonWriter w;
  w.BeginObject().Field("name", name).Field("deleted", true).EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> GroupsApi::Count(RouteCall& call) {
  const std::string& name = call.param("name");
  auto info = engine_->groups().Get(name);
  if (!info.ok()) return StatusReply(info.status());
  JsonWriter w;
  w.BeginObject().Field("name", name).Field("count", info->members).EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> GroupsApi::History(RouteCall& call) {
  PageParams page;
  if (auto bad = call.ReadPage(&page)) return bad;
  auto history = engine_->audiences().History(AudienceKind::kGroup, call.param("name"), page.limit);
  if (!history.ok()) return StatusReply(history.status());
  JsonWriter w;
  w.BeginObject().Key("history").BeginArray();
  for (const MembershipEvent& e : *history) EventJson(w, e);
  w.EndArray().EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> GroupsApi::IsMember(RouteCall& call) {
  const std::string& name = call.param("name");
  absl::StatusOr<ContactId> contact = Resolve(call.param("contact"));
  if (!contact.ok()) return StatusReply(contact.status());
  auto member = engine_->groups().IsMember(name, *contact);
  if (!member.ok()) return StatusReply(member.status());
  JsonWriter w;
  w.BeginObject().Field("group", name).Field("contactId", std::to_string(*contact));
  w.Field("member", *member).EndObject();
  return JsonReply(200, w.Take());
}

std::optional<HttpResponse> GroupsApi::Members(RouteCall& call) {
  PageParams page;
  if (auto bad = call.ReadPage(&page)) return bad;
  const std::string& name = call.param("name");
  auto members = engine_->audiences().Members(AudienceKind::kGroup, name, page.cursor, page.limit);
  if (!members.ok()) return StatusReply(members.status());
  return JsonReply(200, MembersJson("group", name, *members, page.expand ? &reader_ : nullptr));
}

std::optional<HttpResponse> GroupsApi::EditMembers(RouteCall& call) {
  simdjson::dom::element root = call.body();
  std::vector<ContactId> add, remove;
  std::vector<std::string> add_accounts, remove_accounts;
  for (auto [field, contacts] : {std::pair{"add", &add}, std::pair{"remove", &remove}}) {
    simdjson::dom::array list;
    if (root[field].get(list) != simdjson::SUCCESS) continue;
    if (auto bad = ReadContacts(
            list, field, [this](std::string_view id) { return Resolve(id); }, contacts)) {
      return bad;
    }
  }
  for (auto [field, accounts] :
       {std::pair{"addAccounts", &add_accounts}, std::pair{"removeAccounts", &remove_accounts}}) {
    simdjson::dom::array list;
    if (root[field].get(list) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element item : list) {
      std::string_view a;
      if (item.get(a) != simdjson::SUCCESS) return BadParameter(field, "must hold strings");
      accounts->emplace_back(a);
    }
  }
  return JsonReplyOr(
      engine_->groups().EditStatic(call.param("name"), add, remove, add_accounts, remove_accounts),
      GroupJson);
}

std::optional<HttpResponse> GroupsApi::StartJob(RouteCall& call, std::string kind,
                                                int success_status, DefinitionChange change) {
  bool async = false;
  auto def = ReadDefinition(
      call.body(), [this](std::string_view id) { return Resolve(id); }, &async);
  if (auto* bad = std::get_if<HttpResponse>(&def)) return *bad;
  return jobs_->Start(
      call, std::move(kind), "group",
      DefinitionChangeJob([change = std::move(change), d = std::get<GroupDefinition>(def)](
                              std::shared_ptr<JobProgress> p) { return change(d, std::move(p)); },
                          GroupJson),
      async, success_status);
}

}  // namespace segmenta
