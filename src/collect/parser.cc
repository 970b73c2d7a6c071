#include "collect/parser.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/json_writer.h"
#include "core/string_view.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "simdjson.h"
#include "xxhash.h"

namespace segmenta {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

static_assert(MessageParser::kPadding >= simdjson::SIMDJSON_PADDING);

// Longest accepted messageId; Segment deduplicates on it, so it must stay a reasonable key.
constexpr size_t kMaxMessageIdChars = 256;
// The parse buffers start at this size and grow, up to Limits::max_batch_bytes, on demand.
constexpr size_t kInitialCapacity = 64 * 1024;
// A minified message is at most this many times longer than its text in the body (a number
// such as 1e15 becomes 1000000000000000.0); bodies small enough that no message can
// exceed the limit skip the per-message measurement.
constexpr size_t kMaxMinifiedGrowth = 5;

// The fields of a message that the parser reads; everything else is ignored, as Segment does,
// so that newer clients keep working.
enum Field : int {
  kType,
  kUserId,
  kAnonymousId,
  kPreviousId,
  kGroupId,
  kEvent,
  kName,
  kTimestamp,
  kOriginalTimestamp,
  kSentAt,
  kReceivedAt,
  kMessageId,
  kTraits,
  kProperties,
  kContext,
  kIntegrations,
  kWriteKey,
  kFieldCount,
  kUnknownField = kFieldCount,
};

constexpr std::string_view kFieldNames[kFieldCount] = {
    "type",   "userId",     "anonymousId",       "previousId",   "groupId",    "event",
    "name",   "timestamp",  "originalTimestamp", "sentAt",       "receivedAt", "messageId",
    "traits", "properties", "context",           "integrations", "writeKey",
};

// The field `key` names, or kUnknownField. Called for every key of every message: one
// comparison per key instead of one per known name.
Field LookupField(std::string_view key) {
  Field candidate = kUnknownField;
  switch (key.size()) {
    case 4:
      candidate = key[0] == 't' ? kType : kName;
      break;
    case 5:
      candidate = kEvent;
      break;
    case 6:
      candidate = key[0] == 'u' ? kUserId : key[0] == 's' ? kSentAt : kTraits;
      break;
    case 7:
      candidate = key[0] == 'g' ? kGroupId : kContext;
      break;
    case 8:
      candidate = kWriteKey;
      break;
    case 9:
      candidate = key[0] == 't' ? kTimestamp : kMessageId;
      break;
    case 10:
      candidate = key[0] == 'p' && key[1] == 'r' && key[2] == 'e' ? kPreviousId
                  : key[0] == 'p'                                 ? kProperties
                                                                  : kReceivedAt;
      break;
    case 11:
      candidate = kAnonymousId;
      break;
    case 12:
      candidate = kIntegrations;
      break;
    case 17:
      candidate = kOriginalTimestamp;
      break;
    default:
      return kUnknownField;
  }
  return kFieldNames[candidate] == key ? candidate : kUnknownField;
}

// The fields of one message object, found in one pass over its keys. A JSON null counts as
// absent, as clients send `"userId": null` for "no userId".
struct Fields {
  element value[kFieldCount];
  uint32_t present = 0;

  bool Has(Field f) const { return (present >> f) & 1u; }
  const element& operator[](Field f) const { return value[f]; }
};

void CollectFields(object obj, Fields* fields) {
  for (simdjson::dom::key_value_pair kv : obj) {
    Field f = LookupField(kv.key);
    if (f == kUnknownField || kv.value.is_null()) continue;
    fields->value[f] = kv.value;
    fields->present |= 1u << f;
  }
}

// What the messages of one body share: the batch envelope and how to read them.
struct Envelope {
  absl::Time received_at;
  // `sentAt` of the batch, used by messages that carry none.
  std::optional<absl::Time> sent_at;
  // `context` of the batch, merged under each message's own.
  std::optional<object> context;
  // The type when the endpoint implies it; otherwise read from each message's `type`.
  std::optional<MessageType> implied_type;
  // Measure each message's minified size against Limits::max_message_bytes.
  bool check_message_size = true;
  // JSONL import: a group message may name only the account, and `receivedAt` in the line
  // replaces the import time.
  bool line_mode = false;
  // Each message gets `json` in place of its properties, context and integrations
  // (LineOutput::kStoredJson).
  bool stored_json = false;
  // The parsed text (the body, or the line in line mode), and the structural index (see
  // StructuralWalk) at which each message's object opens, by the message's index; empty
  // when the text could not be read so. The messages' free-form objects are then copied
  // from the text.
  std::string_view text;
  std::span<const uint32_t> message_starts;
};

// Walks the text just parsed by a simdjson DOM parser through the positions of its
// structural characters (braces, brackets, colons, commas, the opening quote of each string,
// the first character of each other scalar), in order, as the parse found them.
//
// Why: the DOM keeps no offsets into the text, and copying an object from the text is far
// cheaper than writing its DOM back (AppendMinifiedJson), which re-escapes every string.
// The positions are a member simdjson leaves public "for benchmarking access", stable since
// its first versions (Debian's is 3.0.1). simdjson's On-Demand API has spans too, but
// Debian's header compiles it for the build's target only (x86-64 without AVX2): its scalar
// fallback. The text is valid JSON (the parse succeeded); anything unexpected is reported,
// and the caller then uses the DOM.
class StructuralWalk {
 public:
  StructuralWalk(const simdjson::dom::parser& parser, std::string_view text)
      : text_(text),
        at_(parser.implementation->structural_indexes.get()),
        count_(parser.implementation->n_structural_indexes) {}

