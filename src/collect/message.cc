#include "collect/message.h"

#include <cstring>

#include "core/json_writer.h"
#include "core/time_format.h"

namespace segmenta {

namespace {

struct TypeName {
  MessageType type;
  std::string_view name;
};

constexpr TypeName kTypeNames[] = {
    {MessageType::kIdentify, "identify"}, {MessageType::kTrack, "track"},
    {MessageType::kPage, "page"},         {MessageType::kScreen, "screen"},
    {MessageType::kGroup, "group"},       {MessageType::kAlias, "alias"},
};

}  // namespace

std::string_view MessageTypeName(MessageType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

bool ParseMessageType(std::string_view name, MessageType* type) {
  for (const TypeName& t : kTypeNames) {
    if (t.name == name) {
      *type = t.type;
      return true;
    }
  }
  return false;
}

namespace {

// One member of a message's JSON: its key as written, with the separator before it and the
// colon after it, and its value.
struct Member {
  enum Kind : uint8_t { kString, kQuoted, kObject };
  std::string_view key;
  std::string_view value;
  Kind kind;  // escaped and quoted, quoted as it is (a timestamp), or an object's JSON text
  // A string with nothing to escape (set when sized), copied as it is.
  bool plain = false;
};

// Appends `m`'s JSON, with `objects` as its objects, to *out. With `positions` null, the
// objects too; otherwise only their keys, each object and where it goes (out's size after
// its key) put in `positions`, and returns how many.
//
// Written from the exact size, by hand rather than with JsonWriter: this runs for every
// imported event, and appending piece by piece was the costlier half of it.
size_t WriteMessageJson(const Message& m, const MessageObjects& objects, std::string* out,
                        std::pair<size_t, std::string_view>* positions) {
  char timestamp[kMaxTimestampChars];
  char received_at[kMaxTimestampChars];
  Member members[16];
  size_t count = 0;
  auto add = [&](std::string_view key, std::string_view value, Member::Kind kind) {
    members[count++] = {key, value, kind};
  };
  auto add_if = [&](std::string_view key, std::string_view value, Member::Kind kind) {
    if (!value.empty()) add(key, value, kind);
  };
  add(R"({"type":)", MessageTypeName(m.type), Member::kString);
  add(R"(,"messageId":)", m.message_id, Member::kString);
  add(R"(,"timestamp":)", {timestamp, FormatTimestampTo(m.timestamp, timestamp)}, Member::kQuoted);
  add(R"(,"receivedAt":)", {received_at, FormatTimestampTo(m.received_at, received_at)},
      Member::kQuoted);
  add_if(R"(,"userId":)", m.user_id, Member::kString);
  add_if(R"(,"anonymousId":)", m.anonymous_id, Member::kString);
  add_if(R"(,"event":)", m.event, Member::kString);
  add_if(R"(,"name":)", m.name, Member::kString);
  add_if(R"(,"groupId":)", m.group_id, Member::kString);
  add_if(R"(,"previousId":)", m.previous_id, Member::kString);
  add_if(R"(,"properties":)", objects.properties, Member::kObject);
  add_if(R"(,"traits":)", objects.traits, Member::kObject);
  add_if(R"(,"context":)", objects.context, Member::kObject);
  add_if(R"(,"integrations":)", objects.integrations, Member::kObject);

  size_t size = 1;  // the closing brace
  for (size_t i = 0; i < count; ++i) {
    Member& member = members[i];
    size += member.key.size();
    switch (member.kind) {
      case Member::kString: {
        const size_t written = JsonStringSize(member.value);
        member.plain = written == member.value.size() + 2;
        size += written;
        break;
      }
      case Member::kQuoted:
        size += member.value.size() + 2;
        break;
      case Member::kObject:
        if (positions == nullptr) size += member.value.size();
        break;
    }
  }
  const size_t start = out->size();
  out->resize(start + size);
  char* const begin = out->data();
  char* p = begin + start;
  size_t objects_written = 0;
  for (size_t i = 0; i < count; ++i) {
    const Member& member = members[i];
    std::memcpy(p, member.key.data(), member.key.size());
    p += member.key.size();
    switch (member.kind) {
      case Member::kString:
        if (!member.plain) {
          p = WriteJsonString(member.value, p);
          break;
        }
        [[fallthrough]];
      case Member::kQuoted:
        *p++ = '"';
        std::memcpy(p, member.value.data(), member.value.size());
        p += member.value.size();
        *p++ = '"';
        break;
      case Member::kObject:
        if (positions != nullptr) {
          positions[objects_written++] = {static_cast<size_t>(p - begin), member.value};
        } else {
          std::memcpy(p, member.value.data(), member.value.size());
          p += member.value.size();
        }
        break;
    }
  }
  *p = '}';
  return objects_written;
}

MessageObjects ObjectsOf(const Message& m) {
  return {m.properties, m.traits, m.context, m.integrations};
}

}  // namespace

void MessageJsonParts(const Message& m, std::string* scratch,
                      std::vector<std::string_view>* parts) {
  scratch->clear();
  parts->clear();
  std::pair<size_t, std::string_view> objects[4];
  const size_t count = WriteMessageJson(m, ObjectsOf(m), scratch, objects);
  size_t from = 0;
  for (size_t i = 0; i < count; ++i) {
    parts->emplace_back(scratch->data() + from, objects[i].first - from);
    parts->push_back(objects[i].second);
    from = objects[i].first;
  }
  parts->emplace_back(scratch->data() + from, scratch->size() - from);
}

std::string MessageJson(const Message& m) { return MessageJson(m, ObjectsOf(m)); }

std::string TakeMessageJson(Message* m) {
  return m->json.empty() ? MessageJson(*m) : std::move(m->json);
}

std::string MessageJson(const Message& m, const MessageObjects& objects) {
  std::string out;
  WriteMessageJson(m, objects, &out, nullptr);
  return out;
}

}  // namespace segmenta
