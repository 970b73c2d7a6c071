// Computed values (lang/computed.h): a kind registered in the schema is read like the
// built-in score, persona and stage, with no change to the language; the built-in forms
// read and print exactly as they always have.
#include "lang/computed.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lang/compiler.h"
#include "lang/parser.h"

namespace segmenta {
namespace {

using ::testing::ElementsAre;

// A schema with a model's output registered as a computed value, as a later issue will.
Schema ModelSchema() {
  Schema s;
  s.traits = {{"age", TypeBit(ValueType::kNumber)}, {"country", TypeBit(ValueType::kString)}};
  s.definitions = {{"Engaged", {}}, {"score:Lead score", {}}, {"persona:", {}}, {"stage:", {}}};
  s.computed.Register({.word = "model", .type = ValueType::kNumber, .noun = "model"});
  s.definitions["model:churn"] = {};
  s.definitions["model:conversion"] = {"Engaged"};
  return s;
}

std::string ErrorOf(std::string_view condition, const Schema& schema, std::string_view self = "") {
  auto plan = Plan::CompileText(condition, schema, self);
  return plan.ok() ? "compiled" : std::string(plan.status().message());
}

TEST(ComputedTest, ARegisteredKindParsesAsOneGenericNode) {
  auto node = ParseCondition("Model(\"churn\") > 0.5");
  ASSERT_TRUE(node.ok()) << node.status();
  const Node& value = *(*node)->children[0];
  EXPECT_EQ(value.kind, NodeKind::kComputed);
  EXPECT_EQ(value.computed_kind, "model");
  EXPECT_EQ(value.name, "churn");
  EXPECT_EQ(NodeToText(**node), "model(\"churn\") > 0.5");
}

TEST(ComputedTest, ARegisteredKindCompilesToItsTypeAndDependency) {
  const Schema schema = ModelSchema();
  auto plan = Plan::CompileText("model(\"churn\") > 0.5 and score(\"Lead score\") >= 10", schema);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT((*plan)->definitions(), ElementsAre("model:churn", "score:Lead score"));
  EXPECT_EQ((*plan)->root().children[0]->children[0]->type, ValueType::kNumber);
  EXPECT_TRUE((*plan)->warnings().empty());
}

TEST(ComputedTest, ARegisteredKindIsTypeChecked) {
  const Schema schema = ModelSchema();
  EXPECT_EQ(ErrorOf("model(\"churn\") > \"x\"", schema),
            "1:1: type mismatch: 'model(\"churn\")' holds number, \"x\" holds string");
  EXPECT_EQ(ErrorOf("age > 3 and\n  model(\"churn\") contains \"x\"", schema),
            "2:3: 'contains' works on strings; 'model(\"churn\")' holds number");
  EXPECT_EQ(ErrorOf("model(\"churn\")", schema),
            "1:1: a condition must be true or false, but this is a number");
}

TEST(ComputedTest, UnknownNamesAndKindsGetSuggestions) {
  const Schema schema = ModelSchema();
  EXPECT_EQ(ErrorOf("model(\"chrun\") > 0.5", schema),
            "1:1: unknown model \"chrun\"; did you mean \"churn\"?");
  EXPECT_EQ(ErrorOf("model(\"lifetime value\") > 0.5", schema),
            "1:1: unknown model \"lifetime value\"");
  EXPECT_EQ(ErrorOf("age > 3 and modle(\"churn\") > 0.5", schema),
            "1:13: unknown computed value 'modle'; did you mean 'model'?");
  // Without the registration, the word is not a value.
  Schema plain = schema;
  plain.computed = ComputedKinds::BuiltIn();
  EXPECT_EQ(ErrorOf("model(\"churn\") > 0.5", plain),
            "1:1: unknown computed value 'model' (known: score, persona, stage)");
  // A name given where none is taken, or none where one is needed (the JSON form can say
  // either).
  Schema bare = schema;
  bare.computed.Register({.word = "segment", .named = false, .type = ValueType::kString});
  EXPECT_EQ(ErrorOf(R"({"cmp":"=","left":{"segment":"x"},"right":{"value":"a"}})", bare),
            "0:0: segment takes no name: write segment");
  EXPECT_EQ(ErrorOf(R"({"cmp":"=","left":{"segment":true},"right":{"value":"a"}})", bare),
            "0:0: no segment is defined yet");
  EXPECT_EQ(ErrorOf(R"({"cmp":">","left":{"model":true},"right":{"value":1}})", bare),
            "0:0: model needs a name: model(\"…\")");
}

TEST(ComputedTest, ARegisteredKindIsAContactsValueInItsDependencyGraph) {
  const Schema schema = ModelSchema();
  EXPECT_EQ(ErrorOf("any account (model(\"churn\") > 0.5)", schema),
            "1:14: model(\"…\") is a contact's; it is not available here");
  EXPECT_EQ(ErrorOf("model(\"conversion\") > 0.5", schema, "Engaged"),
            "1:1: cycle of definitions: Engaged → model(\"conversion\") → Engaged");
  EXPECT_EQ(ErrorOf("model(\"churn\") > 0.5", schema, "model:churn"),
            "1:1: model(\"churn\") cannot depend on itself");
}

TEST(ComputedTest, ARegisteredKindRoundTripsBetweenTextAndJson) {
  const Schema schema = ModelSchema();
  constexpr char kText[] = "model(\"churn\") > 0.5 and not model(\"conversion\") is null";
  constexpr char kJson[] = R"({"and":[{"cmp":">","left":{"model":"churn"},"right":{"value":0.5}},)"
                           R"({"not":{"is_null":{"model":"conversion"}}}]})";
  auto plan = Plan::CompileText(kText, schema);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ((*plan)->text(), kText);
  EXPECT_EQ((*plan)->json(), kJson);
  auto from_json = Plan::CompileText(kJson, schema);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_EQ((*from_json)->text(), kText);
  EXPECT_EQ((*from_json)->json(), kJson);
  // A kind's JSON form does not need the schema to be read.
  auto node = NodeFromJson(R"({"affinity":"category:cycling"})");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(NodeToText(**node), "affinity(\"category:cycling\")");
  EXPECT_EQ(NodeToJson(**node), R"({"affinity":"category:cycling"})");
  EXPECT_EQ(NodeToText(*CloneNode(**node)), "affinity(\"category:cycling\")");
}

// The built-in forms, text and JSON, byte for byte as before the registry.
TEST(ComputedTest, BuiltInFormsReadAndPrintAsBefore) {
  const struct {
    const char* text;
    const char* printed;
    const char* json;
  } kCases[] = {
      {"score(\"Lead score\") >= 50", "score(\"Lead score\") >= 50",
       R"({"cmp":">=","left":{"score":"Lead score"},"right":{"value":50}})"},
      {"SCORE( \"A \\\"quoted\\\" name\" ) < 1", "score(\"A \\\"quoted\\\" name\") < 1",
       R"({"cmp":"<","left":{"score":"A \"quoted\" name"},"right":{"value":1}})"},
      {"Persona = \"Cyclist\"", "persona = \"Cyclist\"",
       R"({"cmp":"=","left":{"persona":true},"right":{"value":"Cyclist"}})"},
      {"stage in [\"Lead\"] or persona is null", "stage in [\"Lead\"] or persona is null",
       R"({"or":[{"in":{"stage":true},"list":["Lead"]},{"is_null":{"persona":true}}]})"},
      {"trait(\"persona\") = 1 and score = 2 and trait(\"stage\") = 3",
       "trait(\"persona\") = 1 and score = 2 and trait(\"stage\") = 3",
       R"({"and":[{"cmp":"=","left":{"trait":"persona","quoted":true},"right":{"value":1}},)"
       R"({"cmp":"=","left":{"trait":"score"},"right":{"value":2}},)"
       R"({"cmp":"=","left":{"trait":"stage","quoted":true},"right":{"value":3}}]})"},
  };
  for (const auto& c : kCases) {
    auto node = ParseCondition(c.text);
    ASSERT_TRUE(node.ok()) << c.text << ": " << node.status();
    EXPECT_EQ(NodeToText(**node), c.printed);
    EXPECT_EQ(NodeToJson(**node), c.json);
    auto from_json = NodeFromJson(c.json);
    ASSERT_TRUE(from_json.ok()) << c.json << ": " << from_json.status();
    EXPECT_EQ(NodeToText(**from_json), c.printed);
    EXPECT_EQ(NodeToJson(**from_json), c.json);
  }
  // Stored definitions may say {"persona": anything}; a score's name must be a string.
  auto persona = NodeFromJson(R"({"persona":"x","negated":true})");
  ASSERT_TRUE(persona.ok()) << persona.status();
  EXPECT_EQ(NodeToJson(**persona), R"({"persona":true})");
  EXPECT_EQ(NodeFromJson(R"({"score":1})").status().message(),
            "condition: \"score\" must be a string");
  EXPECT_EQ(NodeFromJson(R"({"frobnicate":1})").status().message(),
            "condition: unknown node \"frobnicate\"");
  // The parser's errors for them.
  EXPECT_EQ(ParseCondition("score(Lead) > 1").status().message(),
            "1:7: expected the score's or persona's name in double quotes: score(\"Lead score\")");
  EXPECT_EQ(ParseCondition("any account (score(\"x\") > 1)").status().message(),
            "1:14: score(\"…\") is a contact's; it is not available here");
  EXPECT_EQ(ParseCondition("did page where persona = \"x\"").status().message(),
            "1:16: 'persona' cannot start a value here; a trait with this name is written "
            "trait(\"persona\")");
  EXPECT_EQ(ParseCondition("persona(\"x\") = \"y\"").status().message(),
            "1:8: unexpected '(' after a complete condition");
  EXPECT_EQ(ParseCondition("age > 3 stag = 1").status().message(),
            "1:9: unexpected 'stag' after a complete condition; did you mean 'stage'?");
  EXPECT_TRUE(IsReservedWord("Stage"));
  EXPECT_FALSE(IsReservedWord("score"));
}

}  // namespace
}  // namespace segmenta
