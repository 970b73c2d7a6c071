#include "collect/parser.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "collect/message.h"
#include "core/json_writer.h"
#include "core/time_format.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

// A fixed reception time, so that timestamps are deterministic.
const absl::Time kReceived = absl::FromUnixSeconds(1'800'000'000);  // 2027-01-15T08:00:00Z

absl::Time At(std::string_view text) {
  absl::StatusOr<absl::Time> t = ParseTimestamp(text);
  EXPECT_TRUE(t.ok()) << text;
  return t.value_or(absl::InfinitePast());
}

// "index field: reason", one per error, so that expectations read like the HTTP reply.
std::vector<std::string> Errors(const ParseResult& result) {
  std::vector<std::string> out;
  for (const FieldError& e : result.errors) {
    out.push_back(fmt::format("{} {}: {}", e.index, e.field, e.reason));
  }
  return out;
}

// Parses one message body to `endpoint` and expects it valid.
Message ParseOk(MessageParser& parser, std::string_view body, Endpoint endpoint) {
  ParseResult r = parser.Parse(body, endpoint, kReceived);
  EXPECT_THAT(Errors(r), IsEmpty()) << body;
  EXPECT_THAT(r.messages, SizeIs(1)) << body;
  return r.messages.empty() ? Message{} : r.messages[0];
}

// `{"batch":[m0,m1,...]}`.
std::string Batch(const std::vector<std::string>& messages) {
  std::string body = R"({"batch":[)";
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) body += ',';
    body += messages[i];
  }
  body += "]}";
  return body;
}

bool LooksLikeUuidV4(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (id[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(id[i])) ||
               std::isupper(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return id[14] == '4' && (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

// ---------------------------------------------------------------- message types

TEST(MessageTypeTest, NamesRoundTrip) {
  for (MessageType t : {MessageType::kIdentify, MessageType::kTrack, MessageType::kPage,
                        MessageType::kScreen, MessageType::kGroup, MessageType::kAlias}) {
    MessageType back = MessageType::kTrack;
    ASSERT_TRUE(ParseMessageType(MessageTypeName(t), &back)) << MessageTypeName(t);
    EXPECT_EQ(back, t);
  }
  EXPECT_EQ(MessageTypeName(MessageType::kIdentify), "identify");
  EXPECT_EQ(MessageTypeName(MessageType::kScreen), "screen");
  MessageType t = MessageType::kAlias;
  EXPECT_FALSE(ParseMessageType("Track", &t));
  EXPECT_FALSE(ParseMessageType("", &t));
  EXPECT_EQ(t, MessageType::kAlias);  // untouched on failure
}

// ---------------------------------------------------------------- single endpoints

TEST(ParserTest, SingleEndpointsImplyTheType) {
  MessageParser parser;
  struct Case {
    Endpoint endpoint;
    MessageType type;
  };
  for (Case c :
       {Case{Endpoint::kIdentify, MessageType::kIdentify},
        Case{Endpoint::kTrack, MessageType::kTrack}, Case{Endpoint::kPage, MessageType::kPage},
        Case{Endpoint::kScreen, MessageType::kScreen}, Case{Endpoint::kGroup, MessageType::kGroup},
        Case{Endpoint::kAlias, MessageType::kAlias}}) {
    Message m = ParseOk(parser, R"({"userId":"u1","event":"E","groupId":"g1","previousId":"p1"})",
                        c.endpoint);
    EXPECT_EQ(m.type, c.type) << MessageTypeName(c.type);
    EXPECT_EQ(m.user_id, "u1");
  }
}

TEST(ParserTest, SingleEndpointIgnoresTypeField) {
  MessageParser parser;
  Message m = ParseOk(parser, R"({"type":"identify","userId":"u1","event":"Order Completed"})",
                      Endpoint::kTrack);
  EXPECT_EQ(m.type, MessageType::kTrack);
  EXPECT_EQ(m.event, "Order Completed");
  // Even a nonsensical type is ignored when the endpoint says what the message is.
  m = ParseOk(parser, R"({"type":42,"userId":"u1"})", Endpoint::kIdentify);
  EXPECT_EQ(m.type, MessageType::kIdentify);
}

TEST(ParserTest, ReadsTheFieldsOfEachType) {
  MessageParser parser;
  Message alias = ParseOk(parser, R"({"userId":"u1","previousId":"anon-7"})", Endpoint::kAlias);
  EXPECT_EQ(alias.previous_id, "anon-7");
  Message group = ParseOk(parser, R"({"userId":"u1","groupId":"acme","traits":{"plan":"pro"}})",
                          Endpoint::kGroup);
  EXPECT_EQ(group.group_id, "acme");
  EXPECT_EQ(group.traits, R"({"plan":"pro"})");
  Message page = ParseOk(parser, R"({"anonymousId":"a1","name":"Home","properties":{"x":1}})",
                         Endpoint::kPage);
  EXPECT_EQ(page.name, "Home");
  EXPECT_EQ(page.properties, R"({"x":1})");
  EXPECT_EQ(page.anonymous_id, "a1");
  EXPECT_TRUE(page.user_id.empty());
  Message screen = ParseOk(parser, R"({"anonymousId":"a1"})", Endpoint::kScreen);
  EXPECT_TRUE(screen.name.empty());
}

TEST(ParserTest, UnknownFieldsAreIgnored) {
  MessageParser parser;
  Message m = ParseOk(parser,
                      R"({"userId":"u1","event":"E","_metadata":{"nodeVersion":"20"},
                          "someFutureField":[1,2,{"a":null}],"version":2})",
                      Endpoint::kTrack);
  EXPECT_EQ(m.event, "E");
}

TEST(ParserTest, NullFieldsCountAsAbsent) {
  MessageParser parser;
  Message m = ParseOk(
      parser, R"({"userId":null,"anonymousId":"a1","traits":null,"context":null,"timestamp":null})",
      Endpoint::kIdentify);
  EXPECT_TRUE(m.user_id.empty());
  EXPECT_EQ(m.anonymous_id, "a1");
  EXPECT_TRUE(m.traits.empty());
  EXPECT_TRUE(m.context.empty());
  EXPECT_EQ(m.timestamp, kReceived);
}

// ---------------------------------------------------------------- objects kept as text

TEST(ParserTest, KeepsObjectsAsMinifiedJsonText) {
  MessageParser parser;
  Message m = ParseOk(parser,
                      R"({ "userId" : "u1",
                           "traits" : { "a" : 1 },
                           "context" : { "ip" : "10.0.0.1", "page" : { "url" : "https://x.io/" } },
                           "integrations" : { "All" : false } })",
                      Endpoint::kIdentify);
  EXPECT_EQ(m.traits, R"({"a":1})");
  EXPECT_EQ(m.context, R"({"ip":"10.0.0.1","page":{"url":"https://x.io/"}})");
  EXPECT_EQ(m.integrations, R"({"All":false})");
  Message t = ParseOk(parser, R"({"userId":"u1","event":"E","properties":{ "revenue" : 9.5 ,
                                  "items" : [ 1 , 2 ] }})",
                      Endpoint::kTrack);
  EXPECT_EQ(t.properties, R"({"revenue":9.5,"items":[1,2]})");
  EXPECT_TRUE(t.traits.empty());
}

