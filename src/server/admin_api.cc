#include "server/admin_api.h"

#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "server/replies.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

HttpResponse Json(int status, std::string body) { return JsonReply(status, std::move(body)); }
HttpResponse StoreError(const absl::Status& status) { return StatusReply(status); }

bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

// A query value as the JSON text a trait holds: a literal (number, true, false, null) or
// an already quoted JSON string as is, anything else as a JSON string.
std::string TraitJson(std::string_view value) {
  if (value == "true" || value == "false" || value == "null" || IsJsonNumber(value)) {
    return std::string(value);
  }
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(value);
    simdjson::dom::element element;
    if (parser.parse(padded).get(element) == simdjson::SUCCESS && element.is_string()) {
      return MinifiedJson(element);
    }
  }
  std::string out;
  AppendJsonString(value, &out);
  return out;
}

void CursorField(JsonWriter& w, const std::string& cursor) {
  w.Key("nextCursor");
  if (cursor.empty()) {
    w.Null();
  } else {
    w.String(cursor);
  }
}

// `object_json` (a JSON object) with `extra` (",\"k\":v..." members) appended.
std::string WithMembers(std::string object_json, std::string_view extra) {
  if (object_json.empty() || object_json.back() != '}') return object_json;
  object_json.pop_back();
  if (object_json.size() > 1) object_json.push_back(',');
  object_json.append(extra);
  object_json.push_back('}');
  return object_json;
}

void KeyFields(JsonWriter& w, const KeyRecord& record) {
  w.Field("id", record.id).Field("name", record.name).Field("kind", KeyKindName(record.kind));
  w.Field("created", FormatTimestamp(FromMillis(record.created_ms)));
}

}  // namespace

AdminApi::AdminApi(const Store* store, Worker* worker, KeyRing* keys, Clock* clock,
                   const AudienceEngine* engine)
    : reader_(store), worker_(worker), keys_(keys), clock_(clock), engine_(engine) {}

std::optional<HttpResponse> AdminApi::Health(RouteCall& call) {
  return Json(200, R"({"status":"ok"})");
}

std::optional<HttpResponse> AdminApi::GetContact(RouteCall& call) {
  size_t activities = 20;
  if (auto n = call.Query("activities")) {
    if (auto error = ParseCount("activities", *n, 0, 1000, &activities)) return *error;
  }
  return ContactWithActivities(call, activities);
}

std::optional<HttpResponse> AdminApi::ExportContact(RouteCall& call) {
  return ContactWithActivities(call, std::numeric_limits<size_t>::max());
}

std::optional<HttpResponse> AdminApi::ContactWithActivities(RouteCall& call, size_t activities) {
  const std::string& id = call.param("id");
  absl::StatusOr<Contact> contact = reader_.Find(id);
  if (absl::IsNotFound(contact.status())) {
    return ErrorResponse(404, "not_found", fmt::format("no contact with id \"{}\"", id));
  }
  if (!contact.ok()) return StoreError(contact.status());
  absl::StatusOr<std::vector<Activity>> list = reader_.Activities(contact->id, activities);
  if (!list.ok()) return StoreError(list.status());
  absl::StatusOr<uint64_t> count = reader_.ActivityCount(contact->id);
  if (!count.ok()) return StoreError(count.status());
  return Json(200, WithMembers(ContactJson(*contact, ActivitiesJson(*list)),
                               fmt::format("\"activityCount\":{}", *count)));
}

std::optional<HttpResponse> AdminApi::EraseContact(RouteCall& call) {
  bool suppress = false;
  if (auto value = call.Query("suppress")) {
    if (*value != "true" && *value != "false") {
      return BadParameter("suppress", "must be true or false");
    }
    suppress = *value == "true";
  }
  const std::string& id = call.param("id");
  absl::StatusOr<Contact> contact = reader_.Find(id);
  if (absl::IsNotFound(contact.status())) {
    return ErrorResponse(404, "not_found", fmt::format("no contact with id \"{}\"", id));
  }
  if (!contact.ok()) return StoreError(contact.status());
  // Answered once the erasure is durable, from the worker's thread.
  worker_->Erase(
      contact->id, suppress,
      [respond = call.respond(), note = call.KeyNote()](absl::StatusOr<EraseResult> erased) {
        HttpResponse r;
        if (absl::IsNotFound(erased.status())) {
          r = ErrorResponse(404, "not_found", std::string(erased.status().message()));
        } else if (!erased.ok()) {
          r = StoreError(erased.status());
        } else {
          JsonWriter w;
          w.BeginObject().Field("id", std::to_string(erased->contact));
          w.Field("erased", true).Field("identities", erased->identities);
          w.Field("activities", erased->activities);
          w.Field("accountMemberships", erased->accounts).EndObject();
          r = Json(200, w.Take());
        }
        r.log_note = note;
        respond(std::move(r));
      });
  return std::nullopt;
}

