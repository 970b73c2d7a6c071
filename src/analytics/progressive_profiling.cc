#include "analytics/progressive_profiling.h"

#include <algorithm>

#include "fmt/format.h"

namespace segmenta {
namespace {

void MostReadFirst(std::vector<TraitUse>* uses) {
  std::sort(uses->begin(), uses->end(), [](const TraitUse& a, const TraitUse& b) {
    return a.rules != b.rules ? a.rules > b.rules : a.trait < b.trait;
  });
}

double AliveContacts(const ProfileTable& profiles) {
  return static_cast<double>(std::max<size_t>(1, profiles.alive_contacts()));
}

}  // namespace

absl::StatusOr<std::vector<TraitUse>> MissingTraits(const ProfileTable& profiles, ContactId contact,
                                                    const TraitReads& reads) {
  if (profiles.contact(contact) == nullptr) {
    return absl::NotFoundError(fmt::format("no contact with id {}", contact));
  }
  std::vector<TraitUse> out;
  const double alive = AliveContacts(profiles);
  for (const auto& [trait, count] : reads) {
    const Column* column = profiles.trait(trait);
    if (column != nullptr && column->type(contact) != ValueType::kNull) continue;
    TraitUse use{trait, count, 0, 0};
    if (column != nullptr) {
      size_t filled = 0;
      for (size_t c = 0; c < column->size(); ++c) {
        filled += column->type(c) != ValueType::kNull && profiles.contact(c) != nullptr;
      }
      use.filled_overall = static_cast<double>(filled) / alive;
    }
    out.push_back(std::move(use));
  }
  MostReadFirst(&out);
  return out;
}

std::vector<TraitUse> Completeness(const ProfileTable& profiles, const Roaring& members,
                                   const TraitReads& reads) {
  std::vector<TraitUse> out;
  const double alive = AliveContacts(profiles);
  const double count = static_cast<double>(std::max<uint64_t>(1, members.cardinality()));
  for (const auto& [trait, n] : reads) {
    TraitUse use{trait, n, 0, 0};
    if (const Column* column = profiles.trait(trait); column != nullptr) {
      size_t filled = 0, in_members = 0;
      for (size_t c = 0; c < column->size(); ++c) {
        if (column->type(c) == ValueType::kNull || profiles.contact(c) == nullptr) continue;
        ++filled;
        in_members += members.contains(static_cast<uint32_t>(c));
      }
      use.filled = members.isEmpty() ? 0 : static_cast<double>(in_members) / count;
      use.filled_overall = static_cast<double>(filled) / alive;
    }
    out.push_back(std::move(use));
  }
  MostReadFirst(&out);
  return out;
}

absl::StatusOr<std::vector<TraitUse>> MissingTraitsNow(const Worker& worker,
                                                       const AudienceReads& engine,
                                                       ContactId contact) {
  return worker.ReadProfiles([&](const ProfileTable& profiles) {
    return MissingTraits(profiles, contact, engine.Traits());
  });
}

absl::StatusOr<std::vector<TraitUse>> CompletenessNow(const Worker& worker,
                                                      const AudienceReads& engine,
                                                      AudienceKind kind, std::string_view name) {
  return worker.ReadProfiles(
      [&](const ProfileTable& profiles) -> absl::StatusOr<std::vector<TraitUse>> {
        absl::StatusOr<AudienceDefinitionReads> reads = engine.DefinitionReads(kind, name);
        if (!reads.ok()) return reads.status();
        return Completeness(profiles, reads->members, reads->traits);
      });
}

}  // namespace segmenta
