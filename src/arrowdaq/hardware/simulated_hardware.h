// SimulatedHardware: an InstrumentHardware for `SIM::<anything>` resources that behaves like a
// paced data source (sine, noise or ramp; see sim_waveforms.h for the exact values). It answers
// a few SCPI commands and hands out one batch per ReadRawData at the instant a real device would
// have it, so the rest of the engine (actors, back-pressure, storage) can be tested without
// hardware.
//
// Pacing: after INIT at steady time t_init, batch k (0-based since that INIT) is released at
// t_init + (k+1)*batch_size/rate_hz (absolute deadlines, no drift). A late caller gets the
// following batches at once until it catches up; no sample is skipped, because values are pure
// functions of the sample index n. n starts at 0 on Connect (and on *RST) and keeps counting
// across ABOR/INIT.
//
// Ownership: the owner (a driver) holds it in a unique_ptr. Each batch is a fresh buffer from
// Arrow's default memory pool, handed over to the caller. Threading: like every
// InstrumentHardware, one thread at a time (the instrument's own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/hardware/instrument_hardware.h"
#include "arrowdaq/hardware/sim_waveforms.h"

namespace arrowdaq::hardware {

class SimulatedHardware : public InstrumentHardware {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  /// Validate `options` (ValidateSimSourceOptions) and build a disconnected source.
  static Result<std::unique_ptr<SimulatedHardware>> Make(const SimSourceOptions& options);

  /// Use Make; the tag keeps construction with unchecked options out of reach.
  SimulatedHardware(PrivateTag, const SimSourceOptions& options);

  /// Accept `SIM::<model>` (any non-empty model); anything else is Status::Invalid naming the
  /// string. Resets the source: disarmed, next sample index 0.
  Status Connect(const std::string& resource, Timeout timeout) override;
  /// Disarm and disconnect; idempotent.
  Status Disconnect() override;
  /// Understand (case-insensitive, surrounding blanks ignored):
  /// `*IDN?` -> "arrowdaq,SIM-<WAVEFORM>,0,<arrowdaq version>";
  /// `INIT` / `INITIATE` -> "" (arm: the sample clock starts now; error if already armed);
  /// `ABOR` / `ABORT` -> "" (disarm; OK when not armed);
  /// `*RST` -> "" (disarm, next sample index 0).
  /// Anything else fails with `-113,"Undefined header"` and the command quoted.
  Result<std::string> SendCommand(const std::string& command, Timeout timeout) override;
  /// Wait for the next batch's deadline and return it: batch_size*channels little-endian
  /// float64, column by column (channel 0's batch_size values, then channel 1's, ...).
  /// Fails with Status::Invalid when not connected or not armed; with Status::IOError
  /// "... timed out ..." after waiting `timeout` when the deadline lies beyond it (the batch is
  /// not lost: the next call returns it).
  Result<std::shared_ptr<arrow::Buffer>> ReadRawData(Timeout timeout) override;

  const SimSourceOptions& options() const { return options_; }
  bool connected() const { return connected_; }
  bool armed() const { return armed_; }
  /// Return the sample index of the first row of the next batch.
  std::int64_t next_sample_index() const { return next_index_; }
  /// Return the steady-clock release time of the next batch (meaningful while armed).
  SteadyClock::time_point next_deadline() const;
  /// Samples lost so far because the reader fell behind a free-running source (see
  /// SimSourceOptions::fifo_batches); they are skipped sample indices.
  std::int64_t overrun_samples() const { return overrun_samples_; }
  /// Return the size in bytes of one batch: batch_size * channels * 8.
  std::int64_t batch_bytes() const;

 private:
  Status CheckConnected(const char* what) const;

  SimSourceOptions options_;
  std::string resource_;
  bool connected_ = false;
  bool armed_ = false;
  std::int64_t next_index_ = 0;          // sample index of the next batch's first row
  std::int64_t batches_since_init_ = 0;  // batches released since the last INIT
  SteadyClock::time_point t_init_{};
  std::int64_t overrun_samples_ = 0;
  void SkipOverrunBatches();
};

}  // namespace arrowdaq::hardware
