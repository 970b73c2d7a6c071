#include "ingest/worker.h"

#include <pthread.h>

#include <algorithm>
#include <functional>
#include <future>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/numeric/int128.h"
#include "collect/parser.h"
#include "core/huge_page_allocator.h"
#include "core/json_writer.h"
#include "core/status.h"
#include "core/string_view.h"
#include "core/time_format.h"
#include "core/value.h"
#include "fmt/format.h"
#include "profile/contact.h"
#include "simdjson.h"
#include "spdlog/spdlog.h"

namespace segmenta {
namespace {

// Most messages waiting in the queue before Submit() refuses more (backpressure).
constexpr size_t kMaxQueuedMessages = 500000;

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

// Everything the writer thread owns: the identity graph, counters, and the state of the
// commit being built. Not thread-safe.
class Worker::Applier {
 public:
  // `profiles` is null when the worker does not keep the profile table.
  Applier(Store* store, const WorkerOptions& options, ProfileTable* profiles)
      : store_(store),
        options_(options),
        bulk_load_(store->options().bulk_load),
        graph_(options.identity),
        profiles_(profiles) {
    if (bulk_load_) {
      bulk_message_ids_.reserve(std::min(options.expected_messages, kMaxReservedMessageIds));
    }
  }

  const IdentityGraph& graph() const { return graph_; }

