#include "core/json_writer.h"

#include "gtest/gtest.h"

namespace segmenta {
namespace {

TEST(JsonWriterTest, WritesNestedObjectsWithCommas) {
  JsonWriter w;
  w.BeginObject().Field("a", 1).Key("b").BeginArray().Int(1).String("x").Null().EndArray();
  w.Field("c", true).Key("d").Raw("{\"e\":2}").EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":[1,"x",null],"c":true,"d":{"e":2}})");
}

TEST(JsonWriterTest, EscapesControlCharactersQuotesAndBackslashes) {
  std::string out;
  AppendJsonString("a\"b\\c\n\x01", &out);
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
}

TEST(JsonWriterTest, WritesShortestRoundTripDoubles) {
  JsonWriter w;
  w.BeginArray().Double(0.1).Double(149.99).Double(1e300).EndArray();
  EXPECT_EQ(w.str(), "[0.1,149.99,1e+300]");
}

}  // namespace
}  // namespace segmenta
