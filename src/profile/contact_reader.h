// Reads contacts, activities and accounts from the store for the API and the CLI.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "profile/contact.h"
#include "store/store.h"

namespace segmenta {

struct Activity {
  int64_t time_ms = 0;
  uint64_t seq = 0;
  std::string json;  // the stored activity object
};

struct ContactPage {
  std::vector<Contact> contacts;
  // Pass as `cursor` to get the next page; empty on the last page.
  std::string next_cursor;
};

struct AccountMembersPage {
  std::vector<ContactId> contacts;
  std::string next_cursor;
};

// Thread-safe: only reads the store.
class ContactReader {
 public:
  explicit ContactReader(const Store* store) : store_(store) {}

  // Finds a contact by any identity: a contact id ("42"), "user:ID", "anonymous:ID",
  // "email:ADDRESS", or a bare value tried as userId, then anonymousId, then e-mail.
  // A contact merged into another resolves to the survivor.
  // Errors: NotFound naming the id.
  absl::StatusOr<Contact> Find(std::string_view id) const;

  // The contact with this id, following merges. Errors: NotFound.
  absl::StatusOr<Contact> FindById(ContactId id) const;

  // The newest `limit` activities of a contact, newest first.
  absl::StatusOr<std::vector<Activity>> Activities(ContactId contact, size_t limit) const;
  // How many activities a contact has (counts by scanning its key range).
  absl::StatusOr<uint64_t> ActivityCount(ContactId contact) const;

  // Contacts in id order from `cursor` (empty: the first), at most `limit`; when
  // `trait` is set, only those whose trait `trait` has the JSON value `trait_json`.
  // Errors: InvalidArgument for a malformed cursor.
  absl::StatusOr<ContactPage> List(std::string_view cursor, size_t limit,
                                   std::string_view trait = {},
                                   std::string_view trait_json = {}) const;

  // Errors: NotFound naming the groupId.
  absl::StatusOr<Account> FindAccount(std::string_view group_id) const;
  absl::StatusOr<AccountMembersPage> AccountMembers(std::string_view group_id,
                                                    std::string_view cursor, size_t limit) const;

 private:
  const Store* store_;
};

// Renders activities as a JSON array.
std::string ActivitiesJson(const std::vector<Activity>& activities);

}  // namespace segmenta
