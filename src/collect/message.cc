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

std::string MessageJson(const Message& m) {
  std::string out;
  // Allocated once: the text kept from the input, and room for the names, quotes and the
  // two timestamps.
  out.reserve(m.properties.size() + m.traits.size() + m.context.size() + m.integrations.size() +
              m.message_id.size() + m.user_id.size() + m.anonymous_id.size() + m.event.size() +
              m.name.size() + m.group_id.size() + m.previous_id.size() + 200);
  JsonWriter w(&out);
  w.BeginObject().Field("type", MessageTypeName(m.type)).Field("messageId", m.message_id);
  w.Field("timestamp", FormatTimestamp(m.timestamp));
  w.Field("receivedAt", FormatTimestamp(m.received_at));
  if (!m.user_id.empty()) w.Field("userId", m.user_id);
  if (!m.anonymous_id.empty()) w.Field("anonymousId", m.anonymous_id);
  if (!m.event.empty()) w.Field("event", m.event);
  if (!m.name.empty()) w.Field("name", m.name);
  if (!m.group_id.empty()) w.Field("groupId", m.group_id);
  if (!m.previous_id.empty()) w.Field("previousId", m.previous_id);
  if (!m.properties.empty()) w.Key("properties").Raw(m.properties);
  if (!m.traits.empty()) w.Key("traits").Raw(m.traits);
  if (!m.context.empty()) w.Key("context").Raw(m.context);
  if (!m.integrations.empty()) w.Key("integrations").Raw(m.integrations);
  w.EndObject();
  return w.Take();
}

}  // namespace segmenta
