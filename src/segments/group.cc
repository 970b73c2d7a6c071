#include "segments/group.h"

#include <algorithm>

#include "core/json_writer.h"
#include "fmt/format.h"
#include "simdjson.h"

namespace segmenta {
namespace {

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xFF));
}

constexpr uint64_t kSignBit = uint64_t{1} << 63;

}  // namespace

void WriteWebhooks(const std::vector<Webhook>& hooks, JsonWriter& w) {
  w.BeginArray();
  for (const Webhook& h : hooks) {
    w.BeginObject().Field("url", h.url).Field("secret", h.secret);
    w.Field("enter", h.enter).Field("exit", h.exit).EndObject();
  }
  w.EndArray();
}

std::string GroupDefinition::Encode() const {
  JsonWriter w;
  w.BeginObject().Field("id", static_cast<uint64_t>(id)).Field("name", name);
  w.Field("description", description).Field("condition", condition);
  w.Key("contacts").BeginArray();
  for (ContactId c : contacts) w.Uint(c);
  w.EndArray().Key("accounts").BeginArray();
  for (const std::string& a : accounts) w.String(a);
  w.EndArray().Key("webhooks");
  WriteWebhooks(webhooks, w);
  w.Field("created", created_ms).Field("updated", updated_ms).EndObject();
  return w.Take();
}

absl::Status ReadWebhooks(simdjson::dom::array webhooks, std::vector<Webhook>* out) {
  for (simdjson::dom::element h : webhooks) {
    Webhook hook;
    std::string_view url, secret;
    if (h["url"].get(url) != simdjson::SUCCESS || h["secret"].get(secret) != simdjson::SUCCESS ||
        h["enter"].get(hook.enter) != simdjson::SUCCESS ||
        h["exit"].get(hook.exit) != simdjson::SUCCESS) {
      return absl::DataLossError("malformed webhook in the store");
    }
    hook.url = std::string(url);
    hook.secret = std::string(secret);
    out->push_back(std::move(hook));
  }
  return absl::OkStatus();
}

absl::StatusOr<GroupDefinition> GroupDefinition::Decode(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  GroupDefinition g;
  uint64_t id = 0;
  std::string_view name, description, condition;
  simdjson::dom::array contacts, accounts, webhooks;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["id"].get(id) != simdjson::SUCCESS || root["name"].get(name) != simdjson::SUCCESS ||
      root["description"].get(description) != simdjson::SUCCESS ||
      root["condition"].get(condition) != simdjson::SUCCESS ||
      root["contacts"].get(contacts) != simdjson::SUCCESS ||
      root["accounts"].get(accounts) != simdjson::SUCCESS ||
      root["webhooks"].get(webhooks) != simdjson::SUCCESS ||
      root["created"].get(g.created_ms) != simdjson::SUCCESS ||
      root["updated"].get(g.updated_ms) != simdjson::SUCCESS) {
    return absl::DataLossError("malformed group record in the store");
  }
  g.id = static_cast<uint32_t>(id);
  g.name = std::string(name);
  g.description = std::string(description);
  g.condition = std::string(condition);
  for (simdjson::dom::element c : contacts) {
    uint64_t v = 0;
    if (c.get(v) != simdjson::SUCCESS) return absl::DataLossError("malformed group contacts");
    g.contacts.push_back(v);
  }
  for (simdjson::dom::element a : accounts) {
    std::string_view v;
    if (a.get(v) != simdjson::SUCCESS) return absl::DataLossError("malformed group accounts");
    g.accounts.emplace_back(v);
  }
  absl::Status hooks = ReadWebhooks(webhooks, &g.webhooks);
  if (!hooks.ok()) return hooks;
  return g;
}

void SortListed(GroupDefinition* def) {
  std::sort(def->contacts.begin(), def->contacts.end());
  def->contacts.erase(std::unique(def->contacts.begin(), def->contacts.end()), def->contacts.end());
  std::sort(def->accounts.begin(), def->accounts.end());
  def->accounts.erase(std::unique(def->accounts.begin(), def->accounts.end()), def->accounts.end());
}

absl::Status CheckWebhooks(const std::vector<Webhook>& hooks) {
  for (const Webhook& hook : hooks) {
    if (hook.url.rfind("http://", 0) != 0 && hook.url.rfind("https://", 0) != 0) {
      return absl::InvalidArgumentError(
          fmt::format("webhook url \"{}\" must start with http:// or https://", hook.url));
    }
    if (hook.secret.size() < 16) {
      return absl::InvalidArgumentError("a webhook secret has at least 16 characters");
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizeGroup(GroupDefinition* def) {
  absl::Status name = CheckGroupName(def->name);
  if (!name.ok()) return name;
  absl::Status hooks = CheckWebhooks(def->webhooks);
  if (!hooks.ok()) return hooks;
  SortListed(def);
  return absl::OkStatus();
}

absl::Status CheckGroupName(std::string_view name) {
  if (name.empty() || name.size() > 200) {
    return absl::InvalidArgumentError("a group name has 1 to 200 bytes");
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return absl::InvalidArgumentError("a group name cannot start or end with a space");
  }
  for (unsigned char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c >= 0x80 ||
              std::string_view(" -_.()&'/").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) {
      return absl::InvalidArgumentError(
          fmt::format("a group name may hold letters, digits, spaces and - _ . ( ) & ' /, not '{}'",
                      static_cast<char>(c)));
    }
  }
  return absl::OkStatus();
}

std::string GroupKey(uint32_t id) {
  std::string key;
  AppendBigEndian32(id, &key);
  return key;
}

std::string MembershipPrefix(uint32_t audience) { return GroupKey(audience); }

std::string MembershipKey(uint32_t audience, ContactId contact) {
  std::string key = MembershipPrefix(audience);
  AppendBigEndian64(contact, &key);
  return key;
}

std::string AudienceHistoryPrefix(uint32_t audience) {
  std::string key = "g";
  AppendBigEndian32(audience, &key);
  return key;
}

std::string AudienceHistoryKey(uint32_t audience, int64_t time_ms, uint64_t seq) {
  std::string key = AudienceHistoryPrefix(audience);
  AppendBigEndian64(static_cast<uint64_t>(time_ms) ^ kSignBit, &key);
  AppendBigEndian64(seq, &key);
  return key;
}

std::string ContactHistoryPrefix(ContactId contact) {
  std::string key = "c";
  AppendBigEndian64(contact, &key);
  return key;
}

std::string ContactHistoryKey(ContactId contact, int64_t time_ms, uint64_t seq) {
  std::string key = ContactHistoryPrefix(contact);
  AppendBigEndian64(static_cast<uint64_t>(time_ms) ^ kSignBit, &key);
  AppendBigEndian64(seq, &key);
  return key;
}

}  // namespace segmenta
