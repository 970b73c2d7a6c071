// Who a simulated contact is (name, place, job, plan, devices, accounts, habits) and the
// B2B accounts contacts belong to: drawn once per contact, before its sessions. Internal
// to src/gen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gen/random.h"
#include "gen/vocabulary.h"

namespace segmenta::traffic {

// A browser or phone of the contact, with its cookie (anonymousId).
struct Device {
  const char* user_agent;
  std::string anonymous_id;
  std::string old_anonymous_id;  // before the last cookie reset
  std::string ip;
  bool logged_in = false;         // sends userId
  bool used_anonymously = false;  // sent messages without userId since its last reset
};

// The traits and habits of one contact, fixed for the whole window (but `plan`, which an
// upgrade changes).
struct ContactProfile {
  const FirstName* first = nullptr;
  const LastName* last = nullptr;
  const Country* country = nullptr;
  const char* city = nullptr;
  const char* gender = nullptr;
  const char* job_title = nullptr;
  const char* plan = nullptr;
  int age = 0;
  int favorite_category = 0;   // index into kCategories
  bool researcher = false;     // reads content, fills forms, rarely buys
  bool will_identify = false;  // signs up at some point
  bool newsletter = false;     // subscribes when identifying
  bool has_card = false;
  int card_months_ahead = 0;  // card expiry, in months after the month of the window's end
  bool b2b = false;
  bool plans_alias = false;      // an app aliases an earlier anonymous visitor
  bool plans_upgrade = false;    // upgrades the plan after identifying
  std::vector<size_t> accounts;  // indexes for DrawAccount, the first joined first
  std::string user_id;
  std::string email;
  std::vector<Device> devices;  // the first is the main one
};

// Draws the profile of contact `index` of `contacts` from `rng`, which the contact's
// sessions go on drawing from. `seed_key` is the run's (ContactSim).
ContactProfile DrawContactProfile(Rng& rng, uint64_t seed_key, uint64_t index, uint64_t contacts);

// A new random cookie: a version-4 UUID from `rng`.
std::string NewAnonymousId(Rng& rng);

// A B2B account: the same for every contact of the run that belongs to it.
struct AccountProfile {
  std::string group_id;  // "acc_" and 16 hex digits
  const char* prefix;    // of the company name, from kCompanyPrefixes
  const char* suffix;    // from kCompanySuffixes
  const Country* country;
  const char* industry;
  int64_t employees;
  const char* plan;  // "starter", "team", "business" or "enterprise", by employees
};

// Account `index` of the run keyed by `seed_key`.
AccountProfile DrawAccount(uint64_t seed_key, size_t index);

// The account's web domain: "<prefix>-<suffix>.example" as slugs.
void AppendAccountDomain(const AccountProfile& account, std::string* out);

}  // namespace segmenta::traffic
