#include "arrowdaq/core/schema.h"

#include <gtest/gtest.h>
#include <arrow/util/key_value_metadata.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq {
namespace {

TEST(StreamSchema, TimestampFirstThenChannelsWithUnits) {
  ASSERT_OK_AND_ASSIGN(auto schema,
                       MakeStreamSchema({{"power", "W", "optical power"}, {"temp", "K", ""}},
                                        {{"driver", "sim.sine"}}));
  ASSERT_EQ(schema->num_fields(), 3);
  EXPECT_EQ(schema->field(0)->name(), "timestamp");
  EXPECT_TRUE(schema->field(0)->type()->Equals(arrow::timestamp(arrow::TimeUnit::NANO, "UTC")));
  EXPECT_EQ(schema->field(1)->name(), "power");
  EXPECT_EQ(FieldUnit(*schema->field(1)), "W");
  EXPECT_EQ(FieldUnit(*schema->field(2)), "K");
  EXPECT_EQ(schema->metadata()->Get("driver").ValueOrDie(), "sim.sine");
  EXPECT_EQ(schema->metadata()->Get(kFormatVersionKey).ValueOrDie(), kFormatVersion);
  ASSERT_OK(ValidateStreamSchema(*schema));
}

TEST(StreamSchema, RejectsBadChannels) {
  EXPECT_TRUE(MakeStreamSchema({}).status().IsInvalid());
  EXPECT_TRUE(MakeStreamSchema({{"a", "", ""}, {"a", "", ""}}).status().IsInvalid());
  EXPECT_TRUE(MakeStreamSchema({{"timestamp", "", ""}}).status().IsInvalid());
  EXPECT_TRUE(MakeStreamSchema({{"", "", ""}}).status().IsInvalid());
}

TEST(StreamSchema, ValidateRejectsMissingTimestamp) {
  auto bad = arrow::schema({arrow::field("x", arrow::float64()), arrow::field("y", arrow::float64())});
  EXPECT_TRUE(ValidateStreamSchema(*bad).IsInvalid());
  auto naive = arrow::schema({arrow::field("timestamp", arrow::timestamp(arrow::TimeUnit::NANO)),
                              arrow::field("y", arrow::float64())});
  EXPECT_TRUE(ValidateStreamSchema(*naive).IsInvalid());
}

}  // namespace
}  // namespace arrowdaq
