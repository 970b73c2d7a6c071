// Binary key layouts of the store's families. Integers are big-endian so that byte order
// is numeric order; a time is milliseconds since the epoch with the sign bit flipped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace segmenta {

using ContactId = uint64_t;

void AppendBigEndian64(uint64_t v, std::string* out);
uint64_t ReadBigEndian64(std::string_view bytes);  // REQUIRES: bytes.size() >= 8

// kContacts / kRedirects key: the contact id.
std::string ContactKey(ContactId id);
ContactId DecodeContactKey(std::string_view key);

// kIdentities key: kind letter ('a' anonymousId, 'u' userId, 'e' e-mail), ':', value.
std::string IdentityKey(char kind, std::string_view value);

// kActivities key: the activity's sequence number (order of arrival). Activities are
// appended in this order, so their bodies are written once and never moved, also by merges.
std::string ActivitySeqKey(uint64_t seq);

// kContactActivities key (the index of a contact's activities): contact id, time (ms),
// sequence number; sorts a contact's activities by time, then arrival.
std::string ActivityKey(ContactId contact, int64_t time_ms, uint64_t seq);
// Prefix of all activities of a contact.
std::string ActivityPrefix(ContactId contact);
struct ActivityKeyParts {
  ContactId contact;
  int64_t time_ms;
  uint64_t seq;
};
ActivityKeyParts DecodeActivityKey(std::string_view key);  // REQUIRES: 24 bytes

// kAccountMembers key: groupId, '\0', contact id.
std::string AccountMemberKey(std::string_view group_id, ContactId contact);
std::string AccountMemberPrefix(std::string_view group_id);

// kMeta keys.
inline constexpr std::string_view kMetaCounters = "counters";
inline constexpr std::string_view kMetaSegments = "segments";

// kMeta keys of jobs (src/jobs): "job/", then the job's id (big-endian, so that byte order
// is the order in which jobs were submitted). The value is a JobRecord (jobs/job_record.h).
inline constexpr std::string_view kJobKeyPrefix = "job/";
std::string JobKey(uint64_t id);
uint64_t DecodeJobKey(std::string_view key);  // REQUIRES: key starts with kJobKeyPrefix

}  // namespace segmenta
