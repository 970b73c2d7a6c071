// Parses and validates Segment Tracking API bodies and JSONL lines into Messages.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "collect/message.h"

namespace segmenta {

// Limits on what one request may hold. Defaults follow Segment's documented limits.
struct Limits {
  // Largest message, measured on its minified JSON. Default: 32 KiB.
  size_t max_message_bytes = 32 * 1024;
  // Largest request body after decompression. Default: 500 KiB.
  size_t max_batch_bytes = 500 * 1024;
  // Most messages in one /v1/batch. Default: 2,500.
  size_t max_batch_messages = 2500;
  // Deepest nesting of objects and arrays in a body. Default: 32.
  size_t max_depth = 32;
};

// Why one message (or the whole body) was refused.
struct FieldError {
  // Index of the message in the batch; -1 when the error is about the whole body.
  int index = -1;
  // JSON path of the offending field ("userId", "properties", "batch[3].type"); empty when
  // the body as a whole is at fault.
  std::string field;
  std::string reason;
};

// What a body or line holds. `errors` empty means every message is valid.
struct ParseResult {
  std::vector<Message> messages;
  std::vector<FieldError> errors;
  // `writeKey` from the body, if any (Segment allows it there as well as in the header).
  std::string write_key;
};

// Which endpoint a body came to: a single-message endpoint implies the message type.
enum class Endpoint { kIdentify, kTrack, kPage, kScreen, kGroup, kAlias, kBatch };

// What MessageParser::ParseLine puts in a message.
enum class LineOutput {
  // Every field, as Parse does.
  kFields,
  // The message as stored (`json`, what MessageJson gives) in place of `properties`,
  // `context` and `integrations`, which are left empty; the other fields as kFields. For an
  // import, which stores those objects and reads nothing in them: each is copied once.
  kStoredJson,
};

// How MessageParser::ParseLine reads a line, and what it makes of it.
struct LineOptions {
  LineOutput output = LineOutput::kFields;
  // The line is followed in memory by MessageParser::kPadding readable bytes, of any value
  // (the JSON parser reads ahead in blocks): it is then parsed where it is, instead of
  // being copied first.
  bool padded = false;
};

// Parses bodies. Not thread-safe (keeps parse buffers); use one per thread.
class MessageParser {
 public:
  explicit MessageParser(Limits limits = {});
  ~MessageParser();

  // Parses the JSON `body` of a request to `endpoint` received at `received_at`.
  // A batch is all-or-nothing: when any message is invalid, `errors` names each bad one and
  // the caller must store none (`messages` is then empty). Never throws; malformed JSON,
  // invalid UTF-8, too deep nesting, oversize bodies and messages become errors.
  // Body-level errors have index -1; message errors name the field by its JSON key
  // ("userId", "event", ...) with the message's index (0 for single-message endpoints).
  ParseResult Parse(std::string_view body, Endpoint endpoint, absl::Time received_at);

  // Parses one JSONL line holding one message whose `type` field names its type (the
  // format `segmenta gen` writes and Segment exports). Errors as Parse (index 0). Unlike
  // Parse, it accepts a group call with neither userId nor anonymousId (an account alone),
  // and a `receivedAt` in the line (an export) replaces `received_at`.
  ParseResult ParseLine(std::string_view line, absl::Time received_at);
  // As above, into `*result`, whose vectors keep their memory from line to line.
  void ParseLine(std::string_view line, absl::Time received_at, ParseResult* result,
                 const LineOptions& options = {});

  // See LineOptions::padded.
  static constexpr size_t kPadding = 64;

  const Limits& limits() const { return limits_; }

 private:
  struct Impl;
  Limits limits_;
  std::unique_ptr<Impl> impl_;
};

// True for values that must never link contacts, compared case-insensitively after trimming
// whitespace: "", "null", "undefined", "nil", "none", "(null)", "0", "-1", "anonymous",
// "unknown", "n/a", "na", "nan", "false", "true", "{}", "[]", "[object Object]", and the
// all-zero UUID (with or without dashes). Thread-safe.
bool IsPlaceholderId(std::string_view id);

// A messageId derived from `content` ("TAG-" and 32 hex digits of its 128-bit XXH3 hash),
// for imported records that carry none: importing the same record again gives the same id,
// so it is stored once. Thread-safe.
std::string DerivedMessageId(std::string_view tag, std::string_view content);

// A random RFC 4122 version-4 UUID. Thread-safe.
std::string NewUuid();

}  // namespace segmenta
