// libFuzzer target: the Kafka message decoder (src/arrowdaq/kafka/message_format.h), which the
// kafka source driver runs on every message another process put in a topic. Input: header
// lines "name=value" (a line "name" alone: a header without a value), a line "--", then the
// message value; without a "--" line the whole input is the value and the headers are valid.
// ParseHeaders and DecodeValue must never crash, hang or throw; what they accept must keep
// their promises (a decoded batch passes ValidateFull, headers are well-formed).
#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "arrowdaq/kafka/message_format.h"

namespace {

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "kafka_message_fuzz: %s\n", what.c_str());
  std::abort();
}

std::shared_ptr<arrow::Schema> KnownSchema() {
  static const auto schema = arrow::schema(
      {arrow::field("timestamp", arrow::timestamp(arrow::TimeUnit::NANO, "UTC"), false),
       arrow::field("ch0", arrow::float64(), false)});
  return schema;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  arrowdaq::kafka::HeaderList headers = arrowdaq::kafka::MakeHeaders(
      {"node", "stream", "0123456789abcdef", 7, "0123456789abcdef"});
  const auto split = input.find("\n--\n");
  if (split != std::string_view::npos) {
    headers.clear();
    std::string_view lines = input.substr(0, split);
    input.remove_prefix(split + 4);
    while (!lines.empty()) {
      const auto nl = lines.find('\n');
      const std::string_view line = lines.substr(0, nl);
      lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
      const auto eq = line.find('=');
      if (eq == std::string_view::npos) {
        headers.emplace_back(std::string(line), std::nullopt);
      } else {
        headers.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
      }
    }
  }
  if (auto parsed = arrowdaq::kafka::ParseHeaders(headers); parsed.ok()) {
    if (parsed->session.size() != 16 || parsed->fingerprint.size() != 16 ||
        parsed->node.empty() || parsed->stream.empty()) {
      Finding("ParseHeaders accepted malformed headers");
    }
  }
  // The value is copied into its own allocation so ASan sees every read past its end.
  auto value = arrow::Buffer::FromString(std::string(input));
  for (const auto& known : {std::shared_ptr<arrow::Schema>(), KnownSchema()}) {
    auto decoded = arrowdaq::kafka::DecodeValue(value, known);
    if (!decoded.ok()) {
      if (decoded.status().message().empty()) Finding("an error without a message");
      continue;
    }
    if (decoded->batch != nullptr) {
      if (!decoded->batch->ValidateFull().ok()) Finding("an invalid batch was accepted");
      // Touch every value, as the writers will.
      for (const auto& column : decoded->batch->columns()) (void)column->ToString();
    } else if (decoded->schema == nullptr) {
      Finding("accepted a value with neither schema nor batch");
    }
  }
  return 0;
}
