#include "identity/identity_graph.h"

#include <algorithm>

#include "collect/parser.h"
#include "fmt/format.h"
#include "store/store.h"

namespace segmenta {
namespace {

std::string GraphKey(IdentityKind kind, std::string_view value) {
  return IdentityKey(static_cast<char>(kind), value);
}

}  // namespace

std::string NormalizeEmail(std::string_view email) {
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.front()))) {
    email.remove_prefix(1);
  }
  while (!email.empty() && std::isspace(static_cast<unsigned char>(email.back()))) {
    email.remove_suffix(1);
  }
  size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= email.size()) return {};
  std::string out(email);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view IdentityKindName(IdentityKind kind) {
  switch (kind) {
    case IdentityKind::kAnonymous:
      return "anonymousId";
    case IdentityKind::kUser:
      return "userId";
    case IdentityKind::kEmail:
      return "email";
  }
  return "unknown";
}

absl::Status IdentityGraph::Load(const Store& store) {
  contacts_by_identity_.clear();
  summaries_.clear();
  auto it = store.NewIterator(Family::kIdentities);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice key = it->key();
    rocksdb::Slice value = it->value();
    if (key.size() < 2 || value.size() != 8) {
      return absl::DataLossError(fmt::format("malformed identity record '{}'", key.ToString()));
    }
    ContactId contact = ReadBigEndian64(std::string_view(value.data(), 8));
    auto kind = static_cast<IdentityKind>(key[0]);
    contacts_by_identity_.emplace(GraphKey(kind, std::string_view(key.data() + 2, key.size() - 2)),
                                  contact);
    Summary& summary = summaries_[contact];
    if (kind == IdentityKind::kAnonymous) ++summary.anonymous_ids;
    if (kind == IdentityKind::kUser) summary.has_user_id = true;
  }
  return FromRocks(it->status(), "loading identities");
}

void IdentityGraph::PrepareGrowth(size_t more) {
  absl::flat_hash_map<std::string, ContactId>().swap(grown_index_);
  grown_ready_ = false;
  summaries_.reserve(summaries_.size() + more);
  // A flat_hash_map rehashes once 7/8 of its slots are full. Short indexes rehash in place:
  // their rehash is too short to matter.
  constexpr size_t kMinCopied = 4096;
  const size_t size = contacts_by_identity_.size();
  const size_t capacity = contacts_by_identity_.capacity();
  if (size < kMinCopied || size + more <= capacity - capacity / 8) return;
  grown_index_.reserve(std::max(2 * size, size + more));
  grown_index_.insert(contacts_by_identity_.begin(), contacts_by_identity_.end());
  grown_ready_ = true;
}

void IdentityGraph::SwapInGrowth() {
  if (!grown_ready_) return;
  contacts_by_identity_.swap(grown_index_);
  grown_ready_ = false;
}

std::optional<ContactId> IdentityGraph::Find(IdentityKind kind, std::string_view value) const {
  auto it = contacts_by_identity_.find(GraphKey(kind, value));
  if (it == contacts_by_identity_.end()) return std::nullopt;
  return it->second;
}

void IdentityGraph::Forget(ContactId id, const std::vector<Identity>& identities) {
  for (const Identity& identity : identities) {
    auto it = contacts_by_identity_.find(GraphKey(identity.kind, identity.value));
    if (it != contacts_by_identity_.end() && it->second == id) contacts_by_identity_.erase(it);
  }
  summaries_.erase(id);
}

bool IdentityGraph::HasUsableIdentity(const IdentityClaim& claim) const {
  auto usable = [](const std::string& id) { return !id.empty() && !IsPlaceholderId(id); };
  return usable(claim.user_id) || usable(claim.anonymous_id) || usable(claim.previous_id) ||
         (options_.merge_on_email && !claim.email.empty() && !NormalizeEmail(claim.email).empty());
}

const IdentityGraph::Summary* IdentityGraph::FindSummary(ContactId id) const {
  auto it = summaries_.find(id);
  return it == summaries_.end() ? nullptr : &it->second;
}

