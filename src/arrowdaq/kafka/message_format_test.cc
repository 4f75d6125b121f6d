// The Kafka message format: round trips (schema inline or known), and hostile values and
// headers refused with a message, never a crash.
#include "arrowdaq/kafka/message_format.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <gtest/gtest.h>

#include <cstring>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::kafka {
namespace {

std::shared_ptr<arrow::RecordBatch> MakeBatch(int rows, double offset = 0) {
  auto schema = *MakeStreamSchema({{"ch0", "V", "volts"}}, {{"driver", "sim.sine"}});
  arrow::TimestampBuilder ts(TimestampType(), arrow::default_memory_pool());
  arrow::DoubleBuilder v;
  for (int i = 0; i < rows; ++i) {
    (void)ts.Append(1'000'000'000LL + i);
    (void)v.Append(offset + i * 0.5);
  }
  return arrow::RecordBatch::Make(schema, rows, {*ts.Finish(), *v.Finish()});
}

TEST(MessageFormat, RoundTripWithInlineSchemaKeepsValuesUnitsAndMetadata) {
  auto batch = MakeBatch(100);
  ASSERT_OK_AND_ASSIGN(auto schema_message, SerializeSchemaMessage(*batch->schema()));
  ASSERT_OK_AND_ASSIGN(auto value, EncodeValue(*batch, schema_message.get()));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeValue(value, nullptr));
  ASSERT_NE(decoded.schema, nullptr);
  EXPECT_TRUE(decoded.schema->Equals(*batch->schema(), /*check_metadata=*/true));
  EXPECT_EQ(decoded.fingerprint, Fingerprint(schema_message->data(), schema_message->size()));
  ASSERT_NE(decoded.batch, nullptr);
  EXPECT_TRUE(decoded.batch->Equals(*batch, /*check_metadata=*/true));
  EXPECT_EQ(FieldUnit(*decoded.batch->schema()->field(1)), "V");
}

TEST(MessageFormat, BatchWithoutSchemaNeedsTheKnownOne) {
  auto batch = MakeBatch(10, 3.0);
  ASSERT_OK_AND_ASSIGN(auto value, EncodeValue(*batch, nullptr));
  EXPECT_FALSE(DecodeValue(value, nullptr).ok());
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeValue(value, batch->schema()));
  EXPECT_EQ(decoded.schema, nullptr);
  EXPECT_TRUE(decoded.batch->Equals(*batch));
}

TEST(MessageFormat, SchemaMessageAloneDecodesToASchema) {
  auto batch = MakeBatch(1);
  ASSERT_OK_AND_ASSIGN(auto schema_message, SerializeSchemaMessage(*batch->schema()));
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeValue(schema_message, nullptr));
  ASSERT_NE(decoded.schema, nullptr);
  EXPECT_EQ(decoded.batch, nullptr);
}

TEST(MessageFormat, MisalignedValueIsDecoded) {
  auto batch = MakeBatch(7);
  ASSERT_OK_AND_ASSIGN(auto schema_message, SerializeSchemaMessage(*batch->schema()));
  ASSERT_OK_AND_ASSIGN(auto value, EncodeValue(*batch, schema_message.get()));
  ASSERT_OK_AND_ASSIGN(auto padded, arrow::AllocateBuffer(value->size() + 1));
  std::memcpy(padded->mutable_data() + 1, value->data(), value->size());
  auto shifted = arrow::SliceBuffer(std::shared_ptr<arrow::Buffer>(std::move(padded)), 1);
  ASSERT_OK_AND_ASSIGN(auto decoded, DecodeValue(shifted, nullptr));
  EXPECT_TRUE(decoded.batch->Equals(*batch));
}

TEST(MessageFormat, EveryTruncationIsAnErrorNeverACrash) {
  auto batch = MakeBatch(20);
  ASSERT_OK_AND_ASSIGN(auto schema_message, SerializeSchemaMessage(*batch->schema()));
  ASSERT_OK_AND_ASSIGN(auto value, EncodeValue(*batch, schema_message.get()));
  int refused = 0;
  for (int64_t n = 0; n < value->size(); ++n) {
    auto cut = arrow::SliceBuffer(value, 0, n);
    auto decoded = DecodeValue(cut, nullptr);
    // A cut exactly after the schema message is a valid schema-only value.
    if (decoded.ok()) {
      EXPECT_EQ(decoded->batch, nullptr) << "cut at " << n;
    } else {
      ++refused;
    }
  }
  EXPECT_GE(refused, value->size() - 1);
}

TEST(MessageFormat, GarbageAndTwoBatchesAreRefused) {
  auto garbage = arrow::Buffer::FromString("this is not arrow ipc at all, just text");
  auto decoded = DecodeValue(garbage, nullptr);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.status().message().find("Arrow IPC"), std::string::npos)
      << decoded.status().ToString();
  EXPECT_FALSE(DecodeValue(std::make_shared<arrow::Buffer>(nullptr, 0), nullptr).ok());

  auto batch = MakeBatch(3);
  ASSERT_OK_AND_ASSIGN(auto one, EncodeValue(*batch, nullptr));
  std::string twice = one->ToString() + one->ToString();
  auto two = arrow::Buffer::FromString(twice);
  EXPECT_FALSE(DecodeValue(two, batch->schema()).ok());
}

TEST(MessageFormat, HeadersRoundTripAndHostileHeadersAreRefused) {
  MessageHeaders h{"nodeA", "sine", NewSessionId(), 42, "0123456789abcdef"};
  ASSERT_OK_AND_ASSIGN(auto parsed, ParseHeaders(MakeHeaders(h)));
  EXPECT_EQ(parsed.node, "nodeA");
  EXPECT_EQ(parsed.stream, "sine");
  EXPECT_EQ(parsed.session, h.session);
  EXPECT_EQ(parsed.sequence, 42u);
  EXPECT_EQ(parsed.fingerprint, h.fingerprint);

  auto with = [&](const std::string& name, std::optional<std::string> value) {
    HeaderList list = MakeHeaders(h);
    for (auto& [k, v] : list) {
      if (k == name) v = value;
    }
    return ParseHeaders(list);
  };
  EXPECT_FALSE(with(kHeaderFormat, "2").ok());
  EXPECT_FALSE(with(kHeaderNode, "a/b").ok());
  EXPECT_FALSE(with(kHeaderStream, "").ok());
  EXPECT_FALSE(with(kHeaderStream, std::nullopt).ok());
  EXPECT_FALSE(with(kHeaderSequence, "-1").ok());
  EXPECT_FALSE(with(kHeaderSequence, "007").ok());
  EXPECT_FALSE(with(kHeaderSequence, "99999999999999999999").ok());
  EXPECT_FALSE(with(kHeaderSequence, "9223372036854775808").ok());
  EXPECT_TRUE(with(kHeaderSequence, "9223372036854775807").ok());
  EXPECT_FALSE(with(kHeaderSchema, "0123456789ABCDEF").ok());
  EXPECT_FALSE(with(kHeaderSession, "xyz").ok());
  HeaderList missing = MakeHeaders(h);
  missing.pop_back();
  auto st = ParseHeaders(missing);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find(kHeaderSchema), std::string::npos);
}

}  // namespace
}  // namespace arrowdaq::kafka
