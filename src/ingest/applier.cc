#include "ingest/applier.h"

#include <algorithm>
#include <utility>

#include "core/json_writer.h"
#include "core/status.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

// The `email` trait of an identify message, if any.
std::string EmailTrait(std::string_view traits_json) {
  if (traits_json.empty()) return {};
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view email;
  if (parser.parse(traits_json.data(), traits_json.size()).get(root)) return {};
  if (root["email"].get_string().get(email)) return {};
  return std::string(email);
}

}  // namespace

Applier::Applier(Store* store, const WorkerOptions& options, ProfileTable* profiles)
    : store_(store),
      options_(options),
      bulk_load_(store->options().bulk_load),
      graph_(options.identity),
      profiles_(profiles) {
  if (bulk_load_) {
    bulk_message_ids_.reserve(std::min(options.expected_messages, kMaxReservedMessageIds));
  }
}

void Applier::PrepareGrowth(size_t messages, VectorGrowth* growth) {
  // A message names at most a userId, an anonymousId and an e-mail address. Without a
  // profile table no reader waits (an import): the graph's index rehashes in place, moving
  // its keys, instead of being copied key by key.
  if (profiles_ != nullptr) graph_.PrepareGrowth(3 * messages);
  // Doubled as it would grow by itself (reserve alone would make room for just this commit,
  // and rehash again at the next).
  const size_t contacts = contacts_.size() + messages;
  if (contacts > contacts_.bucket_count() * contacts_.max_load_factor()) {
    contacts_.reserve(2 * contacts);
  }
  if (profiles_ != nullptr) profiles_->PrepareGrowth(messages, growth);
}

void Applier::ApplyGrowth(VectorGrowth* growth) {
  graph_.SwapInGrowth();
  growth->Apply();
}

absl::Status Applier::Load() {
  SEGMENTA_RETURN_IF_ERROR(graph_.Load(*store_));
  if (profiles_ != nullptr) SEGMENTA_RETURN_IF_ERROR(profiles_->Load(*store_));
  auto it = store_->NewIterator(Family::kSuppressed);
  for (it->SeekToFirst(); it->Valid(); it->Next()) suppressed_.insert(it->key().ToString());
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "loading suppressed identities"));
  if (bulk_load_) {
    auto messages = store_->NewIterator(Family::kMessages);
    messages->SeekToFirst();
    store_had_messages_ = messages->Valid();
    SEGMENTA_RETURN_IF_ERROR(FromRocks(messages->status(), "reading the messages"));
  }
  SEGMENTA_ASSIGN_OR_RETURN(std::optional<std::string> counters,
                            store_->Get(Family::kMeta, std::string(kMetaCounters)));
  if (!counters) return absl::OkStatus();
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  if (parser.parse(*counters).get_object().get(o) ||
      o["next_contact"].get_uint64().get(next_contact_) ||
      o["next_seq"].get_uint64().get(next_seq_) ||
      o["contacts"].get_uint64().get(stats_.contacts) ||
      o["merges"].get_uint64().get(stats_.merges) ||
      o["refused_links"].get_uint64().get(stats_.refused_links) ||
      o["accounts"].get_uint64().get(stats_.accounts) ||
      o["activities"].get_uint64().get(stats_.activities) ||
      o["duplicates"].get_uint64().get(stats_.duplicates) ||
      o["suppressed"].get_uint64().get(stats_.suppressed) ||
      o["erased"].get_uint64().get(stats_.erased)) {
    return absl::DataLossError("malformed counters record in the store");
  }
  return absl::OkStatus();
}

