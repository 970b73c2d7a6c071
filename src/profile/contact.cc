#include "profile/contact.h"

#include <algorithm>

#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace segmenta {
namespace {

// One parser per thread: simdjson parsers keep their buffers between documents.
simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

std::string Minified(simdjson::dom::element element) { return MinifiedJson(element); }

void WriteTraitsRecord(const Traits& traits, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [key, value] : traits) {
    w->Key(key).BeginArray().Raw(value.json).Int(value.updated_ms).EndArray();
  }
  w->EndObject();
}

absl::Status ReadTraitsRecord(simdjson::dom::object object, Traits* traits) {
  for (auto field : object) {
    simdjson::dom::array pair;
    if (field.value.get_array().get(pair) || pair.size() != 2) {
      return absl::DataLossError("malformed trait in a stored record");
    }
    int64_t updated = 0;
    if (pair.at(1).get_int64().get(updated)) {
      return absl::DataLossError("malformed trait time in a stored record");
    }
    (*traits)[std::string(field.key)] = TraitValue{Minified(pair.at(0).value_unsafe()), updated};
  }
  return absl::OkStatus();
}

absl::StatusOr<simdjson::dom::element> ParseRecord(std::string_view bytes, const char* what) {
  simdjson::dom::element root;
  if (ThreadParser().parse(bytes.data(), bytes.size()).get(root)) {
    return absl::DataLossError(fmt::format("malformed {} record in the store", what));
  }
  return root;
}

void WriteTraitsJson(const Traits& traits, JsonWriter* w) {
  w->BeginObject();
  for (const auto& [key, value] : traits) w->Key(key).Raw(value.json);
  w->EndObject();
}

}  // namespace

absl::Status MergeTraitsJson(std::string_view traits_json, int64_t time_ms, Traits* traits,
                             std::vector<std::string>* changed) {
  if (traits_json.empty()) return absl::OkStatus();
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (ThreadParser().parse(traits_json.data(), traits_json.size()).get(root) ||
      root.get_object().get(object)) {
    return absl::InvalidArgumentError("traits must be a JSON object");
  }
  for (auto field : object) {
    auto [it, inserted] = traits->try_emplace(std::string(field.key));
    if (!inserted && it->second.updated_ms > time_ms) continue;
    it->second = TraitValue{Minified(field.value), time_ms};
    if (changed != nullptr) changed->push_back(it->first);
  }
  return absl::OkStatus();
}

void MergeTraits(const Traits& from, Traits* into) {
  for (const auto& [key, value] : from) {
    auto [it, inserted] = into->try_emplace(key, value);
    if (!inserted && value.updated_ms > it->second.updated_ms) it->second = value;
  }
}