// A request's objects are copied from its text, less the whitespace: escapes and numbers
// as sent, in a batch and from a single endpoint alike.
TEST(ParserTest, KeepsEachMessagesObjectsAsSent) {
  MessageParser parser;
  ParseResult r = parser.Parse(
      R"({ "batch" : [ {"type":"track","userId":"u","event":"E",
                        "properties":{ "a" : "\u00e9" , "n" : 1.50 }} ,
                       {"type":"identify","userId":"v","traits":{"t" : [ 1e3 ]}} ],
           "sentAt":"2026-11-24T10:00:00Z" })",
      Endpoint::kBatch, kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  ASSERT_THAT(r.messages, SizeIs(2));
  EXPECT_EQ(r.messages[0].properties, R"({"a":"\u00e9","n":1.50})");
  EXPECT_EQ(r.messages[1].traits, R"({"t":[1e3]})");
  // Of `batch` sent twice the last one is read; an element that is not an object keeps its
  // place in the errors.
  r = parser.Parse(
      R"({"batch":[{"type":"track","userId":"u","event":"First"}],"batch":[{"type":"track",)"
      R"("userId":"u","event":"E","properties":{"b" : 2}}]})",
      Endpoint::kBatch, kReceived);
  ASSERT_THAT(r.messages, SizeIs(1));
  EXPECT_EQ(r.messages[0].properties, R"({"b":2})");
  EXPECT_THAT(Errors(parser.Parse(R"({"batch":[{"type":"track","userId":"u","event":"E"},[1],)"
                                  R"({"type":"track","userId":"u","properties":[]}]})",
                                  Endpoint::kBatch, kReceived)),
              ElementsAre("1 : message must be a JSON object", "2 event: is required",
                          "2 properties: must be an object"));
  // A body whose keys have escapes is read through the DOM, whose text is its own.
  r = parser.Parse(R"({"b\u0061tch":[{"type":"track","userId":"u","event":"E",)"
                   R"("properties":{"c" : "\u00e9"}}]})",
                   Endpoint::kBatch, kReceived);
  ASSERT_THAT(r.messages, SizeIs(1));
  EXPECT_EQ(r.messages[0].properties, "{\"c\":\"\xc3\xa9\"}");
  Message t =
      ParseOk(parser, R"({"userId":"u","event":"E","properties":{ "d" : 1.0 }})", Endpoint::kTrack);
  EXPECT_EQ(t.properties, R"({"d":1.0})");
}

TEST(ParserTest, IdentifyFallsBackToContextTraits) {
  MessageParser parser;
  Message m = ParseOk(
      parser, R"({"userId":"u1","context":{"traits":{ "email" : "a@b.co" },"ip":"1.2.3.4"}})",
      Endpoint::kIdentify);
  EXPECT_EQ(m.traits, R"({"email":"a@b.co"})");
  EXPECT_EQ(m.context, R"({"traits":{"email":"a@b.co"},"ip":"1.2.3.4"})");
}

TEST(ParserTest, IdentifyTopLevelTraitsWinOverContextTraits) {
  MessageParser parser;
  Message m =
      ParseOk(parser, R"({"userId":"u1","traits":{"plan":"pro"},"context":{"traits":{"x":1}}})",
              Endpoint::kIdentify);
  EXPECT_EQ(m.traits, R"({"plan":"pro"})");
}

TEST(ParserTest, RejectsNonObjectTraitsPropertiesContextIntegrations) {
  MessageParser parser;
  ParseResult r = parser.Parse(
      R"({"userId":"u1","event":"E","traits":"x","properties":[1],"context":5,"integrations":true})",
      Endpoint::kTrack, kReceived);
  EXPECT_THAT(Errors(r),
              ElementsAre("0 traits: must be an object", "0 properties: must be an object",
                          "0 integrations: must be an object", "0 context: must be an object"));
  EXPECT_THAT(r.messages, IsEmpty());
}

// ---------------------------------------------------------------- identities

TEST(ParserTest, RejectsMessageWithoutUserIdOrAnonymousId) {
  MessageParser parser;
  ParseResult r = parser.Parse(R"({"event":"E","properties":{}})", Endpoint::kTrack, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("0 userId: userId or anonymousId is required"));
  EXPECT_THAT(r.messages, IsEmpty());
}

TEST(ParserTest, ConvertsNumericIdsToDecimalText) {
  MessageParser parser;
  Message m = ParseOk(parser, R"({"userId":12345,"anonymousId":-7})", Endpoint::kIdentify);
  EXPECT_EQ(m.user_id, "12345");
  EXPECT_EQ(m.anonymous_id, "-7");
  m = ParseOk(parser, R"({"userId":18446744073709551615,"messageId":99})", Endpoint::kIdentify);
  EXPECT_EQ(m.user_id, "18446744073709551615");
  EXPECT_EQ(m.message_id, "99");
  m = ParseOk(parser, R"({"userId":1.5})", Endpoint::kIdentify);
  EXPECT_EQ(m.user_id, "1.5");
  m = ParseOk(parser, R"({"userId":"u1","groupId":4711})", Endpoint::kGroup);
  EXPECT_EQ(m.group_id, "4711");
}

TEST(ParserTest, RejectsIdsOfOtherTypes) {
  MessageParser parser;
  ParseResult r =
      parser.Parse(R"({"userId":true,"anonymousId":{"a":1}})", Endpoint::kIdentify, kReceived);
  EXPECT_THAT(Errors(r),
              ElementsAre("0 userId: must be a string", "0 anonymousId: must be a string"));
}

TEST(ParserTest, DropsPlaceholderUserIdWhenAnonymousIdIsUsable) {
  MessageParser parser;
  Message m = ParseOk(parser, R"({"userId":"null","anonymousId":"a-1"})", Endpoint::kIdentify);
  EXPECT_TRUE(m.user_id.empty());
  EXPECT_EQ(m.anonymous_id, "a-1");
  m = ParseOk(parser, R"({"userId":"u-1","anonymousId":" Undefined "})", Endpoint::kIdentify);
  EXPECT_EQ(m.user_id, "u-1");
  EXPECT_TRUE(m.anonymous_id.empty());
  m = ParseOk(parser, R"({"userId":"","anonymousId":"a-2","event":"E"})", Endpoint::kTrack);
  EXPECT_TRUE(m.user_id.empty());
  EXPECT_EQ(m.anonymous_id, "a-2");
}