absl::Status Applier::ApplyCommit(const std::vector<Submission*>& submissions,
                                  std::vector<absl::StatusOr<IngestResult>>* results,
                                  IngestObserver* observer, Millis now, bool run_timers,
                                  const std::function<void()>& between_messages) {
  batch_->Clear();
  activities_.clear();
  // Contacts and accounts stay cached between commits (the writer is their only writer),
  // up to a bound; past it the cache starts over (the caller waited for the previous
  // commit's batch to reach the store: see NeedsStoreCurrent).
  if (CacheFull()) {
    contacts_.clear();
    accounts_.clear();
  }
  dirty_contacts_.clear();
  dirty_accounts_.clear();
  // The previous commit's batch may still be on its way to the store: its messageIds and
  // activities are looked up here until the next commit. A bulk load keeps all of them
  // (the store shows none of them before a spill).
  if (!bulk_load_) {
    std::swap(previous_message_ids_, message_ids_);
    message_ids_.clear();
    std::swap(previous_pending_activities_, pending_activities_);
    pending_activities_.clear();
  }
  changes_.clear();
  results->clear();
  for (Submission* p : submissions) {
    between_messages();
    if (bulk_load_ && (p->task || p->erase)) {
      results->push_back(absl::FailedPreconditionError(
          "tasks and erasures read the store, which a bulk load does not keep current"));
      continue;
    }
    if (p->task && profiles_ == nullptr) {
      results->push_back(absl::FailedPreconditionError(
          "tasks read the profile table, which this worker does not keep"));
      continue;
    }
    if (p->task) {
      absl::Status status = p->task(*profiles_, batch_.get());
      results->push_back(status.ok() ? absl::StatusOr<IngestResult>(IngestResult{}) : status);
      continue;
    }
    if (p->erase) {
      absl::StatusOr<EraseResult> erased = Erase(p->erase->contact, p->erase->suppress);
      if (!erased.ok() && !absl::IsNotFound(erased.status())) return erased.status();
      if (erased.ok()) *p->erase->result = *erased;
      results->push_back(erased.ok() ? absl::StatusOr<IngestResult>(IngestResult{})
                                     : erased.status());
      continue;
    }
    absl::Status valid = CheckSubmission(p->messages);
    if (!valid.ok()) {
      results->push_back(valid);
      continue;
    }
    SEGMENTA_RETURN_IF_ERROR(LookUpStoredIds(p->messages));
    IngestResult result;
    if (bulk_load_) TakeFingerprints(p->messages);
    for (size_t i = 0; i < p->messages.size(); ++i) {
      if (i % 16 == 15) between_messages();
      if (bulk_load_ && i + kPrefetchAhead < p->messages.size()) {
        bulk_message_ids_.prefetch(fingerprints_[i + kPrefetchAhead]);
      }
      SEGMENTA_RETURN_IF_ERROR(
          ApplyMessage(p->messages[i], bulk_load_ ? fingerprints_[i] : absl::uint128(), &result));
    }
    results->push_back(result);
  }
  if (observer != nullptr) {
    if (!changes_.empty()) {
      std::vector<ContactChange> changes;
      changes.reserve(changes_.size());
      for (auto& [id, change] : changes_) changes.push_back(std::move(change));
      std::sort(changes.begin(), changes.end(), [](const ContactChange& a, const ContactChange& b) {
        return a.contact < b.contact;
      });
      SEGMENTA_RETURN_IF_ERROR(
          observer->OnApplied(*profiles_, now, changes, batch_.get(), between_messages));
    }
    if (run_timers) SEGMENTA_RETURN_IF_ERROR(observer->OnTimer(*profiles_, now, batch_.get()));
  }
  for (ContactId id : dirty_contacts_) {
    const Contact& c = contacts_.at(id);
    batch_->Put(store_->handle(Family::kContacts), ContactKey(id), c.Encode());
  }
  for (const std::string& group_id : dirty_accounts_) {
    batch_->Put(store_->handle(Family::kAccounts), group_id, accounts_.at(group_id).Encode());
  }
  batch_->Put(store_->handle(Family::kMeta), std::string(kMetaCounters), CountersJson());
  return absl::OkStatus();
}

bool Applier::NeedsStoreCurrent(const std::deque<Submission>& queued) const {
  if (CacheFull()) return true;
  return std::any_of(queued.begin(), queued.end(),
                     [](const Submission& s) { return s.task || s.erase.has_value(); });
}

std::unique_ptr<rocksdb::WriteBatch> Applier::TakeBatch(std::unique_ptr<rocksdb::WriteBatch> next) {
  std::swap(batch_, next);
  return next;
}

IdentityClaim Applier::ClaimOf(const Message& m) const {
  IdentityClaim claim{m.user_id, m.anonymous_id, {}, m.previous_id};
  if (m.type == MessageType::kIdentify && options_.identity.merge_on_email) {
    claim.email = EmailTrait(m.traits);
  }
  return claim;
}

absl::Status Applier::CheckSubmission(const std::vector<Message>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const Message& m = messages[i];
    bool account_only = m.type == MessageType::kGroup && m.user_id.empty() &&
                        m.anonymous_id.empty() && !m.group_id.empty();
    if (!account_only && !graph_.HasUsableIdentity(ClaimOf(m))) {
      return absl::InvalidArgumentError(
          fmt::format("message {} has no usable userId or anonymousId", i));
    }
    if (m.message_id.empty()) {
      return absl::InvalidArgumentError(fmt::format("message {} has no messageId", i));
    }
  }
  return absl::OkStatus();
}