  uint32_t count() const { return count_; }
  char at(uint32_t i) const { return text_[at_[i]]; }
  // The text of the value from structural `first` to structural `last`.
  std::string_view Span(uint32_t first, uint32_t last) const {
    return text_.substr(at_[first], at_[last] + 1 - at_[first]);
  }

  // The last structural of the value that starts at structural `first` (`first` itself
  // for a scalar); count() when the text ends first.
  uint32_t ValueEnd(uint32_t first) const {
    if (first >= count_) return count_;
    if (at(first) != '{' && at(first) != '[') return first;
    int depth = 0;
    for (uint32_t i = first; i < count_; ++i) {
      const char c = at(i);
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i;
      }
    }
    return count_;
  }

  // Calls visit(key, first, last) for each member of the object that opens at structural
  // `open`, in order (first and last: its value's structurals), until visit returns false.
  // False then, or when a key has escapes (it may spell any name: left to the DOM), or the
  // text is not as expected.
  template <typename Visit>
  bool ForEachMember(uint32_t open, Visit visit) const {
    if (open >= count_ || at(open) != '{') return false;
    uint32_t i = open + 1;
    if (i < count_ && at(i) == '}') return true;
    while (true) {
      if (i + 2 >= count_ || at(i) != '"' || at(i + 1) != ':') return false;
      std::string_view key = text_.substr(at_[i] + 1, at_[i + 1] - at_[i] - 1);
      while (!key.empty() && key.back() != '"') key.remove_suffix(1);  // whitespace
      if (key.empty()) return false;
      key.remove_suffix(1);  // the closing quote
      if (key.find('\\') != std::string_view::npos) return false;
      const uint32_t last = ValueEnd(i + 2);
      if (last + 1 >= count_) return false;
      if (!visit(key, i + 2, last)) return false;
      i = last + 1;
      if (at(i) == '}') return true;
      if (at(i) != ',') return false;
      ++i;
    }
  }

  // Where each element of the array `batch` of the object that opens at structural 0 opens;
  // false when there is no such array or the text is not as expected.
  bool BatchElements(std::vector<uint32_t>* starts) const {
    uint32_t batch = count_;
    // As ParseBatch: a null is no value, and of a key sent twice the last one wins.
    auto visit = [&](std::string_view key, uint32_t first, uint32_t) {
      if (key == "batch" && at(first) != 'n') batch = first;
      return true;
    };
    if (!ForEachMember(0, visit) || batch == count_ || at(batch) != '[') return false;
    uint32_t i = batch + 1;
    if (i < count_ && at(i) == ']') return true;
    while (i < count_) {
      starts->push_back(i);
      const uint32_t last = ValueEnd(i);
      if (last + 1 >= count_) return false;
      if (at(last + 1) == ']') return true;
      if (at(last + 1) != ',') return false;
      i = last + 2;
    }
    return false;
  }

 private:
  std::string_view text_;
  const uint32_t* at_;
  uint32_t count_;
};