TEST(ParserTest, RejectsMessageWhoseIdsAreAllPlaceholders) {
  MessageParser parser;
  ParseResult r =
      parser.Parse(R"({"userId":"null","anonymousId":"0"})", Endpoint::kIdentify, kReceived);
  EXPECT_THAT(Errors(r),
              ElementsAre("0 userId: placeholder value \"null\" cannot identify a contact"));
  EXPECT_THAT(r.messages, IsEmpty());
  r = parser.Parse(R"({"userId":0})", Endpoint::kIdentify, kReceived);
  EXPECT_THAT(Errors(r),
              ElementsAre("0 userId: placeholder value \"0\" cannot identify a contact"));
  r = parser.Parse(R"({"anonymousId":"anonymous"})", Endpoint::kPage, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("0 anonymousId: placeholder value \"anonymous\" cannot "
                                     "identify a contact"));
}

TEST(IsPlaceholderIdTest, RecognizesPlaceholdersCaseInsensitivelyAfterTrimming) {
  for (std::string_view id : {"",
                              "   ",
                              "null",
                              "NULL",
                              " Null\t",
                              "undefined",
                              "nil",
                              "None",
                              "0",
                              "-1",
                              "anonymous",
                              "Unknown",
                              "n/a",
                              "N/A",
                              "na",
                              "[object Object]",
                              "00000000-0000-0000-0000-000000000000",
                              "NaN",
                              "false",
                              "TRUE",
                              "{}",
                              "[]",
                              "(null)"}) {
    EXPECT_TRUE(IsPlaceholderId(id)) << '"' << id << '"';
  }
  for (std::string_view id :
       {"u1", "nullable", "0x0", "00", "-2", "anonymous-1", "john@example.com",
        "00000000-0000-0000-0000-000000000001", "6f1c7f3e-0c1b-4c43-9a5e-2b8f0d1e6a11", "n",
        "none of them", "a null"}) {
    EXPECT_FALSE(IsPlaceholderId(id)) << '"' << id << '"';
  }
}

// ---------------------------------------------------------------- per-type requirements

TEST(ParserTest, TrackRequiresANonEmptyEventName) {
  MessageParser parser;
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u"})", Endpoint::kTrack, kReceived)),
              ElementsAre("0 event: is required"));
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u","event":""})", Endpoint::kTrack, kReceived)),
              ElementsAre("0 event: must not be empty"));
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u","event":7})", Endpoint::kTrack, kReceived)),
              ElementsAre("0 event: must be a string"));
}

TEST(ParserTest, AliasRequiresPreviousIdAndUserId) {
  MessageParser parser;
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u"})", Endpoint::kAlias, kReceived)),
              ElementsAre("0 previousId: is required"));
  EXPECT_THAT(
      Errors(parser.Parse(R"({"anonymousId":"a","previousId":"p"})", Endpoint::kAlias, kReceived)),
      ElementsAre("0 userId: is required"));
  EXPECT_THAT(
      Errors(parser.Parse(R"({"userId":"u","previousId":[1]})", Endpoint::kAlias, kReceived)),
      ElementsAre("0 previousId: must be a string"));
  // A placeholder must never link two contacts, on either side of an alias.
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u","previousId":"undefined"})", Endpoint::kAlias,
                                  kReceived)),
              ElementsAre("0 previousId: placeholder value \"undefined\" cannot identify a "
                          "contact"));
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"null","anonymousId":"a","previousId":"p"})",
                                  Endpoint::kAlias, kReceived)),
              ElementsAre("0 userId: placeholder value \"null\" cannot identify a contact"));
}

TEST(ParserTest, GroupRequiresGroupId) {
  MessageParser parser;
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u"})", Endpoint::kGroup, kReceived)),
              ElementsAre("0 groupId: is required"));
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u","groupId":""})", Endpoint::kGroup, kReceived)),
              ElementsAre("0 groupId: must not be empty"));
  EXPECT_THAT(
      Errors(parser.Parse(R"({"userId":"u","groupId":false})", Endpoint::kGroup, kReceived)),
      ElementsAre("0 groupId: must be a string"));
}

TEST(ParserTest, PageNameMustBeAString) {
  MessageParser parser;
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u","name":3})", Endpoint::kPage, kReceived)),
              ElementsAre("0 name: must be a string"));
}

TEST(ParserTest, HttpGroupWithoutUserRejected) {
  MessageParser parser;
  ParseResult r =
      parser.Parse(R"({"groupId":"acme","traits":{"employees":12}})", Endpoint::kGroup, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("0 userId: userId or anonymousId is required"));
}

// ---------------------------------------------------------------- time

TEST(ParserTest, TimestampIsTakenAsSent) {
  MessageParser parser;
  Message m = ParseOk(parser,
                      R"({"userId":"u","timestamp":"2026-11-24T10:00:00.250Z",
                          "originalTimestamp":"2020-01-01T00:00:00Z","sentAt":"2020-01-01T00:00:01Z"})",
                      Endpoint::kIdentify);
  EXPECT_EQ(m.timestamp, At("2026-11-24T10:00:00.250Z"));
  EXPECT_EQ(m.received_at, kReceived);
}

TEST(ParserTest, OriginalTimestampIsCorrectedForClockSkew) {
  MessageParser parser;
  // The client's clock runs 1 hour behind: it sent at 07:00 what the server got at 08:00.
  Message m = ParseOk(parser,
                      R"({"userId":"u","originalTimestamp":"2027-01-15T06:59:30Z",
                          "sentAt":"2027-01-15T07:00:00Z"})",
                      Endpoint::kIdentify);
  EXPECT_EQ(m.timestamp, At("2027-01-15T07:59:30Z"));
  EXPECT_EQ(m.received_at, kReceived);
}

TEST(ParserTest, OriginalTimestampWithoutSentAtIsUsedAsIs) {
  MessageParser parser;
  Message m = ParseOk(parser, R"({"userId":"u","originalTimestamp":"2027-01-15T06:59:30+01:00"})",
                      Endpoint::kIdentify);
  EXPECT_EQ(m.timestamp, At("2027-01-15T05:59:30Z"));
}

TEST(ParserTest, TimestampDefaultsToReceivedAt) {
  MessageParser parser;
  Message m =
      ParseOk(parser, R"({"userId":"u","sentAt":"2027-01-15T07:00:00Z"})", Endpoint::kIdentify);
  EXPECT_EQ(m.timestamp, kReceived);
  EXPECT_EQ(m.received_at, kReceived);
}