bool Applier::CacheFull() const {
  if (bulk_load_) return false;
  return contacts_.size() > options_.max_cached_contacts ||
         accounts_.size() > options_.max_cached_contacts;
}

absl::Status Applier::LookUpStoredIds(const std::vector<Message>& messages) {
  stored_ids_.clear();
  std::vector<std::string_view> keys;
  keys.reserve(messages.size());
  for (const Message& m : messages) {
    if (m.check_message_id) keys.push_back(m.message_id);
  }
  // A bulk load into a store that had no message remembers every messageId it wrote.
  if (keys.empty() || (bulk_load_ && !store_had_messages_)) return absl::OkStatus();
  SEGMENTA_ASSIGN_OR_RETURN(std::vector<bool> found, store_->Contains(Family::kMessages, keys));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (found[i]) stored_ids_.insert(AbslView(keys[i]));
  }
  return absl::OkStatus();
}

absl::uint128 Applier::Fingerprint(std::string_view message_id) {
  return absl::MakeUint128(absl::HashOf(AbslView(message_id)),
                           std::hash<std::string_view>{}(message_id));
}

void Applier::PutActivity(uint64_t seq, Message& m) {
  if (bulk_load_) {
    activities_.push_back({ActivitySeqKey(seq), TakeMessageJson(&m)});
    return;
  }
  if (!m.json.empty()) {
    batch_->Put(store_->handle(Family::kActivities), ActivitySeqKey(seq), m.json);
    return;
  }
  MessageJsonParts(m, &activity_scratch_, &activity_parts_);
  activity_slices_.assign(activity_parts_.begin(), activity_parts_.end());
  const std::string key = ActivitySeqKey(seq);
  const rocksdb::Slice key_slice(key);
  batch_->Put(
      store_->handle(Family::kActivities), rocksdb::SliceParts(&key_slice, 1),
      rocksdb::SliceParts(activity_slices_.data(), static_cast<int>(activity_slices_.size())));
}

void Applier::TakeFingerprints(const std::vector<Message>& messages) {
  fingerprints_.resize(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    fingerprints_[i] =
        messages[i].check_message_id ? Fingerprint(messages[i].message_id) : absl::uint128();
  }
}

void Applier::RememberMessageId(const std::string& message_id, absl::uint128 fingerprint) {
  if (bulk_load_) {
    bulk_message_ids_.insert(fingerprint);
  } else {
    message_ids_.insert(message_id);
  }
}

bool Applier::IsDuplicate(const std::string& message_id, absl::uint128 fingerprint) const {
  if (bulk_load_ && bulk_message_ids_.contains(fingerprint)) return true;
  return message_ids_.contains(message_id) || previous_message_ids_.contains(message_id) ||
         stored_ids_.contains(message_id);
}

absl::StatusOr<Contact*> Applier::LoadContact(ContactId id) {
  auto it = contacts_.find(id);
  if (it != contacts_.end()) return &it->second;
  SEGMENTA_ASSIGN_OR_RETURN(auto bytes, store_->Get(Family::kContacts, ContactKey(id)));
  if (!bytes) {
    return absl::DataLossError(fmt::format("identity points to missing contact {}", id));
  }
  SEGMENTA_ASSIGN_OR_RETURN(Contact contact, Contact::Decode(*bytes));
  return &contacts_.emplace(id, std::move(contact)).first->second;
}

absl::StatusOr<Account*> Applier::LoadAccount(const std::string& group_id, int64_t time_ms) {
  auto it = accounts_.find(group_id);
  if (it != accounts_.end()) return &it->second;
  SEGMENTA_ASSIGN_OR_RETURN(auto bytes, store_->Get(Family::kAccounts, group_id));
  Account account;
  if (bytes) {
    SEGMENTA_ASSIGN_OR_RETURN(account, Account::Decode(*bytes));
  } else {
    account.group_id = group_id;
    account.created_ms = time_ms;
    account.updated_ms = time_ms;
    ++stats_.accounts;
    dirty_accounts_.insert(group_id);
  }
  return &accounts_.emplace(group_id, std::move(account)).first->second;
}

