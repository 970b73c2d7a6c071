#include "lang/parser.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::HasSubstr;

std::string Roundtrip(std::string_view text) {
  auto node = ParseCondition(text);
  EXPECT_TRUE(node.ok()) << text << ": " << node.status();
  if (!node.ok()) return "";
  return NodeToText(**node);
}

std::string ErrorOf(std::string_view text) {
  auto node = ParseCondition(text);
  EXPECT_FALSE(node.ok()) << text << " parsed as " << (node.ok() ? NodeToText(**node) : "");
  return node.ok() ? "" : std::string(node.status().message());
}

TEST(ParserTest, PrecedenceOfNotAndOr) {
  EXPECT_EQ(Roundtrip("a = 1 or b = 2 and not c = 3"), "a = 1 or b = 2 and not c = 3");
  EXPECT_EQ(Roundtrip("(a = 1 or b = 2) and c = 3"), "(a = 1 or b = 2) and c = 3");
  EXPECT_EQ(Roundtrip("not (a = 1 and b = 2)"), "not (a = 1 and b = 2)");
  EXPECT_EQ(Roundtrip("x - 1 - 2 > 0"), "x - 1 - 2 > 0");
  EXPECT_EQ(Roundtrip("x - (1 - 2) > 2 * (y + 1)"), "x - (1 - 2) > 2 * (y + 1)");
}

TEST(ParserTest, PredicatesOfEveryKind) {
  EXPECT_EQ(Roundtrip("country IN [\"ES\", \"FR\"] AND age BETWEEN 45 AND 55"),
            "country in [\"ES\", \"FR\"] and age between 45 and 55");
  EXPECT_EQ(Roundtrip("plan not in [\"free\"]"), "plan not in [\"free\"]");
  EXPECT_EQ(Roundtrip("email is not null and phone is null"),
            "email is not null and phone is null");
  EXPECT_EQ(Roundtrip("job_title icontains \"engineer\""), "job_title icontains \"engineer\"");
  EXPECT_EQ(Roundtrip("email matches \"@example\\\\.com$\""),
            "email matches \"@example\\\\.com$\"");
  EXPECT_EQ(Roundtrip("card_expiry within next 30 days"), "card_expiry within next 30 days");
  EXPECT_EQ(Roundtrip("created_at older than 2 weeks"), "created_at older than 2 weeks");
  EXPECT_EQ(Roundtrip("created_at after now - 36 hours"), "created_at > now - 36 hours");
  EXPECT_EQ(Roundtrip("address.city = \"Bilbao\""), "address.city = \"Bilbao\"");
  EXPECT_EQ(Roundtrip("trait(\"First Name\") = \"Ana\""), "trait(\"First Name\") = \"Ana\"");
  EXPECT_EQ(Roundtrip("age >= -3.5"), "age >= -3.5");
}

TEST(ParserTest, ActivitiesAggregatesAndSequences) {
  EXPECT_EQ(Roundtrip("count(page where path starts_with \"/partners\" within last 30 days) >= 2"),
            "count(page where (path starts_with \"/partners\") within last 30 days) >= 2");
  EXPECT_EQ(Roundtrip("last(\"Product Added\") older than 1 hour and "
                      "count(\"Order Completed\" since last(\"Product Added\")) = 0"),
            "last(\"Product Added\") older than 1 hour and "
            "count(\"Order Completed\" since last(\"Product Added\")) = 0");
  EXPECT_EQ(
      Roundtrip("sum(\"Order Completed\".revenue) > 500 or "
                "avg(\"Order Completed\".revenue) > overall(avg(\"Order Completed\".revenue))"),
      "sum(\"Order Completed\".revenue) > 500 or "
      "avg(\"Order Completed\".revenue) > overall(avg(\"Order Completed\".revenue))");
  EXPECT_EQ(Roundtrip("did \"Webinar Downloaded\""), "did \"Webinar Downloaded\"");
  EXPECT_EQ(Roundtrip("did not any within last 90 days"), "did not any within last 90 days");
  EXPECT_EQ(Roundtrip("did \"Product Added\" not followed by \"Order Completed\" within 1 hour"),
            "did \"Product Added\" not followed by \"Order Completed\" within 1 hour");
  EXPECT_EQ(Roundtrip("count(\"Order Completed\" between \"2026-01-01\" and \"2026-06-30\") > 0"),
            "count(\"Order Completed\" between \"2026-01-01\" and \"2026-06-30\") > 0");
  // After did, a where clause is one predicate: what follows 'and' is the contact's.
  EXPECT_EQ(Roundtrip("did page where path = \"/x\" and age > 3"),
            "did page where (path = \"/x\") and age > 3");
  EXPECT_EQ(Roundtrip("did page where (path = \"/x\" and title = \"X\") within last 2 days"),
            "did page where (path = \"/x\" and title = \"X\") within last 2 days");
  // A where clause ends where the window starts; 'between' inside it is a predicate.
  EXPECT_EQ(Roundtrip("count(\"E\" where price between 1 and 2 and a = 1 within last 3 days) > 0"),
            "count(\"E\" where (price between 1 and 2 and a = 1) within last 3 days) > 0");
}