TEST(ParserTest, BatchSentAtAppliesToMessagesWithoutTheirOwn) {
  MessageParser parser;
  ParseResult r = parser.Parse(
      R"({"sentAt":"2027-01-15T07:59:00Z","batch":[
           {"type":"identify","userId":"u","originalTimestamp":"2027-01-15T07:58:00Z"},
           {"type":"identify","userId":"u","originalTimestamp":"2027-01-15T07:58:00Z",
            "sentAt":"2027-01-15T07:58:30Z"}]})",
      Endpoint::kBatch, kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  ASSERT_THAT(r.messages, SizeIs(2));
  EXPECT_EQ(r.messages[0].timestamp, At("2027-01-15T07:59:00Z"));  // skew +1 min
  EXPECT_EQ(r.messages[1].timestamp, At("2027-01-15T07:59:30Z"));  // own sentAt: +1.5 min
}

TEST(ParserTest, RejectsBadTimestamps) {
  MessageParser parser;
  ParseResult r = parser.Parse(
      R"({"userId":"u","timestamp":"yesterday","originalTimestamp":1700000000,"sentAt":"2027-13-45"})",
      Endpoint::kIdentify, kReceived);
  ASSERT_THAT(r.errors, SizeIs(3));
  EXPECT_EQ(r.errors[0].field, "timestamp");
  EXPECT_THAT(r.errors[0].reason, StartsWith("expected an ISO-8601 timestamp"));
  EXPECT_EQ(r.errors[1].field, "originalTimestamp");
  EXPECT_EQ(r.errors[1].reason, "must be an ISO-8601 timestamp string");
  EXPECT_EQ(r.errors[2].field, "sentAt");
  for (const FieldError& e : r.errors) EXPECT_EQ(e.index, 0);
  EXPECT_THAT(r.messages, IsEmpty());

  r = parser.Parse(R"({"sentAt":"soon","batch":[{"type":"identify","userId":"u"}]})",
                   Endpoint::kBatch, kReceived);
  ASSERT_THAT(r.errors, SizeIs(1));
  EXPECT_EQ(r.errors[0].index, -1);
  EXPECT_EQ(r.errors[0].field, "sentAt");
}

// ---------------------------------------------------------------- messageId

TEST(ParserTest, KeepsMessageIdSentByTheClient) {
  MessageParser parser;
  Message m = ParseOk(parser, R"({"userId":"u","messageId":"ajs-123"})", Endpoint::kIdentify);
  EXPECT_EQ(m.message_id, "ajs-123");
}

TEST(ParserTest, GeneratesUniqueMessageIdWhenAbsent) {
  MessageParser parser;
  std::vector<std::string> messages(50, R"({"type":"track","userId":"u","event":"E"})");
  ParseResult r = parser.Parse(Batch(messages), Endpoint::kBatch, kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  absl::flat_hash_set<std::string> ids;
  for (const Message& m : r.messages) {
    EXPECT_TRUE(LooksLikeUuidV4(m.message_id)) << m.message_id;
    ids.insert(m.message_id);
  }
  EXPECT_EQ(ids.size(), 50u);
  Message again = ParseOk(parser, R"({"userId":"u","messageId":""})", Endpoint::kIdentify);
  EXPECT_TRUE(LooksLikeUuidV4(again.message_id)) << again.message_id;
}

TEST(ParserTest, RejectsMessageIdLongerThan256Characters) {
  MessageParser parser;
  std::string ok = fmt::format(R"({{"userId":"u","messageId":"{}"}})", std::string(256, 'm'));
  EXPECT_EQ(ParseOk(parser, ok, Endpoint::kIdentify).message_id, std::string(256, 'm'));
  std::string bad = fmt::format(R"({{"userId":"u","messageId":"{}"}})", std::string(257, 'm'));
  EXPECT_THAT(Errors(parser.Parse(bad, Endpoint::kIdentify, kReceived)),
              ElementsAre("0 messageId: is 257 characters, more than the 256-character limit"));
  EXPECT_THAT(
      Errors(parser.Parse(R"({"userId":"u","messageId":["x"]})", Endpoint::kIdentify, kReceived)),
      ElementsAre("0 messageId: must be a string"));
}

TEST(NewUuidTest, IsVersion4AndUnique) {
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(LooksLikeUuidV4(id)) << id;
    ids.insert(std::move(id));
  }
  EXPECT_EQ(ids.size(), 10000u);
}

// ---------------------------------------------------------------- write key

TEST(ParserTest, ReadsWriteKeyFromBody) {
  MessageParser parser;
  ParseResult r =
      parser.Parse(R"({"userId":"u","writeKey":"wk_single"})", Endpoint::kIdentify, kReceived);
  EXPECT_EQ(r.write_key, "wk_single");
  r = parser.Parse(R"({"writeKey":"wk_batch","batch":[{"type":"identify","userId":"u"}]})",
                   Endpoint::kBatch, kReceived);
  EXPECT_THAT(Errors(r), IsEmpty());
  EXPECT_EQ(r.write_key, "wk_batch");
  r = parser.Parse(R"({"userId":"u"})", Endpoint::kIdentify, kReceived);
  EXPECT_TRUE(r.write_key.empty());
}

// ---------------------------------------------------------------- batches