absl::Status Applier::UpsertAccount(const Message& m, int64_t time_ms) {
  SEGMENTA_ASSIGN_OR_RETURN(Account * account, LoadAccount(m.group_id, time_ms));
  if (!m.traits.empty()) {
    SEGMENTA_RETURN_IF_ERROR(MergeTraitsJson(m.traits, time_ms, &account->traits));
    account->updated_ms = std::max(account->updated_ms, time_ms);
    dirty_accounts_.insert(m.group_id);
    if (profiles_ != nullptr) {
      profiles_->SetAccountTraits(m.group_id, account->traits);
      // Every member's account conditions may change.
      if (const AccountState* state = profiles_->FindAccount(m.group_id); state != nullptr) {
        for (uint32_t member : state->contacts) Change(member).accounts = true;
      }
    }
  }
  return absl::OkStatus();
}

ContactChange& Applier::Change(ContactId id) {
  ContactChange& change = changes_[id];
  change.contact = id;
  return change;
}

absl::Status Applier::ApplyMessage(Message& m, absl::uint128 fingerprint, IngestResult* result) {
  if (m.check_message_id && IsDuplicate(m.message_id, fingerprint)) {
    ++result->duplicates;
    ++stats_.duplicates;
    return absl::OkStatus();
  }
  if (!suppressed_.empty() && IsSuppressed(m)) {
    ++result->suppressed;
    ++stats_.suppressed;
    return absl::OkStatus();
  }
  if (m.check_message_id) RememberMessageId(m.message_id, fingerprint);
  const int64_t time_ms = ToMillis(m.timestamp);

  if (m.type == MessageType::kGroup && m.user_id.empty() && m.anonymous_id.empty()) {
    SEGMENTA_RETURN_IF_ERROR(UpsertAccount(m, time_ms));
    batch_->Put(store_->handle(Family::kMessages), m.message_id, std::string_view());
    ++result->stored;
    return absl::OkStatus();
  }

  SEGMENTA_ASSIGN_OR_RETURN(Resolution r, graph_.Resolve(ClaimOf(m), &next_contact_));
  for (const std::string& note : r.refused) {
    if (note.rfind("refused", 0) == 0) {
      ++stats_.refused_links;
      spdlog::info("identity: {}", note);
    }
  }

  Contact* contact;
  if (r.created) {
    Contact fresh;
    fresh.id = r.contact;
    fresh.created_ms = time_ms;
    fresh.updated_ms = time_ms;
    contact = &contacts_.emplace(r.contact, std::move(fresh)).first->second;
    dirty_contacts_.insert(r.contact);
    ++stats_.contacts;
  } else {
    SEGMENTA_ASSIGN_OR_RETURN(contact, LoadContact(r.contact));
  }

  std::vector<std::vector<Identity>> absorbed_identities;
  for (ContactId absorbed_id : r.absorb) {
    SEGMENTA_ASSIGN_OR_RETURN(Contact * absorbed, LoadContact(absorbed_id));
    absorbed_identities.push_back(absorbed->identities);
    SEGMENTA_RETURN_IF_ERROR(Merge(absorbed, contact));
    // `absorbed` is gone from contacts_ now; `contact` stays valid (node map).
  }
  for (const Identity& identity : r.attach) {
    batch_->Put(store_->handle(Family::kIdentities),
                IdentityKey(static_cast<char>(identity.kind), identity.value),
                ContactKey(contact->id));
    contact->identities.push_back(identity);
    dirty_contacts_.insert(contact->id);
  }
  graph_.Apply(r, absorbed_identities);

  // Whether this message changed the profile, which then counts as updated at its time
  // (whatever else the commit did to it: the same messages make the same record however
  // they were split into commits).
  bool profile_changed = r.created || !r.absorb.empty() || !r.attach.empty();
  ContactChange& change = Change(contact->id);
  if (m.type == MessageType::kIdentify && !m.traits.empty()) {
    profile_changed = true;
    std::vector<std::string> changed;
    SEGMENTA_RETURN_IF_ERROR(MergeTraitsJson(m.traits, time_ms, &contact->traits, &changed));
    dirty_contacts_.insert(contact->id);
    if (profiles_ != nullptr) profiles_->SetTraits(contact->id, contact->traits, changed);
    for (std::string& name : changed) change.traits.push_back(std::move(name));
  }
  if (m.type == MessageType::kGroup) {
    SEGMENTA_RETURN_IF_ERROR(UpsertAccount(m, time_ms));
    if (contact->AddAccount(m.group_id)) {
      batch_->Put(store_->handle(Family::kAccountMembers),
                  AccountMemberKey(m.group_id, contact->id), std::string_view());
      dirty_contacts_.insert(contact->id);
      if (profiles_ != nullptr) profiles_->Join(contact->id, m.group_id);
      change.accounts = true;
      profile_changed = true;
    }
  }
  if (profile_changed) contact->updated_ms = std::max(contact->updated_ms, time_ms);

  const uint64_t seq = next_seq_++;
  PutActivity(seq, m);
  batch_->Put(store_->handle(Family::kContactActivities), ActivityKey(contact->id, time_ms, seq),
              std::string_view());
  pending_activities_[contact->id].push_back({time_ms, seq});
  ++change.activities;
  if (profiles_ != nullptr) {
    const uint16_t table = profiles_->AddActivity(contact->id, m);
    if (std::find(change.event_tables.begin(), change.event_tables.end(), table) ==
        change.event_tables.end()) {
      change.event_tables.push_back(table);
    }
  }
  if (m.check_message_id) {
    batch_->Put(store_->handle(Family::kMessages), m.message_id, std::string_view());
  }
  ++stats_.activities;
  ++result->stored;
  return absl::OkStatus();
}

