#include "server/admin_api.h"

#include <charconv>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "server/replies.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

using Params = QueryParams;

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

enum class AdminRoute { kContacts, kContact, kContactExport, kAccount, kStats, kKeys, kKey };

}  // namespace

AdminApi::AdminApi(const Store* store, Worker* worker, KeyRing* keys, Clock* clock)
    : reader_(store), worker_(worker), keys_(keys), clock_(clock) {}

void AdminApi::Handle(const HttpRequest& request, Responder respond) {
  std::optional<HttpResponse> response = Route(request, respond);
  if (response) respond(*std::move(response));
}

std::optional<HttpResponse> AdminApi::Route(const HttpRequest& request, const Responder& respond) {
  const std::string& method = request.method;
  if (request.path == "/health") {
    if (method != "GET" && method != "HEAD") return MethodNotAllowed(request.path, "GET");
    return Json(200, R"({"status":"ok"})");
  }

  // Path segments, still percent-encoded (an id may hold an encoded '/').
  const std::vector<std::string_view> parts = PathSegments(request.path);
  AdminRoute route;
  std::vector<std::string_view> allow = {"GET"};
  size_t n = parts.size();
  if (n < 2 || parts[0] != "api") {
    return ErrorResponse(404, "not_found", fmt::format("no route {}", request.path));
  } else if (n == 2 && parts[1] == "contacts") {
    route = AdminRoute::kContacts;
  } else if (n == 3 && parts[1] == "contacts" && !parts[2].empty()) {
    route = AdminRoute::kContact;
    allow = {"GET", "DELETE"};
  } else if (n == 4 && parts[1] == "contacts" && !parts[2].empty() && parts[3] == "export") {
    route = AdminRoute::kContactExport;
  } else if (n == 3 && parts[1] == "accounts" && !parts[2].empty()) {
    route = AdminRoute::kAccount;
  } else if (n == 2 && parts[1] == "stats") {
    route = AdminRoute::kStats;
  } else if (n == 2 && parts[1] == "keys") {
    route = AdminRoute::kKeys;
    allow = {"GET", "POST"};
  } else if (n == 3 && parts[1] == "keys" && !parts[2].empty()) {
    route = AdminRoute::kKey;
    allow = {"DELETE"};
  } else {
    return ErrorResponse(404, "not_found", fmt::format("no route {}", request.path));
  }
  bool allowed = false;
  for (std::string_view m : allow)
    allowed = allowed || method == m || (method == "HEAD" && m == "GET");
  if (!allowed) {
    std::string list;
    for (std::string_view m : allow) list += list.empty() ? std::string(m) : ", " + std::string(m);
    return MethodNotAllowed(request.path, list);
  }
  bool mutating = method != "GET" && method != "HEAD";

  std::variant<KeyRecord, HttpResponse> auth = AuthorizeAdmin(request, *keys_, mutating);
  if (auto* refused = std::get_if<HttpResponse>(&auth)) return *refused;
  const KeyRecord* key = &std::get<KeyRecord>(auth);
  std::string note = fmt::format("token={}", key->id);

  absl::StatusOr<Params> params = ParseQuery(request.query);
  if (!params.ok()) {
    return ErrorResponse(400, "invalid_parameter", std::string(params.status().message()));
  }
  auto unknown = [&](std::initializer_list<std::string_view> known,
                     bool trait_filter) -> std::optional<HttpResponse> {
    for (const auto& [name, value] : *params) {
      bool ok = trait_filter && absl::StartsWith(name, "trait.") && name.size() > 6;
      for (std::string_view k : known) ok = ok || name == k;
      if (!ok) return BadParameter(name, "unknown parameter");
    }
    return std::nullopt;
  };

  HttpResponse response;
  switch (route) {
    case AdminRoute::kContact:
    case AdminRoute::kContactExport: {
      const bool erase = method == "DELETE";
      const bool export_all = route == AdminRoute::kContactExport;
      if (auto error =
              erase ? unknown({"suppress"}, false)
                    : unknown(export_all ? std::initializer_list<std::string_view>{}
                                         : std::initializer_list<std::string_view>{"activities"},
                              false)) {
        return *error;
      }
      size_t activities = export_all ? std::numeric_limits<size_t>::max() : 20;
      bool suppress = false;
      for (const auto& [name, value] : *params) {
        if (name == "suppress") {
          if (value != "true" && value != "false") {
            return BadParameter(name, "must be true or false");
          }
          suppress = value == "true";
        } else if (auto error = ParseCount(name, value, 0, 1000, &activities)) {
          return *error;
        }
      }
      absl::StatusOr<std::string> id = PercentDecode(parts[2]);
      if (!id.ok()) return BadParameter("id", std::string(id.status().message()));
      absl::StatusOr<Contact> contact = reader_.Find(*id);
      if (absl::IsNotFound(contact.status())) {
        response = ErrorResponse(404, "not_found", fmt::format("no contact with id \"{}\"", *id));
        break;
      }
      if (!contact.ok()) return StoreError(contact.status());
      if (erase) {
        // Answered once the erasure is durable, from the worker's thread.
        worker_->Erase(contact->id, suppress, [respond, note](absl::StatusOr<EraseResult> erased) {
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
      absl::StatusOr<std::vector<Activity>> list = reader_.Activities(contact->id, activities);
      if (!list.ok()) return StoreError(list.status());
      absl::StatusOr<uint64_t> count = reader_.ActivityCount(contact->id);
      if (!count.ok()) return StoreError(count.status());
      response = Json(200, WithMembers(ContactJson(*contact, ActivitiesJson(*list)),
                                       fmt::format("\"activityCount\":{}", *count)));
      break;
    }
    case AdminRoute::kContacts: {
      if (auto error = unknown({"limit", "cursor"}, true)) return *error;
      size_t limit = 50;
      std::string cursor, trait, trait_json;
      for (const auto& [name, value] : *params) {
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
      response = Json(200, w.Take());
      break;
    }
    case AdminRoute::kAccount: {
      if (auto error = unknown({"limit", "cursor"}, false)) return *error;
      size_t limit = 50;
      std::string cursor;
      for (const auto& [name, value] : *params) {
        if (name == "limit") {
          if (auto error = ParseCount(name, value, 1, 1000, &limit)) return *error;
        } else {
          cursor = value;
        }
      }
      absl::StatusOr<std::string> group_id = PercentDecode(parts[2]);
      if (!group_id.ok()) return BadParameter("groupId", std::string(group_id.status().message()));
      absl::StatusOr<Account> account = reader_.FindAccount(*group_id);
      if (absl::IsNotFound(account.status())) {
        response = ErrorResponse(404, "not_found",
                                 fmt::format("no account with groupId \"{}\"", *group_id));
        break;
      }
      if (!account.ok()) return StoreError(account.status());
      absl::StatusOr<AccountMembersPage> members = reader_.AccountMembers(*group_id, cursor, limit);
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
      response = Json(200, WithMembers(AccountJson(*account),
                                       std::string_view(extra).substr(1, extra.size() - 2)));
      break;
    }
    case AdminRoute::kStats: {
      if (auto error = unknown({}, false)) return *error;
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
          .Field("walSyncs", worker_->wal_syncs())
          .EndObject();
      response = Json(200, w.Take());
      break;
    }
    case AdminRoute::kKeys: {
      if (auto error = unknown({}, false)) return *error;
      if (method == "POST") {
        simdjson::dom::parser parser;
        simdjson::padded_string body(request.body);
        simdjson::dom::element doc;
        if (parser.parse(body).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
          return BadParameter("body", "must be a JSON object {\"kind\": ..., \"name\": ...}");
        }
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
                     key->id);
        JsonWriter w;
        w.BeginObject();
        KeyFields(w, created->first);
        w.Field("secret", created->second).EndObject();
        response = Json(201, w.Take());
      } else {
        JsonWriter w;
        w.BeginObject().Key("keys").BeginArray();
        for (const KeyRecord& record : keys_->List()) {
          w.BeginObject();
          KeyFields(w, record);
          w.EndObject();
        }
        w.EndArray().EndObject();
        response = Json(200, w.Take());
      }
      break;
    }
    case AdminRoute::kKey: {
      if (auto error = unknown({}, false)) return *error;
      absl::StatusOr<std::string> id = PercentDecode(parts[2]);
      if (!id.ok()) return BadParameter("id", std::string(id.status().message()));
      absl::Status revoked = keys_->Revoke(*id);
      if (absl::IsNotFound(revoked)) {
        response = ErrorResponse(404, "not_found", fmt::format("no key with id \"{}\"", *id));
        break;
      }
      if (!revoked.ok()) return StoreError(revoked);
      spdlog::info("revoked key {} with token {}", *id, key->id);
      JsonWriter w;
      w.BeginObject().Field("id", *id).Field("revoked", true).EndObject();
      response = Json(200, w.Take());
      break;
    }
  }
  response.log_note = std::move(note);
  return response;
}

}  // namespace segmenta
