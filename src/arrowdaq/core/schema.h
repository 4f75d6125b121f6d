// Schema helpers: every stream's schema is `timestamp: timestamp[ns, UTC]` followed by one
// column per channel. Units and descriptions live in each field's metadata under the keys
// "unit" and "description"; stream-level facts (driver, resource, format version) live in the
// schema's metadata. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <arrow/type.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq {

inline constexpr char kTimestampColumn[] = "timestamp";
inline constexpr char kUnitKey[] = "unit";
inline constexpr char kDescriptionKey[] = "description";
inline constexpr char kFormatVersionKey[] = "arrowdaq.format_version";
inline constexpr char kFormatVersion[] = "2";  ///< = storage::kStorageFormatVersion
/// Schema metadata key of a stream's sample rate in Hz (rows per second), when it has one.
inline constexpr char kRateKey[] = "rate_hz";

/// Describe one channel of a stream.
struct ChannelSpec {
  std::string name;
  std::string unit;
  std::string description;
  std::shared_ptr<arrow::DataType> type = arrow::float64();
};

/// Return the type of the timestamp column: timestamp[ns, UTC].
std::shared_ptr<arrow::DataType> TimestampType();

/// Build a stream schema: the timestamp column, then one field per channel with its unit and
/// description in field metadata, and `metadata` (plus the format version) on the schema.
/// Fails on an empty or duplicate channel name, or a channel named "timestamp".
Result<std::shared_ptr<arrow::Schema>> MakeStreamSchema(
    const std::vector<ChannelSpec>& channels,
    const std::vector<std::pair<std::string, std::string>>& metadata = {});

/// Return the unit of `field` ("" when it has none).
std::string FieldUnit(const arrow::Field& field);

/// Return the stream's sample rate from its schema metadata (kRateKey); an error when the
/// stream does not declare one.
Result<double> StreamRate(const arrow::Schema& schema);
/// Format a rate for the metadata (shortest form that reads back exactly).
std::string FormatRate(double rate_hz);

/// Check that `schema` is a stream schema: first column timestamp[ns, UTC], at least one more.
Status ValidateStreamSchema(const arrow::Schema& schema);

}  // namespace arrowdaq
