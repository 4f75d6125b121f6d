// Float64 blocks: the raw layout most sources here produce, `rows * channels` native
// (little-endian) float64 values stored column by column (channel 0's rows, then channel 1's,
// ...). Float64BlockDecoder turns such a block into a RecordBatch of
// `timestamp, ch0, ch1, ...` without copying the samples: each channel column is a slice of the
// raw buffer, and only the timestamp column is allocated (once per batch; from a bounded
// BufferPool when the batch size is fixed, so a warm source allocates no sample memory). Float64BlockDriver is
// an InstrumentDriver over any InstrumentHardware that delivers such blocks (tests with a mocked
// hardware, later generic devices); SimDriver shares the decoder.
//
// Ownership: a driver owns its hardware (unique_ptr) and its decoder; decoded batches share the
// raw buffer (the hardware hands it over). Threading: the instrument's own thread only.
#pragma once

#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arrowdaq/core/batch_pool.h"
#include "arrowdaq/core/buffer_pool.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/sample_clock.h"

namespace arrowdaq::instruments {

using SchemaMetadata = std::vector<std::pair<std::string, std::string>>;

/// Return the name of channel `index`: "ch0", "ch1", ...
std::string ChannelName(std::int64_t index);

class Float64BlockDecoder {
 public:
  /// Build the schema `timestamp, ch0..ch{channels-1}` (float64, unit `unit` in field metadata,
  /// `metadata` on the schema). Fails unless channels >= 1 and 0 < rate_hz <= 1e9.
  static Result<Float64BlockDecoder> Make(std::int64_t channels, double rate_hz,
                                          const std::string& unit,
                                          const SchemaMetadata& metadata = {});

  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  std::int64_t channels() const { return channels_; }
  SampleClock& clock() { return clock_; }
  const SampleClock& clock() const { return clock_; }

  /// Decode one block. Rows are size / (channels * 8); with `expected_rows` the size must be
  /// exactly expected_rows * channels * 8. An empty, non-CPU or wrongly sized block is
  /// Status::Invalid and leaves the sample clock untouched. Channel columns slice `raw` (zero
  /// copy); a block whose address is not 8-byte aligned is copied once into an aligned buffer.
  /// Timestamps come from clock() (StartSegment must have been called).
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw,
                                                     std::optional<std::int64_t> expected_rows);

  /// Return the bytes of a pooled batch of `rows` rows: rows * 8 * (1 + channels).
  std::int64_t PooledBlockBytes(std::int64_t rows) const { return rows * 8 * (1 + channels_); }
  /// Return the BatchPool builder of batches of `rows` rows over one block laid out as
  /// timestamps (rows int64), then the raw layout (channel 0's rows, channel 1's, ...): every
  /// column is a slice of the block, so a device fills the channels in place
  /// (block + rows * 8) and StampPooled writes the timestamps.
  BatchBuilder PooledBuilder(std::int64_t rows) const;
  /// Write the timestamps of the next `rows` rows from clock() into a pooled block.
  Status StampPooled(std::int64_t rows, std::uint8_t* block) {
    return clock_.Stamp(rows, reinterpret_cast<std::int64_t*>(block));
  }

 private:
  Float64BlockDecoder(std::shared_ptr<arrow::Schema> schema, std::int64_t channels, double rate_hz)
      : schema_(std::move(schema)), channels_(channels), clock_(rate_hz) {}

  std::shared_ptr<arrow::Schema> schema_;
  std::int64_t channels_;
  SampleClock clock_;
  std::shared_ptr<BufferPool> times_pool_;  // timestamp columns of fixed-size batches
};

class Float64BlockDriver : public InstrumentDriver {
 public:
  /// Build a driver over `hardware`, whose ReadRawData returns float64 blocks of `channels`
  /// columns sampled at `rate_hz`. Fails on a null hardware or bad channels / rate.
  static Result<std::unique_ptr<Float64BlockDriver>> Make(
      std::unique_ptr<hardware::InstrumentHardware> hardware, std::int64_t channels, double rate_hz,
      const std::string& unit, const SchemaMetadata& metadata = {});

  /// Use Make (this cannot fail; `hardware` must not be null).
  Float64BlockDriver(std::unique_ptr<hardware::InstrumentHardware> hardware,
                     Float64BlockDecoder decoder)
      : hardware_(std::move(hardware)), decoder_(std::move(decoder)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return decoder_.schema(); }
  hardware::InstrumentHardware& hardware() override { return *hardware_; }
  /// Return 1 s (the block size is not known in advance).
  hardware::Timeout read_timeout() const override { return hardware::Timeout{1000}; }
  /// Restart the sample index at 0 (the device was just (re)connected); sends nothing.
  Status Configure() override;
  /// Start a timestamp segment at the current wall clock; sends nothing.
  Status StartAcquisition() override;
  /// Decode a block of any whole number of rows (see Float64BlockDecoder::Decode).
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override;

  const SampleClock& clock() const { return decoder_.clock(); }

 private:
  std::unique_ptr<hardware::InstrumentHardware> hardware_;
  Float64BlockDecoder decoder_;
};

}  // namespace arrowdaq::instruments
