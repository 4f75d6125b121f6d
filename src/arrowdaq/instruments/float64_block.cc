#include "arrowdaq/instruments/float64_block.h"
#include "arrowdaq/core/options.h"

#include <arrow/array/data.h>
#include <arrow/memory_pool.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/schema.h"

namespace arrowdaq::instruments {

namespace {

constexpr std::int64_t kValueBytes = sizeof(double);

}  // namespace

std::string ChannelName(std::int64_t index) { return "ch" + std::to_string(index); }

Result<Float64BlockDecoder> Float64BlockDecoder::Make(std::int64_t channels, double rate_hz,
                                                      const std::string& unit,
                                                      const SchemaMetadata& metadata) {
  if (channels < 1) return Status::Invalid("channels must be >= 1, got ", channels);
  if (!(rate_hz > 0 && rate_hz <= 1e9)) {
    return Status::Invalid("rate_hz must be > 0 and <= 1e9 (one sample per ns), got ",
                           FormatNumber(rate_hz));
  }
  std::vector<ChannelSpec> specs;
  specs.reserve(static_cast<std::size_t>(channels));
  for (std::int64_t c = 0; c < channels; ++c) {
    specs.push_back(ChannelSpec{ChannelName(c), unit, "", arrow::float64()});
  }
  SchemaMetadata with_rate = metadata;
  with_rate.emplace_back(kRateKey, FormatRate(rate_hz));
  ARROW_ASSIGN_OR_RAISE(auto schema, MakeStreamSchema(specs, with_rate));
  return Float64BlockDecoder(std::move(schema), channels, rate_hz);
}

Result<std::shared_ptr<arrow::RecordBatch>> Float64BlockDecoder::Decode(
    std::shared_ptr<arrow::Buffer> raw, std::optional<std::int64_t> expected_rows) {
  if (raw == nullptr) return Status::Invalid("raw block is null");
  if (!raw->is_cpu()) return Status::Invalid("raw block is not in CPU memory");
  const std::int64_t row_bytes = channels_ * kValueBytes;
  const std::int64_t size = raw->size();
  if (expected_rows.has_value() && size != *expected_rows * row_bytes) {
    return Status::Invalid("raw block has ", size, " bytes, expected ", *expected_rows * row_bytes,
                           " (batch_size ", *expected_rows, " * channels ", channels_,
                           " * 8 bytes of float64)");
  }
  if (size == 0) return Status::Invalid("raw block is empty");
  if (size % row_bytes != 0) {
    return Status::Invalid("raw block has ", size, " bytes, not a whole number of rows of ",
                           channels_, " float64 channel(s) (", row_bytes, " bytes per row)");
  }
  const std::int64_t rows = size / row_bytes;
  if (!clock_.has_segment()) {
    return Status::Invalid("no acquisition segment: StartAcquisition must precede Decode");
  }

  if (raw->address() % alignof(double) != 0) {
    // Arrays need naturally aligned values; a device buffer at an odd address is copied once.
    ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> aligned, arrow::AllocateBuffer(size));
    std::memcpy(aligned->mutable_data(), raw->data(), static_cast<std::size_t>(size));
    raw = std::move(aligned);
  }

  // Fixed-size batches (expected_rows) take their timestamp column from a pool: it returns
  // when the last reader lets go, like the raw block of a simulated device.
  std::shared_ptr<arrow::MutableBuffer> times;
  if (expected_rows.has_value()) {
    const std::int64_t bytes = rows * kValueBytes;
    if (times_pool_ == nullptr || times_pool_->block_bytes() != bytes) {
      ARROW_ASSIGN_OR_RAISE(
          times_pool_,
          BufferPool::Make({.block_bytes = bytes,
                            .max_blocks = std::clamp<std::int64_t>(
                                (std::int64_t{64} << 20) / (bytes * channels_), 2, 128)}));
    }
    ARROW_ASSIGN_OR_RAISE(times, times_pool_->Acquire());
  } else {
    ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::ResizableBuffer> fresh,
                          arrow::AllocateResizableBuffer(rows * kValueBytes));
    times = std::move(fresh);
  }
  ARROW_RETURN_NOT_OK(clock_.Stamp(rows, reinterpret_cast<std::int64_t*>(times->mutable_data())));

  std::vector<std::shared_ptr<arrow::ArrayData>> columns;
  columns.reserve(static_cast<std::size_t>(channels_ + 1));
  columns.push_back(arrow::ArrayData::Make(
      schema_->field(0)->type(), rows, {nullptr, std::static_pointer_cast<arrow::Buffer>(std::move(times))},
      /*null_count=*/0));
  const std::int64_t column_bytes = rows * kValueBytes;
  for (std::int64_t c = 0; c < channels_; ++c) {
    columns.push_back(arrow::ArrayData::Make(
        arrow::float64(), rows, {nullptr, arrow::SliceBuffer(raw, c * column_bytes, column_bytes)},
        /*null_count=*/0));
  }
  return arrow::RecordBatch::Make(schema_, rows, std::move(columns));
}

BatchBuilder Float64BlockDecoder::PooledBuilder(std::int64_t rows) const {
  return [schema = schema_, channels = channels_,
          rows](const std::shared_ptr<arrow::Buffer>& block)
             -> Result<std::shared_ptr<arrow::RecordBatch>> {
    const std::int64_t column_bytes = rows * kValueBytes;
    if (block->size() < column_bytes * (1 + channels)) {
      return Status::Invalid("pooled block of ", block->size(), " bytes is too small");
    }
    std::vector<std::shared_ptr<arrow::ArrayData>> columns;
    columns.reserve(static_cast<std::size_t>(channels + 1));
    for (std::int64_t c = 0; c <= channels; ++c) {
      columns.push_back(arrow::ArrayData::Make(
          schema->field(static_cast<int>(c))->type(), rows,
          {nullptr, arrow::SliceBuffer(block, c * column_bytes, column_bytes)}, /*null_count=*/0));
    }
    return arrow::RecordBatch::Make(schema, rows, std::move(columns));
  };
}

Result<std::unique_ptr<Float64BlockDriver>> Float64BlockDriver::Make(
    std::unique_ptr<hardware::InstrumentHardware> hardware, std::int64_t channels, double rate_hz,
    const std::string& unit, const SchemaMetadata& metadata) {
  if (hardware == nullptr) return Status::Invalid("Float64BlockDriver needs a hardware");
  ARROW_ASSIGN_OR_RAISE(auto decoder, Float64BlockDecoder::Make(channels, rate_hz, unit, metadata));
  return std::make_unique<Float64BlockDriver>(std::move(hardware), std::move(decoder));
}

Status Float64BlockDriver::Configure() {
  decoder_.clock().Reset();
  return Status::OK();
}

Status Float64BlockDriver::StartAcquisition() {
  decoder_.clock().StartSegment(WallClockNanos());
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> Float64BlockDriver::Decode(
    std::shared_ptr<arrow::Buffer> raw) {
  return decoder_.Decode(std::move(raw), std::nullopt);
}

}  // namespace arrowdaq::instruments