TEST(ParserTest, BatchReadsTypeOfEachMessage) {
  MessageParser parser;
  ParseResult r = parser.Parse(Batch({R"({"type":"identify","userId":"u","traits":{"a":1}})",
                                      R"({"type":"track","userId":"u","event":"E"})",
                                      R"({"type":"page","anonymousId":"a","name":"Home"})",
                                      R"({"type":"screen","anonymousId":"a"})",
                                      R"({"type":"group","userId":"u","groupId":"g"})",
                                      R"({"type":"alias","userId":"u","previousId":"a"})"}),
                               Endpoint::kBatch, kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  ASSERT_THAT(r.messages, SizeIs(6));
  EXPECT_EQ(r.messages[0].type, MessageType::kIdentify);
  EXPECT_EQ(r.messages[0].traits, R"({"a":1})");
  EXPECT_EQ(r.messages[1].type, MessageType::kTrack);
  EXPECT_EQ(r.messages[1].event, "E");
  EXPECT_EQ(r.messages[2].type, MessageType::kPage);
  EXPECT_EQ(r.messages[2].name, "Home");
  EXPECT_EQ(r.messages[3].type, MessageType::kScreen);
  EXPECT_EQ(r.messages[4].type, MessageType::kGroup);
  EXPECT_EQ(r.messages[4].group_id, "g");
  EXPECT_EQ(r.messages[5].type, MessageType::kAlias);
  EXPECT_EQ(r.messages[5].previous_id, "a");
}

TEST(ParserTest, BatchMessagesNeedAValidType) {
  MessageParser parser;
  ParseResult r = parser.Parse(Batch({R"({"userId":"u"})", R"({"type":"purchase","userId":"u"})",
                                      R"({"type":1,"userId":"u"})"}),
                               Endpoint::kBatch, kReceived);
  EXPECT_THAT(Errors(r),
              ElementsAre("0 type: is required",
                          "1 type: unknown type \"purchase\"; expected identify, track, page, "
                          "screen, group or alias",
                          "2 type: must be a string"));
}

TEST(ParserTest, BadMessageInBatchIsNamedByIndexAndNothingIsKept) {
  MessageParser parser;
  ParseResult r = parser.Parse(
      Batch({R"({"type":"track","userId":"u","event":"A"})", R"({"type":"track","userId":"u"})",
             R"({"type":"track","userId":"u","event":"C"})"}),
      Endpoint::kBatch, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("1 event: is required"));
  EXPECT_THAT(r.messages, IsEmpty());
}

TEST(ParserTest, CollectsEveryErrorOfEveryMessage) {
  MessageParser parser;
  ParseResult r = parser.Parse(
      Batch({R"({"type":"track","properties":7})", R"({"type":"identify","userId":"ok"})",
             R"({"type":"group","anonymousId":"a","traits":"x","timestamp":"x"})", R"("text")"}),
      Endpoint::kBatch, kReceived);
  ASSERT_THAT(r.errors, SizeIs(7));
  EXPECT_THAT(Errors(r)[0], "0 userId: userId or anonymousId is required");
  EXPECT_THAT(Errors(r)[1], "0 event: is required");
  EXPECT_THAT(Errors(r)[2], "0 properties: must be an object");
  EXPECT_THAT(Errors(r)[3], "2 groupId: is required");
  EXPECT_THAT(Errors(r)[4], "2 traits: must be an object");
  EXPECT_EQ(r.errors[5].index, 2);
  EXPECT_EQ(r.errors[5].field, "timestamp");
  EXPECT_THAT(Errors(r)[6], "3 : message must be a JSON object");
  EXPECT_THAT(r.messages, IsEmpty());
}

TEST(ParserTest, RejectsEmptyOrMissingBatch) {
  MessageParser parser;
  EXPECT_THAT(Errors(parser.Parse(R"({"batch":[]})", Endpoint::kBatch, kReceived)),
              ElementsAre("-1 batch: batch is empty"));
  EXPECT_THAT(Errors(parser.Parse(R"({"messages":[]})", Endpoint::kBatch, kReceived)),
              ElementsAre("-1 batch: is required"));
  EXPECT_THAT(Errors(parser.Parse(R"({"batch":{"type":"track"}})", Endpoint::kBatch, kReceived)),
              ElementsAre("-1 batch: must be an array"));
}

TEST(ParserTest, RejectsBatchOver2500Messages) {
  MessageParser parser;
  const std::string one = R"({"type":"track","userId":"u","event":"E"})";
  ParseResult ok =
      parser.Parse(Batch(std::vector<std::string>(2500, one)), Endpoint::kBatch, kReceived);
  EXPECT_THAT(Errors(ok), IsEmpty());
  EXPECT_THAT(ok.messages, SizeIs(2500));
  ParseResult r =
      parser.Parse(Batch(std::vector<std::string>(2501, one)), Endpoint::kBatch, kReceived);
  EXPECT_THAT(Errors(r),
              ElementsAre("-1 batch: batch holds 2501 messages, more than the 2500-message limit"));
  EXPECT_THAT(r.messages, IsEmpty());
}

TEST(ParserTest, HonoursCustomLimits) {
  Limits limits;
  limits.max_batch_messages = 2;
  limits.max_batch_bytes = 1000;
  limits.max_message_bytes = 100;
  limits.max_depth = 4;
  MessageParser parser(limits);
  const std::string one = R"({"type":"track","userId":"u","event":"E"})";
  EXPECT_THAT(Errors(parser.Parse(Batch({one, one, one}), Endpoint::kBatch, kReceived)),
              ElementsAre("-1 batch: batch holds 3 messages, more than the 2-message limit"));
  EXPECT_THAT(Errors(parser.Parse(std::string(1001, ' '), Endpoint::kBatch, kReceived)),
              ElementsAre("-1 : body is 1001 bytes, more than the 1000-byte limit"));
  EXPECT_THAT(Errors(parser.Parse(R"({"userId":"u","traits":{"a":{"b":{"c":{"d":1}}}}})",
                                  Endpoint::kIdentify, kReceived)),
              ElementsAre("-1 : nesting deeper than 4 levels"));
  std::string big = fmt::format(R"({{"userId":"u","traits":{{"a":"{}"}}}})", std::string(80, 'x'));
  ParseResult r = parser.Parse(big, Endpoint::kIdentify, kReceived);
  ASSERT_THAT(r.errors, SizeIs(1));
  EXPECT_EQ(r.errors[0].reason,
            fmt::format("message is {} bytes, more than the 100-byte limit", big.size()));
}

TEST(ParserTest, MergesBatchContextUnderEachMessageContext) {
  MessageParser parser;
  ParseResult r = parser.Parse(
      R"({"context":{"library":{"name":"http"},"ip":"1.1.1.1"},"batch":[
           {"type":"track","userId":"u","event":"E","context":{"ip":"2.2.2.2","locale":"de"}},
           {"type":"track","userId":"u","event":"E"}]})",
      Endpoint::kBatch, kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  ASSERT_THAT(r.messages, SizeIs(2));
  EXPECT_EQ(r.messages[0].context, R"({"ip":"2.2.2.2","locale":"de","library":{"name":"http"}})");
  EXPECT_EQ(r.messages[1].context, R"({"library":{"name":"http"},"ip":"1.1.1.1"})");

  EXPECT_THAT(Errors(parser.Parse(R"({"context":[],"batch":[{"type":"identify","userId":"u"}]})",
                                  Endpoint::kBatch, kReceived)),
              ElementsAre("-1 context: must be an object"));
}

// ---------------------------------------------------------------- body-level errors

TEST(ParserTest, RejectsBodyOverTheLimit) {
  MessageParser parser;
  // A valid batch, padded with whitespace to one byte over 500 KiB.
  std::string body = Batch({R"({"type":"track","userId":"u","event":"E"})"});
  body.append(512001 - body.size(), ' ');
  ParseResult r = parser.Parse(body, Endpoint::kBatch, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("-1 : body is 512001 bytes, more than the 512000-byte limit"));
  EXPECT_THAT(r.messages, IsEmpty());
  body.pop_back();  // exactly at the limit
  EXPECT_THAT(Errors(parser.Parse(body, Endpoint::kBatch, kReceived)), IsEmpty());
}

