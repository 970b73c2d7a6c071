#include "segments/membership_log.h"

#include "core/json_writer.h"
#include "core/status.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "simdjson.h"
#include "store/keys.h"

namespace segmenta {
namespace {

std::string BigEndianMillis(Millis ms) {
  std::string out;
  AppendBigEndian64(static_cast<uint64_t>(ms), &out);
  return out;
}

// The stored history record. `group` and `name` name any audience (the field names predate
// personas and stages); `kind` is left out for groups.
std::string HistoryRecord(const MembershipEvent& e) {
  JsonWriter w;
  w.BeginObject().Field("group", static_cast<uint64_t>(e.audience)).Field("contact", e.contact);
  w.Field("entered", e.entered).Field("time", e.time_ms).Field("cause", e.cause);
  if (e.kind != AudienceKind::kGroup) w.Field("kind", AudienceKindName(e.kind));
  w.Field("name", e.audience_name).EndObject();
  return w.Take();
}

absl::StatusOr<MembershipEvent> ParseHistory(std::string_view bytes) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(bytes);
  simdjson::dom::element root;
  MembershipEvent e;
  uint64_t audience = 0;
  std::string_view cause;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["group"].get(audience) != simdjson::SUCCESS ||
      root["contact"].get(e.contact) != simdjson::SUCCESS ||
      root["entered"].get(e.entered) != simdjson::SUCCESS ||
      root["time"].get(e.time_ms) != simdjson::SUCCESS ||
      root["cause"].get(cause) != simdjson::SUCCESS) {
    return absl::DataLossError("malformed history record");
  }
  e.audience = static_cast<uint32_t>(audience);
  e.cause = std::string(cause);
  std::string_view kind, name;
  if (root["kind"].get(kind) == simdjson::SUCCESS) {
    e.kind = kind == "persona" ? AudienceKind::kPersona : AudienceKind::kStage;
  }
  if (root["name"].get(name) == simdjson::SUCCESS) e.audience_name = std::string(name);
  return e;
}

// The outbox entry of an enter or exit, for the webhook sender. `group` and `groupId` name
// the group, persona or stage (the kind is in `type`).
std::string OutboxRecord(uint64_t seq, const Audience& audience, ContactId contact, bool entered,
                         Millis now, std::string_view cause) {
  const std::string_view kind_name = AudienceKindName(audience.kind);
  JsonWriter w;
  w.BeginObject()
      .Field("seq", seq)
      .Field("type", fmt::format("{}.{}", kind_name, entered ? "entered" : "exited"));
  w.Field("group", audience.name).Field("groupId", static_cast<uint64_t>(audience.id));
  if (audience.kind != AudienceKind::kGroup) w.Field(kind_name, audience.name);
  w.Field("contactId", std::to_string(contact)).Field("time", FormatTimestamp(FromMillis(now)));
  w.Field("cause", cause).EndObject();
  return w.Take();
}

}  // namespace

absl::Status MembershipLog::Load() {
  SEGMENTA_ASSIGN_OR_RETURN(auto counters, store_->Get(Family::kMeta, kMetaSegments));
  if (!counters) return absl::OkStatus();
  simdjson::dom::parser parser;
  simdjson::padded_string padded(*counters);
  simdjson::dom::element root;
  uint64_t next_id = 1;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS ||
      root["next_group"].get(next_id) != simdjson::SUCCESS ||
      root["next_history"].get(next_history_seq_) != simdjson::SUCCESS ||
      root["next_outbox"].get(next_outbox_seq_) != simdjson::SUCCESS) {
    return absl::DataLossError("malformed segments counters in the store");
  }
  next_id_ = static_cast<uint32_t>(next_id);
  return absl::OkStatus();
}

absl::Status MembershipLog::ForEachMembership(
    const std::function<void(uint32_t audience, ContactId contact)>& restore) const {
  auto it = store_->NewIterator(Family::kMemberships);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 12) return absl::DataLossError("malformed membership key");
    const uint32_t id = static_cast<uint32_t>(
        ReadBigEndian64(std::string(4, '\0') + std::string(it->key().data(), 4)));
    restore(id, ReadBigEndian64(std::string_view(it->key().data() + 4, 8)));
  }
  return FromRocks(it->status(), "loading memberships");
}

uint32_t MembershipLog::AllocateId() {
  dirty_ = true;
  return next_id_++;
}

void MembershipLog::Record(Audience& audience, ContactId contact, bool entered, Millis now,
                           std::string_view cause, rocksdb::WriteBatch* batch) {
  if (entered) {
    audience.members.add(static_cast<uint32_t>(contact));
    batch->Put(store_->handle(Family::kMemberships), MembershipKey(audience.id, contact),
               BigEndianMillis(now));
  } else {
    audience.members.remove(static_cast<uint32_t>(contact));
    batch->Delete(store_->handle(Family::kMemberships), MembershipKey(audience.id, contact));
  }
  const MembershipEvent e{now,     audience.id, audience.name,     audience.kind,
                          contact, entered,     std::string(cause)};
  const uint64_t seq = next_history_seq_++;
  const std::string record = HistoryRecord(e);
  batch->Put(store_->handle(Family::kHistory), AudienceHistoryKey(audience.id, now, seq), record);
  batch->Put(store_->handle(Family::kHistory), ContactHistoryKey(contact, now, seq), record);
  if (!audience.webhooks.empty()) {
    const uint64_t out = next_outbox_seq_++;
    std::string key;
    AppendBigEndian64(out, &key);
    batch->Put(store_->handle(Family::kOutbox), key,
               OutboxRecord(out, audience, contact, entered, now, cause));
  }
  dirty_ = true;  // written once per batch, by Flush
}

void MembershipLog::Forget(uint32_t id, rocksdb::WriteBatch* batch) const {
  batch->DeleteRange(store_->handle(Family::kMemberships), MembershipPrefix(id),
                     MembershipPrefix(id + 1));
}

void MembershipLog::Flush(rocksdb::WriteBatch* batch) {
  if (!dirty_) return;
  JsonWriter w;
  w.BeginObject().Field("next_group", static_cast<uint64_t>(next_id_));
  w.Field("next_history", next_history_seq_).Field("next_outbox", next_outbox_seq_).EndObject();
  batch->Put(store_->handle(Family::kMeta), kMetaSegments, w.Take());
  dirty_ = false;
}

absl::StatusOr<std::vector<MembershipEvent>> MembershipLog::AudienceHistory(uint32_t id,
                                                                            size_t limit) const {
  return ReadBackwards(AudienceHistoryPrefix(id), AudienceHistoryPrefix(id + 1), limit);
}

absl::StatusOr<std::vector<MembershipEvent>> MembershipLog::ContactHistory(ContactId contact,
                                                                           size_t limit) const {
  return ReadBackwards(ContactHistoryPrefix(contact), ContactHistoryPrefix(contact + 1), limit);
}

absl::StatusOr<std::vector<MembershipEvent>> MembershipLog::ReadBackwards(const std::string& prefix,
                                                                          const std::string& end,
                                                                          size_t limit) const {
  std::vector<MembershipEvent> out;
  auto it = store_->NewIterator(Family::kHistory);
  it->SeekForPrev(end);
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
  for (; it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Prev()) {
    SEGMENTA_ASSIGN_OR_RETURN(
        MembershipEvent e, ParseHistory(std::string_view(it->value().data(), it->value().size())));
    out.push_back(std::move(e));
  }
  SEGMENTA_RETURN_IF_ERROR(FromRocks(it->status(), "reading history"));
  return out;
}

}  // namespace segmenta
