// Rigol DS1000Z oscilloscope over LAN (SCPI on the raw socket, port 5555): `rigol.ds1000z`.
// After each Connect it checks `*IDN?` names a RIGOL DS1xxxZ/MSO1xxxZ, clears the status
// (`*CLS`), sends the waveform settings (below), checks `:SYST:ERR?` and reads `:WAV:PRE?`. Each
// poll (rate_hz, batch_size polls per batch) sends the settings again -- `:WAV:SOUR <source>`,
// `:WAV:MODE NORM`, `:WAV:FORM BYTE`, `:WAV:STAR 1`, `:WAV:STOP <points>`: another client (or
// the front panel) may have changed any of them --, re-reads `:WAV:PRE?` (the scales follow
// the front panel) and reads `:WAV:DATA?`, a `#9<len>` block of one byte per point, converted
// to volts: v = (byte - yorigin - yreference) * yincrement.
//
// A short block -- a stopped scope whose trace is scrolled off part of the screen returns only
// the points that hold data -- is data with fewer points, not a failure: the row keeps the
// points returned, NaN after them, `valid_points` says how many, and `x_origin` (from the
// preamble) is the time of the first one; one `info` event per batch counts such rows.
// `points` is 1..1200 (the screen, NORMal mode): more needs RAW mode, the scope stopped and
// reads of at most 250 000 bytes at a time, which this driver does not do, so larger values are
// refused. A scope slower than rate_hz is reported in a `rate_shortfall` event per batch. A
// read that fails after some waveforms of a batch ends the batch early: the waveforms read are
// published and the failure comes with the next read (see PolledDriver).
//
// Stream: one row per waveform: `timestamp` (wall clock at the poll), `waveform` as
// fixed_size_list<float64>[points] (unit V), `x_increment` (s, time between points),
// `x_origin` (s, time of the first point relative to the trigger) and `valid_points` (int64).
// A raw block is rows int64 timestamps, rows * 2 float64 (x increment, x origin per row,
// column by column), rows int64 valid points, then rows * points float64 volts; Decode wraps it
// without copying.
//
// Follows: RIGOL MSO1000Z/DS1000Z Series Programming Guide, chapter 2 "Command System",
// :WAVeform subsystem (read as scanned pages): :WAVeform:DATA? (p. 2-136 of the DS1000Z
// edition: screen data with :WAV:MODE NORM; internal memory only after :STOP with RAW, read in
// parts set by :WAVeform:STARt / :WAVeform:STOP; TMC header "#9000001200"), :WAVeform:PREamble?
// (p. 2-140: format, type, points, count, xincrement, xorigin, xreference, yincrement,
// yorigin, yreference; example "0,2,600,2,0.000000,-0.000006,0,0.008000,50,127"), STARt and
// STOP (NORMal: 1..1200), and *IDN?. Checked against pklaus/ds1054z (sets STARt and STOP
// before each read, reads internal memory in chunks of 250000 bytes after :STOP, and pads the
// short block of a stopped, scrolled screen).
//
// Ownership and threading: as every driver.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/message_device.h"

namespace arrowdaq::instruments {

/// Hold a parsed :WAV:PRE? reply.
struct RigolPreamble {
  int format = 0;  ///< 0 BYTE, 1 WORD, 2 ASC
  int type = 0;    ///< 0 NORM, 1 MAX, 2 RAW
  std::int64_t points = 0;
  std::int64_t count = 1;
  double x_increment = 0, x_origin = 0, x_reference = 0;
  double y_increment = 0, y_origin = 0, y_reference = 0;
};

/// Parse a :WAV:PRE? reply (10 comma-separated numbers); errors quote the reply.
Result<RigolPreamble> ParseRigolPreamble(std::string_view reply);

class RigolDs1000zDriver : public InstrumentDriver {
 public:
  /// Build from options resolved against RigolDs1000zOptionSpecs().
  static Result<std::unique_ptr<RigolDs1000zDriver>> Make(const ResolvedOptions& options);

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  hardware::InstrumentHardware& hardware() override { return *device_; }
  /// Return batch_size / rate_hz + 2 * batch_size * timeout + 1 s.
  hardware::Timeout read_timeout() const override;
  Status Configure() override;
  Status StartAcquisition() override;
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override;

  std::int64_t points() const { return points_; }
  const std::string& idn() const { return idn_; }
  /// Return the `rate_shortfall` and short-waveform `info` events since the last call.
  std::vector<DriverEvent> TakeEvents() override;

 private:
  RigolDs1000zDriver(std::unique_ptr<MessageDevice> device, std::shared_ptr<arrow::Schema> schema,
                     std::string source, std::int64_t points, double rate_hz,
                     std::int64_t batch_size, hardware::Timeout timeout);
  Result<std::shared_ptr<arrow::Buffer>> FetchBatch(hardware::StreamTransport& t,
                                                    hardware::Timeout timeout);
  Result<RigolPreamble> ReadPreamble(hardware::StreamTransport& t);
  Status SendWaveformSettings(hardware::StreamTransport& t);

  std::unique_ptr<MessageDevice> device_;
  std::shared_ptr<arrow::Schema> schema_;
  std::string source_;
  std::int64_t points_;
  double rate_hz_;
  std::int64_t batch_size_;
  hardware::Timeout timeout_;
  std::string idn_;
  PollSchedule schedule_;
  std::int64_t last_stamp_ns_ = 0;
  std::int64_t waveforms_ = 0;  // since the last TakeEvents: all, and those with fewer points
  std::int64_t short_waveforms_ = 0;
  std::int64_t fewest_points_ = 0;
  Status pending_;  // a read's failure after a short batch, returned by the next read
};

/// Return the options of rigol.ds1000z (source, points, rate_hz, batch_size, link options).
std::vector<OptionSpec> RigolDs1000zOptionSpecs();

/// Register rigol.ds1000z.
Status RegisterRigolDs1000z(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
