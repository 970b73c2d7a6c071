// An audience is anything with members: a contact group, a persona, a lifecycle stage. This
// header holds what every node of the audience engine shares about audiences: the members
// and webhooks of one, what is recorded when a contact enters or exits it, and a page of
// its members.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lang/compiler.h"
#include "roaring/roaring.hh"
#include "segments/group.h"

namespace segmenta {

// What an audience is of: the families the API names ("group", "persona", "stage") and the
// history records store.
enum class AudienceKind : uint8_t { kGroup, kPersona, kStage };
// "group", "persona", "stage".
std::string_view AudienceKindName(AudienceKind kind);

// The members of one audience and where their enters and exits go. Owned by its node; the
// engine's lock guards it.
struct Audience {
  uint32_t id = 0;  // names its memberships and history rows; never reused
  std::string name;
  AudienceKind kind = AudienceKind::kGroup;
  Roaring members;
  std::vector<Webhook> webhooks;  // secrets included
  // The plans that decide who is in it (a group's condition, a persona's rules, a stage's
  // entry condition): what progressive profiling reads. Empty for a static group.
  std::vector<std::shared_ptr<const Plan>> conditions;
};

// One enter or exit.
struct MembershipEvent {
  int64_t time_ms = 0;
  uint32_t audience = 0;  // the id of the group, persona or stage
  std::string audience_name;
  AudienceKind kind = AudienceKind::kGroup;
  ContactId contact = 0;
  bool entered = false;
  std::string cause;
};

// A page of members, in id order.
struct MembersPage {
  std::vector<ContactId> contacts;
  std::string next_cursor;  // "" on the last page
};

}  // namespace segmenta
