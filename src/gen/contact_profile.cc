#include "gen/contact_profile.h"

#include <algorithm>
#include <array>
#include <utility>

#include "gen/json_text.h"

namespace segmenta::traffic {
namespace {

void AddDevice(Rng& rng, ContactProfile& p) {
  Device d;
  d.user_agent = kUserAgents[rng.PickWeighted(kUserAgents)].value;
  d.anonymous_id = NewAnonymousId(rng);
  AppendUint(p.country->ip_a, &d.ip);
  d.ip.push_back('.');
  AppendUint(p.country->ip_b, &d.ip);
  d.ip.push_back('.');
  AppendUint(rng.Below(256), &d.ip);
  d.ip.push_back('.');
  AppendUint(rng.Between(1, 254), &d.ip);
  p.devices.push_back(std::move(d));
}

}  // namespace

ContactProfile DrawContactProfile(Rng& rng, uint64_t seed_key, uint64_t index, uint64_t contacts) {
  ContactProfile p;
  p.first = &kFirstNames[rng.Below(kFirstNames.size())];
  p.last = &kLastNames[rng.Below(kLastNames.size())];
  p.country = &kCountries[rng.PickWeighted(kCountries)];
  p.city = p.country->cities[rng.Pick(std::array<uint32_t, 3>{50, 30, 20})];
  p.gender = rng.Chance(15) ? "non-binary" : (p.first->female ? "female" : "male");
  const AgeBand& band = kAgeBands[rng.PickWeighted(kAgeBands)];
  p.age = static_cast<int>(rng.Between(band.lo, band.hi));
  p.job_title = p.age < 25 && rng.Chance(600)    ? "student"
                : p.age >= 66 && rng.Chance(700) ? "retired"
                                                 : kJobTitles[rng.PickWeighted(kJobTitles)].value;
  p.plan = kPlans[rng.PickWeighted(kPlans)].value;
  std::array<uint32_t, kCategories.size()> category_weights{};
  for (size_t i = 0; i < kCategories.size(); ++i) category_weights[i] = kCategories[i].weight;
  p.favorite_category = static_cast<int>(rng.Pick(category_weights));
  p.researcher = rng.Chance(200);
  p.will_identify = rng.Chance(455);
  p.newsletter = p.will_identify && rng.Chance(350);
  p.has_card = rng.Chance(700);
  // Card expiry month relative to the month of `end`: a few expire within 30 days.
  size_t horizon = rng.Pick(std::array<uint32_t, 4>{40, 40, 600, 320});
  p.card_months_ahead = horizon == 0   ? 0
                        : horizon == 1 ? 1
                        : horizon == 2 ? static_cast<int>(rng.Between(2, 24))
                                       : static_cast<int>(rng.Between(25, 60));
  p.b2b = p.will_identify && rng.Chance(p.researcher ? 600 : 80);
  p.plans_alias = rng.Chance(300);
  p.plans_upgrade = rng.Chance(150);

  // Unique within a run (Mix64 is a bijection), different between seeds.
  p.user_id = "usr_";
  AppendHex(Mix64(seed_key ^ (index * kGolden)), 16, &p.user_id);

  if (p.b2b) {
    // Accounts are shared: a pool of about one per 40 contacts, the first ones busiest.
    uint64_t pool = std::max<uint64_t>(1, contacts / 40);
    p.accounts.push_back(std::min(rng.Below(pool), rng.Below(pool)));
    if (rng.Chance(100)) {
      size_t second = rng.Below(pool);
      if (second != p.accounts[0]) p.accounts.push_back(second);
    }
  }

  p.email += p.first->ascii;
  p.email.push_back('.');
  p.email += p.last->ascii;
  AppendUint(index + 1, &p.email);
  p.email.push_back('@');
  if (p.b2b) {
    AppendAccountDomain(DrawAccount(seed_key, p.accounts[0]), &p.email);
  } else {
    p.email += kEmailDomains[rng.PickWeighted(kEmailDomains)].value;
  }

  size_t device_count = rng.Pick(std::array<uint32_t, 3>{650, 270, 80}) + 1;
  for (size_t i = 0; i < device_count; ++i) AddDevice(rng, p);
  return p;
}

std::string NewAnonymousId(Rng& rng) {
  std::string id;
  id.reserve(36);
  uint64_t hi = rng.Next();
  AppendUuid(hi, rng.Next(), &id);
  return id;
}

AccountProfile DrawAccount(uint64_t seed_key, size_t index) {
  Rng rng(Mix64(seed_key ^ 0xACC0000000000000ULL ^ (index * kGolden)));
  AccountProfile a;
  a.group_id = "acc_";
  AppendHex(Mix64(seed_key ^ (index + 1) * 0xD1B54A32D192ED03ULL), 16, &a.group_id);
  a.prefix = kCompanyPrefixes[rng.Below(kCompanyPrefixes.size())];
  a.suffix = kCompanySuffixes[rng.Below(kCompanySuffixes.size())];
  a.country = &kCountries[rng.PickWeighted(kCountries)];
  a.industry = kIndustries[rng.PickWeighted(kIndustries)].value;
  // Employees, Zipf-ish over 1..10,000: most accounts are small.
  size_t decade = rng.Pick(std::array<uint32_t, 4>{45, 30, 17, 8});
  static constexpr int64_t kPow10[] = {1, 10, 100, 1000, 10000};
  a.employees = rng.Between(kPow10[decade], kPow10[decade + 1] - (decade < 3));
  a.plan = a.employees >= 1000  ? "enterprise"
           : a.employees >= 100 ? "business"
           : a.employees >= 10  ? "team"
                                : "starter";
  return a;
}

void AppendAccountDomain(const AccountProfile& account, std::string* out) {
  AppendSlug(account.prefix, out);
  out->push_back('-');
  AppendSlug(account.suffix, out);
  out->append(".example");
}

}  // namespace segmenta::traffic
