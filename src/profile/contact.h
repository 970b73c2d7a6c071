// The stored records of a contact and an account, and how two of them merge.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "identity/identity_graph.h"
#include "store/keys.h"

namespace segmenta {

// One trait value (any JSON, kept as minified text) and when it was last set.
struct TraitValue {
  std::string json;
  int64_t updated_ms = 0;
  bool operator==(const TraitValue&) const = default;
};

using Traits = std::map<std::string, TraitValue, std::less<>>;

// Sets each field of the JSON object `traits_json` in `traits` unless the stored value is
// newer than `time_ms`; the names set are appended to `changed` when not null.
// Errors: InvalidArgument when `traits_json` is not an object.
absl::Status MergeTraitsJson(std::string_view traits_json, int64_t time_ms, Traits* traits,
                             std::vector<std::string>* changed = nullptr);
// Folds `from` into `into`: per trait, the newer value wins (ties keep `into`).
void MergeTraits(const Traits& from, Traits* into);

struct Contact {
  ContactId id = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::vector<Identity> identities;
  Traits traits;
  std::vector<std::string> accounts;  // groupIds, sorted, unique
  std::vector<ContactId> absorbed;    // contacts merged into this one

  std::string Encode() const;
  // Errors: DataLoss when `bytes` is not a record Encode() wrote.
  static absl::StatusOr<Contact> Decode(std::string_view bytes);

  bool HasIdentity(const Identity& identity) const;
  // Adds `group_id` to accounts; false when it was there already.
  bool AddAccount(std::string_view group_id);
  // Folds `other` into this contact: identities, traits (newer wins), accounts, absorbed.
  void Absorb(const Contact& other);
  bool operator==(const Contact&) const = default;
};

struct Account {
  std::string group_id;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  Traits traits;

  std::string Encode() const;
  static absl::StatusOr<Account> Decode(std::string_view bytes);
  bool operator==(const Account&) const = default;
};

// JSON of a contact for the API: {"id", "createdAt", "updatedAt", "identities": [...],
// "traits": {...}, "accounts": [...], "mergedFrom": [...]}. `activities_json` (a JSON array)
// is added as "activities" when not empty.
std::string ContactJson(const Contact& contact, std::string_view activities_json = {});
std::string AccountJson(const Account& account);

}  // namespace segmenta
