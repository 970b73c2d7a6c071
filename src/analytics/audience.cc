#include "analytics/audience.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"

namespace segmenta {
namespace {

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

// A bit per contact row: the alive members.
std::vector<bool> MemberBits(const ProfileTable& profiles, const Roaring& members,
                             uint64_t* count) {
  std::vector<bool> bits(profiles.contact_rows(), false);
  *count = 0;
  for (uint32_t c : members) {
    if (c < bits.size() && profiles.contact(c) != nullptr) {
      bits[c] = true;
      ++*count;
    }
  }
  return bits;
}

Commerce CommerceOf(const ProfileTable& profiles, const std::vector<bool>* members,
                    uint64_t audience, const AudienceOptions& options) {
  Commerce out;
  const int t = profiles.table_index(MessageType::kTrack, options.goal_event);
  if (t >= 0) {
    const EventTable& table = profiles.table(static_cast<uint16_t>(t));
    const Column* revenue = table.column(options.revenue_property);
    std::vector<bool> converted(profiles.contact_rows(), false);
    for (size_t row = 0; row < table.rows(); ++row) {
      const uint32_t c = table.contact[row];
      if (c == 0 || c >= converted.size() || profiles.contact(c) == nullptr) continue;
      if (members != nullptr && !(*members)[c]) continue;
      if (!converted[c]) {
        converted[c] = true;
        ++out.contacts;
      }
      ++out.orders;
      if (revenue != nullptr && revenue->type(row) == ValueType::kNumber) {
        out.revenue += revenue->number(row);
      }
    }
  }
  out.conversion_rate = Ratio(static_cast<double>(out.contacts), static_cast<double>(audience));
  out.average_order_value = Ratio(out.revenue, static_cast<double>(out.orders));
  out.revenue_per_contact = Ratio(out.revenue, static_cast<double>(audience));
  return out;
}

}  // namespace

AudienceProfile DescribeAudience(const ProfileTable& profiles, const Roaring& members,
                                 const AudienceOptions& options) {
  AudienceProfile out;
  const std::vector<bool> in = MemberBits(profiles, members, &out.members);
  out.contacts = profiles.alive_contacts();
  const double m = static_cast<double>(out.members);
  const double all = static_cast<double>(out.contacts);

  // Traits: the most common value among the members of each string or boolean trait, and
  // the means of numeric ones.
  for (const auto& [name, column] : profiles.trait_columns()) {
    absl::flat_hash_map<uint64_t, std::pair<uint64_t, uint64_t>> counts;  // value -> (in, all)
    double sum = 0, sum_all = 0;
    uint64_t numbers = 0, numbers_all = 0;
    for (size_t c = 0; c < column.size(); ++c) {
      const ValueType type = column.type(c);
      if (type == ValueType::kNull || profiles.contact(c) == nullptr) continue;
      const bool member = c < in.size() && in[c];
      if (type == ValueType::kNumber) {
        sum_all += column.number(c);
        ++numbers_all;
        if (member) {
          sum += column.number(c);
          ++numbers;
        }
        continue;
      }
      uint64_t key;
      if (type == ValueType::kString) {
        key = column.string_id(c);
      } else if (type == ValueType::kBool) {
        key = (uint64_t{1} << 40) | static_cast<uint64_t>(column.boolean(c));
      } else {
        continue;
      }
      auto& [in_count, all_count] = counts[key];
      ++all_count;
      if (member) ++in_count;
    }
    if (numbers > 0) {
      out.numbers.push_back({name, sum / static_cast<double>(numbers),
                             sum_all / static_cast<double>(numbers_all), Ratio(numbers, m)});
    }
    uint64_t best_key = 0;
    std::pair<uint64_t, uint64_t> best{0, 0};
    for (const auto& [key, c] : counts) {
      if (c.first > best.first || (c.first == best.first && c.first > 0 && key < best_key)) {
        best = c;
        best_key = key;
      }
    }
    if (best.first == 0) continue;
    TraitShare share;
    share.trait = name;
    share.value =
        best_key >> 40
            ? Value::Bool(best_key & 1).ToJson()
            : Value::String(std::string(column.dictionary_string(static_cast<uint32_t>(best_key))))
                  .ToJson();
    share.share = Ratio(static_cast<double>(best.first), m);
    share.share_overall = Ratio(static_cast<double>(best.second), all);
    share.lift = Ratio(share.share, share.share_overall);
    if (share.lift >= 1.1) out.traits.push_back(std::move(share));
  }
  std::sort(out.traits.begin(), out.traits.end(), [](const TraitShare& a, const TraitShare& b) {
    return a.share != b.share ? a.share > b.share : a.trait < b.trait;
  });
  if (out.traits.size() > options.top) out.traits.resize(options.top);
  std::sort(out.numbers.begin(), out.numbers.end(), [](const TraitMean& a, const TraitMean& b) {
    return a.filled != b.filled ? a.filled > b.filled : a.trait < b.trait;
  });
  if (out.numbers.size() > options.top) out.numbers.resize(options.top);

  // Activities: per event key, how many the members did and how many of them did one.
  std::vector<uint32_t> last_seen(profiles.contact_rows(), 0);
  for (size_t t = 0; t < profiles.tables().size(); ++t) {
    const EventTable& table = *profiles.tables()[t];
    ActivityShare share;
    share.event = table.key;
    uint64_t doers = 0, doers_all = 0;
    const uint32_t mark = static_cast<uint32_t>(t + 1);
    for (size_t row = 0; row < table.rows(); ++row) {
      const uint32_t c = table.contact[row];
      if (c == 0 || c >= last_seen.size() || profiles.contact(c) == nullptr) continue;
      const bool member = in[c];
      if (member) ++share.activities;
      if (last_seen[c] != mark) {
        last_seen[c] = mark;
        ++doers_all;
        if (member) ++doers;
      }
    }
    if (share.activities == 0) continue;
    share.contacts = Ratio(static_cast<double>(doers), m);
    share.contacts_overall = Ratio(static_cast<double>(doers_all), all);
    share.per_member = Ratio(static_cast<double>(share.activities), m);
    out.activities.push_back(std::move(share));
  }
  std::sort(out.activities.begin(), out.activities.end(),
            [](const ActivityShare& a, const ActivityShare& b) {
              return a.activities != b.activities ? a.activities > b.activities : a.event < b.event;
            });
  if (out.activities.size() > options.top) out.activities.resize(options.top);

  out.commerce = CommerceOf(profiles, &in, out.members, options);
  out.commerce_overall = CommerceOf(profiles, nullptr, out.contacts, options);
  return out;
}

}  // namespace segmenta