TEST(ParserTest, RejectsMessageOverTheLimitMeasuredMinified) {
  MessageParser parser;
  const std::string small = R"({"type":"track","userId":"u","event":"E"})";
  // Exactly 32768 bytes minified: accepted.
  std::string prefix = R"({"type":"track","userId":"u","event":"E","properties":{"p":")";
  std::string suffix = R"("}})";
  std::string at_limit = prefix + std::string(32768 - prefix.size() - suffix.size(), 'x') + suffix;
  ASSERT_EQ(at_limit.size(), 32768u);
  std::string over = prefix + std::string(32769 - prefix.size() - suffix.size(), 'x') + suffix;
  ParseResult r = parser.Parse(Batch({small, at_limit, over}), Endpoint::kBatch, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("2 : message is 32769 bytes, more than the 32768-byte limit"));
  // Whitespace does not count: the same message, pretty-printed past 32 KiB, is accepted.
  std::string spaced = R"({ "type" : "track", "userId" : "u", "event" : "E", "properties" : )" +
                       std::string(2000, ' ') + R"({ "p" : ")" +
                       std::string(32768 - prefix.size() - suffix.size(), 'x') + R"(" } })";
  ASSERT_GT(spaced.size(), 32768u);
  EXPECT_THAT(Errors(parser.Parse(Batch({spaced}), Endpoint::kBatch, kReceived)), IsEmpty());
  // A single-endpoint body is one message.
  r = parser.Parse(over, Endpoint::kTrack, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("0 : message is 32769 bytes, more than the 32768-byte limit"));
}

// The size is the message's text without its whitespace, and the text kept for its objects
// is theirs, as sent: whatever its escapes, numbers, nulls, unknown fields and repeated keys.
TEST(ParserTest, MeasuresAndKeepsEachFieldAsTheWholeMessageMinified) {
  const std::string message =
      R"({ "type" : "track", "messageId" : "m1", "userId" : "caf\u00e9 \"u\"",
      "event" : "E\/F", "extra" : [1.50, 1e2, -0, true, null, {"k\n" : "v\t"}],
      "properties" : {"a" : 1}, "properties" : null, "traits" : null,
      "context" : {"ip" : "1.2.3.4"}, "context" : {"page" : {"url" : "https://x.test/\u0001"}},
      "integrations" : {"All" : false} })";
  std::string without_whitespace(message.size() + simdjson::SIMDJSON_PADDING, ' ');
  size_t minified = 0;
  ASSERT_EQ(simdjson::minify(message.data(), message.size(), without_whitespace.data(), minified),
            simdjson::SUCCESS);
  ASSERT_LT(minified, message.size());
  simdjson::dom::parser json;
  ASSERT_LT(MinifiedJson(json.parse(message)).size(), minified);  // the escapes, as sent

  Limits limits;
  limits.max_message_bytes = minified;  // small enough that every message is measured
  MessageParser measured(limits);
  ParseResult kept = measured.Parse(Batch({message, message}), Endpoint::kBatch, kReceived);
  ASSERT_THAT(Errors(kept), IsEmpty());
  ASSERT_THAT(kept.messages, SizeIs(2));
  EXPECT_EQ(kept.messages[1].properties, R"({"a":1})");
  EXPECT_EQ(kept.messages[1].context, R"({"page":{"url":"https://x.test/\u0001"}})");
  EXPECT_EQ(kept.messages[1].integrations, R"({"All":false})");
  EXPECT_EQ(kept.messages[1].user_id, "café \"u\"");

  // Without the measurement (the default limit is far above this body): the same messages.
  MessageParser unmeasured;
  ParseResult same = unmeasured.Parse(Batch({message, message}), Endpoint::kBatch, kReceived);
  ASSERT_THAT(same.messages, SizeIs(2));
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(MessageJson(same.messages[i]), MessageJson(kept.messages[i])) << i;
  }

  limits.max_message_bytes = minified - 1;
  MessageParser strict(limits);
  EXPECT_THAT(Errors(strict.Parse(Batch({message}), Endpoint::kBatch, kReceived)),
              ElementsAre(fmt::format("0 : message is {} bytes, more than the {}-byte limit",
                                      minified, minified - 1)));
}

// `{"userId":"u","traits":` + nested objects, `levels` deep in all (the body counts).
std::string NestedBody(int levels) {
  std::string body = R"({"userId":"u","traits":)";
  for (int i = 1; i < levels; ++i) body += R"({"k":)";
  body += "1";
  for (int i = 1; i < levels; ++i) body += "}";
  body += "}";
  return body;
}

TEST(ParserTest, RejectsNestingDeeperThan32Levels) {
  MessageParser parser;
  EXPECT_THAT(Errors(parser.Parse(NestedBody(32), Endpoint::kIdentify, kReceived)), IsEmpty());
  ParseResult r = parser.Parse(NestedBody(33), Endpoint::kIdentify, kReceived);
  EXPECT_THAT(Errors(r), ElementsAre("-1 : nesting deeper than 32 levels"));
  EXPECT_THAT(r.messages, IsEmpty());
  // Arrays count as well.
  std::string arrays =
      R"({"userId":"u","traits":{"a":)" + std::string(31, '[') + "1" + std::string(31, ']') + "}}";
  EXPECT_THAT(Errors(parser.Parse(arrays, Endpoint::kIdentify, kReceived)),
              ElementsAre("-1 : nesting deeper than 32 levels"));
  // The parser stays usable after the error.
  EXPECT_THAT(Errors(parser.Parse(NestedBody(3), Endpoint::kIdentify, kReceived)), IsEmpty());
}