// Converts an identifier that Segment accepts as a string or a number into text.
// False for any other JSON type.
bool ReadId(const element& e, std::string* out) {
  switch (e.type()) {
    case element_type::STRING: {
      std::string_view s;
      if (e.get(s) != simdjson::SUCCESS) return false;
      out->assign(s.data(), s.size());
      return true;
    }
    case element_type::INT64: {
      int64_t v = 0;
      if (e.get(v) != simdjson::SUCCESS) return false;
      out->assign(fmt::format_int(v).str());
      return true;
    }
    case element_type::UINT64: {
      uint64_t v = 0;
      if (e.get(v) != simdjson::SUCCESS) return false;
      out->assign(fmt::format_int(v).str());
      return true;
    }
    case element_type::DOUBLE: {
      double v = 0;
      if (e.get(v) != simdjson::SUCCESS) return false;
      *out = fmt::format("{}", v);
      return true;
    }
    default:
      return false;
  }
}

std::string PlaceholderReason(std::string_view value) {
  return fmt::format("placeholder value \"{}\" cannot identify a contact", value.substr(0, 64));
}

}  // namespace

struct MessageParser::Impl {
  explicit Impl(const Limits& limits) : limits(limits) {}

  // (Re)sizes the JSON parser. simdjson needs max_depth N + 1 to accept N nested levels.
  bool EnsureAllocated() {
    const size_t depth = limits.max_depth + 1;
    if (allocated && json.max_depth() == depth) return true;
    const size_t capacity = std::max<size_t>(std::min(limits.max_batch_bytes, kInitialCapacity),
                                             simdjson::dom::MINIMAL_DOCUMENT_CAPACITY);
    allocated = json.allocate(capacity, depth) == simdjson::SUCCESS;
    return allocated;
  }

  // Parses `text` into json's document; in place when `padded` (LineOptions::padded), else
  // from a copy. On failure appends a body-level error and returns false. `what` names the
  // input in size errors ("body", "line").
  bool ParseJson(std::string_view text, std::string_view what, element* root,
                 std::vector<FieldError>* errors, bool padded = false);

  // Keeps in field_text the text of each object-valued member among traits, properties,
  // context and integrations of the message that opens at structural `open` of `text`
  // (just parsed by ParseJson), copied with its whitespace removed, and sets their bits in
  // field_text_present. False, leaving field_text_present as it was, when the text cannot
  // be read so (see StructuralWalk): FieldText then writes the DOM's text. The text is the
  // client's: escapes and numbers stay as they were sent ("\u00e9", 1e3), which parse to
  // the same values.
  bool CopyObjectFields(std::string_view text, uint32_t open);

  // The message that opens at structural `open` of `text`, minified, in `minified`; false
  // when it cannot be read so.
  bool MinifyMessage(std::string_view text, uint32_t open);

  // Copies `raw` (valid JSON) into `out` without its whitespace; false on a minify error.
  static bool AssignMinified(std::string_view raw, std::string* out);

  // Validates the object `msg` (message `index` of its body) and appends the Message to
  // `result`, or its errors.
  void ParseMessage(const element& msg, int index, const Envelope& envelope, ParseResult* result);

  void ParseBatch(object body, Envelope envelope, ParseResult* result);

  // Minified JSON of `e`; valid until the next use of `minified`.
  template <typename T>  // element or object
  std::string_view Minify(const T& e) {
    minified.clear();
    AppendMinifiedJson(e, &minified);
    return minified;
  }

  // The size of `obj` minified, as Minify(obj).size(). Minifies each field once and keeps
  // the text of the known ones (as CollectFields finds them) for FieldText.
  size_t MinifyFields(object obj) {
    size_t size = 2;  // the braces
    for (simdjson::dom::key_value_pair kv : obj) {
      if (size > 2) ++size;  // the comma
      minified.clear();
      AppendJsonString(kv.key, &minified);
      size += minified.size() + 1;  // and the colon
      const Field f = LookupField(kv.key);
      if (f != kUnknownField && !kv.value.is_null()) {
        size += KeepFieldText(f, kv.value).size();
      } else {
        size += Minify(kv.value).size();
      }
    }
    return size;
  }

  // `value` as minified JSON, kept as field `f`'s text in field_text.
  std::string_view KeepFieldText(Field f, const element& value) {
    field_text[f].clear();
    AppendMinifiedJson(value, &field_text[f]);
    field_text_present |= 1u << f;
    return field_text[f];
  }

  // Field `f` (present in `fields`) as minified JSON, kept in field_text: valid until the
  // next message.
  std::string_view FieldText(const Fields& fields, Field f) {
    if ((field_text_present >> f) & 1u) return field_text[f];
    return KeepFieldText(f, fields[f]);
  }

