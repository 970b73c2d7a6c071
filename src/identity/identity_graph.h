// The identity graph: which contact each identity (anonymousId, userId, e-mail) points to,
// and the decisions to link or merge contacts, with the safeguards serious CDPs have.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/keys.h"

namespace segmenta {

class Store;

enum class IdentityKind : char { kAnonymous = 'a', kUser = 'u', kEmail = 'e' };

// "anonymousId", "userId", "email".
std::string_view IdentityKindName(IdentityKind kind);

struct Identity {
  IdentityKind kind;
  std::string value;
  bool operator==(const Identity&) const = default;
};

struct IdentityOptions {
  // Whether the `email` trait of identify links contacts like a userId does. Default: true.
  bool merge_on_email = true;
  // Most anonymous ids one contact may hold; a link or merge past it is refused, so that a
  // shared device (a kiosk, a family computer) cannot fuse a crowd. Default: 100.
  uint32_t max_anonymous_ids = 100;
};

// An e-mail address as the graph keys it: trimmed and lower-cased; empty when it does not
// look like an address. Thread-safe.
std::string NormalizeEmail(std::string_view email);

// The ids one message carries, before placeholder filtering.
struct IdentityClaim {
  std::string user_id;
  std::string anonymous_id;
  std::string email;        // from identify traits, when merge_on_email
  std::string previous_id;  // alias: an earlier userId or anonymousId
};

// What the worker must do for one message.
struct Resolution {
  // The contact the message belongs to (after merges, the survivor).
  ContactId contact = 0;
  // `contact` is new: no identity of the message was known.
  bool created = false;
  // Identities to link to `contact` (not yet in the graph).
  std::vector<Identity> attach;
  // Contacts to fold into `contact`, which is older than each of them.
  std::vector<ContactId> absorb;
  // Links refused by a safeguard, as sentences for the log ("refused to merge contact 7
  // into 3: both have a userId").
  std::vector<std::string> refused;
};

// Holds the whole graph in memory. Not thread-safe: owned by the worker's writer thread;
// readers may call the const methods while the writer holds off changes
// (Worker::FindIdentity).
class IdentityGraph {
 public:
  explicit IdentityGraph(IdentityOptions options = {}) : options_(options) {}

  // Loads the graph from the store's identities family.
  absl::Status Load(const Store& store);

  // Decides where a message with `claim` goes; allocates a new contact id from
  // `next_contact_id` (incremented) when none of its identities is known.
  // Does not change the graph: call Apply() once the worker has staged the writes.
  // Errors: InvalidArgument when the claim has no usable identity (all placeholders).
  absl::StatusOr<Resolution> Resolve(const IdentityClaim& claim, ContactId* next_contact_id) const;

  // Records `resolution` in the graph. `absorbed_identities` lists, for each contact of
  // resolution.absorb, the identities it held (they now point to resolution.contact).
  void Apply(const Resolution& resolution,
             const std::vector<std::vector<Identity>>& absorbed_identities);

  // True when Resolve() would find an identity in `claim` to place the message by: a
  // userId, anonymousId or previousId that is not a placeholder, or (with merge_on_email) an
  // e-mail address. Thread-safe with other const calls.
  bool HasUsableIdentity(const IdentityClaim& claim) const;

  // Removes `identities` of contact `id` and its summary (the contact was erased).
  void Forget(ContactId id, const std::vector<Identity>& identities);

  // The contact an identity points to, if any.
  std::optional<ContactId> Find(IdentityKind kind, std::string_view value) const;

  // Makes room for `more` identities and contacts, so that Apply() does not rehash while
  // readers of Find() are held off: what only the writer reads is rehashed now, the identity
  // index that readers may be reading is copied into a larger one (reading it only), which
  // SwapInGrowth() puts in place. The graph must not change between the two; call this
  // without holding readers off, and SwapInGrowth() while holding them off. The index it
  // replaced is freed by the next PrepareGrowth().
  void PrepareGrowth(size_t more);
  void SwapInGrowth();

  size_t identity_count() const { return contacts_by_identity_.size(); }
  // Slots of the identity index (it rehashes once 7/8 of them are full).
  size_t identity_capacity() const { return contacts_by_identity_.capacity(); }
  const IdentityOptions& options() const { return options_; }

 private:
  struct Summary {
    uint32_t anonymous_ids = 0;
    bool has_user_id = false;
  };
  const Summary* FindSummary(ContactId id) const;

  IdentityOptions options_;
  // Key: kind letter + value (as IdentityKey without the separator cost).
  absl::flat_hash_map<std::string, ContactId> contacts_by_identity_;
  absl::flat_hash_map<ContactId, Summary> summaries_;
  // The larger index PrepareGrowth() made, until SwapInGrowth(); then the one it replaced.
  absl::flat_hash_map<std::string, ContactId> grown_index_;
  bool grown_ready_ = false;
};

}  // namespace segmenta
