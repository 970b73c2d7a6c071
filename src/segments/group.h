// A contact group (segment): its definition as stored and as the API shows it; the webhooks
// of any audience; and the store keys of groups, memberships and history.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "simdjson.h"
#include "store/keys.h"

namespace segmenta {

// Where the enters and exits of an audience (a group, a persona, the stages) are delivered.
struct Webhook {
  std::string url;     // http://host:port/path
  std::string secret;  // signs each delivery (HMAC-SHA256); never shown back
  bool enter = true;   // deliver enters
  bool exit = true;    // deliver exits
  bool operator==(const Webhook&) const = default;
};

struct GroupDefinition {
  uint32_t id = 0;  // assigned at creation, never reused
  std::string name;
  std::string description;
  // Dynamic groups: the condition, as given (text, or JSON starting with '{').
  // Static groups: empty.
  std::string condition;
  // Static groups: listed contacts, and accounts whose contacts (current and future) are
  // members.
  std::vector<ContactId> contacts;    // sorted, unique
  std::vector<std::string> accounts;  // sorted, unique
  std::vector<Webhook> webhooks;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  bool is_static() const { return condition.empty(); }

  // The stored record (secrets included). Thread-safe.
  std::string Encode() const;
  // Errors: DataLoss for a record Encode() did not write.
  static absl::StatusOr<GroupDefinition> Decode(std::string_view bytes);
};

class JsonWriter;

// Webhooks in stored records (secrets included): written as an array; read back.
// Errors: DataLoss.
void WriteWebhooks(const std::vector<Webhook>& hooks, JsonWriter& w);
absl::Status ReadWebhooks(simdjson::dom::array array, std::vector<Webhook>* out);

// Checks what can be checked of a definition without the data (its name and webhooks),
// and sorts its lists (SortListed). Errors: InvalidArgument saying what is wrong.
absl::Status NormalizeGroup(GroupDefinition* def);
// Sorts the listed contacts and accounts of `def`, each once.
void SortListed(GroupDefinition* def);
// A webhook's URL is http:// or https://, its secret at least 16 characters.
// Errors: InvalidArgument saying which.
absl::Status CheckWebhooks(const std::vector<Webhook>& hooks);

// A name may hold letters, digits, spaces and - _ . ( ) & ' / from 1 to 200 bytes, and
// must not start or end with a space. Errors: InvalidArgument saying what is wrong.
absl::Status CheckGroupName(std::string_view name);

// Store keys.
std::string GroupKey(uint32_t id);
// Memberships and history name any audience (a group, a persona, a stage) by its id.
std::string MembershipKey(uint32_t audience, ContactId contact);
std::string MembershipPrefix(uint32_t audience);
// History: by audience ('g') and by contact ('c'), in time order.
std::string AudienceHistoryKey(uint32_t audience, int64_t time_ms, uint64_t seq);
std::string AudienceHistoryPrefix(uint32_t audience);
std::string ContactHistoryKey(ContactId contact, int64_t time_ms, uint64_t seq);
std::string ContactHistoryPrefix(ContactId contact);

}  // namespace segmenta
