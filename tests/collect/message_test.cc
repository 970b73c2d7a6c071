#include "collect/message.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

Message Full() {
  Message m;
  m.type = MessageType::kTrack;
  m.message_id = "m\"1";
  m.user_id = "u1";
  m.anonymous_id = "a1";
  m.event = "Order Completed";
  m.timestamp = absl::FromUnixMillis(1'800'000'000'123);
  m.received_at = absl::FromUnixMillis(1'800'000'001'000);
  m.properties = R"({"revenue":12.5})";
  m.context = R"({"ip":"1.2.3.4"})";
  m.integrations = R"({"All":false})";
  return m;
}

std::string Joined(const Message& m, std::string* scratch, std::vector<std::string_view>* parts) {
  MessageJsonParts(m, scratch, parts);
  std::string joined;
  for (std::string_view part : *parts) joined.append(part);
  return joined;
}

TEST(MessageJsonTest, WritesTheSpecsFieldsAndLeavesOutAbsentOnes) {
  EXPECT_EQ(MessageJson(Full()),
            R"({"type":"track","messageId":"m\"1","timestamp":"2027-01-15T08:00:00.123Z",)"
            R"("receivedAt":"2027-01-15T08:00:01.000Z","userId":"u1","anonymousId":"a1",)"
            R"("event":"Order Completed","properties":{"revenue":12.5},)"
            R"("context":{"ip":"1.2.3.4"},"integrations":{"All":false}})");
  Message alias;
  alias.type = MessageType::kAlias;
  alias.message_id = "m2";
  alias.user_id = "u2";
  alias.previous_id = "a2";
  EXPECT_EQ(MessageJson(alias),
            R"({"type":"alias","messageId":"m2","timestamp":"1970-01-01T00:00:00.000Z",)"
            R"("receivedAt":"1970-01-01T00:00:00.000Z","userId":"u2","previousId":"a2"})");
}

// The parts concatenate to MessageJson whatever objects the message has, and the objects
// are referenced, not copied; the scratch buffer serves message after message.
TEST(MessageJsonTest, PartsConcatenateToTheJsonAndReferenceTheObjects) {
  std::string scratch;
  std::vector<std::string_view> parts;
  for (int mask = 0; mask < 16; ++mask) {
    Message m = Full();
    if (!(mask & 1)) m.properties.clear();
    if (!(mask & 2)) m.traits.clear();
    if (mask & 2) m.traits = R"({"plan":"pro"})";
    if (!(mask & 4)) m.context.clear();
    if (!(mask & 8)) m.integrations.clear();
    EXPECT_EQ(Joined(m, &scratch, &parts), MessageJson(m)) << mask;
    for (const std::string* object : {&m.properties, &m.traits, &m.context, &m.integrations}) {
      if (object->empty()) continue;
      EXPECT_THAT(parts, ::testing::Contains(::testing::Truly([&](std::string_view part) {
                    return part.data() == object->data() && part.size() == object->size();
                  })))
          << mask << " " << *object;
    }
  }
}

}  // namespace
}  // namespace segmenta
