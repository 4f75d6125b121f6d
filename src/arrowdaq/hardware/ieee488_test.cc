// Unit tests for the IEEE 488.2 block and number-list parsers.
#include "arrowdaq/hardware/ieee488.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::hardware {
namespace {

using namespace std::string_literals;

TEST(Ieee488Block, DefiniteBlockReturnsPayloadAndConsumed) {
  const std::string bytes = "#15hello\nrest";
  ASSERT_OK_AND_ASSIGN(auto block, ParseIeee488Block(bytes));
  EXPECT_EQ(block.payload, "hello");
  EXPECT_EQ(block.consumed, 8u);
}

TEST(Ieee488Block, NineDigitHeaderWithBinaryPayload) {
  const std::string payload = "\x00\x01\xff\n"s;
  const std::string bytes = "#9000000004"s + payload;
  ASSERT_OK_AND_ASSIGN(auto block, ParseIeee488Block(bytes));
  EXPECT_EQ(block.payload, payload);
  EXPECT_EQ(block.consumed, 15u);
}

TEST(Ieee488Block, IndefiniteBlockEndsAtNewline) {
  ASSERT_OK_AND_ASSIGN(auto block, ParseIeee488Block("#0abc\nxyz"));
  EXPECT_EQ(block.payload, "abc");
  EXPECT_EQ(block.consumed, 6u);
}

TEST(Ieee488Block, ErrorsNameOffsetAndBytes) {
  auto r = ParseIeee488Block("X12");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 0"), std::string::npos) << r.status();
  r = ParseIeee488Block("#3\x01\x02"s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status();
  r = ParseIeee488Block("#21x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 3, got 'x'"), std::string::npos) << r.status();
  r = ParseIeee488Block("#210abc");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("announces 10 payload bytes, only 3"), std::string::npos)
      << r.status();
  EXPECT_FALSE(ParseIeee488Block("#0abc").ok());
  EXPECT_FALSE(ParseIeee488Block("").ok());
  EXPECT_FALSE(ParseIeee488Block("#").ok());
  EXPECT_FALSE(ParseIeee488Block("#a").ok());
}

TEST(NumberList, ParsesScpiNumbers) {
  ASSERT_OK_AND_ASSIGN(auto v, ParseNumberList("+1.00000000E+00,2.5, -3e-2 ,7\r\n"));
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], 1.0);
  EXPECT_EQ(v[1], 2.5);
  EXPECT_EQ(v[2], -0.03);
  EXPECT_EQ(v[3], 7.0);
  ASSERT_OK_AND_ASSIGN(auto special, ParseNumberList("NAN,INF,-INF,9.9E37"));
  EXPECT_TRUE(std::isnan(special[0]));
  EXPECT_TRUE(std::isinf(special[1]));
  EXPECT_EQ(special[3], 9.9e37);
}

TEST(NumberList, RefusesGarbageNamingItemOffsetAndBytes) {
  auto r = ParseNumberList("1.0,2x,3");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("item 1 at offset 4"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("'2x'"), std::string::npos) << r.status();
  r = ParseNumberList("1.0,\x01\xfe"s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\\x01\\xFE"), std::string::npos) << r.status();
  EXPECT_FALSE(ParseNumberList("").ok());
  EXPECT_FALSE(ParseNumberList("1,,2").ok());
  EXPECT_FALSE(ParseNumberList("1,").ok());
  EXPECT_FALSE(ParseNumberList("+-1").ok());
  EXPECT_FALSE(ParseNumberList("0x10").ok());
  EXPECT_FALSE(ParseNumberList("1e999").ok());
}

TEST(EscapeBytes, EscapesAndTruncates) {
  EXPECT_EQ(EscapeBytes("a\nb\r\x7f'"), "a\\nb\\r\\x7F\\'");
  EXPECT_EQ(EscapeBytes(std::string(10, 'x'), 4), "xxxx...(+6 bytes)");
}

}  // namespace
}  // namespace arrowdaq::hardware