std::optional<HttpResponse> AdminApi::Contacts(RouteCall& call) {
  size_t limit = 50;
  std::string cursor, trait, trait_json;
  for (const auto& [name, value] : call.query()) {
    if (name == "limit") {
      if (auto error = ParseCount(name, value, 1, 1000, &limit)) return *error;
    } else if (name == "cursor") {
      cursor = value;
    } else if (!trait.empty()) {
      return BadParameter(name, "only one trait.NAME filter is supported");
    } else {
      trait = name.substr(6);
      trait_json = TraitJson(value);
    }
  }
  absl::StatusOr<ContactPage> page = reader_.List(cursor, limit, trait, trait_json);
  if (absl::IsInvalidArgument(page.status())) {
    return BadParameter("cursor", std::string(page.status().message()));
  }
  if (!page.ok()) return StoreError(page.status());
  JsonWriter w;
  w.BeginObject().Key("contacts").BeginArray();
  for (const Contact& contact : page->contacts) w.Raw(ContactJson(contact));
  w.EndArray();
  CursorField(w, page->next_cursor);
  w.EndObject();
  return Json(200, w.Take());
}

std::optional<HttpResponse> AdminApi::GetAccount(RouteCall& call) {
  size_t limit = 50;
  std::string cursor;
  for (const auto& [name, value] : call.query()) {
    if (name == "limit") {
      if (auto error = ParseCount(name, value, 1, 1000, &limit)) return *error;
    } else {
      cursor = value;
    }
  }
  const std::string& group_id = call.param("groupId");
  absl::StatusOr<Account> account = reader_.FindAccount(group_id);
  if (absl::IsNotFound(account.status())) {
    return ErrorResponse(404, "not_found", fmt::format("no account with groupId \"{}\"", group_id));
  }
  if (!account.ok()) return StoreError(account.status());
  absl::StatusOr<AccountMembersPage> members = reader_.AccountMembers(group_id, cursor, limit);
  if (absl::IsInvalidArgument(members.status())) {
    return BadParameter("cursor", std::string(members.status().message()));
  }
  if (!members.ok()) return StoreError(members.status());
  std::string extra;
  JsonWriter w(&extra);
  w.BeginObject().Key("contacts").BeginArray();
  for (ContactId id : members->contacts) w.String(std::to_string(id));
  w.EndArray();
  CursorField(w, members->next_cursor);
  w.EndObject();
  // Reuse the members of the object just written, without its braces.
  return Json(
      200, WithMembers(AccountJson(*account), std::string_view(extra).substr(1, extra.size() - 2)));
}

std::optional<HttpResponse> AdminApi::Stats(RouteCall& call) {
  WorkerStats stats = worker_->stats();
  JsonWriter w;
  w.BeginObject()
      .Field("contacts", stats.contacts)
      .Field("merges", stats.merges)
      .Field("refusedLinks", stats.refused_links)
      .Field("accounts", stats.accounts)
      .Field("activities", stats.activities)
      .Field("duplicates", stats.duplicates)
      .Field("suppressed", stats.suppressed)
      .Field("erased", stats.erased)
      .Field("walSyncs", worker_->wal_syncs());
  if (engine_ != nullptr) {
    const DerivedColumns derived = engine_->DerivedState();
    w.Key("derived").BeginObject().Field("bytes", derived.bytes()).Key("columns").BeginArray();
    for (const DerivedColumn& c : derived.columns()) {
      w.BeginObject().Field("name", c.name).Field("what", c.what).Field("bytes", c.bytes);
      w.EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndObject();
  return Json(200, w.Take());
}

std::optional<HttpResponse> AdminApi::Keys(RouteCall& call) {
  JsonWriter w;
  w.BeginObject().Key("keys").BeginArray();
  for (const KeyRecord& record : keys_->List()) {
    w.BeginObject();
    KeyFields(w, record);
    w.EndObject();
  }
  w.EndArray().EndObject();
  return Json(200, w.Take());
}

std::optional<HttpResponse> AdminApi::CreateKey(RouteCall& call) {
  simdjson::dom::element doc = call.body();
  std::string_view kind_name, name;
  KeyKind kind;
  if (doc["kind"].get(kind_name) != simdjson::SUCCESS || !ParseKeyKind(kind_name, &kind)) {
    return BadParameter("kind", "must be \"write\", \"admin\" or \"read\"");
  }
  if (doc["name"].get(name) != simdjson::SUCCESS || name.empty() || name.size() > 200) {
    return BadParameter("name", "must be a non-empty string of at most 200 bytes");
  }
  auto created = keys_->Create(kind, name, ToMillis(clock_->Now()));
  if (!created.ok()) return StoreError(created.status());
  spdlog::info("created key {} ({}) with token {}", created->first.id, KeyKindName(kind),
               call.key()->id);
  JsonWriter w;
  w.BeginObject();
  KeyFields(w, created->first);
  w.Field("secret", created->second).EndObject();
  return Json(201, w.Take());
}

std::optional<HttpResponse> AdminApi::RevokeKey(RouteCall& call) {
  const std::string& id = call.param("id");
  absl::Status revoked = keys_->Revoke(id);
  if (absl::IsNotFound(revoked)) {
    return ErrorResponse(404, "not_found", fmt::format("no key with id \"{}\"", id));
  }
  if (!revoked.ok()) return StoreError(revoked);
  spdlog::info("revoked key {} with token {}", id, call.key()->id);
  JsonWriter w;
  w.BeginObject().Field("id", id).Field("revoked", true).EndObject();
  return Json(200, w.Take());
}

}  // namespace segmenta
