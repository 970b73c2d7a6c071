#include "core/json_writer.h"

#include <cstdio>
#include <string>

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

// The scan tests eight bytes at a time and the last few as one word: every length up to
// three words, with each character that needs an escape (and its neighbours that do not)
// at every position, against an escaper that looks at one character at a time; the writer
// that sizes first (JsonStringSize, WriteJsonString) as well.
TEST(JsonWriterTest, EscapesAtEveryPositionOfEveryLength) {
  auto one_at_a_time = [](std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += ch;
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c == '\b') {
        out += "\\b";
      } else if (c == '\f') {
        out += "\\f";
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += ch;
      }
    }
    return out + "\"";
  };
  // AppendJsonString after other text, and JsonStringSize with WriteJsonString.
  auto check = [&](const std::string& s) {
    const std::string expected = one_at_a_time(s);
    std::string out = "prefix";
    AppendJsonString(s, &out);
    if (out != "prefix" + expected) return testing::AssertionFailure() << "appended " << out;
    if (JsonStringSize(s) != expected.size()) {
      return testing::AssertionFailure() << "sized " << JsonStringSize(s);
    }
    std::string written(expected.size() + 1, '#');  // one byte more, left alone
    const char* end = WriteJsonString(s, written.data());
    if (end != written.data() + expected.size() || written != expected + "#") {
      return testing::AssertionFailure() << "wrote " << written;
    }
    return testing::AssertionSuccess();
  };
  const std::string plain = "abcdefghijklmnopqrstuvwx";  // 24 characters
  const char specials[] = {'"', '\\', '\n', '\x01', '\x1f', '\0'};
  const char others[] = {' ', '!', '#', '[', ']', '\x7f', '\x80', '\xc3', '\xff'};
  for (size_t length = 0; length <= plain.size(); ++length) {
    const std::string base = plain.substr(0, length);
    ASSERT_TRUE(check(base)) << length;
    for (size_t at = 0; at < length; ++at) {
      for (char c : specials) {
        std::string s = base;
        s[at] = c;
        ASSERT_TRUE(check(s)) << length << " " << at << " " << int{c};
        s.back() = '"';  // a second one, last
        ASSERT_TRUE(check(s)) << length << " " << at << " " << int{c};
      }
      for (char c : others) {
        std::string s = base;
        s[at] = c;
        ASSERT_TRUE(check(s)) << length << " " << at << " " << int{c};
      }
    }
  }
}

TEST(JsonWriterTest, WritesShortestRoundTripDoubles) {
  JsonWriter w;
  w.BeginArray().Double(0.1).Double(149.99).Double(1e300).EndArray();
  EXPECT_EQ(w.str(), "[0.1,149.99,1e+300]");
}

}  // namespace
}  // namespace segmenta
