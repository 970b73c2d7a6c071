// One message of the Segment Tracking API (identify, track, page, screen, group, alias),
// validated and normalized. Produced by the parser (HTTP bodies, JSONL import) and by the
// CSV importers; consumed by the worker.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace segmenta {

enum class MessageType : uint8_t { kIdentify, kTrack, kPage, kScreen, kGroup, kAlias };

// "identify", "track", ... as the spec spells them.
std::string_view MessageTypeName(MessageType type);
// Inverse of MessageTypeName; false for an unknown name.
bool ParseMessageType(std::string_view name, MessageType* type);

struct Message {
  MessageType type = MessageType::kTrack;
  // Unique per message; the parser generates a UUID when the client sent none.
  std::string message_id;
  // Identities; empty when absent. At least one of user_id / anonymous_id is set, except
  // for account-only group messages made by the accounts CSV import.
  std::string user_id;
  std::string anonymous_id;
  std::string previous_id;  // alias only
  std::string group_id;     // group only
  std::string event;        // track only: the event name ("Order Completed")
  std::string name;         // page/screen name, may be empty
  // When it happened: `timestamp` if sent, else `originalTimestamp` corrected for client
  // clock skew with `sentAt`, else the time the server received it.
  absl::Time timestamp;
  absl::Time received_at;
  // Minified JSON objects kept as text ("" when absent): `traits` (identify, group; also
  // context.traits is not merged here), `properties` (track, page, screen), `context`,
  // `integrations`.
  std::string traits;
  std::string properties;
  std::string context;
  std::string integrations;
  // The message as stored (MessageJson), when whoever made the message built it already:
  // an import's parser does (LineOutput::kStoredJson), so that the worker's thread need
  // not. Empty otherwise. When set, it holds the message's `properties`, `context` and
  // `integrations`, and those fields may be empty: code that reads them must not be given
  // such messages (the worker stores `json` and reads only ids and traits).
  std::string json;
  // False when the sender guarantees that `message_id` was never stored: the worker then
  // neither looks it up nor records it (exposures, which the decider deduplicates against
  // the profile). Never stored. Default: true.
  bool check_message_id = true;
};

// The message as one compact JSON object in the Segment spec's field names ("type",
// "messageId", "timestamp", "receivedAt", ids, "event", "name", "groupId", "previousId",
// "properties", "traits", "context", "integrations"); absent fields are left out. What the
// store keeps as an activity and what `segmenta import --url` sends. Thread-safe.
std::string MessageJson(const Message& message);

// The message as stored: its `json`, moved out, when it came with it; else MessageJson.
// For a consumer that takes the message's stored form and no longer needs `json`.
std::string TakeMessageJson(Message* message);

// A message's free-form objects as minified JSON text, each "" when absent.
struct MessageObjects {
  std::string_view properties;
  std::string_view traits;
  std::string_view context;
  std::string_view integrations;
};
// MessageJson's text for `message` with `objects` in place of its own objects: for a parser
// that has them as text already and need not copy them into the message. Thread-safe.
std::string MessageJson(const Message& message, const MessageObjects& objects);

// MessageJson's text as pieces that concatenate to it: the ones it writes (names, ids,
// timestamps) in `scratch`, the objects kept as text (properties, traits, context,
// integrations) by reference into `message`. For writers that take a value in parts
// (RocksDB's SliceParts), which then copy the large objects once instead of twice. The
// pieces stay valid while `message` and `scratch` do not change. Thread-safe.
void MessageJsonParts(const Message& message, std::string* scratch,
                      std::vector<std::string_view>* parts);

}  // namespace segmenta
