// ScpiDriver (`scpi.generic`): any instrument that answers SCPI-style queries over a raw TCP
// socket or a serial line. After each Connect it queries the identify command (`*IDN?`) and
// checks the reply, sends the set-up commands (`setup`, separated by ";;"), optionally drains
// `SYST:ERR?` and fails on any non-zero error, then polls `query` at rate_hz, batch_size polls
// per batch (timestamps: the wall clock at each poll; see PolledDriver in message_device.h).
// Each poll must yield exactly `channels` values: an ASCII number list ("1.0E+00,2.5") or,
// with `binary`, an IEEE 488.2 block of real64 / real32 / int16 values in `byte_order`, by
// default big-endian: SCPI-99 volume 2 FORMat:BORDer is NORMal (most significant byte first)
// after *RST, and an instrument set to SWAPped needs byte_order = "little". The
// values SCPI reserves for overload (+/-9.9E+37) and not-a-number (9.91E+37) are stored as
// +/-inf and NaN, counted in one `overload` event per batch. With `check_errors`, SYST:ERR? is
// drained after each set-up command, so an error names the command that caused it.
// The manufacturer-specific drivers (keysight_34461a.h) are presets of this class.
//
// Ownership and threading: as every driver (owns its MessageDevice; instrument thread only).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/message_device.h"

namespace arrowdaq::instruments {

/// Say how a poll's reply is encoded.
enum class ReplyFormat { kAscii, kReal64, kReal32, kInt16 };

/// Parse "ascii", "real64", "real32", "int16"; the error lists the choices.
Result<ReplyFormat> ParseReplyFormat(const std::string& text);

/// Configuration of a ScpiDriver beyond the polling.
struct ScpiConfig {
  PolledConfig polled;
  std::string identify_command = "*IDN?";  ///< "" skips identification
  std::string identify_expect;             ///< the reply must contain it ("" accepts any)
  std::vector<std::string> setup;          ///< sent in order after identification
  std::string query = "READ?";             ///< sent once per poll
  /// Timeout of one poll's query; 0 means polled.io_timeout. A DMM's READ? also waits for the
  /// integration time.
  hardware::Timeout query_timeout{0};
  bool check_errors = false;               ///< drain SYST:ERR? after each setup command
  ReplyFormat format = ReplyFormat::kAscii;
  bool big_endian = true;                  ///< binary values' byte order (SCPI: NORMal)
};

/// Decode a binary block payload of `format` values (`big_endian` byte order) to doubles.
/// A size that is not a whole number of values is Status::Invalid.
Result<std::vector<double>> DecodeBinaryValues(std::string_view payload, ReplyFormat format,
                                               bool big_endian);

class ScpiDriver : public PolledDriver {
 public:
  /// Check `config` and build the driver (messages name the option).
  static Result<std::unique_ptr<ScpiDriver>> Make(ScpiConfig config);
  /// Build from options resolved against ScpiDriverOptionSpecs().
  static Result<std::unique_ptr<ScpiDriver>> Make(const ResolvedOptions& options);

  /// Return the identify reply of the last Configure ("" before).
  const std::string& idn() const { return idn_; }
  const ScpiConfig& scpi_config() const { return scpi_; }

  /// Return one `overload` event for the SCPI overload and NaN values (+/-9.9E+37, 9.91E+37)
  /// read since the last call, if any.
  std::vector<DriverEvent> TakeEvents() override;

 protected:
  ScpiDriver(ScpiConfig config, std::unique_ptr<MessageDevice> device,
             std::shared_ptr<arrow::Schema> schema)
      : PolledDriver(config.polled, std::move(device), std::move(schema)),
        scpi_(std::move(config)) {}

  Status ConfigureDevice(hardware::StreamTransport& t) override;
  Result<std::vector<double>> PollRow(hardware::StreamTransport& t) override;

 private:
  ScpiConfig scpi_;
  std::string idn_;
  std::int64_t values_ = 0;  // values read since the last TakeEvents, and the special ones
  std::int64_t positive_overloads_ = 0;
  std::int64_t negative_overloads_ = 0;
  std::int64_t not_a_number_ = 0;
};

/// Map the values SCPI-99 reserves (volume 1, 7.2.1.5: 9.9E+37 INFinity, -9.9E+37 NINFinity,
/// 9.91E+37 NAN) to +inf, -inf and NaN; other values are returned unchanged.
double MapScpiSpecialValue(double value);

/// Return the options of `scpi.generic` with defaults, units and descriptions.
std::vector<OptionSpec> ScpiDriverOptionSpecs();

/// Register scpi.generic, keysight.34461a, newport.1830c, newport.esp300 and rigol.ds1000z.
Status RegisterDeviceDrivers(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