TEST(ParserTest, RejectsInvalidUtf8) {
  MessageParser parser;
  for (std::string bad : {std::string("{\"userId\":\"u\xff\"}"),
                          std::string("{\"userId\":\"\xc0\xaf\"}"),  // overlong '/'
                          std::string("{\"userId\":\"u\",\"traits\":{\"\xed\xa0\x80\":1}}"),
                          std::string("{\"userId\":\"\xe2\x82\"}")}) {  // truncated sequence
    ParseResult r = parser.Parse(bad, Endpoint::kIdentify, kReceived);
    EXPECT_THAT(Errors(r), ElementsAre("-1 : invalid UTF-8")) << bad;
    EXPECT_THAT(r.messages, IsEmpty());
  }
  // Valid multi-byte text passes through unchanged.
  Message m = ParseOk(parser, "{\"userId\":\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80\"}",
                      Endpoint::kIdentify);
  EXPECT_EQ(m.user_id, "J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(ParserTest, RejectsMalformedJson) {
  MessageParser parser;
  for (std::string_view bad : {R"({"userId":"u")", R"({"userId" "u"})", R"({"userId":"u",})",
                               R"({'userId':'u'})", "nul"}) {
    ParseResult r = parser.Parse(bad, Endpoint::kIdentify, kReceived);
    ASSERT_THAT(r.errors, SizeIs(1)) << bad;
    EXPECT_EQ(r.errors[0].index, -1);
    EXPECT_EQ(r.errors[0].field, "");
    EXPECT_THAT(r.errors[0].reason, StartsWith("malformed JSON: ")) << bad;
    EXPECT_GT(r.errors[0].reason.size(), std::string("malformed JSON: ").size());
  }
  EXPECT_THAT(Errors(parser.Parse("", Endpoint::kIdentify, kReceived)),
              ElementsAre("-1 : body is empty"));
  EXPECT_THAT(Errors(parser.Parse(R"([{"userId":"u"}])", Endpoint::kIdentify, kReceived)),
              ElementsAre("-1 : body must be a JSON object"));
  EXPECT_THAT(Errors(parser.Parse(R"("x")", Endpoint::kBatch, kReceived)),
              ElementsAre("-1 : body must be a JSON object"));
}

TEST(ParserTest, ResultsOutliveLaterParses) {
  MessageParser parser;
  ParseResult first =
      parser.Parse(R"({"userId":"first","traits":{"a":"one"},"context":{"ip":"1.1.1.1"}})",
                   Endpoint::kIdentify, kReceived);
  std::vector<std::string> many(400, R"({"type":"track","userId":"v","event":"Second"})");
  ParseResult second = parser.Parse(Batch(many), Endpoint::kBatch, kReceived);
  ASSERT_THAT(Errors(second), IsEmpty());
  ASSERT_THAT(first.messages, SizeIs(1));
  EXPECT_EQ(first.messages[0].user_id, "first");
  EXPECT_EQ(first.messages[0].traits, R"({"a":"one"})");
  EXPECT_EQ(first.messages[0].context, R"({"ip":"1.1.1.1"})");
  EXPECT_EQ(second.messages[399].event, "Second");
}

// ---------------------------------------------------------------- JSONL lines

TEST(ParseLineTest, TakesTypeFromTheLine) {
  MessageParser parser;
  ParseResult r = parser.ParseLine(
      R"({"type":"track","userId":"u","event":"Order Completed","properties":{"revenue":42},
          "timestamp":"2026-11-24T10:00:00Z","messageId":"m-1"})",
      kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  ASSERT_THAT(r.messages, SizeIs(1));
  const Message& m = r.messages[0];
  EXPECT_EQ(m.type, MessageType::kTrack);
  EXPECT_EQ(m.event, "Order Completed");
  EXPECT_EQ(m.properties, R"({"revenue":42})");
  EXPECT_EQ(m.timestamp, At("2026-11-24T10:00:00Z"));
  EXPECT_EQ(m.message_id, "m-1");

  EXPECT_THAT(Errors(parser.ParseLine(R"({"userId":"u"})", kReceived)),
              ElementsAre("0 type: is required"));
  EXPECT_THAT(Errors(parser.ParseLine(R"({"type":"trak","userId":"u"})", kReceived)),
              ElementsAre("0 type: unknown type \"trak\"; expected identify, track, page, "
                          "screen, group or alias"));
  EXPECT_THAT(Errors(parser.ParseLine("[1]", kReceived)),
              ElementsAre("0 : message must be a JSON object"));
  EXPECT_THAT(Errors(parser.ParseLine("{\"type\":", kReceived)),
              ElementsAre(StartsWith("-1 : malformed JSON: ")));
}

TEST(ParseLineTest, CopiesObjectsFromTheLineWithoutWhitespace) {
  MessageParser parser;
  ParseResult r = parser.ParseLine(
      R"({ "type" : "track" , "userId" : "u", "event" : "E",
           "extra" : { "x" : [ { "y" : "}]\"{" } ] },
           "properties" : { "name" : "a \"quoted\" {brace} ]",
                            "items" : [ 1 , { "k" : [ ] } , "x y" ] , "e" : "\u00e9\n" ,
                            "n" : 1e3 , "m" : 1.50 } ,
           "context" : {"ip":"1.2.3.4"} , "integrations" : { "All" : false } })",
      kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  ASSERT_THAT(r.messages, SizeIs(1));
  // The client's text, escapes and numbers as sent.
  EXPECT_EQ(r.messages[0].properties,
            R"({"name":"a \"quoted\" {brace} ]","items":[1,{"k":[]},"x y"],"e":"\u00e9\n",)"
            R"("n":1e3,"m":1.50})");
  EXPECT_EQ(r.messages[0].context, R"({"ip":"1.2.3.4"})");
  EXPECT_EQ(r.messages[0].integrations, R"({"All":false})");

  // Of a key sent twice the last value wins and a null is no value, as in a request; a key
  // that spells a field with escapes is the field.
  auto properties = [&](std::string_view fields) {
    ParseResult p = parser.ParseLine(
        fmt::format(R"({{"type":"track","userId":"u","event":"E",{}}})", fields), kReceived);
    EXPECT_THAT(Errors(p), IsEmpty()) << fields;
    return p.messages.empty() ? std::string("(error)") : p.messages[0].properties;
  };
  EXPECT_EQ(properties(R"("properties":{"a":1},"properties":null,"properties":{"b":2})"),
            R"({"b":2})");
  EXPECT_EQ(properties(R"("properties":{"a":1},"properties":null)"), R"({"a":1})");
  EXPECT_EQ(properties(R"("properties":{"a":1},"propert\u0069es":{"c":"\u00e9"})"),
            "{\"c\":\"\xc3\xa9\"}");
  EXPECT_EQ(properties(R"("properties":{},"traits":{"t":[]})"), "{}");
  EXPECT_THAT(
      Errors(parser.ParseLine(
          R"({"type":"track","userId":"u","event":"E","properties":{"a":1},"properties":[1]})",
          kReceived)),
      ElementsAre("0 properties: must be an object"));

  // Whatever the text, the values are the ones a request carrying the same message keeps.
  for (std::string_view line : {
           R"({"type":"track","userId":"u","event":"E","properties":{"p":[1,-0,2.5e-3,"\/"]}})",
           R"({"type":"identify","userId":"u","traits":{ "a" : { "b" : [ true , null ] } }})",
           R"({"type":"page","userId":"u","context":{"page":{"url":"https://x.io/?q=\"a\""}}})",
       }) {
    ParseResult from_line = parser.ParseLine(line, kReceived);
    ParseResult from_request =
        parser.Parse(Batch({std::string(line)}), Endpoint::kBatch, kReceived);
    ASSERT_THAT(from_line.messages, SizeIs(1)) << line;
    ASSERT_THAT(from_request.messages, SizeIs(1)) << line;
    const Message& a = from_line.messages[0];
    const Message& b = from_request.messages[0];
    simdjson::dom::parser json;
    auto values = [&](const std::string& text) {
      return text.empty() ? text : MinifiedJson(json.parse(text).value());
    };
    EXPECT_EQ(values(a.properties), values(b.properties)) << line;
    EXPECT_EQ(values(a.traits), values(b.traits)) << line;
    EXPECT_EQ(values(a.context), values(b.context)) << line;
  }
}