absl::Status Applier::Merge(Contact* absorbed, Contact* survivor) {
  const ContactId from = absorbed->id;
  const ContactId to = survivor->id;
  survivor->Absorb(*absorbed);
  dirty_contacts_.insert(to);
  if (profiles_ != nullptr) profiles_->Merge(to, from, *survivor);
  Change(to).merged = true;
  Change(from).erased = true;
  Change(from).merged_into = to;
  for (const Identity& identity : absorbed->identities) {
    batch_->Put(store_->handle(Family::kIdentities),
                IdentityKey(static_cast<char>(identity.kind), identity.value), ContactKey(to));
  }
  for (const std::string& group_id : absorbed->accounts) {
    batch_->Delete(store_->handle(Family::kAccountMembers), AccountMemberKey(group_id, from));
    batch_->Put(store_->handle(Family::kAccountMembers), AccountMemberKey(group_id, to),
                std::string_view());
  }
  // The index of its activities: entries already in the store, then those of the
  // previous commit's batch that the store did not show yet (it may be on its way), then
  // those written earlier in this commit (in a bulk load, since the load began: some may
  // have been spilled to the store already, and are moved twice, to the same effect). The
  // activities themselves (keyed by seq) stay where they are.
  rocksdb::ColumnFamilyHandle* index = store_->handle(Family::kContactActivities);
  auto previous = previous_pending_activities_.find(from);
  absl::flat_hash_set<uint64_t> scanned;  // seqs the store showed, when `previous` has some
  auto it = store_->NewIterator(Family::kContactActivities);
  std::string prefix = ActivityPrefix(from);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ActivityKeyParts parts = DecodeActivityKey(std::string_view(it->key().data(), 24));
    batch_->Put(index, ActivityKey(to, parts.time_ms, parts.seq), std::string_view());
    batch_->Delete(index, it->key());
    if (previous != previous_pending_activities_.end()) scanned.insert(parts.seq);
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "moving activities"));
  std::vector<PendingActivity> moved;
  if (previous != previous_pending_activities_.end()) {
    for (const PendingActivity& a : previous->second) {
      if (!scanned.contains(a.seq)) moved.push_back(a);
    }
    previous_pending_activities_.erase(previous);
  }
  if (auto pending = pending_activities_.find(from); pending != pending_activities_.end()) {
    moved.insert(moved.end(), pending->second.begin(), pending->second.end());
    pending_activities_.erase(pending);
  }
  if (!moved.empty()) {
    std::vector<PendingActivity>& target = pending_activities_[to];
    for (const PendingActivity& a : moved) {
      batch_->Delete(index, ActivityKey(from, a.time_ms, a.seq));
      batch_->Put(index, ActivityKey(to, a.time_ms, a.seq), std::string_view());
      target.push_back(a);
    }
  }
  batch_->Delete(store_->handle(Family::kContacts), ContactKey(from));
  batch_->Put(store_->handle(Family::kRedirects), ContactKey(from), ContactKey(to));
  // Contacts absorbed earlier by `from` now redirect straight to `to`.
  for (ContactId earlier : absorbed->absorbed) {
    batch_->Put(store_->handle(Family::kRedirects), ContactKey(earlier), ContactKey(to));
  }
  dirty_contacts_.erase(from);
  contacts_.erase(from);
  ++stats_.merges;
  --stats_.contacts;
  return absl::OkStatus();
}

