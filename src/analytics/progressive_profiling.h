// Progressive profiling: which traits the definitions (group conditions, score rules, stage
// conditions) read that a contact lacks, the one deciding the most rules first (the next
// question to ask it), and how complete the traits an audience's definition reads are
// among its members and among all contacts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "profile/profile_table.h"
#include "ingest/worker.h"
#include "roaring/roaring.hh"
#include "segments/audience_reads.h"

namespace segmenta {

// A trait that conditions read, ranked by how many of them read it.
struct TraitUse {
  std::string trait;
  uint32_t rules = 0;  // group conditions, score rules and stage conditions reading it
  // Completeness: the share of contacts (of the audience asked about, and of all) that
  // have it.
  double filled = 0;
  double filled_overall = 0;
};

// The traits of `reads` (AudienceReads::Traits) that `contact` lacks, most read first (ties
// by name), each with its share among all contacts. Errors: NotFound for an unknown
// contact. REQUIRES: the caller holds the profile table for reading. Thread-safe.
absl::StatusOr<std::vector<TraitUse>> MissingTraits(const ProfileTable& profiles, ContactId contact,
                                                    const TraitReads& reads);

// The traits of `reads` (AudienceReads::DefinitionReads), most read first (ties by name),
// each with its share among `members` and among all contacts. REQUIRES: the caller holds
// the profile table for reading. Thread-safe.
std::vector<TraitUse> Completeness(const ProfileTable& profiles, const Roaring& members,
                                   const TraitReads& reads);

// MissingTraits and Completeness of the definitions `engine` holds now, reading the
// worker's profile table and then the engine (the lock order). Errors: NotFound for an
// unknown contact or audience. Thread-safe.
absl::StatusOr<std::vector<TraitUse>> MissingTraitsNow(const Worker& worker,
                                                       const AudienceReads& engine,
                                                       ContactId contact);
absl::StatusOr<std::vector<TraitUse>> CompletenessNow(const Worker& worker,
                                                      const AudienceReads& engine,
                                                      AudienceKind kind, std::string_view name);

}  // namespace segmenta