// The spans come from the parse's structural indexes, which each of simdjson's
// implementations (AVX-512, AVX2, SSE4.2, scalar) computes with its own code.
TEST(ParseLineTest, CopiesObjectsAlikeWithEverySimdjsonImplementation) {
  const simdjson::implementation* active = simdjson::get_active_implementation();
  const std::string line =
      R"({"type":"track","userId":"u","event":"E","x":[{"y":"}]\"{"}],"properties":{ "a" : )"
      R"([1, {"k":"\u00e9 \"q\""}], "b" : "{\\" } , "context":{"ip":"1.2.3.4", "l":[ ]} })";
  int tried = 0;
  for (const simdjson::implementation* implementation : simdjson::get_available_implementations()) {
    if (!implementation->supported_by_runtime_system()) continue;
    simdjson::get_active_implementation() = implementation;
    MessageParser parser;  // its JSON parser takes the active implementation
    ParseResult r = parser.ParseLine(line, kReceived);
    ASSERT_THAT(Errors(r), IsEmpty()) << implementation->name();
    ASSERT_THAT(r.messages, SizeIs(1)) << implementation->name();
    EXPECT_EQ(r.messages[0].properties, R"({"a":[1,{"k":"\u00e9 \"q\""}],"b":"{\\"})")
        << implementation->name();
    EXPECT_EQ(r.messages[0].context, R"({"ip":"1.2.3.4","l":[]})") << implementation->name();
    ++tried;
  }
  simdjson::get_active_implementation() = active;
  EXPECT_GE(tried, 2);  // the CPU's best and the scalar fallback, at least
}

// An import asks for the stored JSON: it must be what MessageJson gives for the message the
// line makes otherwise, with the objects only there; the other fields are the same.
TEST(ParseLineTest, StoredJsonIsMessageJsonWithTheObjectsOnlyThere) {
  MessageParser parser;
  for (std::string_view line : {
           // Objects read from the line's text, with whitespace and escapes.
           R"({ "type" : "track", "userId" : "u\"1", "event" : "Order \u00e9",
                "properties" : { "a" : [ 1 , "}" ] }, "context" : { "ip" : "1.2.3.4" },
                "integrations" : { "All" : false }, "timestamp" : "2025-03-01T10:00:00Z" })",
           // A key spelled with an escape: the objects come from the parsed document.
           R"({"type":"page","anonymousId":"a","name":"Home","propert\u0069es":{"p":1},)"
           R"("context":{"page":{"url":"https://x.io/"}}})",
           // Identify traits found in context.traits only.
           R"({"type":"identify","userId":"u","context":{"traits":{"email":"u@x.io"}}})",
           R"({"type":"group","userId":"u","groupId":"g","traits":{"name":"Acme"},)"
           R"("receivedAt":"2025-03-01T10:00:05Z"})",
           R"({"type":"alias","userId":"u","previousId":"a","properties":{"ignored":1}})",
       }) {
    ParseResult fields = parser.ParseLine(line, kReceived);
    ParseResult stored;
    parser.ParseLine(line, kReceived, &stored, {.output = LineOutput::kStoredJson});
    ASSERT_THAT(Errors(fields), IsEmpty()) << line;
    ASSERT_THAT(Errors(stored), IsEmpty()) << line;
    ASSERT_THAT(stored.messages, SizeIs(1)) << line;
    Message& m = stored.messages[0];
    const Message& expected = fields.messages[0];
    EXPECT_EQ(m.json, MessageJson(expected)) << line;
    EXPECT_EQ(m.traits, expected.traits) << line;
    EXPECT_TRUE(m.properties.empty() && m.context.empty() && m.integrations.empty()) << line;
    // The rest is the message the line makes otherwise.
    m.json.clear();
    m.properties = expected.properties;
    m.context = expected.context;
    m.integrations = expected.integrations;
    EXPECT_EQ(MessageJson(m), MessageJson(expected)) << line;
    EXPECT_EQ(m.message_id, expected.message_id) << line;
  }
  // A refused line makes no message.
  ParseResult refused;
  parser.ParseLine(R"({"type":"track","userId":"u","event":"E","context":[1]})", kReceived,
                   &refused, {.output = LineOutput::kStoredJson});
  EXPECT_THAT(Errors(refused), ElementsAre("0 context: must be an object"));
  EXPECT_THAT(refused.messages, IsEmpty());
}

TEST(ParseLineTest, AcceptsAccountOnlyGroup) {
  MessageParser parser;
  ParseResult r = parser.ParseLine(
      R"({"type":"group","groupId":"acme","traits":{"name":"Acme Inc","employees":120}})",
      kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  ASSERT_THAT(r.messages, SizeIs(1));
  EXPECT_EQ(r.messages[0].type, MessageType::kGroup);
  EXPECT_EQ(r.messages[0].group_id, "acme");
  EXPECT_TRUE(r.messages[0].user_id.empty());
  EXPECT_TRUE(r.messages[0].anonymous_id.empty());
  EXPECT_EQ(r.messages[0].traits, R"({"name":"Acme Inc","employees":120})");
  // Other types still need an identity, and the group still needs its groupId.
  EXPECT_THAT(Errors(parser.ParseLine(R"({"type":"identify","traits":{}})", kReceived)),
              ElementsAre("0 userId: userId or anonymousId is required"));
  EXPECT_THAT(Errors(parser.ParseLine(R"({"type":"group","traits":{}})", kReceived)),
              ElementsAre("0 groupId: is required"));
}

TEST(ParseLineTest, ReceivedAtInTheLineReplacesImportTime) {
  MessageParser parser;
  ParseResult r = parser.ParseLine(
      R"({"type":"identify","userId":"u","originalTimestamp":"2025-03-01T09:59:00Z",
          "sentAt":"2025-03-01T10:00:00Z","receivedAt":"2025-03-01T10:00:05Z"})",
      kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_EQ(r.messages[0].received_at, At("2025-03-01T10:00:05Z"));
  EXPECT_EQ(r.messages[0].timestamp, At("2025-03-01T09:59:05Z"));
  // Without one, the import time is the reception time.
  r = parser.ParseLine(R"({"type":"identify","userId":"u"})", kReceived);
  ASSERT_THAT(Errors(r), IsEmpty());
  EXPECT_EQ(r.messages[0].received_at, kReceived);
}

}  // namespace
}  // namespace segmenta
