#include "collect/message.h"

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

// Room for a message's JSON but its objects: names, quotes, the two timestamps.
size_t HeadBytes(const Message& m) {
  return m.message_id.size() + m.user_id.size() + m.anonymous_id.size() + m.event.size() +
         m.name.size() + m.group_id.size() + m.previous_id.size() + 200;
}

// Appends `m`'s JSON to *out. With `objects` null, its objects too; otherwise only their
// keys, each object and where it goes (out's size after its key) put in `objects`, and
// returns how many.
size_t WriteMessageJson(const Message& m, std::string* out,
                        std::pair<size_t, std::string_view>* objects) {
  JsonWriter w(out);
  w.BeginObject().Field("type", MessageTypeName(m.type)).Field("messageId", m.message_id);
  // The two timestamps without a string of their own each (a heap allocation apiece).
  auto time_field = [&](std::string_view key, absl::Time t) {
    char quoted[kMaxTimestampChars + 2];
    const size_t size = FormatTimestampTo(t, quoted + 1);
    quoted[0] = quoted[size + 1] = '"';
    w.Key(key).Raw(std::string_view(quoted, size + 2));
  };
  time_field("timestamp", m.timestamp);
  time_field("receivedAt", m.received_at);
  if (!m.user_id.empty()) w.Field("userId", m.user_id);
  if (!m.anonymous_id.empty()) w.Field("anonymousId", m.anonymous_id);
  if (!m.event.empty()) w.Field("event", m.event);
  if (!m.name.empty()) w.Field("name", m.name);
  if (!m.group_id.empty()) w.Field("groupId", m.group_id);
  if (!m.previous_id.empty()) w.Field("previousId", m.previous_id);
  size_t count = 0;
  const std::pair<std::string_view, std::string_view> kept[] = {{"properties", m.properties},
                                                                {"traits", m.traits},
                                                                {"context", m.context},
                                                                {"integrations", m.integrations}};
  for (const auto& [key, text] : kept) {
    if (text.empty()) continue;
    if (objects == nullptr) {
      w.Key(key).Raw(text);
      continue;
    }
    w.Key(key).Raw({});  // the writer now counts a value there
    objects[count++] = {out->size(), text};
  }
  w.EndObject();
  return count;
}

}  // namespace

void MessageJsonParts(const Message& m, std::string* scratch,
                      std::vector<std::string_view>* parts) {
  scratch->clear();
  parts->clear();
  scratch->reserve(HeadBytes(m));
  std::pair<size_t, std::string_view> objects[4];
  const size_t count = WriteMessageJson(m, scratch, objects);
  size_t from = 0;
  for (size_t i = 0; i < count; ++i) {
    parts->emplace_back(scratch->data() + from, objects[i].first - from);
    parts->push_back(objects[i].second);
    from = objects[i].first;
  }
  parts->emplace_back(scratch->data() + from, scratch->size() - from);
}

std::string MessageJson(const Message& m) {
  std::string out;
  out.reserve(HeadBytes(m) + m.properties.size() + m.traits.size() + m.context.size() +
              m.integrations.size());
  WriteMessageJson(m, &out, nullptr);
  return out;
}

}  // namespace segmenta
