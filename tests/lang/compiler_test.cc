#include "lang/compiler.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

Schema ShopSchema() {
  Schema s;
  const TypeSet num = TypeBit(ValueType::kNumber), str = TypeBit(ValueType::kString),
                boolean = TypeBit(ValueType::kBool);
  s.traits = {{"age", num},
              {"gender", str},
              {"country", str},
              {"job_title", str},
              {"newsletter", boolean},
              // Strings that all read as ISO-8601 times: the schema says time too.
              {"card_expiry", str | TypeBit(ValueType::kTime)},
              {"created_at", str | TypeBit(ValueType::kTime)}};
  s.account_traits = {{"industry", str}, {"employees", num}};
  s.events = {"Product Added", "Order Completed", "Email Opened", "Email Clicked"};
  s.properties["Order Completed"] = {{"revenue", num}, {"order_id", str}};
  s.properties["page"] = {{"path", str}, {"url", str}};
  s.definitions = {{"Customers", {}}, {"Engaged", {}}, {"A", {"B"}}, {"B", {"C"}}, {"C", {}}};
  return s;
}

absl::StatusOr<std::shared_ptr<const Plan>> Compile(std::string_view text,
                                                    std::string_view self = "") {
  return Plan::CompileText(text, ShopSchema(), self);
}

std::string ErrorOf(std::string_view text, std::string_view self = "") {
  auto plan = Compile(text, self);
  EXPECT_FALSE(plan.ok()) << text;
  return plan.ok() ? "" : std::string(plan.status().message());
}

TEST(CompilerTest, RecordsWhatThePlanDependsOn) {
  auto plan = Compile(
      "age > 40 and any account (industry = \"Retail\") and in group \"Customers\" and "
      "count(\"Order Completed\" within last 30 days) > 1 and did page");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT((*plan)->traits(), ElementsAre("age"));
  EXPECT_THAT((*plan)->event_keys(), UnorderedElementsAre("Order Completed", "page"));
  EXPECT_THAT((*plan)->definitions(), ElementsAre("Customers"));
  EXPECT_TRUE((*plan)->uses_accounts());
  EXPECT_TRUE((*plan)->time_dependent());
  auto static_plan = Compile("country = \"ES\" and did \"Order Completed\"");
  ASSERT_TRUE(static_plan.ok());
  EXPECT_FALSE((*static_plan)->time_dependent());
}

TEST(CompilerTest, UnknownNamesGetSuggestions) {
  EXPECT_EQ(ErrorOf("agee > 40"), "1:1: unknown trait 'agee'; did you mean 'age'?");
  EXPECT_EQ(ErrorOf("loyalty_tier = \"gold\""),
            "1:1: unknown trait 'loyalty_tier'; if it is still to come, write "
            "trait(\"loyalty_tier\")");
  EXPECT_EQ(ErrorOf("did \"Order Complete\""),
            "1:5: unknown event \"Order Complete\"; did you mean \"Order Completed\"?");
  EXPECT_EQ(ErrorOf("sum(\"Order Completed\".revnue) > 1"),
            "1:5: unknown property 'revnue' of Order Completed; did you mean 'revenue'?");
  EXPECT_EQ(ErrorOf("any account (industy = \"Retail\")"),
            "1:14: unknown account trait 'industy'; did you mean 'industry'?");
  EXPECT_EQ(ErrorOf("in group \"Customer\""),
            "1:1: unknown group \"Customer\"; did you mean \"Customers\"?");
  // Names still to come are accepted with a warning when written explicitly.
  auto plan = Compile("trait(\"loyalty_tier\") = \"gold\" and did \"Webinar Downloaded\"");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT((*plan)->warnings(),
              ElementsAre(HasSubstr("loyalty_tier"), HasSubstr("Webinar Downloaded")));
}