absl::StatusOr<Resolution> IdentityGraph::Resolve(const IdentityClaim& claim,
                                                  ContactId* next_contact_id) const {
  Resolution r;
  // The identities of the message that may link contacts, strongest first.
  struct Candidate {
    Identity identity;
    std::optional<ContactId> contact;
  };
  std::vector<Candidate> candidates;
  auto add = [&](IdentityKind kind, const std::string& value) {
    if (value.empty()) return;
    if (IsPlaceholderId(value)) {
      r.refused.push_back(fmt::format("ignored placeholder {} \"{}\"", IdentityKindName(kind),
                                      value.substr(0, 64)));
      return;
    }
    Identity identity{kind, value};
    for (const Candidate& c : candidates) {
      if (c.identity == identity) return;
    }
    candidates.push_back({identity, Find(kind, value)});
  };
  add(IdentityKind::kUser, claim.user_id);
  if (!claim.previous_id.empty()) {
    // An alias names an earlier id without saying which kind: a known userId, else an
    // anonymousId.
    if (Find(IdentityKind::kUser, claim.previous_id)) {
      add(IdentityKind::kUser, claim.previous_id);
    } else {
      add(IdentityKind::kAnonymous, claim.previous_id);
    }
  }
  add(IdentityKind::kAnonymous, claim.anonymous_id);
  if (options_.merge_on_email && !claim.email.empty()) {
    std::string email = NormalizeEmail(claim.email);
    if (!email.empty()) add(IdentityKind::kEmail, email);
  }
  if (candidates.empty()) {
    return absl::InvalidArgumentError("the message has no usable userId or anonymousId");
  }

  // State of the contact being built up, as the merges so far would leave it.
  std::optional<ContactId> target;
  uint32_t anonymous_ids = 0;
  bool has_user_id = false;
  // The message's own userId, when it has one: that contact must carry it.
  const bool claims_user = !claim.user_id.empty() && !IsPlaceholderId(claim.user_id);
  auto summary_of = [&](ContactId id) {
    const Summary* s = FindSummary(id);
    return s != nullptr ? *s : Summary{};
  };
  auto adopt = [&](ContactId id) {
    target = id;
    Summary s = summary_of(id);
    anonymous_ids = s.anonymous_ids;
    has_user_id = s.has_user_id;
  };

  // A second userId in the message (alias from an old userId) may only merge into a contact
  // that has no other one; the rules below apply uniformly to every candidate.
  for (const Candidate& c : candidates) {
    if (!c.contact) continue;
    ContactId other = *c.contact;
    if (!target) {
      Summary s = summary_of(other);
      if (claims_user && c.identity.kind != IdentityKind::kUser && s.has_user_id &&
          !Find(IdentityKind::kUser, claim.user_id)) {
        // The anonymous id (or e-mail) belongs to someone with another userId: a shared
        // device. The new user gets a contact of its own.
        r.refused.push_back(fmt::format(
            "refused to link {} \"{}\" of contact {} to userId \"{}\": that contact has "
            "another userId",
            IdentityKindName(c.identity.kind), c.identity.value, other, claim.user_id));
        continue;
      }
      adopt(other);
      continue;
    }
    if (other == *target || std::find(r.absorb.begin(), r.absorb.end(), other) != r.absorb.end()) {
      continue;
    }
    Summary s = summary_of(other);
    if (has_user_id && s.has_user_id) {
      r.refused.push_back(fmt::format(
          "refused to merge contacts {} and {}: each has its own userId ({} \"{}\" links them)",
          *target, other, IdentityKindName(c.identity.kind), c.identity.value));
      continue;
    }
    if (anonymous_ids + s.anonymous_ids > options_.max_anonymous_ids) {
      r.refused.push_back(fmt::format(
          "refused to merge contacts {} and {}: together they would hold {} anonymous ids, "
          "more than the limit of {}",
          *target, other, anonymous_ids + s.anonymous_ids, options_.max_anonymous_ids));
      continue;
    }
    // The older contact survives.
    ContactId survivor = std::min(*target, other);
    ContactId absorbed = std::max(*target, other);
    r.absorb.push_back(absorbed);
    target = survivor;
    anonymous_ids += s.anonymous_ids;
    has_user_id = has_user_id || s.has_user_id;
  }

  if (!target) {
    target = (*next_contact_id)++;
    r.created = true;
  }
  r.contact = *target;

  for (const Candidate& c : candidates) {
    if (c.contact) continue;
    if (c.identity.kind == IdentityKind::kUser && has_user_id) {
      // Only when the target came from an anonymous id of someone with another userId.
      r.refused.push_back(fmt::format("refused to add userId \"{}\" to contact {}: it has one",
                                      c.identity.value, *target));
      continue;
    }
    if (c.identity.kind == IdentityKind::kAnonymous &&
        anonymous_ids + 1 > options_.max_anonymous_ids) {
      r.refused.push_back(fmt::format(
          "refused to link anonymousId \"{}\" to contact {}: it holds {} anonymous ids, the "
          "limit",
          c.identity.value, *target, anonymous_ids));
      continue;
    }
    if (c.identity.kind == IdentityKind::kUser) has_user_id = true;
    if (c.identity.kind == IdentityKind::kAnonymous) ++anonymous_ids;
    r.attach.push_back(c.identity);
  }
  // absorb may hold ids larger than the final survivor only; keep it sorted for determinism.
  std::sort(r.absorb.begin(), r.absorb.end());
  return r;
}

void IdentityGraph::Apply(const Resolution& resolution,
                          const std::vector<std::vector<Identity>>& absorbed_identities) {
  Summary& target = summaries_[resolution.contact];
  for (size_t i = 0; i < resolution.absorb.size(); ++i) {
    ContactId absorbed = resolution.absorb[i];
    auto it = summaries_.find(absorbed);
    if (it != summaries_.end()) {
      target.anonymous_ids += it->second.anonymous_ids;
      target.has_user_id = target.has_user_id || it->second.has_user_id;
      summaries_.erase(it);
    }
    if (i < absorbed_identities.size()) {
      for (const Identity& identity : absorbed_identities[i]) {
        contacts_by_identity_[GraphKey(identity.kind, identity.value)] = resolution.contact;
      }
    }
  }
  // `target` may have been invalidated by erase above (rehash); look it up again.
  Summary& summary = summaries_[resolution.contact];
  for (const Identity& identity : resolution.attach) {
    contacts_by_identity_[GraphKey(identity.kind, identity.value)] = resolution.contact;
    if (identity.kind == IdentityKind::kAnonymous) ++summary.anonymous_ids;
    if (identity.kind == IdentityKind::kUser) summary.has_user_id = true;
  }
}

}  // namespace segmenta