  // An optional object field as minified text (FieldText), "" when absent; errors unless it
  // is an object.
  std::string_view ObjectText(const Fields& fields, Field f, int index,
                              std::vector<FieldError>* errors) {
    if (!fields.Has(f)) return {};
    if (!fields[f].is_object()) {
      errors->push_back({index, std::string(kFieldNames[f]), "must be an object"});
      return {};
    }
    return FieldText(fields, f);
  }

  // The message's own context with the batch context's keys that it lacks (shallow merge,
  // the message wins), as minified JSON.
  void MergeContext(object own, object batch, std::string* out);

  Limits limits;
  simdjson::dom::parser json;
  bool allocated = false;
  // What Envelope::message_starts views, kept between calls.
  std::vector<uint32_t> message_starts;
  // Minify()'s buffer, kept between calls.
  std::string minified;
  // The text of the message's known fields (MinifyFields, CopyObjectFields, FieldText), and
  // which of them it holds.
  std::string field_text[kFieldCount];
  uint32_t field_text_present = 0;
  // A message's context merged with its batch's, and identify traits found in a context.
  std::string merged_context;
  std::string context_traits;
};

bool MessageParser::Impl::ParseJson(std::string_view text, std::string_view what, element* root,
                                    std::vector<FieldError>* errors, bool padded) {
  if (text.size() > limits.max_batch_bytes) {
    errors->push_back({-1, "",
                       fmt::format("{} is {} bytes, more than the {}-byte limit", what, text.size(),
                                   limits.max_batch_bytes)});
    return false;
  }
  if (!EnsureAllocated()) {
    errors->push_back({-1, "", "cannot allocate the JSON parser"});
    return false;
  }
  // realloc_if_needed copies the text into the parser's padded buffer (reused between calls).
  simdjson::error_code error = json.parse(text.data(), text.size(), !padded).get(*root);
  switch (error) {
    case simdjson::SUCCESS:
      return true;
    case simdjson::UTF8_ERROR:
      errors->push_back({-1, "", "invalid UTF-8"});
      return false;
    case simdjson::DEPTH_ERROR:
      errors->push_back({-1, "", fmt::format("nesting deeper than {} levels", limits.max_depth)});
      return false;
    case simdjson::EMPTY:
      errors->push_back({-1, "", fmt::format("{} is empty", what)});
      return false;
    default:
      errors->push_back(
          {-1, "", fmt::format("malformed JSON: {}", simdjson::error_message(error))});
      return false;
  }
}

bool MessageParser::Impl::AssignMinified(std::string_view raw, std::string* out) {
  // simdjson::minify's own contract asks for `raw.size()` bytes, but its implementations
  // write whole SIMD registers: those without AVX-512 may write up to SIMDJSON_PADDING
  // bytes past the minified text (the implementation class documents it).
  out->resize(raw.size() + simdjson::SIMDJSON_PADDING);
  size_t size = 0;
  if (simdjson::minify(raw.data(), raw.size(), out->data(), size) != simdjson::SUCCESS) {
    return false;
  }
  out->resize(size);
  return true;
}

bool MessageParser::Impl::CopyObjectFields(std::string_view text, uint32_t open) {
  const StructuralWalk walk(json, text);
  uint32_t present = 0;
  auto visit = [&](std::string_view key, uint32_t first, uint32_t last) {
    const Field f = LookupField(key);
    if (f != kTraits && f != kProperties && f != kContext && f != kIntegrations) return true;
    // As CollectFields: a null is no value, and of a key sent twice the last one wins.
    const char c = walk.at(first);
    if (c == 'n') return true;
    if (c != '{') {
      present &= ~(1u << f);  // not an object: the DOM's check says so
      return true;
    }
    if (!AssignMinified(walk.Span(first, last), &field_text[f])) return false;
    present |= 1u << f;
    return true;
  };
  if (!walk.ForEachMember(open, visit)) return false;
  field_text_present = present;
  return true;
}

bool MessageParser::Impl::MinifyMessage(std::string_view text, uint32_t open) {
  const StructuralWalk walk(json, text);
  const uint32_t end = walk.ValueEnd(open);
  if (open >= walk.count() || walk.at(open) != '{' || end == walk.count()) return false;
  return AssignMinified(walk.Span(open, end), &minified);
}

void MessageParser::Impl::MergeContext(object own, object batch, std::string* out) {
  out->clear();
  out->push_back('{');
  bool first = true;
  auto add = [&](std::string_view key, const element& value) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(key, out);
    out->push_back(':');
    out->append(Minify(value));
  };
  for (simdjson::dom::key_value_pair kv : own) add(kv.key, kv.value);
  for (simdjson::dom::key_value_pair kv : batch) {
    element ignored;
    if (own.at_key(kv.key).get(ignored) == simdjson::SUCCESS) continue;
    add(kv.key, kv.value);
  }
  out->push_back('}');
}

