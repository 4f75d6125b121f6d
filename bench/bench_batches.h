// Test data for the benchmarks: stream batches (timestamp[ns, UTC] + N float64 channels) built
// once, outside any timed loop, and small statistics helpers (median / percentile of samples).
// Header-only; used by one thread at a time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/logging.h>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/schema.h"

namespace arrowdaq::bench {

/// Return the schema of a benchmark stream with `channels` float64 channels ch0, ch1, ...
inline std::shared_ptr<arrow::Schema> BenchSchema(int channels) {
  std::vector<ChannelSpec> specs;
  for (int c = 0; c < channels; ++c) specs.push_back({"ch" + std::to_string(c), "V", "", arrow::float64()});
  return MakeStreamSchema(specs).ValueOrDie();
}

/// Build a batch of `rows` rows: timestamps 1 us apart starting at `first_row` us, channel c
/// holding first_row + i + c. Aborts on an Arrow error (benchmark set-up only).
inline std::shared_ptr<arrow::RecordBatch> MakeBenchBatch(const std::shared_ptr<arrow::Schema>& schema,
                                                          std::int64_t rows,
                                                          std::int64_t first_row = 0) {
  std::vector<std::shared_ptr<arrow::Array>> columns;
  arrow::TimestampBuilder ts(TimestampType(), arrow::default_memory_pool());
  ARROW_CHECK_OK(ts.Reserve(rows));
  for (std::int64_t i = 0; i < rows; ++i) ts.UnsafeAppend((first_row + i) * 1000);
  columns.push_back(ts.Finish().ValueOrDie());
  for (int c = 1; c < schema->num_fields(); ++c) {
    arrow::DoubleBuilder b;
    ARROW_CHECK_OK(b.Reserve(rows));
    for (std::int64_t i = 0; i < rows; ++i) b.UnsafeAppend(static_cast<double>(first_row + i + c));
    columns.push_back(b.Finish().ValueOrDie());
  }
  return arrow::RecordBatch::Make(schema, rows, std::move(columns));
}

/// Return the bytes of the batch's buffers (what a writer has to move).
inline std::int64_t BatchBytes(const arrow::RecordBatch& batch) {
  return arrow::util::TotalBufferSize(batch);
}

/// Return the q-quantile (0..1) of `samples` (reorders them); 0 when empty.
inline double Quantile(std::vector<double>& samples, double q) {
  if (samples.empty()) return 0.0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k),
                   samples.end());
  return samples[k];
}

}  // namespace arrowdaq::bench
