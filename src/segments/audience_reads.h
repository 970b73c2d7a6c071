// Reads of any audience through the audience engine (engine.h): a contact group, a persona
// or a lifecycle stage by kind and name; their members, enters and exits; and what their
// definitions read, for progressive profiling (analytics/progressive_profiling.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "segments/audience.h"
#include "segments/engine_core.h"

namespace segmenta {

// How many conditions (group conditions, score rules, stage conditions) read each trait.
using TraitReads = absl::flat_hash_map<std::string, uint32_t>;

// An audience's members and the traits its definition reads.
struct AudienceDefinitionReads {
  Roaring members;
  TraitReads traits;
};

// Thread-safe.
class AudienceReads {
 public:
  // `core` must outlive it.
  explicit AudienceReads(EngineCore* core) : core_(core) {}

  // Members in id order after `cursor` ("" for the first page), at most `limit`.
  // Errors: NotFound ("no persona named …"); InvalidArgument for a malformed cursor.
  absl::StatusOr<MembersPage> Members(AudienceKind kind, std::string_view name,
                                      std::string_view cursor, size_t limit) const;
  // A copy of the members. Errors: NotFound.
  absl::StatusOr<Roaring> Bitmap(AudienceKind kind, std::string_view name) const;
  // Its enters and exits, newest first, at most `limit`, named as it is named now.
  // Errors: NotFound; DataLoss and Internal for store errors.
  absl::StatusOr<std::vector<MembershipEvent>> History(AudienceKind kind, std::string_view name,
                                                       size_t limit) const;
  // The enters and exits of `contact` in any audience, newest first, at most `limit`;
  // named as the audience is named now ("(deleted group 7)" when it is gone).
  // Errors: DataLoss and Internal for store errors.
  absl::StatusOr<std::vector<MembershipEvent>> ContactHistory(ContactId contact,
                                                              size_t limit) const;
  // The webhooks of the audience with `id`, secrets included (for the webhook sender
  // only); empty when it does not exist.
  std::vector<Webhook> WebhooksOf(uint32_t id) const;

  // The traits every definition reads.
  TraitReads Traits() const;
  // Errors: NotFound.
  absl::StatusOr<AudienceDefinitionReads> DefinitionReads(AudienceKind kind,
                                                          std::string_view name) const;

 private:
  EngineCore* core_;
};

}  // namespace segmenta
