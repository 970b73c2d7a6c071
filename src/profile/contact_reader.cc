#include "profile/contact_reader.h"

#include <charconv>

#include "core/status.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

bool ParseContactId(std::string_view text, ContactId* id) {
  if (text.empty() || text.size() > 20) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *id);
  return ec == std::errc() && ptr == text.data() + text.size();
}

std::string HexCursor(ContactId id) { return fmt::format("{:x}", id); }

bool ParseHexCursor(std::string_view text, ContactId* id) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *id, 16);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

absl::StatusOr<Contact> ContactReader::FindById(ContactId id) const {
  // A merged contact leaves a redirect to its survivor (flattened on each merge).
  SEGMENTA_ASSIGN_OR_RETURN(auto redirect, store_->Get(Family::kRedirects, ContactKey(id)));
  if (redirect && redirect->size() == 8) id = DecodeContactKey(*redirect);
  SEGMENTA_ASSIGN_OR_RETURN(auto bytes, store_->Get(Family::kContacts, ContactKey(id)));
  if (!bytes) return absl::NotFoundError(fmt::format("no contact with id {}", id));
  return Contact::Decode(*bytes);
}

absl::StatusOr<Contact> ContactReader::Find(std::string_view id) const {
  struct Attempt {
    char kind;
    std::string_view value;
  };
  std::vector<Attempt> attempts;
  auto strip = [&](std::string_view prefix) {
    if (id.substr(0, prefix.size()) != prefix) return false;
    id.remove_prefix(prefix.size());
    return true;
  };
  if (strip("user:")) {
    attempts.push_back({'u', id});
  } else if (strip("anonymous:")) {
    attempts.push_back({'a', id});
  } else if (strip("email:")) {
    attempts.push_back({'e', id});
  } else {
    ContactId numeric = 0;
    if (ParseContactId(id, &numeric)) {
      auto contact = FindById(numeric);
      if (contact.ok() || !absl::IsNotFound(contact.status())) return contact;
    }
    attempts = {{'u', id}, {'a', id}, {'e', id}};
  }
  for (const Attempt& attempt : attempts) {
    std::string value(attempt.value);
    if (attempt.kind == 'e') {
      for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    SEGMENTA_ASSIGN_OR_RETURN(auto target,
                              store_->Get(Family::kIdentities, IdentityKey(attempt.kind, value)));
    if (target && target->size() == 8) return FindById(DecodeContactKey(*target));
  }
  return absl::NotFoundError(fmt::format("no contact with identity \"{}\"", id));
}

absl::StatusOr<std::vector<Activity>> ContactReader::Activities(ContactId contact,
                                                                size_t limit) const {
  std::vector<Activity> out;
  auto it = store_->NewIterator(Family::kContactActivities);
  std::string prefix = ActivityPrefix(contact);
  // Newest first: seek past the contact's last key and walk back.
  std::string end = ActivityPrefix(contact + 1);
  it->SeekForPrev(end);
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
    ActivityKeyParts parts = DecodeActivityKey(std::string_view(it->key().data(), 24));
    out.push_back({parts.time_ms, parts.seq, {}});
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "reading activities"));
  // Then the bodies, in one batched read.
  std::vector<std::string> keys;
  for (const Activity& a : out) keys.push_back(ActivitySeqKey(a.seq));
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> families(keys.size(),
                                                     store_->handle(Family::kActivities));
  std::vector<std::string> values;
  std::vector<rocksdb::Status> statuses =
      store_->db()->MultiGet(rocksdb::ReadOptions(), families, slices, &values);
  for (size_t i = 0; i < out.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      return absl::DataLossError(
          fmt::format("activity {} of contact {} is missing", out[i].seq, contact));
    }
    SEGMENTA_RETURN_IF_ERROR(FromRocks(statuses[i], "reading activities"));
    out[i].json = std::move(values[i]);
  }
  return out;
}

absl::StatusOr<uint64_t> ContactReader::ActivityCount(ContactId contact) const {
  uint64_t count = 0;
  auto it = store_->NewIterator(Family::kContactActivities);
  std::string prefix = ActivityPrefix(contact);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++count;
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "counting activities"));
  return count;
}

absl::StatusOr<ContactPage> ContactReader::List(std::string_view cursor, size_t limit,
                                                std::string_view trait,
                                                std::string_view trait_json) const {
  ContactId start = 0;
  if (!cursor.empty() && !ParseHexCursor(cursor, &start)) {
    return absl::InvalidArgumentError(fmt::format("malformed cursor \"{}\"", cursor));
  }
  ContactPage page;
  auto it = store_->NewIterator(Family::kContacts);
  for (it->Seek(ContactKey(start)); it->Valid(); it->Next()) {
    if (page.contacts.size() == limit) {
      page.next_cursor = HexCursor(DecodeContactKey(std::string_view(it->key().data(), 8)));
      break;
    }
    SEGMENTA_ASSIGN_OR_RETURN(
        Contact contact, Contact::Decode(std::string_view(it->value().data(), it->value().size())));
    if (!trait.empty()) {
      auto t = contact.traits.find(trait);
      if (t == contact.traits.end() || t->second.json != trait_json) continue;
    }
    page.contacts.push_back(std::move(contact));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "listing contacts"));
  return page;
}

absl::StatusOr<Account> ContactReader::FindAccount(std::string_view group_id) const {
  SEGMENTA_ASSIGN_OR_RETURN(auto bytes, store_->Get(Family::kAccounts, group_id));
  if (!bytes) return absl::NotFoundError(fmt::format("no account with groupId \"{}\"", group_id));
  return Account::Decode(*bytes);
}

absl::StatusOr<AccountMembersPage> ContactReader::AccountMembers(std::string_view group_id,
                                                                 std::string_view cursor,
                                                                 size_t limit) const {
  ContactId start = 0;
  if (!cursor.empty() && !ParseHexCursor(cursor, &start)) {
    return absl::InvalidArgumentError(fmt::format("malformed cursor \"{}\"", cursor));
  }
  AccountMembersPage page;
  std::string prefix = AccountMemberPrefix(group_id);
  auto it = store_->NewIterator(Family::kAccountMembers);
  for (it->Seek(AccountMemberKey(group_id, start)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    ContactId id = ReadBigEndian64(std::string_view(it->key().data() + prefix.size(), 8));
    if (page.contacts.size() == limit) {
      page.next_cursor = HexCursor(id);
      break;
    }
    page.contacts.push_back(id);
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "listing account members"));
  return page;
}

std::string ActivitiesJson(const std::vector<Activity>& activities) {
  std::string out = "[";
  for (size_t i = 0; i < activities.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(activities[i].json);
  }
  out.push_back(']');
  return out;
}

}  // namespace segmenta
