#include "arrowdaq/core/schema.h"

#include <cstdio>
#include <cstdlib>
#include <set>

#include <arrow/util/key_value_metadata.h>

namespace arrowdaq {

std::shared_ptr<arrow::DataType> TimestampType() {
  return arrow::timestamp(arrow::TimeUnit::NANO, "UTC");
}

Result<std::shared_ptr<arrow::Schema>> MakeStreamSchema(
    const std::vector<ChannelSpec>& channels,
    const std::vector<std::pair<std::string, std::string>>& metadata) {
  if (channels.empty()) return Status::Invalid("a stream needs at least one channel");
  arrow::FieldVector fields;
  fields.reserve(channels.size() + 1);
  fields.push_back(arrow::field(kTimestampColumn, TimestampType(), /*nullable=*/false));
  std::set<std::string> seen;
  for (const auto& ch : channels) {
    if (ch.name.empty()) return Status::Invalid("channel name must not be empty");
    if (ch.name == kTimestampColumn) {
      return Status::Invalid("channel name 'timestamp' is reserved for the time column");
    }
    if (!seen.insert(ch.name).second) {
      return Status::Invalid("duplicate channel name '", ch.name, "'");
    }
    if (ch.type == nullptr) return Status::Invalid("channel '", ch.name, "' has no type");
    auto md = arrow::key_value_metadata({kUnitKey, kDescriptionKey}, {ch.unit, ch.description});
    fields.push_back(arrow::field(ch.name, ch.type, /*nullable=*/false, std::move(md)));
  }
  std::vector<std::string> keys{kFormatVersionKey};
  std::vector<std::string> values{kFormatVersion};
  for (const auto& [k, v] : metadata) {
    keys.push_back(k);
    values.push_back(v);
  }
  return arrow::schema(std::move(fields), arrow::key_value_metadata(keys, values));
}

std::string FieldUnit(const arrow::Field& field) {
  if (field.metadata() == nullptr) return "";
  auto unit = field.metadata()->Get(kUnitKey);
  return unit.ok() ? *unit : "";
}

Result<double> StreamRate(const arrow::Schema& schema) {
  if (schema.metadata() != nullptr) {
    auto text = schema.metadata()->Get(kRateKey);
    if (text.ok()) {
      char* end = nullptr;
      const double rate = std::strtod(text->c_str(), &end);
      if (end != text->c_str() && *end == '\0' && rate > 0) return rate;
      return Status::Invalid("stream metadata ", kRateKey, " is not a positive number: '", *text,
                             "'");
    }
  }
  return Status::KeyError("the stream declares no sample rate (schema metadata ", kRateKey, ")");
}

std::string FormatRate(double rate_hz) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", rate_hz);
  return buf;
}

Status ValidateStreamSchema(const arrow::Schema& schema) {
  if (schema.num_fields() < 2) {
    return Status::Invalid("a stream schema needs a timestamp and at least one channel, got ",
                           schema.num_fields(), " field(s)");
  }
  const auto& ts = schema.field(0);
  if (ts->name() != kTimestampColumn || !ts->type()->Equals(*TimestampType())) {
    return Status::Invalid("first column must be 'timestamp: timestamp[ns, tz=UTC]', got '",
                           ts->ToString(), "'");
  }
  return Status::OK();
}

}  // namespace arrowdaq
