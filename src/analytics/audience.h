// Who an audience (a group's or a persona's members) really is: the trait values and
// activities that are more common among its members than among all contacts, and its
// commercial figures (conversion rate, average order value, revenue per contact), each set
// against the whole base.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "profile/profile_table.h"
#include "roaring/roaring.hh"

namespace segmenta {

struct AudienceOptions {
  std::string goal_event = "Order Completed";  // a conversion
  std::string revenue_property = "revenue";    // its value
  size_t top = 10;                             // entries per list
};

// The most common value of a trait among the members.
struct TraitShare {
  std::string trait;
  std::string value;         // as JSON text: "\"ES\"", "true"
  double share = 0;          // of the members holding it
  double share_overall = 0;  // of all contacts holding it
  double lift = 0;           // share / share_overall
};

// A numeric trait's mean among the members and among all contacts.
struct TraitMean {
  std::string trait;
  double mean = 0;
  double mean_overall = 0;
  double filled = 0;  // share of the members who have it
};

struct ActivityShare {
  std::string event;        // event key: a track event's name, "page", ...
  uint64_t activities = 0;  // by the members
  double contacts = 0;      // share of the members with at least one
  double contacts_overall = 0;
  double per_member = 0;  // activities / members
};

struct Commerce {
  uint64_t contacts = 0;  // who converted at least once
  uint64_t orders = 0;
  double revenue = 0;
  double conversion_rate = 0;      // contacts / audience
  double average_order_value = 0;  // revenue / orders (orders with a numeric revenue)
  double revenue_per_contact = 0;  // revenue / audience
};

struct AudienceProfile {
  uint64_t members = 0;
  uint64_t contacts = 0;  // all alive contacts
  // Trait values at least 1.1× as common among the members as overall, most common first.
  std::vector<TraitShare> traits;
  std::vector<TraitMean> numbers;         // numeric traits, most filled first
  std::vector<ActivityShare> activities;  // most done first
  Commerce commerce;
  Commerce commerce_overall;
};

// Describes `members` (contact ids; those not alive are ignored) against every contact.
// REQUIRES: the caller holds the profile table for reading. Thread-safe otherwise.
AudienceProfile DescribeAudience(const ProfileTable& profiles, const Roaring& members,
                                 const AudienceOptions& options = {});

}  // namespace segmenta
