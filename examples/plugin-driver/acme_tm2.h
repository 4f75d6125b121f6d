// Tm2Driver (`acme.tm2`): a driver for the Acme TM-2, a fictional two-channel temperature
// monitor on a TCP socket, written against the arrowdaq driver SDK as an out-of-tree plugin
// (docs/drivers.md walks through it).
//
// The TM-2 speaks lines (LF-terminated) on port 5025:
//   *IDN?        -> ACME,TM-2,<serial>,<firmware>
//   RATE <hz>    (no reply) samples per second, 1..1000;  RATE? -> the rate
//   START        (no reply) clears the sample counter and starts sampling; STOP stops
//   FETCH? <n>   -> "<k>,<inlet_k>,<outlet_k>,<inlet_k+1>,<outlet_k+1>,..." : the next n
//                   samples, k the index of the first (waits until they exist)
// A reply to FETCH? is one raw block; Decode turns it into rows of `sample` (int64),
// `inlet` and `outlet` (float64, degC), stamped start time + k / rate. A block whose first
// index is not the one expected means the device dropped samples: counted in a `gap` event.
//
// Ownership: the driver owns its hardware. Threading: the instrument's thread only.
#pragma once

#include <memory>
#include <vector>

#include <arrowdaq/instruments/driver.h>

namespace acme {

namespace ad = arrowdaq;

class Tm2Driver : public ad::instruments::InstrumentDriver {
 public:
  /// Return the options: rate_hz, batch_size, timeout_ms.
  static std::vector<ad::OptionSpec> OptionSpecs();
  /// Build the driver talking TCP (through the SDK's MessageDevice).
  static ad::Result<std::unique_ptr<Tm2Driver>> Make(const ad::ResolvedOptions& options);
  /// Build the driver on `hardware` (tests pass a MockHardware).
  static ad::Result<std::unique_ptr<Tm2Driver>> Make(
      const ad::ResolvedOptions& options,
      std::unique_ptr<ad::hardware::InstrumentHardware> hardware);

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  ad::hardware::InstrumentHardware& hardware() override { return *hardware_; }
  ad::hardware::Timeout read_timeout() const override;
  ad::Status Configure() override;
  ad::Status StartAcquisition() override;
  ad::Status StopAcquisition() override;
  std::vector<ad::instruments::DriverEvent> TakeEvents() override;
  ad::Result<std::shared_ptr<arrow::RecordBatch>> Decode(
      std::shared_ptr<arrow::Buffer> raw) override;

  /// Return the `*IDN?` reply of the last Configure.
  const std::string& idn() const { return idn_; }

 private:
  Tm2Driver(double rate_hz, std::int64_t batch_size, ad::hardware::Timeout timeout,
            std::unique_ptr<ad::hardware::InstrumentHardware> hardware,
            std::shared_ptr<arrow::Schema> schema);

  double rate_hz_;
  std::int64_t batch_size_;
  ad::hardware::Timeout timeout_;
  std::unique_ptr<ad::hardware::InstrumentHardware> hardware_;
  std::shared_ptr<arrow::Schema> schema_;
  std::string idn_;
  std::int64_t start_ns_ = 0;     // wall clock at START
  std::int64_t next_sample_ = 0;  // the index the next block should start at
  std::int64_t lost_ = 0;         // samples skipped since the last TakeEvents
};

/// Append the plugin's drivers (acme.tm2) to `out`: the plugin's driver list.
void Tm2Drivers(std::vector<ad::instruments::DriverInfo>* out);

}  // namespace acme
