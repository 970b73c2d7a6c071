#include "core/string_view.h"

#include <string>
#include <string_view>

#include "absl/hash/hash.h"
#include "gtest/gtest.h"

namespace segmenta {
namespace {

// AbslView hands Abseil the characters, so that they get Abseil's string hash: the same as
// a std::string of them (which Abseil hashes natively), whatever the text's length.
TEST(StringViewTest, AbslViewHashesAsAbseilsStringsDo) {
  for (std::string text :
       {std::string(), std::string("a"), std::string("ab\0c", 4),
        std::string("c9ada3dd-380f-4eba-abbc-dbc74c9ded34"), std::string(1000, 'x')}) {
    const std::string_view view = text;
    EXPECT_EQ(AbslView(view), absl::string_view(text));
    EXPECT_EQ(AbslView(view).data(), text.data());  // no copy
    EXPECT_EQ(absl::HashOf(AbslView(view)), absl::HashOf(text)) << text.size();
  }
}

}  // namespace
}  // namespace segmenta