TEST(CompilerTest, TypeMismatchesAreExplained) {
  EXPECT_EQ(ErrorOf("age = \"old\""),
            "1:1: type mismatch: trait 'age' holds number, \"old\" holds string");
  EXPECT_EQ(ErrorOf("age contains \"4\""),
            "1:1: 'contains' works on strings; trait 'age' holds number");
  EXPECT_THAT(ErrorOf("newsletter > true"), HasSubstr("booleans are compared with = and !="));
  EXPECT_THAT(ErrorOf("age within last 3 days"), HasSubstr("'within_last' needs a time"));
  EXPECT_THAT(
      ErrorOf("sum(\"Order Completed\".order_id) > 3"),
      HasSubstr("sum() needs a numeric property; 'order_id' of Order Completed holds string"));
  EXPECT_THAT(ErrorOf("age + now > 3"), HasSubstr("cannot compute"));
  EXPECT_THAT(ErrorOf("age"), HasSubstr("must be true or false"));
  EXPECT_THAT(ErrorOf("age > 3 and country"), HasSubstr("1:13: expected a condition"));
  EXPECT_THAT(ErrorOf("country = null"), HasSubstr("'country is null'"));
  EXPECT_THAT(ErrorOf("created_at > \"yesterday\""),
              HasSubstr("is compared with a time but is not one"));
  EXPECT_THAT(ErrorOf("job_title matches \"(unclosed\""),
              HasSubstr("1:19: invalid regular expression"));
  EXPECT_THAT(ErrorOf("country in [1, 2]"), HasSubstr("the list holds a number"));
}

TEST(CompilerTest, StringsComparedWithTimesAreReadAsTimes) {
  auto plan = Compile("created_at > \"2026-01-01\" and card_expiry within next 30 days");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const Node& compare = *(*plan)->root().children[0];
  EXPECT_EQ(compare.children[1]->value.type(), ValueType::kTime);
}

TEST(CompilerTest, CyclesBetweenGroupsAreRefusedNamingThem) {
  EXPECT_EQ(ErrorOf("in group \"A\"", "C"), "1:1: cycle between groups: C → A → B → C");
  EXPECT_EQ(ErrorOf("in group \"Customers\" or in group \"Engaged\"", "Engaged"),
            "1:25: group \"Engaged\" cannot contain itself");
  EXPECT_TRUE(Compile("in group \"A\"", "Customers").ok());
}

TEST(CompilerTest, ScoresPersonaAndStageAreValuesThatTrackWhatTheyDependOn) {
  Schema s = ShopSchema();
  s.definitions["score:Lead score"] = {};
  s.definitions["score:Cyclist"] = {"Engaged"};
  s.definitions["persona:"] = {"score:Cyclist"};
  s.definitions["stage:"] = {"score:Lead score"};
  constexpr char kText[] =
      "score(\"Lead score\") >= 50 and persona = \"Cyclist\" and stage in [\"Lead\", "
      "\"Customer\"]";
  auto plan = Plan::CompileText(kText, s);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT((*plan)->definitions(),
              UnorderedElementsAre("score:Lead score", "persona:", "stage:"));
  EXPECT_EQ((*plan)->text(), kText);
  auto from_json = Plan::CompileText((*plan)->json(), s);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ((*from_json)->text(), kText);
  EXPECT_THAT((*plan)->json(), HasSubstr("{\"score\":\"Lead score\"}"));

  auto error = [&](std::string_view text, std::string_view self = "") {
    auto p = Plan::CompileText(text, s, self);
    return p.ok() ? std::string("compiled") : std::string(p.status().message());
  };
  EXPECT_EQ(error("score(\"Lead scor\") > 1"),
            "1:1: unknown score or persona \"Lead scor\"; did you mean \"Lead score\"?");
  EXPECT_THAT(error("score(\"Lead score\") = \"high\""), HasSubstr("1:1:"));
  EXPECT_EQ(error("persona = \"Cyclist\"", "Engaged"),
            "1:1: cycle of definitions: Engaged → persona → score(\"Cyclist\") → Engaged");
  EXPECT_EQ(error("stage = \"Lead\"", "stage:"), "1:1: stage cannot depend on itself");
  EXPECT_EQ(error("any account (stage = \"x\")"),
            "1:14: 'stage' cannot start a value here; a trait with this name is written "
            "trait(\"stage\")");
  Schema none = ShopSchema();
  auto no_stages = Plan::CompileText("stage = \"Lead\"", none);
  ASSERT_FALSE(no_stages.ok());
  EXPECT_THAT(no_stages.status().message(), HasSubstr("no lifecycle stages are defined yet"));
  // A trait named like the new words is still reachable, and written back quoted.
  s.traits["stage"] = TypeBit(ValueType::kString);
  auto quoted = Plan::CompileText("trait(\"stage\") = \"beta\"", s);
  ASSERT_TRUE(quoted.ok()) << quoted.status();
  EXPECT_EQ((*quoted)->text(), "trait(\"stage\") = \"beta\"");
}

}  // namespace
}  // namespace segmenta