void MessageParser::Impl::ParseMessage(const element& msg, int index, const Envelope& envelope,
                                       ParseResult* result) {
  std::vector<FieldError>& errors = result->errors;
  const size_t errors_before = errors.size();
  object obj;
  if (msg.get(obj) != simdjson::SUCCESS) {
    errors.push_back({index, "", "message must be a JSON object"});
    return;
  }
  field_text_present = 0;
  const bool has_text = static_cast<size_t>(index) < envelope.message_starts.size();
  const uint32_t open = has_text ? envelope.message_starts[index] : 0;
  if (envelope.check_message_size) {
    const size_t size =
        has_text && MinifyMessage(envelope.text, open) ? minified.size() : MinifyFields(obj);
    if (size > limits.max_message_bytes) {
      errors.push_back({index, "",
                        fmt::format("message is {} bytes, more than the {}-byte limit", size,
                                    limits.max_message_bytes)});
      return;
    }
  }
  if (has_text && field_text_present == 0) CopyObjectFields(envelope.text, open);

  Fields fields;
  CollectFields(obj, &fields);
  auto error = [&](Field f, std::string reason) {
    errors.push_back({index, std::string(kFieldNames[f]), std::move(reason)});
  };

  Message& m = result->messages.emplace_back();

  // Type: implied by the endpoint (a `type` field is then ignored), else required.
  bool type_known = false;
  if (envelope.implied_type) {
    m.type = *envelope.implied_type;
    type_known = true;
  } else if (!fields.Has(kType)) {
    error(kType, "is required");
  } else {
    std::string_view name;
    if (fields[kType].get(name) != simdjson::SUCCESS) {
      error(kType, "must be a string");
    } else if (!ParseMessageType(name, &m.type)) {
      error(kType, fmt::format("unknown type \"{}\"; expected identify, track, page, screen, "
                               "group or alias",
                               name.substr(0, 64)));
    } else {
      type_known = true;
    }
  }

  // Identities. A placeholder never identifies anyone: it is dropped when the other id is
  // usable, and refused when it is all the message has.
  const bool has_user = fields.Has(kUserId);
  const bool has_anonymous = fields.Has(kAnonymousId);
  bool user_error = false;  // an error already names userId
  if (has_user && !ReadId(fields[kUserId], &m.user_id)) {
    error(kUserId, "must be a string");
    user_error = true;
  }
  bool ids_typed = !user_error;
  if (has_anonymous && !ReadId(fields[kAnonymousId], &m.anonymous_id)) {
    error(kAnonymousId, "must be a string");
    ids_typed = false;
  }
  std::string dropped_user;  // a userId given but dropped as a placeholder
  if (ids_typed) {
    const bool user_usable = has_user && !IsPlaceholderId(m.user_id);
    const bool anonymous_usable = has_anonymous && !IsPlaceholderId(m.anonymous_id);
    if (!user_usable && !anonymous_usable) {
      if (has_user) {
        error(kUserId, PlaceholderReason(m.user_id));
        user_error = true;
      } else if (has_anonymous) {
        error(kAnonymousId, PlaceholderReason(m.anonymous_id));
      } else if (!(envelope.line_mode && type_known && m.type == MessageType::kGroup)) {
        error(kUserId, "userId or anonymousId is required");
        user_error = true;
      }
    }
    if (!user_usable) dropped_user = std::move(m.user_id);
    if (!user_usable) m.user_id.clear();
    if (!anonymous_usable) m.anonymous_id.clear();
  }

  // What each type requires.
  if (type_known) {
    switch (m.type) {
      case MessageType::kTrack: {
        std::string_view event;
        if (!fields.Has(kEvent)) {
          error(kEvent, "is required");
        } else if (fields[kEvent].get(event) != simdjson::SUCCESS) {
          error(kEvent, "must be a string");
        } else if (event.empty()) {
          error(kEvent, "must not be empty");
        } else {
          m.event.assign(event.data(), event.size());
        }
        break;
      }
      case MessageType::kPage:
      case MessageType::kScreen: {
        std::string_view name;
        if (fields.Has(kName)) {
          if (fields[kName].get(name) != simdjson::SUCCESS) {
            error(kName, "must be a string");
          } else {
            m.name.assign(name.data(), name.size());
          }
        }
        break;
      }
      case MessageType::kGroup:
        if (!fields.Has(kGroupId)) {
          error(kGroupId, "is required");
        } else if (!ReadId(fields[kGroupId], &m.group_id)) {
          error(kGroupId, "must be a string");
        } else if (m.group_id.empty()) {
          error(kGroupId, "must not be empty");
        }
        break;
      case MessageType::kAlias:
        if (!fields.Has(kPreviousId)) {
          error(kPreviousId, "is required");
        } else if (!ReadId(fields[kPreviousId], &m.previous_id)) {
          error(kPreviousId, "must be a string");
        } else if (IsPlaceholderId(m.previous_id)) {
          error(kPreviousId, PlaceholderReason(m.previous_id));
        }
        // An alias links previousId to userId: a usable userId is required.
        if (m.user_id.empty() && !user_error) {
          error(kUserId, has_user ? PlaceholderReason(dropped_user) : "is required");
        }
        break;
      case MessageType::kIdentify:
        break;
    }
  }

  // Free-form objects, as minified JSON text: views into field_text, merged_context and
  // context_traits, copied into the message (or its `json`) at the end.
  MessageObjects objects;
  const std::string_view traits_text = ObjectText(fields, kTraits, index, &errors);
  const std::string_view properties_text = ObjectText(fields, kProperties, index, &errors);
  objects.integrations = ObjectText(fields, kIntegrations, index, &errors);
  object own_context;
  bool has_context = fields.Has(kContext);
  if (has_context && fields[kContext].get(own_context) != simdjson::SUCCESS) {
    error(kContext, "must be an object");
    has_context = false;
  } else if (has_context && envelope.context) {
    MergeContext(own_context, *envelope.context, &merged_context);
    objects.context = merged_context;
  } else if (has_context) {
    objects.context = FieldText(fields, kContext);
  } else if (envelope.context) {
    merged_context.clear();
    AppendMinifiedJson(*envelope.context, &merged_context);
    objects.context = merged_context;
  }
  if (type_known) {
    switch (m.type) {
      case MessageType::kIdentify:
        objects.traits = traits_text;
        if (traits_text.empty() && !fields.Has(kTraits)) {
          // Segment's libraries may send identify traits in context.traits only.
          element found_traits;
          bool found = (has_context &&
                        own_context.at_key("traits").get(found_traits) == simdjson::SUCCESS) ||
                       (envelope.context &&
                        envelope.context->at_key("traits").get(found_traits) == simdjson::SUCCESS);
          if (found && found_traits.is_object()) {
            context_traits.clear();
            AppendMinifiedJson(found_traits, &context_traits);
            objects.traits = context_traits;
          }
        }
        break;
      case MessageType::kGroup:
        objects.traits = traits_text;
        break;
      case MessageType::kTrack:
      case MessageType::kPage:
      case MessageType::kScreen:
        objects.properties = properties_text;
        break;
      case MessageType::kAlias:
        break;
    }
  }

  // Time. `timestamp` is taken as sent; `originalTimestamp` is corrected for the client's
  // clock skew, measured as receivedAt - sentAt.
  auto read_time = [&](Field f, std::optional<absl::Time>* out) {
    if (!fields.Has(f)) return;
    std::string_view text;
    if (fields[f].get(text) != simdjson::SUCCESS) {
      error(f, "must be an ISO-8601 timestamp string");
      return;
    }
    absl::StatusOr<absl::Time> t = ParseTimestamp(text);
    if (!t.ok()) {
      error(f, std::string(t.status().message()));
      return;
    }
    *out = *t;
  };
  std::optional<absl::Time> timestamp, original_timestamp, sent_at, received_at;
  read_time(kTimestamp, &timestamp);
  read_time(kOriginalTimestamp, &original_timestamp);
  read_time(kSentAt, &sent_at);
  if (envelope.line_mode) read_time(kReceivedAt, &received_at);
  m.received_at = received_at.value_or(envelope.received_at);
  if (!sent_at) sent_at = envelope.sent_at;
  if (timestamp) {
    m.timestamp = *timestamp;
  } else if (original_timestamp) {
    m.timestamp = *original_timestamp;
    if (sent_at) m.timestamp += m.received_at - *sent_at;
  } else {
    m.timestamp = m.received_at;
  }

  // messageId: the key of idempotence; generated when the client sent none.
  if (fields.Has(kMessageId)) {
    if (!ReadId(fields[kMessageId], &m.message_id)) {
      error(kMessageId, "must be a string");
    } else if (m.message_id.size() > kMaxMessageIdChars) {
      error(kMessageId, fmt::format("is {} characters, more than the {}-character limit",
                                    m.message_id.size(), kMaxMessageIdChars));
    }
  }
  if (m.message_id.empty()) {
    // An imported line without one gets an id derived from its text, so that importing a
    // file again stores nothing twice; a request gets a random one, as Segment does.
    m.message_id = envelope.line_mode ? DerivedMessageId("line", envelope.text) : NewUuid();
  }

  if (fields.Has(kWriteKey) && result->write_key.empty()) {
    std::string_view key;
    if (fields[kWriteKey].get(key) == simdjson::SUCCESS) result->write_key.assign(key);
  }

  if (errors.size() != errors_before) {
    result->messages.pop_back();
    return;
  }
  m.traits.assign(objects.traits.data(), objects.traits.size());
  if (envelope.stored_json) {
    m.json = MessageJson(m, objects);
  } else {
    m.properties.assign(objects.properties.data(), objects.properties.size());
    m.context.assign(objects.context.data(), objects.context.size());
    m.integrations.assign(objects.integrations.data(), objects.integrations.size());
  }
}