TEST(ParserTest, AccountsAndGroups) {
  EXPECT_EQ(Roundtrip("any account (industry = \"Retail\" and employees >= 50)"),
            "any account (industry = \"Retail\" and employees >= 50)");
  EXPECT_EQ(Roundtrip("no account (plan = \"enterprise\") and account count > 1"),
            "no account (plan = \"enterprise\") and account count > 1");
  EXPECT_EQ(Roundtrip("in group \"Customers\" and not in group \"VIP\""),
            "in group \"Customers\" and not in group \"VIP\"");
}

TEST(ParserTest, CommentsAndLineBreaks) {
  EXPECT_EQ(Roundtrip("# cart abandonment\nlast(\"Product Added\") older than 1 hour # added\n"
                      "  and did not \"Order Completed\""),
            "last(\"Product Added\") older than 1 hour and did not \"Order Completed\"");
}

TEST(ParserTest, ErrorsPointToLineAndColumnWithAHint) {
  EXPECT_EQ(ErrorOf("age >= 30 and\n  country = 'ES'"),
            "2:13: strings are written in double quotes: \"text\"");
  EXPECT_EQ(ErrorOf("count(\"Order Completed\" within last 30 dais) > 1"),
            "1:40: expected a unit (seconds, minutes, hours, days, weeks) after 30, found 'dais'; "
            "did you mean 'days'?");
  EXPECT_THAT(ErrorOf("age > 30 adn country = \"ES\""),
              HasSubstr("1:10: unexpected 'adn' after a complete condition; did you mean 'and'?"));
  EXPECT_THAT(ErrorOf("sum(\"Order Completed\") > 3"), HasSubstr("1:5: sum() needs a property"));
  EXPECT_THAT(ErrorOf("age between 3"), HasSubstr("1:14: expected 'and'"));
  EXPECT_THAT(ErrorOf("name = \"unterminated"), HasSubstr("1:8: unterminated string"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("empty"));
  EXPECT_THAT(ErrorOf("count(\"E\") >"), HasSubstr("found the end of the condition"));
  EXPECT_THAT(ErrorOf("in group Customers"), HasSubstr("group's name in double quotes"));
  EXPECT_THAT(ErrorOf("did \"A\" not followed by \"B\""), HasSubstr("needs 'within DURATION'"));
  EXPECT_THAT(ErrorOf("any account (did \"E\")"), HasSubstr("not available inside"));
  EXPECT_THAT(ErrorOf("count = 3"), HasSubstr("trait(\"count\")"));
}

TEST(ParserTest, JsonFormRoundTripsThroughTheSameTree) {
  const char* conditions[] = {
      "a = 1 or b = 2 and not c = 3",
      "country in [\"ES\", \"FR\"] and age between 45 and 55 and email is not null",
      "count(page where (path starts_with \"/partners\") within last 30 days) >= 2",
      "last(\"Product Added\") older than 1 hour and "
      "count(\"Order Completed\" since last(\"Product Added\")) = 0",
      "avg(\"Order Completed\".revenue) > overall(avg(\"Order Completed\".revenue))",
      "did \"Product Added\" not followed by \"Order Completed\" within 1 hour",
      "any account (industry = \"Retail\" and employees >= 50) and not in group \"VIP\"",
      "card_expiry within next 30 days and created_at > now - 36 hours",
      "trait(\"First Name\") = \"Ana\" and x * 2 - 1 > 3",
  };
  for (const char* text : conditions) {
    auto parsed = ParseCondition(text);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    std::string json = NodeToJson(**parsed);
    auto from_json = NodeFromJson(json);
    ASSERT_TRUE(from_json.ok()) << json << ": " << from_json.status();
    EXPECT_EQ(NodeToText(**from_json), NodeToText(**parsed)) << json;
    EXPECT_EQ(NodeToJson(**from_json), json);
  }
}

TEST(ParserTest, JsonErrorsNameThePath) {
  auto bad = NodeFromJson(
      R"({"and":[{"trait":"a"},{"cmp":"~","left":{"trait":"a"},"right":{"value":1}}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "condition.and[1]: unknown comparison operator \"~\"");
  auto unknown = NodeFromJson(R"({"frobnicate":1})");
  EXPECT_EQ(unknown.status().message(), "condition: unknown node \"frobnicate\"");
}

}  // namespace
}  // namespace segmenta