bool Applier::IsSuppressed(const Message& m) const {
  IdentityClaim claim = ClaimOf(m);
  auto has = [&](IdentityKind kind, const std::string& value) {
    return !value.empty() && suppressed_.contains(IdentityKey(static_cast<char>(kind), value));
  };
  return has(IdentityKind::kUser, claim.user_id) ||
         has(IdentityKind::kAnonymous, claim.anonymous_id) ||
         has(IdentityKind::kUser, claim.previous_id) ||
         has(IdentityKind::kAnonymous, claim.previous_id) ||
         has(IdentityKind::kEmail, NormalizeEmail(claim.email));
}

absl::StatusOr<EraseResult> Applier::Erase(ContactId id, bool suppress) {
  SEGMENTA_ASSIGN_OR_RETURN(auto redirect, store_->Get(Family::kRedirects, ContactKey(id)));
  if (redirect) return absl::NotFoundError(fmt::format("contact {} was merged", id));
  if (!contacts_.contains(id)) {
    SEGMENTA_ASSIGN_OR_RETURN(auto bytes, store_->Get(Family::kContacts, ContactKey(id)));
    if (!bytes) return absl::NotFoundError(fmt::format("no contact with id {}", id));
  }
  SEGMENTA_ASSIGN_OR_RETURN(Contact * contact, LoadContact(id));
  EraseResult result;
  result.contact = id;
  for (const Identity& identity : contact->identities) {
    std::string key = IdentityKey(static_cast<char>(identity.kind), identity.value);
    batch_->Delete(store_->handle(Family::kIdentities), key);
    if (suppress) {
      batch_->Put(store_->handle(Family::kSuppressed), key, std::string_view());
      suppressed_.insert(std::move(key));
    }
    ++result.identities;
  }
  graph_.Forget(id, contact->identities);
  if (profiles_ != nullptr) profiles_->Erase(id);
  Change(id).erased = true;
  rocksdb::ColumnFamilyHandle* index = store_->handle(Family::kContactActivities);
  auto it = store_->NewIterator(Family::kContactActivities);
  std::string prefix = ActivityPrefix(id);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ActivityKeyParts parts = DecodeActivityKey(std::string_view(it->key().data(), 24));
    batch_->Delete(index, it->key());
    batch_->Delete(store_->handle(Family::kActivities), ActivitySeqKey(parts.seq));
    ++result.activities;
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "erasing activities"));
  if (auto pending = pending_activities_.find(id); pending != pending_activities_.end()) {
    for (const PendingActivity& a : pending->second) {
      batch_->Delete(index, ActivityKey(id, a.time_ms, a.seq));
      batch_->Delete(store_->handle(Family::kActivities), ActivitySeqKey(a.seq));
      ++result.activities;
    }
    pending_activities_.erase(pending);
  }
  for (const std::string& group_id : contact->accounts) {
    batch_->Delete(store_->handle(Family::kAccountMembers), AccountMemberKey(group_id, id));
    ++result.accounts;
  }
  for (ContactId absorbed : contact->absorbed) {
    batch_->Delete(store_->handle(Family::kRedirects), ContactKey(absorbed));
  }
  batch_->Delete(store_->handle(Family::kContacts), ContactKey(id));
  dirty_contacts_.erase(id);
  contacts_.erase(id);
  --stats_.contacts;
  stats_.activities -= std::min<uint64_t>(stats_.activities, result.activities);
  ++stats_.erased;
  // Ids only: what was erased must not reappear in the logs.
  spdlog::info("erased contact {}: {} identities, {} activities{}", id, result.identities,
               result.activities, suppress ? ", identities suppressed" : "");
  return result;
}

std::string Applier::CountersJson() const {
  JsonWriter w;
  w.BeginObject().Field("next_contact", next_contact_).Field("next_seq", next_seq_);
  w.Field("contacts", stats_.contacts).Field("merges", stats_.merges);
  w.Field("refused_links", stats_.refused_links).Field("accounts", stats_.accounts);
  w.Field("activities", stats_.activities).Field("duplicates", stats_.duplicates);
  w.Field("suppressed", stats_.suppressed).Field("erased", stats_.erased);
  w.EndObject();
  return w.Take();
}

}  // namespace segmenta