void MessageParser::Impl::ParseBatch(object body, Envelope envelope, ParseResult* result) {
  std::vector<FieldError>& errors = result->errors;
  element batch;
  bool has_batch = false;
  for (simdjson::dom::key_value_pair kv : body) {
    if (kv.value.is_null()) continue;
    if (kv.key == "batch") {
      batch = kv.value;
      has_batch = true;
    } else if (kv.key == "context") {
      object context;
      if (kv.value.get(context) != simdjson::SUCCESS) {
        errors.push_back({-1, "context", "must be an object"});
      } else {
        envelope.context = context;
      }
    } else if (kv.key == "sentAt") {
      std::string_view text;
      if (kv.value.get(text) != simdjson::SUCCESS) {
        errors.push_back({-1, "sentAt", "must be an ISO-8601 timestamp string"});
      } else if (absl::StatusOr<absl::Time> t = ParseTimestamp(text); !t.ok()) {
        errors.push_back({-1, "sentAt", std::string(t.status().message())});
      } else {
        envelope.sent_at = *t;
      }
    } else if (kv.key == "writeKey") {
      std::string_view key;
      if (kv.value.get(key) == simdjson::SUCCESS) result->write_key.assign(key);
    }
  }
  simdjson::dom::array messages;
  if (!has_batch) {
    errors.push_back({-1, "batch", "is required"});
  } else if (batch.get(messages) != simdjson::SUCCESS) {
    errors.push_back({-1, "batch", "must be an array"});
  }
  if (!errors.empty()) return;
  const size_t count = messages.size();
  if (count == 0) {
    errors.push_back({-1, "batch", "batch is empty"});
    return;
  }
  if (count > limits.max_batch_messages) {
    errors.push_back({-1, "batch",
                      fmt::format("batch holds {} messages, more than the {}-message limit", count,
                                  limits.max_batch_messages)});
    return;
  }
  result->messages.reserve(count);
  int index = 0;
  for (element msg : messages) ParseMessage(msg, index++, envelope, result);
}

