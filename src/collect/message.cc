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

void MessageJsonParts(const Message& m, std::string* scratch,
                      std::vector<std::string_view>* parts) {
  scratch->clear();
  parts->clear();
  // Room for the names, quotes and the two timestamps, once.
  scratch->reserve(m.message_id.size() + m.user_id.size() + m.anonymous_id.size() + m.event.size() +
                   m.name.size() + m.group_id.size() + m.previous_id.size() + 200);
  JsonWriter w(scratch);
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
  // Each object goes where scratch stood after its key: (that offset, the object).
  std::pair<size_t, std::string_view> objects[4];
  size_t count = 0;
  const std::pair<std::string_view, std::string_view> kept[] = {{"properties", m.properties},
                                                                {"traits", m.traits},
                                                                {"context", m.context},
                                                                {"integrations", m.integrations}};
  for (const auto& [key, text] : kept) {
    if (text.empty()) continue;
    w.Key(key).Raw({});  // the writer now counts a value there
    objects[count++] = {scratch->size(), text};
  }
  w.EndObject();
  size_t from = 0;
  for (size_t i = 0; i < count; ++i) {
    parts->emplace_back(scratch->data() + from, objects[i].first - from);
    parts->push_back(objects[i].second);
    from = objects[i].first;
  }
  parts->emplace_back(scratch->data() + from, scratch->size() - from);
}

std::string MessageJson(const Message& m) {
  std::string scratch;
  std::vector<std::string_view> parts;
  MessageJsonParts(m, &scratch, &parts);
  size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  std::string out;
  out.reserve(size);
  for (std::string_view part : parts) out.append(part);
  return out;
}

}  // namespace segmenta
