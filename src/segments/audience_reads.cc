#include "segments/audience_reads.h"

#include <charconv>

#include "core/status.h"
#include "fmt/format.h"

namespace segmenta {
namespace {

absl::Status NoAudience(AudienceKind kind, std::string_view name) {
  return absl::NotFoundError(fmt::format("no {} named \"{}\"", AudienceKindName(kind), name));
}

void CountTraits(const Plan& plan, TraitReads* reads) {
  for (const std::string& t : plan.traits()) ++(*reads)[t];
}

}  // namespace

absl::StatusOr<MembersPage> AudienceReads::Members(AudienceKind kind, std::string_view name,
                                                   std::string_view cursor, size_t limit) const {
  uint64_t after = 0;
  if (!cursor.empty()) {
    auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), after);
    if (ec != std::errc() || end != cursor.data() + cursor.size()) {
      return absl::InvalidArgumentError(fmt::format("malformed cursor \"{}\"", cursor));
    }
  }
  absl::ReaderMutexLock lock(&core_->mu());
  const Audience* audience = core_->graph().audiences().Find(kind, name);
  if (audience == nullptr) return NoAudience(kind, name);
  MembersPage page;
  for (auto it = audience->members.begin(); it != audience->members.end(); ++it) {
    if (*it <= after && !cursor.empty()) continue;
    if (page.contacts.size() == limit) {
      page.next_cursor = std::to_string(page.contacts.back());
      break;
    }
    page.contacts.push_back(*it);
  }
  return page;
}

absl::StatusOr<Roaring> AudienceReads::Bitmap(AudienceKind kind, std::string_view name) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const Audience* audience = core_->graph().audiences().Find(kind, name);
  if (audience == nullptr) return NoAudience(kind, name);
  return audience->members;
}

absl::StatusOr<std::vector<MembershipEvent>> AudienceReads::History(AudienceKind kind,
                                                                    std::string_view name,
                                                                    size_t limit) const {
  uint32_t id = 0;
  {
    absl::ReaderMutexLock lock(&core_->mu());
    const Audience* audience = core_->graph().audiences().Find(kind, name);
    if (audience == nullptr) return NoAudience(kind, name);
    id = audience->id;
  }
  SEGMENTA_ASSIGN_OR_RETURN(std::vector<MembershipEvent> out,
                            core_->log().AudienceHistory(id, limit));
  for (MembershipEvent& e : out) {
    e.audience_name = std::string(name);
    e.kind = kind;
  }
  return out;
}

absl::StatusOr<std::vector<MembershipEvent>> AudienceReads::ContactHistory(ContactId contact,
                                                                           size_t limit) const {
  SEGMENTA_ASSIGN_OR_RETURN(std::vector<MembershipEvent> out,
                            core_->log().ContactHistory(contact, limit));
  absl::ReaderMutexLock lock(&core_->mu());
  const AudienceDirectory& audiences = core_->graph().audiences();
  for (MembershipEvent& e : out) {
    // The current name (a group keeps its name; a stage may be renamed away).
    if (const AudienceDirectory::Entry* found = audiences.ById(e.audience); found != nullptr) {
      e.audience_name = found->audience().name;
    } else if (e.audience_name.empty()) {
      e.audience_name = fmt::format("(deleted {} {})", AudienceKindName(e.kind), e.audience);
    }
  }
  return out;
}

std::vector<Webhook> AudienceReads::WebhooksOf(uint32_t id) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const AudienceDirectory::Entry* found = core_->graph().audiences().ById(id);
  return found == nullptr ? std::vector<Webhook>() : found->audience().webhooks;
}

TraitReads AudienceReads::Traits() const {
  absl::ReaderMutexLock lock(&core_->mu());
  const DefinitionGraph& graph = core_->graph();
  TraitReads reads;
  for (size_t i = 0; i < graph.size(); ++i) {
    for (const auto& plan : graph.node(i).plans().all()) CountTraits(*plan, &reads);
  }
  return reads;
}

absl::StatusOr<AudienceDefinitionReads> AudienceReads::DefinitionReads(
    AudienceKind kind, std::string_view name) const {
  absl::ReaderMutexLock lock(&core_->mu());
  const Audience* audience = core_->graph().audiences().Find(kind, name);
  if (audience == nullptr) return NoAudience(kind, name);
  AudienceDefinitionReads out;
  out.members = audience->members;
  for (const auto& plan : audience->conditions) CountTraits(*plan, &out.traits);
  return out;
}

}  // namespace segmenta