MessageParser::MessageParser(Limits limits)
    : limits_(limits), impl_(std::make_unique<Impl>(limits)) {
  impl_->EnsureAllocated();
}

MessageParser::~MessageParser() = default;

ParseResult MessageParser::Parse(std::string_view body, Endpoint endpoint, absl::Time received_at) {
  ParseResult result;
  element root;
  if (!impl_->ParseJson(body, "body", &root, &result.errors)) return result;
  if (!root.is_object()) {
    result.errors.push_back({-1, "", "body must be a JSON object"});
    return result;
  }
  Envelope envelope;
  envelope.received_at = received_at;
  // No message can outgrow the limit when the whole body is this small.
  envelope.check_message_size = body.size() * kMaxMinifiedGrowth > limits_.max_message_bytes;
  envelope.text = body;
  std::vector<uint32_t>& starts = impl_->message_starts;
  starts.clear();
  if (endpoint != Endpoint::kBatch) {
    starts.push_back(0);
  } else if (!StructuralWalk(impl_->json, body).BatchElements(&starts)) {
    starts.clear();
  }
  envelope.message_starts = starts;
  switch (endpoint) {
    case Endpoint::kBatch: {
      object body_object;
      if (root.get(body_object) == simdjson::SUCCESS) {
        impl_->ParseBatch(body_object, envelope, &result);
      }
      break;
    }
    case Endpoint::kIdentify:
      envelope.implied_type = MessageType::kIdentify;
      break;
    case Endpoint::kTrack:
      envelope.implied_type = MessageType::kTrack;
      break;
    case Endpoint::kPage:
      envelope.implied_type = MessageType::kPage;
      break;
    case Endpoint::kScreen:
      envelope.implied_type = MessageType::kScreen;
      break;
    case Endpoint::kGroup:
      envelope.implied_type = MessageType::kGroup;
      break;
    case Endpoint::kAlias:
      envelope.implied_type = MessageType::kAlias;
      break;
  }
  if (endpoint != Endpoint::kBatch) impl_->ParseMessage(root, 0, envelope, &result);
  if (!result.errors.empty()) result.messages.clear();
  return result;
}