std::string Contact::Encode() const {
  JsonWriter w;
  w.BeginObject().Field("id", id).Field("c", created_ms).Field("u", updated_ms);
  w.Key("i").BeginArray();
  for (const Identity& identity : identities) {
    w.BeginArray().String(std::string_view(reinterpret_cast<const char*>(&identity.kind), 1));
    w.String(identity.value).EndArray();
  }
  w.EndArray();
  w.Key("t");
  WriteTraitsRecord(traits, &w);
  w.Key("g").BeginArray();
  for (const std::string& account : accounts) w.String(account);
  w.EndArray();
  w.Key("m").BeginArray();
  for (ContactId m : absorbed) w.Uint(m);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

absl::StatusOr<Contact> Contact::Decode(std::string_view bytes) {
  auto root = ParseRecord(bytes, "contact");
  if (!root.ok()) return root.status();
  Contact c;
  simdjson::dom::object object;
  simdjson::dom::array identities, accounts, absorbed;
  simdjson::dom::object traits;
  if (root->get_object().get(object) || object["id"].get_uint64().get(c.id) ||
      object["c"].get_int64().get(c.created_ms) || object["u"].get_int64().get(c.updated_ms) ||
      object["i"].get_array().get(identities) || object["t"].get_object().get(traits) ||
      object["g"].get_array().get(accounts) || object["m"].get_array().get(absorbed)) {
    return absl::DataLossError("malformed contact record in the store");
  }
  for (auto element : identities) {
    simdjson::dom::array pair;
    std::string_view kind, value;
    if (element.get_array().get(pair) || pair.size() != 2 || pair.at(0).get_string().get(kind) ||
        kind.size() != 1 || pair.at(1).get_string().get(value)) {
      return absl::DataLossError("malformed identity in a contact record");
    }
    c.identities.push_back({static_cast<IdentityKind>(kind[0]), std::string(value)});
  }
  absl::Status s = ReadTraitsRecord(traits, &c.traits);
  if (!s.ok()) return s;
  for (auto element : accounts) {
    std::string_view account;
    if (element.get_string().get(account)) return absl::DataLossError("malformed account list");
    c.accounts.emplace_back(account);
  }
  for (auto element : absorbed) {
    uint64_t id = 0;
    if (element.get_uint64().get(id)) return absl::DataLossError("malformed merge list");
    c.absorbed.push_back(id);
  }
  return c;
}

bool Contact::HasIdentity(const Identity& identity) const {
  return std::find(identities.begin(), identities.end(), identity) != identities.end();
}

bool Contact::AddAccount(std::string_view group_id) {
  auto it = std::lower_bound(accounts.begin(), accounts.end(), group_id);
  if (it != accounts.end() && *it == group_id) return false;
  accounts.insert(it, std::string(group_id));
  return true;
}

void Contact::Absorb(const Contact& other) {
  for (const Identity& identity : other.identities) {
    if (!HasIdentity(identity)) identities.push_back(identity);
  }
  MergeTraits(other.traits, &traits);
  for (const std::string& account : other.accounts) AddAccount(account);
  absorbed.push_back(other.id);
  absorbed.insert(absorbed.end(), other.absorbed.begin(), other.absorbed.end());
  created_ms = std::min(created_ms, other.created_ms);
  updated_ms = std::max(updated_ms, other.updated_ms);
}

std::string Account::Encode() const {
  JsonWriter w;
  w.BeginObject().Field("id", group_id).Field("c", created_ms).Field("u", updated_ms).Key("t");
  WriteTraitsRecord(traits, &w);
  w.EndObject();
  return w.Take();
}

absl::StatusOr<Account> Account::Decode(std::string_view bytes) {
  auto root = ParseRecord(bytes, "account");
  if (!root.ok()) return root.status();
  Account a;
  simdjson::dom::object object, traits;
  std::string_view id;
  if (root->get_object().get(object) || object["id"].get_string().get(id) ||
      object["c"].get_int64().get(a.created_ms) || object["u"].get_int64().get(a.updated_ms) ||
      object["t"].get_object().get(traits)) {
    return absl::DataLossError("malformed account record in the store");
  }
  a.group_id = std::string(id);
  absl::Status s = ReadTraitsRecord(traits, &a.traits);
  if (!s.ok()) return s;
  return a;
}

std::string ContactJson(const Contact& contact, std::string_view activities_json) {
  JsonWriter w;
  w.BeginObject().Field("id", std::to_string(contact.id));
  w.Field("createdAt", FormatTimestamp(FromMillis(contact.created_ms)));
  w.Field("updatedAt", FormatTimestamp(FromMillis(contact.updated_ms)));
  w.Key("identities").BeginArray();
  for (const Identity& identity : contact.identities) {
    w.BeginObject().Field("type", IdentityKindName(identity.kind));
    w.Field("value", identity.value).EndObject();
  }
  w.EndArray();
  w.Key("traits");
  WriteTraitsJson(contact.traits, &w);
  w.Key("accounts").BeginArray();
  for (const std::string& account : contact.accounts) w.String(account);
  w.EndArray();
  w.Key("mergedFrom").BeginArray();
  for (ContactId id : contact.absorbed) w.String(std::to_string(id));
  w.EndArray();
  if (!activities_json.empty()) w.Key("activities").Raw(activities_json);
  w.EndObject();
  return w.Take();
}

std::string AccountJson(const Account& account) {
  JsonWriter w;
  w.BeginObject().Field("groupId", account.group_id);
  w.Field("createdAt", FormatTimestamp(FromMillis(account.created_ms)));
  w.Field("updatedAt", FormatTimestamp(FromMillis(account.updated_ms)));
  w.Key("traits");
  WriteTraitsJson(account.traits, &w);
  w.EndObject();
  return w.Take();
}

}  // namespace segmenta
