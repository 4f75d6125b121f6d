// DataPacket: one batch of samples of one stream, as it travels from an instrument through the
// manager to every subscriber. Immutable once built; copying a packet copies two shared_ptrs,
// never the sample buffers. Any thread may read a packet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <arrow/record_batch.h>
#include <arrow/type_fwd.h>

namespace arrowdaq {

/// Describe a stream: its name (for example "laser" or "daq1.lowpass") and its schema.
/// Shared by every packet of the stream.
struct StreamInfo {
  std::string name;
  std::shared_ptr<arrow::Schema> schema;
};

/// Carry one batch of one stream. Sequence numbers start at 0 per stream and grow by one per
/// packet, so a consumer can prove it saw every packet or count exactly the ones it missed.
struct DataPacket {
  std::shared_ptr<const StreamInfo> stream;
  std::uint64_t sequence = 0;
  std::shared_ptr<const arrow::RecordBatch> batch;

  /// Return the stream's name, or "" for an empty packet.
  const std::string& stream_name() const;
  /// Return the number of rows in the batch (0 for an empty packet).
  std::int64_t num_rows() const { return batch ? batch->num_rows() : 0; }
};

}  // namespace arrowdaq
