// SimulatedHardware: a SimDevice (see sim_device.h) for `SIM::<anything>` resources that
// behaves like a paced data source (sine, noise or ramp; see sim_waveforms.h for the exact
// values). It lets the rest of the engine (actors, back-pressure, storage) be tested without
// hardware. A row is one sample instant across all channels; its index n is the sample index.
//
// Pacing (SimDevice's): after INIT at steady time t_init, batch k (0-based since that INIT) is
// released at t_init + (k+1)*batch_size/rate_hz (absolute deadlines, no drift). A late caller
// gets the following batches at once until it catches up; no sample is skipped (values are pure
// functions of n) unless SimSourceOptions::fifo_batches > 0, which makes the source run free and
// skip what overflowed its FIFO. n starts at 0 on Connect (and on *RST) and keeps counting across
// ABOR/INIT.
//
// Ownership: the owner (a driver) holds it in a unique_ptr. Each batch is a fresh buffer from
// Arrow's default memory pool, handed over to the caller. Threading: like every
// InstrumentHardware, one thread at a time (the instrument's own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/hardware/sim_device.h"
#include "arrowdaq/hardware/sim_waveforms.h"

namespace arrowdaq::hardware {

class SimulatedHardware : public SimDevice {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  /// Validate `options` (ValidateSimSourceOptions) and build a disconnected source.
  static Result<std::unique_ptr<SimulatedHardware>> Make(const SimSourceOptions& options);

  /// Use Make; the tag keeps construction with unchecked options out of reach.
  SimulatedHardware(PrivateTag, const SimSourceOptions& options);

  // Connect, Disconnect, SendCommand (*IDN? -> "arrowdaq,SIM-<WAVEFORM>,0,<version>") and
  // ReadRawData come from SimDevice. A batch is batch_size*channels little-endian float64,
  // column by column (channel 0's batch_size values, then channel 1's, ...).

  const SimSourceOptions& options() const { return options_; }
  /// Return the sample index of the first row of the next batch.
  std::int64_t next_sample_index() const { return next_row(); }
  /// Samples lost so far because the reader fell behind a free-running source (see
  /// SimSourceOptions::fifo_batches); they are skipped sample indices.
  std::int64_t overrun_samples() const { return overrun_rows(); }
  /// Return the size in bytes of one batch: batch_size * channels * 8.
  std::int64_t batch_bytes() const override;

 private:
  std::string IdnModel() const override;
  std::int64_t RowsPerBatch() const override { return options_.batch_size; }
  double RowsPerSecond() const override { return options_.rate_hz; }
  std::int64_t FifoBatches() const override { return options_.fifo_batches; }
  std::int64_t DropEvery() const override { return options_.drop_every; }
  void FillBatch(std::int64_t first_row, std::int64_t rows,
                 std::span<std::uint8_t> out) const override;

  SimSourceOptions options_;
};

}  // namespace arrowdaq::hardware
