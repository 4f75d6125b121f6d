// SimDevice: the part every simulated instrument shares (SimulatedHardware, SimCamera). It is an
// InstrumentHardware for `SIM::<model>` resources that speaks a little SCPI and hands out one
// batch of rows per ReadRawData at the instant a real device would have it. A subclass says only
// what a row is: how many make a batch, how many come per second, how many bytes a batch takes and
// how to fill them (rows are pure functions of their index, so any row can be checked by a test).
//
// Pacing: after INIT at steady time t_init, batch k (0-based since that INIT) is released at
// t_init + (k+1)*RowsPerBatch()/RowsPerSecond() (absolute deadlines, no drift). A late reader
// gets the overdue batches at once, with no row skipped, unless FifoBatches() > 0: then the device
// runs free with a FIFO of that many batches, and batches more overdue than that are skipped and
// counted in overrun_rows(). The row index starts at 0 on Connect and *RST and keeps counting
// across ABOR/INIT.
//
// Ownership: the owner (a driver) holds the subclass in a unique_ptr. Each batch is ONE buffer
// (64-byte aligned) from the device's BufferPool: the block returns to the pool when the last
// reader of the batch lets go, so a warm device neither allocates nor touches fresh pages. The
// pool keeps at most PoolBlocks(batch_bytes()) blocks (about 64 MiB, 2 to 128 batches); beyond
// that a batch gets a fresh buffer, counted as a pool overflow (buffer_pool_stats()).
// Threading: like every InstrumentHardware, one thread at a time (the instrument's own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "arrowdaq/core/buffer_pool.h"
#include "arrowdaq/core/clock.h"
#include "arrowdaq/hardware/instrument_hardware.h"

namespace arrowdaq::hardware {

class SimDevice : public InstrumentHardware {
 public:
  /// Accept `SIM::<model>` (any non-empty model); anything else is Status::Invalid naming the
  /// string. Resets the device: disarmed, next row index 0.
  Status Connect(const std::string& resource, Timeout timeout) final;
  /// Disarm and disconnect; idempotent.
  Status Disconnect() final;
  /// Understand (case-insensitive, surrounding blanks ignored):
  /// `*IDN?` -> "arrowdaq,SIM-<IdnModel()>,0,<arrowdaq version>";
  /// `INIT` / `INITIATE` -> "" (arm: the clock starts now; error -213 if already armed);
  /// `ABOR` / `ABORT` -> "" (disarm; OK when not armed);
  /// `*RST` -> "" (disarm, next row index 0).
  /// Anything else fails with `-113,"Undefined header"` and the command quoted.
  Result<std::string> SendCommand(const std::string& command, Timeout timeout) final;
  /// Wait for the next batch's deadline and return it (batch_bytes() bytes, see FillBatch).
  /// Fails with Status::Invalid when not connected or not armed; with Status::IOError
  /// "... timed out ..." after waiting `timeout` when the deadline lies beyond it (the batch is
  /// not lost: the next call returns it).
  Result<std::shared_ptr<arrow::Buffer>> ReadRawData(Timeout timeout) final;
  /// ReadRawData into `out` (exactly batch_bytes() bytes, 8-byte aligned) instead of a block
  /// of the device's own pool: how drivers with a BatchPool fill a pooled batch in place.
  /// Same waits and errors as ReadRawData; on an error the row index does not move.
  Status ReadInto(std::span<std::uint8_t> out, Timeout timeout);

  bool connected() const { return connected_; }
  bool armed() const { return armed_; }
  /// Return the steady-clock release time of the next batch (meaningful while armed).
  SteadyClock::time_point next_deadline() const;
  /// Return the size in bytes of one batch.
  virtual std::int64_t batch_bytes() const = 0;
  /// Return what the batch buffer pool did so far (all zero before the first batch).
  BufferPoolStats buffer_pool_stats() const;
  /// Return the blocks a pool of `batch_bytes` batches keeps at most.
  static std::int64_t PoolBlocks(std::int64_t batch_bytes);

 protected:
  /// `kind` names the device in messages ("simulated camera"); a string literal.
  explicit SimDevice(const char* kind) : kind_(kind) {}

  /// Return the row index of the first row of the next batch.
  std::int64_t next_row() const { return next_row_; }
  /// Return the rows skipped so far because the reader fell behind (FifoBatches() > 0).
  std::int64_t overrun_rows() const { return overrun_rows_; }

 private:
  /// Return the model part of the *IDN? reply, upper case ("SINE", "CAMERA").
  virtual std::string IdnModel() const = 0;
  /// Return the rows in one batch (> 0).
  virtual std::int64_t RowsPerBatch() const = 0;
  /// Return the rows the device produces per second (> 0).
  virtual double RowsPerSecond() const = 0;
  /// Return the batches the device's FIFO holds while running free; 0 (the default) means the
  /// device waits for its reader and never loses a row.
  virtual std::int64_t FifoBatches() const { return 0; }
  /// Return N > 0 to lose every N-th batch (batches N-1, 2N-1, ... since INIT, 0-based) as if
  /// the FIFO had overflowed: its rows are skipped and counted in overrun_rows(); 0 (the
  /// default): none. A deterministic overrun for tests.
  virtual std::int64_t DropEvery() const { return 0; }
  /// Write rows first_row .. first_row+rows-1 to `out` (batch_bytes() bytes, 64-byte aligned).
  virtual void FillBatch(std::int64_t first_row, std::int64_t rows,
                         std::span<std::uint8_t> out) const = 0;

  Status CheckConnected(const char* what) const;
  void SkipOverrunBatches();

  const char* kind_;
  std::string resource_;
  bool connected_ = false;
  bool armed_ = false;
  std::int64_t next_row_ = 0;            // row index of the next batch's first row
  std::int64_t batches_since_init_ = 0;  // batches released (or skipped) since the last INIT
  SteadyClock::time_point t_init_{};
  std::int64_t overrun_rows_ = 0;
  static constexpr std::int64_t kPoolBytes = std::int64_t{64} << 20;
  static constexpr std::int64_t kMaxPoolBlocks = 128;
  std::shared_ptr<BufferPool> pool_;  // made at the first batch (batch_bytes() is virtual)
};

}  // namespace arrowdaq::hardware