  // Before a commit of `messages` is applied, without readers held off: makes the room it may
  // need in the identity graph, the contact cache and the profile table's vectors, so that
  // applying it does not rehash or copy them while readers wait (a copy of a large index
  // held them off for 10 ms and more). `growth` gets the table's larger vectors.
  void PrepareGrowth(size_t messages, VectorGrowth* growth) {
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
  // Puts in place what PrepareGrowth made, with readers held off.
  void ApplyGrowth(VectorGrowth* growth) {
    graph_.SwapInGrowth();
    growth->Apply();
  }

  absl::Status Load() {
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

  // Applies every submission of a commit into one batch, for WriteToStore to write.
  // `results[i]` is the outcome of `pending[i]`: a submission with an invalid message is
  // refused alone. A store error fails the whole commit and leaves the worker broken.
  // `between_messages` runs between pending submissions and every few messages, where
  // the profile table is consistent (Worker::LetReadersIn).
  absl::Status ApplyCommit(const std::vector<Pending*>& pending,
                           std::vector<absl::StatusOr<IngestResult>>* results,
                           WorkerObserver* observer, Millis now, bool run_timers,
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
    for (Pending* p : pending) {
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
        std::sort(
            changes.begin(), changes.end(),
            [](const ContactChange& a, const ContactChange& b) { return a.contact < b.contact; });
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

  // True when applying `pending` reads the store beyond what the previous commit's batch
  // (perhaps not written yet) could have changed unseen: a task or an erasure (they read
  // the store freely), or contact caches about to start over (contacts are then read back
  // from the store). The caller then waits for the previous batch to be written first.
  bool NeedsStoreCurrent(const std::deque<Pending>& pending) const {
    if (CacheFull()) return true;
    return std::any_of(pending.begin(), pending.end(),
                       [](const Pending& p) { return p.task || p.erase.has_value(); });
  }

  // The batch ApplyCommit built, for the store thread to write; `next` (empty) takes its
  // place for the next commit.
  std::unique_ptr<rocksdb::WriteBatch> TakeBatch(std::unique_ptr<rocksdb::WriteBatch> next) {
    std::swap(batch_, next);
    return next;
  }
  // A bulk load's activities that ApplyCommit put aside (PutActivity), which follow the
  // batch's writes.
  std::vector<OwnedPut> TakeActivities() { return std::exchange(activities_, {}); }

  const WorkerStats& stats() const { return stats_; }

 private:
  // The ids of `m` that identity resolution works with.
  IdentityClaim ClaimOf(const Message& m) const {
    IdentityClaim claim{m.user_id, m.anonymous_id, {}, m.previous_id};
    if (m.type == MessageType::kIdentify && options_.identity.merge_on_email) {
      claim.email = EmailTrait(m.traits);
    }
    return claim;
  }

  // A message the graph cannot place would fail the whole commit: refuse its submission
  // alone, up front.
  absl::Status CheckSubmission(const std::vector<Message>& messages) {
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

  // A bulk load keeps every contact it loaded: the store shows their changes only after a
  // spill.
  bool CacheFull() const {
    if (bulk_load_) return false;
    return contacts_.size() > options_.max_cached_contacts ||
           accounts_.size() > options_.max_cached_contacts;
  }

  // Finds which messageIds of a submission the store holds, in one batched lookup before
  // the submission is applied (what IsDuplicate then consults). The store then holds every
  // commit but the previous one, whose ids are still in memory.
  absl::Status LookUpStoredIds(const std::vector<Message>& messages) {
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

  // 128 bits of two unrelated hashes of a messageId: what a bulk load remembers of each.
  // Two ids of a load of 10 million share one with a chance of about 1 in 10^23. Abseil's
  // half hashes an AbslView: given a std::string_view it would hash std::hash's value, and
  // the two halves would be one 64-bit hash (core/string_view.h).
  static absl::uint128 Fingerprint(std::string_view message_id) {
    return absl::MakeUint128(absl::HashOf(AbslView(message_id)),
                             std::hash<std::string_view>{}(message_id));
  }

  // Puts the activity `m` under `seq`: its JSON (MessageJson) written into the batch in
  // parts, so that its properties and context are copied once. A bulk load takes the JSON
  // the message came with (Message::json), without a copy, into activities_ instead.
  void PutActivity(uint64_t seq, Message& m) {
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

  // In a bulk load, the Fingerprint of each message of `messages` into fingerprints_ (0
  // for one whose messageId is not checked), computed once for the prefetch, the check and
  // the insert.
  void TakeFingerprints(const std::vector<Message>& messages) {
    fingerprints_.resize(messages.size());
    for (size_t i = 0; i < messages.size(); ++i) {
      fingerprints_[i] =
          messages[i].check_message_id ? Fingerprint(messages[i].message_id) : absl::uint128();
    }
  }

  // An estimate of the messages to come is trusted up to this many (2.3 GB of set): a wrong
  // one should not fail a load, or take the machine's memory, before its first message.
  static constexpr size_t kMaxReservedMessageIds = 100'000'000;

  // In a bulk load, bulk_message_ids_ outgrows the caches (160 MB at 10 million messages)
  // and its lookups miss them. The slot of the message this many ahead is fetched while
  // the current one is applied.
  static constexpr size_t kPrefetchAhead = 8;

  // `fingerprint` is the messageId's Fingerprint in a bulk load (unused otherwise).
  void RememberMessageId(const std::string& message_id, absl::uint128 fingerprint) {
    if (bulk_load_) {
      bulk_message_ids_.insert(fingerprint);
    } else {
      message_ids_.insert(message_id);
    }
  }

  bool IsDuplicate(const std::string& message_id, absl::uint128 fingerprint) const {
    if (bulk_load_ && bulk_message_ids_.contains(fingerprint)) return true;
    return message_ids_.contains(message_id) || previous_message_ids_.contains(message_id) ||
           stored_ids_.contains(message_id);
  }

  absl::StatusOr<Contact*> LoadContact(ContactId id) {
    auto it = contacts_.find(id);
    if (it != contacts_.end()) return &it->second;
    SEGMENTA_ASSIGN_OR_RETURN(auto bytes, store_->Get(Family::kContacts, ContactKey(id)));
    if (!bytes) {
      return absl::DataLossError(fmt::format("identity points to missing contact {}", id));
    }
    SEGMENTA_ASSIGN_OR_RETURN(Contact contact, Contact::Decode(*bytes));
    return &contacts_.emplace(id, std::move(contact)).first->second;
  }

  absl::StatusOr<Account*> LoadAccount(const std::string& group_id, int64_t time_ms) {
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

  absl::Status UpsertAccount(const Message& m, int64_t time_ms) {
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

  ContactChange& Change(ContactId id) {
    ContactChange& change = changes_[id];
    change.contact = id;
    return change;
  }

  // `fingerprint`: as RememberMessageId.
  absl::Status ApplyMessage(Message& m, absl::uint128 fingerprint, IngestResult* result) {
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

  // Folds `absorbed` into `survivor` in the batch: profile, identities, accounts,
  // activities; leaves a redirect so that the old id still finds the survivor.
  absl::Status Merge(Contact* absorbed, Contact* survivor) {
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

  bool IsSuppressed(const Message& m) const {
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

  // Removes every trace of contact `id` from the store and the writer's state, in the
  // commit's batch. Errors: NotFound when there is no such contact.
  absl::StatusOr<EraseResult> Erase(ContactId id, bool suppress) {
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

  std::string CountersJson() const {
    JsonWriter w;
    w.BeginObject().Field("next_contact", next_contact_).Field("next_seq", next_seq_);
    w.Field("contacts", stats_.contacts).Field("merges", stats_.merges);
    w.Field("refused_links", stats_.refused_links).Field("accounts", stats_.accounts);
    w.Field("activities", stats_.activities).Field("duplicates", stats_.duplicates);
    w.Field("suppressed", stats_.suppressed).Field("erased", stats_.erased);
    w.EndObject();
    return w.Take();
  }

  Store* store_;
  WorkerOptions options_;
  // The store buffers writes in a bulk load (StoreOptions::bulk_load): nothing written is
  // read back from it.
  const bool bulk_load_;
  // In a bulk load, whether the messages family had any key when the worker started.
  bool store_had_messages_ = false;
  IdentityGraph graph_;
  ContactId next_contact_ = 1;
  uint64_t next_seq_ = 1;
  WorkerStats stats_;

  // State of the commit being applied.
  std::unique_ptr<rocksdb::WriteBatch> batch_ = std::make_unique<rocksdb::WriteBatch>();
  std::unordered_map<ContactId, Contact> contacts_;  // node-based: pointers stay valid
  absl::flat_hash_set<ContactId> dirty_contacts_;
  std::unordered_map<std::string, Account> accounts_;
  absl::flat_hash_set<std::string> dirty_accounts_;
  absl::flat_hash_set<std::string> message_ids_;
  absl::flat_hash_set<std::string> previous_message_ids_;  // of the previous commit
  // In a bulk load, the Fingerprint of every messageId written (instead of message_ids_).
  // On huge pages: at 10 million messages, 2-4 % less wall time (docs/benchmarks.md).
  absl::flat_hash_set<absl::uint128, absl::Hash<absl::uint128>, std::equal_to<absl::uint128>,
                      HugePageAllocator<absl::uint128>>
      bulk_message_ids_;
  std::vector<absl::uint128> fingerprints_;  // TakeFingerprints
  // The messageIds of the submission being applied that the store holds (LookUpStoredIds);
  // views into its messages.
  absl::flat_hash_set<absl::string_view> stored_ids_;  // core/string_view.h
  // Identity keys (as IdentityKey) erased with suppression.
  absl::flat_hash_set<std::string> suppressed_;
  // Activities written in this commit (in a bulk load, since it began), per contact: a
  // merge later moves them.
  struct PendingActivity {
    int64_t time_ms;
    uint64_t seq;
  };
  absl::flat_hash_map<ContactId, std::vector<PendingActivity>> pending_activities_;
  // The previous commit's, still moved by merges here: its batch may not be written yet.
  absl::flat_hash_map<ContactId, std::vector<PendingActivity>> previous_pending_activities_;
  ProfileTable* profiles_;
  // A bulk load's activities of the commit being applied (PutActivity).
  std::vector<OwnedPut> activities_;
  // PutActivity's buffers, kept between messages.
  std::string activity_scratch_;
  std::vector<std::string_view> activity_parts_;
  std::vector<rocksdb::Slice> activity_slices_;
  // Contacts changed by the commit being applied (node-based: a reference to one entry
  // stays valid while others are added).
  absl::node_hash_map<ContactId, ContactChange> changes_;
};

struct Worker::Commit {
  std::vector<Done> dones;
  std::vector<absl::StatusOr<IngestResult>> results;
  // What the store thread writes, unless `status` (the applier's) is an error.
  std::unique_ptr<rocksdb::WriteBatch> batch;
  std::vector<OwnedPut> activities;  // a bulk load's, after the batch (Store::Write)
  absl::Status status;
  WorkerStats stats;  // the totals once this commit is written
  // Completed only once the WAL is fsynced: false when every submission in it asked for
  // Acknowledge::kWhenWritten.
  bool needs_sync = true;
};

Worker::Worker(Store* store, WorkerOptions options, Clock* clock)
    : store_(store),
      options_(options),
      clock_(clock),
      profiles_(std::make_unique<ProfileTable>()),
      applier_(std::make_unique<Applier>(store, options,
                                         options.keep_profiles ? profiles_.get() : nullptr)) {}

absl::StatusOr<std::unique_ptr<Worker>> Worker::Start(Store* store, WorkerOptions options,
                                                      Clock* clock) {
  std::unique_ptr<Worker> worker(new Worker(store, options, clock));
  SEGMENTA_RETURN_IF_ERROR(worker->applier_->Load());
  worker->stats_ = worker->applier_->stats();
  worker->writer_ = std::thread([w = worker.get()] {
    pthread_setname_np(pthread_self(), "writer");
    w->WriteLoop();
  });
  worker->storer_ = std::thread([w = worker.get()] {
    pthread_setname_np(pthread_self(), "store-write");
    w->StoreLoop();
  });
  worker->syncer_ = std::thread([w = worker.get()] {
    pthread_setname_np(pthread_self(), "fsync");
    w->SyncLoop();
  });
  return worker;
}

Worker::~Worker() {
  Drain();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  store_cv_.notify_all();
  sync_cv_.notify_all();
  writer_.join();
  storer_.join();
  syncer_.join();
}

void Worker::Submit(std::vector<Message> messages, Done done, Acknowledge acknowledge) {
  Enqueue(Pending{std::move(messages), std::move(done), std::nullopt, nullptr, acknowledge});
}

void Worker::Enqueue(Pending pending) {
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++submitted_;
    const size_t size = pending.messages.size();
    if (!broken_.ok()) {
      refused = broken_;
    } else if (queued_messages_ + size > kMaxQueuedMessages && !queue_.empty()) {
      refused = absl::ResourceExhaustedError(
          "the worker has too many messages queued; retry after a short wait");
    } else {
      queued_messages_ += size;
      queue_.push_back(std::move(pending));
    }
  }
  if (refused.ok()) {
    queue_cv_.notify_one();
    return;
  }
  pending.done(refused);
  std::lock_guard<std::mutex> lock(mu_);
  ++completed_;
  drained_cv_.notify_all();
}

void Worker::Erase(ContactId id, bool suppress, EraseDone done) {
  auto result = std::make_shared<EraseResult>();
  Enqueue(Pending{{},
                  [result, done = std::move(done)](absl::StatusOr<IngestResult> r) {
                    if (!r.ok()) return done(r.status());
                    done(*result);
                  },
                  EraseRequest{id, suppress, result},
                  nullptr});
}

absl::StatusOr<EraseResult> Worker::EraseAndWait(ContactId id, bool suppress) {
  std::promise<absl::StatusOr<EraseResult>> promise;
  auto future = promise.get_future();
  Erase(id, suppress,
        [&promise](absl::StatusOr<EraseResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

absl::StatusOr<IngestResult> Worker::SubmitAndWait(std::vector<Message> messages) {
  std::promise<absl::StatusOr<IngestResult>> promise;
  auto future = promise.get_future();
  Submit(std::move(messages),
         [&promise](absl::StatusOr<IngestResult> result) { promise.set_value(std::move(result)); });
  return future.get();
}

void Worker::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = submitted_;
  drained_cv_.wait(lock, [&] { return completed_ >= target; });
}

WorkerStats Worker::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

uint64_t Worker::wal_syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return wal_syncs_;
}

void Worker::Complete(Commit* commit, const absl::Status& status) {
  for (size_t i = 0; i < commit->dones.size(); ++i) {
    if (!status.ok()) {
      commit->dones[i](status);
    } else {
      commit->dones[i](std::move(commit->results[i]));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  completed_ += commit->dones.size();
  drained_cv_.notify_all();
}

void Worker::WriteLoop() {
  std::deque<Pending> taken;
  absl::Status failed;  // the first commit that failed to apply, if any
  while (true) {
    bool timers_due = false;
    size_t messages = 0;
    Millis now = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Wake up for work, or when the observer's next timer falls due (checked at least
      // once a second, so that a clock that jumps is noticed).
      while (true) {
        WorkerObserver* observer = observer_.load();
        now = ToMillis(clock_->Now());
        std::optional<Millis> next;
        if (observer != nullptr && broken_.ok()) {
          absl::ReaderMutexLock profiles(&profiles_mu_);
          next = observer->NextTimer();
        }
        timers_due = next.has_value() && *next <= now;
        if (stopping_ || !queue_.empty() || timers_due) break;
        Millis wait = next.has_value() ? std::clamp<Millis>(*next - now, 1, 1000) : 1000;
        queue_cv_.wait_for(lock, std::chrono::milliseconds(wait));
      }
      if (queue_.empty() && !timers_due) return;  // stopping
      messages = 0;
      while (!queue_.empty() && (taken.empty() || messages + queue_.front().messages.size() <=
                                                      options_.max_commit_messages)) {
        messages += queue_.front().messages.size();
        taken.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_messages_ -= messages;
    }
    if (applier_->NeedsStoreCurrent(taken)) AwaitStoreCurrent();
    auto commit = std::make_unique<Commit>();
    std::vector<Pending*> pending;
    // A commit of timers alone is fsynced: nobody asked for less.
    commit->needs_sync = taken.empty();
    for (Pending& p : taken) {
      pending.push_back(&p);
      commit->dones.push_back(std::move(p.done));
      if (p.acknowledge == Acknowledge::kWhenSynced) commit->needs_sync = true;
    }
    commit->status = failed;
    if (commit->status.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      commit->status = broken_;
    }
    // Room this commit may need is made before readers are held off, and only put in place
    // while they are; the buffers it replaces are freed after.
    VectorGrowth growth;
    if (commit->status.ok()) {
      applier_->PrepareGrowth(messages, &growth);
      absl::MutexLock profiles(&profiles_mu_);
      applier_->ApplyGrowth(&growth);
      WorkerObserver* observer = observer_.load();
      if (observer != nullptr && !timers_due) {
        std::optional<Millis> next = observer->NextTimer();
        timers_due = next.has_value() && *next <= now;
      }
      commit->status =
          applier_->ApplyCommit(pending, &commit->results, observer, now, timers_due,
                                [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { LetReadersIn(); });
    }
    taken.clear();
    commit->stats = applier_->stats();
    // A failed commit goes the same way, so that the commits before it are still written and
    // acknowledged; it then breaks the worker (WriteToStore). No later commit is applied.
    if (!commit->status.ok()) failed = commit->status;
    std::unique_lock<std::mutex> lock(mu_);
    // One commit in the store thread's hands at a time: this one goes once the previous one
    // is written, and its batch (cleared) serves the next commit.
    store_cv_.wait(lock, [&] { return !store_busy_; });
    commit->batch =
        applier_->TakeBatch(spare_batch_ != nullptr ? std::move(spare_batch_)
                                                    : std::make_unique<rocksdb::WriteBatch>());
    commit->activities = applier_->TakeActivities();
    store_busy_ = true;
    if (messages < options_.min_pipelined_commit_messages) {
      lock.unlock();
      WriteToStore(std::move(commit));
      continue;
    }
    to_store_ = std::move(commit);
    lock.unlock();
    store_cv_.notify_all();
  }
}

void Worker::AwaitStoreCurrent() {
  std::unique_lock<std::mutex> lock(mu_);
  store_cv_.wait(lock, [&] { return !store_busy_; });
}

void Worker::StoreLoop() {
  while (true) {
    std::unique_ptr<Commit> commit;
    {
      std::unique_lock<std::mutex> lock(mu_);
      store_cv_.wait(lock, [&] { return to_store_ != nullptr || stopping_; });
      if (to_store_ == nullptr) return;  // stopping
      commit = std::move(to_store_);
    }
    WriteToStore(std::move(commit));
  }
}

void Worker::WriteToStore(std::unique_ptr<Commit> commit) {
  absl::Status status = commit->status;
  if (status.ok()) {
    // A commit applied after an earlier one failed is not written either.
    std::lock_guard<std::mutex> lock(mu_);
    status = broken_;
  }
  // Writing needs no hold of the profile table: a write that waits on RocksDB (a full
  // memtable, a stall) must not stall readers.
  if (status.ok()) status = store_->Write(commit->batch.get(), /*sync=*/false, &commit->activities);
  commit->batch->Clear();
  const bool written = status.ok() && options_.durable;
  const bool to_sync = written && commit->needs_sync;
  // Otherwise fsynced within written_sync_delay (Acknowledge::kWhenWritten).
  const bool sync_later = written && !commit->needs_sync;
  bool first_unsynced = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!status.ok() && broken_.ok()) {
      spdlog::error("worker: {}; refusing further writes until restart", status.ToString());
      broken_ = status;
    }
    if (status.ok()) stats_ = commit->stats;
    spare_batch_ = std::move(commit->batch);
    store_busy_ = false;
    if (to_sync) to_sync_.push_back(std::move(commit));
    if (sync_later && !unsynced_since_.has_value()) {
      unsynced_since_ = std::chrono::steady_clock::now();
      first_unsynced = true;
    }
  }
  store_cv_.notify_all();
  if (to_sync || first_unsynced) sync_cv_.notify_one();
  if (!to_sync) Complete(commit.get(), status);
}

void Worker::LetReadersIn() const {
  int waiting = readers_waiting_.load(std::memory_order_acquire);
  if (waiting == 0) return;
  profiles_mu_.Unlock();
  // Readers woken by the unlock take the table before the writer asks for it again. The
  // writer sleeps until they have (ReadProfiles wakes it) instead of spinning on
  // sched_yield, which took a fifth of its time under a steady stream of decisions; a few
  // rounds at most, so that a stream of new readers cannot stall it.
  for (int round = 0; round < 4 && waiting > 0; ++round) {
    readers_waiting_.wait(waiting, std::memory_order_acquire);
    waiting = readers_waiting_.load(std::memory_order_acquire);
  }
  profiles_mu_.Lock();
}

std::optional<ContactId> Worker::FindIdentity(IdentityKind kind, std::string_view value) const {
  return applier_->graph().Find(kind, value);
}

absl::Status Worker::SetObserver(WorkerObserver* observer) {
  if (observer != nullptr && !options_.keep_profiles) {
    return absl::FailedPreconditionError(
        "observers read the profile table, which this worker does not keep");
  }
  observer_.store(observer);
  queue_cv_.notify_one();
  return absl::OkStatus();
}

void Worker::RunTask(Task task, std::function<void(absl::Status)> done) {
  Enqueue(Pending{{},
                  [done = std::move(done)](absl::StatusOr<IngestResult> r) { done(r.status()); },
                  std::nullopt,
                  std::move(task)});
}

absl::Status Worker::RunTaskAndWait(Task task) {
  std::promise<absl::Status> promise;
  auto future = promise.get_future();
  RunTask(std::move(task), [&promise](absl::Status s) { promise.set_value(s); });
  return future.get();
}

absl::Status Worker::RunDueTimers() {
  // A commit of its own: the writer runs due timers with every commit it applies.
  return RunTaskAndWait([](ProfileTable&, rocksdb::WriteBatch*) { return absl::OkStatus(); });
}

void Worker::SyncLoop() {
  std::deque<std::unique_ptr<Commit>> commits;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Wakes for a commit to fsync now, or when the oldest write acknowledged without an
      // fsync has waited written_sync_delay; at a stop, fsyncs what is left.
      while (to_sync_.empty() && !stopping_) {
        if (!unsynced_since_.has_value()) {
          sync_cv_.wait(lock);
          continue;
        }
        const auto due = *unsynced_since_ + options_.written_sync_delay;
        if (sync_cv_.wait_until(lock, due) == std::cv_status::timeout) break;
      }
      if (to_sync_.empty() && !unsynced_since_.has_value()) return;  // stopping
      commits.swap(to_sync_);
      // This fsync covers every write made so far; one made after it asks for another.
      unsynced_since_.reset();
    }
    // One fsync makes every commit written so far durable.
    absl::Status status = store_->SyncWal();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++wal_syncs_;
      if (!status.ok()) {
        spdlog::error("worker: {}; refusing further writes until restart", status.ToString());
        broken_ = status;
      }
    }
    for (auto& commit : commits) Complete(commit.get(), status);
    commits.clear();
  }
}

}  // namespace segmenta
