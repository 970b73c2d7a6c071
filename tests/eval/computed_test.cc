// A kind of computed value registered in the schema is evaluated by both evaluators
// through EvalEnv::derived, with no code of its own in lang/ or eval/.
#include <cmath>
#include <string>

#include "eval/batch.h"
#include "eval/evaluator.h"
#include "eval/schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

constexpr ContactId kContacts = 300;

// A model's output per contact (missing for every seventh), and a string-valued kind.
Scalar Churn(ContactId c) {
  return c % 7 == 0 ? Scalar() : Scalar::Number(static_cast<double>(c % 10) / 10.0);
}
Scalar Tier(ContactId c) {
  static const std::string kTiers[] = {"gold", "silver", "bronze"};
  if (c % 5 == 0) return Scalar();
  Scalar s;
  s.type = ValueType::kString;
  s.str = kTiers[c % 3];
  return s;
}

class ComputedEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (ContactId c = 1; c <= kContacts; ++c) {
      Traits traits;
      traits["age"] = {std::to_string(18 + c % 60), 1};
      profiles_.SetTraits(c, traits, {});
    }
    profiles_.Erase(42);
    schema_ = SchemaOf(profiles_);
    schema_.computed.Register({.word = "model", .type = ValueType::kNumber, .noun = "model"});
    schema_.computed.Register({.word = "tier", .type = ValueType::kString, .noun = "tier"});
    schema_.definitions["model:churn"] = {};
    schema_.definitions["tier:loyalty"] = {};
    env_.now = 1795500000000;
    env_.derived = [this](const Node& node, ContactId c) -> Scalar {
      ++asked_;
      EXPECT_EQ(node.kind, NodeKind::kComputed);
      if (node.computed_kind == "model" && node.name == "churn") return Churn(c);
      if (node.computed_kind == "tier" && node.name == "loyalty") return Tier(c);
      ADD_FAILURE() << "asked for " << node.computed_kind << "(\"" << node.name << "\")";
      return Scalar();
    };
  }

  ProfileTable profiles_;
  Schema schema_;
  EvalEnv env_;
  int asked_ = 0;
};

TEST_F(ComputedEvalTest, BothEvaluatorsReadComputedValuesThroughDerived) {
  const struct {
    const char* condition;
    bool (*expected)(ContactId c, double age);
  } kCases[] = {
      {"model(\"churn\") > 0.45",
       [](ContactId c, double) { return !Churn(c).is_null() && Churn(c).num > 0.45; }},
      {"model(\"churn\") is null", [](ContactId c, double) { return Churn(c).is_null(); }},
      {"model(\"churn\") between 0.2 and 0.6 and age > 30",
       [](ContactId c, double age) {
         return !Churn(c).is_null() && Churn(c).num >= 0.2 && Churn(c).num <= 0.6 && age > 30;
       }},
      {"model(\"churn\") * 100 > age",
       [](ContactId c, double age) { return !Churn(c).is_null() && Churn(c).num * 100 > age; }},
      {"not (model(\"churn\") >= 0.5) or tier(\"loyalty\") = \"gold\"",
       [](ContactId c, double) {
         return !(!Churn(c).is_null() && Churn(c).num >= 0.5) ||
                (!Tier(c).is_null() && Tier(c).str == "gold");
       }},
      {"tier(\"loyalty\") in [\"silver\", \"bronze\"]",
       [](ContactId c, double) {
         return !Tier(c).is_null() && (Tier(c).str == "silver" || Tier(c).str == "bronze");
       }},
      {"tier(\"loyalty\") istarts_with \"GO\"",
       [](ContactId c, double) { return !Tier(c).is_null() && Tier(c).str == "gold"; }},
  };
  for (const auto& test : kCases) {
    auto plan = Plan::CompileText(test.condition, schema_);
    ASSERT_TRUE(plan.ok()) << test.condition << ": " << plan.status();
    asked_ = 0;
    const Roaring batch = EvaluateAll(**plan, profiles_, env_);
    EXPECT_GT(asked_, 0) << test.condition;
    uint64_t expected_count = 0;
    for (ContactId c = 0; c <= kContacts; ++c) {
      const bool expected = profiles_.contact(c) != nullptr && test.expected(c, 18 + c % 60);
      expected_count += expected;
      EXPECT_EQ(Matches(**plan, profiles_, c, env_), expected)
          << "contact " << c << ": " << test.condition;
      EXPECT_EQ(batch.contains(static_cast<uint32_t>(c)), expected)
          << "contact " << c << ": " << test.condition;
    }
    EXPECT_GT(expected_count, 0u) << test.condition;
    EXPECT_LT(expected_count, kContacts - 1) << test.condition;
  }
}

TEST_F(ComputedEvalTest, NumbersAllReadsAComputedNumber) {
  auto plan = Plan::CompileText("model(\"churn\") > 0", schema_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const Node& value = *(*plan)->root().children[0];
  const std::vector<double> numbers = NumbersAll(**plan, value, profiles_, env_);
  for (ContactId c = 1; c <= kContacts; ++c) {
    const Scalar one = ValueOfNode(**plan, value, profiles_, c, env_);
    if (profiles_.contact(c) == nullptr || Churn(c).is_null()) {
      EXPECT_TRUE(std::isnan(numbers[c])) << c;
      EXPECT_TRUE(one.is_null()) << c;
    } else {
      EXPECT_EQ(numbers[c], Churn(c).num) << c;
      EXPECT_EQ(one.num, Churn(c).num) << c;
    }
  }
}

TEST_F(ComputedEvalTest, WithoutDerivedAComputedValueIsMissing) {
  env_.derived = nullptr;
  auto plan = Plan::CompileText("model(\"churn\") is null", schema_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(EvaluateAll(**plan, profiles_, env_).cardinality(), profiles_.alive_contacts());
  EXPECT_TRUE(Matches(**plan, profiles_, 1, env_));
}

}  // namespace
}  // namespace segmenta
