// Percent-decoding of targets (admin-api/src/http/decode.hpp), without sockets.
#include <gtest/gtest.h>

#include "decode.hpp"

namespace chargehub::http::detail {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(HttpDecode, PathDecodesEscapesAndKeepsPlus) {
  EXPECT_EQ(decode_path("/a%2Fb+c"), "/a/b+c");
  EXPECT_EQ(decode_path("/%e4%b8%ad"), "/中");
}

TEST(HttpDecode, PathRefusesNulAndBrokenEscapes) {
  EXPECT_EQ(decode_path("/a%00"), std::nullopt);
  EXPECT_EQ(decode_path("/a%"), std::nullopt);
  EXPECT_EQ(decode_path("/a%1"), std::nullopt);
  EXPECT_EQ(decode_path("/a%x1"), std::nullopt);
}

TEST(HttpDecode, QuerySplitsDecodesAndTreatsPlusAsSpace) {
  EXPECT_EQ(decode_query("a=1&b=%E4%B8%AD&c&&d=x+y&e=1=2"),
            (Pairs{{"a", "1"}, {"b", "中"}, {"c", ""}, {"d", "x y"}, {"e", "1=2"}}));
  EXPECT_EQ(decode_query(""), Pairs{});
  EXPECT_EQ(decode_query("a=%2"), std::nullopt);
  EXPECT_EQ(decode_query("a%00=1"), std::nullopt);
}

}  // namespace
}  // namespace chargehub::http::detail