ParseResult MessageParser::ParseLine(std::string_view line, absl::Time received_at) {
  ParseResult result;
  ParseLine(line, received_at, &result);
  return result;
}

void MessageParser::ParseLine(std::string_view line, absl::Time received_at, ParseResult* result,
                              const LineOptions& options) {
  result->messages.clear();
  result->errors.clear();
  result->write_key.clear();
  element root;
  if (!impl_->ParseJson(line, "line", &root, &result->errors, options.padded)) return;
  Envelope envelope;
  envelope.received_at = received_at;
  envelope.check_message_size = line.size() * kMaxMinifiedGrowth > limits_.max_message_bytes;
  envelope.line_mode = true;
  envelope.stored_json = options.output == LineOutput::kStoredJson;
  envelope.text = line;
  impl_->message_starts.assign(1, 0);
  envelope.message_starts = impl_->message_starts;
  impl_->ParseMessage(root, 0, envelope, result);
  if (!result->errors.empty()) result->messages.clear();
}

bool IsPlaceholderId(std::string_view id) {
  // Kept in lower case; compared after trimming and lower-casing the id.
  static constexpr std::string_view kPlaceholders[] = {
      "null",
      "undefined",
      "nil",
      "none",
      "0",
      "-1",
      "anonymous",
      "unknown",
      "n/a",
      "na",
      "nan",
      "false",
      "true",
      "{}",
      "[]",
      "(null)",
      "[object object]",
      "00000000-0000-0000-0000-000000000000",
      "00000000000000000000000000000000",
  };
  constexpr size_t kLongest = 36;
  // The placeholders of each length, as bits of their indexes in kPlaceholders: an id (a
  // UUID, most of the time) is compared with the few of its length only.
  static constexpr std::array<uint32_t, kLongest + 1> kByLength = [] {
    std::array<uint32_t, kLongest + 1> by_length{};
    for (size_t i = 0; i < std::size(kPlaceholders); ++i) {
      by_length[kPlaceholders[i].size()] |= uint32_t{1} << i;
    }
    return by_length;
  }();
  static_assert(std::size(kPlaceholders) <= 32);
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!id.empty() && is_space(id.front())) id.remove_prefix(1);
  while (!id.empty() && is_space(id.back())) id.remove_suffix(1);
  if (id.empty()) return true;
  if (id.size() > kLongest) return false;
  // Compared with each placeholder of the same length and first character, up to the first
  // difference, without folding the id to lower case first.
  const char first = absl::ascii_tolower(static_cast<unsigned char>(id.front()));
  for (uint32_t candidates = kByLength[id.size()]; candidates != 0; candidates &= candidates - 1) {
    const std::string_view p = kPlaceholders[std::countr_zero(candidates)];
    if (p.front() == first && absl::EqualsIgnoreCase(AbslView(p), AbslView(id))) return true;
  }
  return false;
}

std::string DerivedMessageId(std::string_view tag, std::string_view content) {
  XXH128_hash_t hash = XXH3_128bits(content.data(), content.size());
  return fmt::format("{}-{:016x}{:016x}", tag, hash.high64, hash.low64);
}

std::string NewUuid() {
  thread_local absl::BitGen gen;
  uint64_t hi = absl::Uniform<uint64_t>(gen);
  uint64_t lo = absl::Uniform<uint64_t>(gen);
  hi = (hi & ~uint64_t{0xF000}) | uint64_t{0x4000};            // version 4
  lo = (lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);  // variant RFC 4122
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t bits, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(bits >> (i * 4)) & 0xF];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

}  // namespace segmenta
