// Rigol DS1000Z oscilloscope over LAN (SCPI on the raw socket, port 5555): `rigol.ds1000z`.
// After each Connect it checks `*IDN?` names a RIGOL DS1xxxZ/MSO1xxxZ, sends
// `:WAV:SOUR <source>`, `:WAV:MODE NORM`, `:WAV:FORM BYTE`, then reads `:WAV:PRE?` and checks
// the point count. Each poll (rate_hz, batch_size polls per batch) re-reads `:WAV:PRE?` (the
// scales follow the front panel) and `:WAV:DATA?`, a `#9<len>` block of one byte per point,
// and converts it to volts: v = (byte - yorigin - yreference) * yincrement.
//
// Stream: one row per waveform: `timestamp` (wall clock at the poll), `waveform` as
// fixed_size_list<float64>[points] (unit V; the fixed_shape_tensor extension type is not used
// yet), `x_increment` (s, time between points) and `x_origin` (s, time of the first point
// relative to the trigger). A raw block is rows int64 timestamps, rows * 2 float64 (x
// increment, x origin per row, column by column), then rows * points float64 volts; Decode
// wraps it without copying.
//
// Follows: RIGOL MSO1000Z/DS1000Z Series Programming Guide, chapter 2 "Command System",
// :WAVeform subsystem (:WAVeform:SOURce, :WAVeform:MODE, :WAVeform:FORMat, :WAVeform:DATA?
// with its TMC block header "#9000001200", :WAVeform:PREamble? returning format, type,
// points, count, xincrement, xorigin, xreference, yincrement, yorigin, yreference), and *IDN?.
// In NORMal mode the scope returns the 1200 screen points.
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

 private:
  RigolDs1000zDriver(std::unique_ptr<MessageDevice> device, std::shared_ptr<arrow::Schema> schema,
                     std::string source, std::int64_t points, double rate_hz,
                     std::int64_t batch_size, hardware::Timeout timeout);
  Result<std::shared_ptr<arrow::Buffer>> FetchBatch(hardware::StreamTransport& t,
                                                    hardware::Timeout timeout);
  Result<RigolPreamble> ReadPreamble(hardware::StreamTransport& t);

  std::unique_ptr<MessageDevice> device_;
  std::shared_ptr<arrow::Schema> schema_;
  std::string source_;
  std::int64_t points_;
  double rate_hz_;
  std::int64_t batch_size_;
  hardware::Timeout timeout_;
  std::string idn_;
  SteadyClock::time_point next_poll_{};
  std::int64_t last_stamp_ns_ = 0;
};

/// Return the options of rigol.ds1000z (source, points, rate_hz, batch_size, link options).
std::vector<OptionSpec> RigolDs1000zOptionSpecs();

/// Register rigol.ds1000z.
Status RegisterRigolDs1000z(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
