#include "collect/message.h"

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

}  // namespace segmenta
