// MessageDevice and PolledDriver: the common ground of the message-based device drivers
// (generic SCPI, Keysight 34461A, Newport 1830-C and ESP300, Rigol DS1000Z).
//
// MessageDevice is the InstrumentHardware such a driver owns: on Connect it opens a TcpTransport
// for `TCPIP::host::port::SOCKET` or a SerialTransport for `ASRL/dev/...::INSTR` (with the
// serial settings given at Make), so one driver serves either wiring. SendCommand goes to the
// transport; ReadRawData runs the reader the driver installed (a poll loop, a waveform fetch).
//
// PolledDriver polls a device at rate_hz (absolute deadlines, no drift; a poll that is late by
// more than a period restarts the schedule instead of bursting), batch_size polls per batch,
// and stamps each row with the wall clock just before its query is written (strictly
// increasing). A raw block is `rows` int64 timestamps followed by each channel's `rows` float64
// values (column by column); Decode slices it without copying. A poll that fails after some
// rows of a batch were read ends the batch early: ReadRawData returns the rows read (a short
// batch, published like any other) and the next ReadRawData returns the failure, which the
// actor records as the gap (and reconnects). What was measured is kept.
//
// Ownership: a driver owns its MessageDevice, which owns the transport of the current
// connection. Threading: the instrument's own thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/hardware/serial_transport.h"
#include "arrowdaq/hardware/stream_transport.h"
#include "arrowdaq/instruments/driver.h"

namespace arrowdaq::instruments {

class MessageDevice : public hardware::InstrumentHardware {
 public:
  using Reader = std::function<Result<std::shared_ptr<arrow::Buffer>>(hardware::StreamTransport&,
                                                                     hardware::Timeout)>;
  /// Say whether a command answers (a query); the default: it contains '?'.
  using QueryRule = std::function<bool(const std::string& command)>;

  /// Validate `link` (framing for both transports; baud etc. apply to serial resources).
  static Result<std::unique_ptr<MessageDevice>> Make(hardware::SerialOptions link);
  explicit MessageDevice(hardware::SerialOptions link) : link_(std::move(link)) {}

  /// Open TCP or serial according to the resource kind; other kinds are Status::Invalid.
  Status Connect(const std::string& resource, hardware::Timeout timeout) override;
  Status Disconnect() override;
  /// Send `command`; when the query rule says it answers, read and return its reply line,
  /// else return "".
  Result<std::string> SendCommand(const std::string& command, hardware::Timeout timeout) override;
  /// Run the installed reader on the transport.
  Result<std::shared_ptr<arrow::Buffer>> ReadRawData(hardware::Timeout timeout) override;

  /// Install the reader ReadRawData runs (set once by the owning driver).
  void set_reader(Reader reader) { reader_ = std::move(reader); }
  /// Install the driver's rule for which commands answer (set once by the owning driver; for
  /// instruments with queries that have no '?', such as the ESP300's "1TP").
  void set_query_rule(QueryRule rule) { query_rule_ = std::move(rule); }
  /// Return the open transport, or IOError when not connected.
  Result<hardware::StreamTransport*> transport();
  const hardware::SerialOptions& link() const { return link_; }

 private:
  hardware::SerialOptions link_;
  std::unique_ptr<hardware::StreamTransport> transport_;
  Reader reader_;
  QueryRule query_rule_;
};

/// Return the option specs of the wire: timeout_ms, write_terminator, read_terminator, baud,
/// data_bits, parity, stop_bits, flow_control, with the given defaults.
std::vector<OptionSpec> LinkOptionSpecs(const hardware::SerialOptions& defaults,
                                        std::int64_t timeout_ms);
/// Read the options declared by LinkOptionSpecs; unescapes "\r", "\n" in terminators.
Result<hardware::SerialOptions> LinkFromOptions(const ResolvedOptions& options);
/// Turn "\\r\\n" (as written in TOML) into CR LF; other text is kept.
std::string UnescapeTerminator(const std::string& text);

/// Query `*IDN?` (or `command`) and check the reply contains `expect` ("" accepts any
/// non-empty reply). The error names the command, the reply and the expectation.
Result<std::string> Identify(hardware::StreamTransport& t, const std::string& command,
                             const std::string& expect, hardware::Timeout timeout);
/// Query `query` (SYST:ERR?) until it reports 0 (at most 32 times) and fail with every error
/// seen, naming `after` (what was sent before).
Status CheckScpiErrors(hardware::StreamTransport& t, const std::string& after,
                       hardware::Timeout timeout, const std::string& query = "SYST:ERR?");
/// Split "a;;b;; c" into {"a", "b", "c"} (blank items dropped).
std::vector<std::string> SplitCommands(const std::string& text);

/// The poll timing of a polled driver: polls at rate_hz on absolute deadlines (no drift); a
/// poll that is late by more than a period restarts the schedule instead of bursting, and is
/// counted, so the driver can report that the instrument is slower than rate_hz asks.
class PollSchedule {
 public:
  explicit PollSchedule(double rate_hz);
  /// Start the schedule now (the first poll is due at once).
  void Restart();
  /// Wait until the next poll is due; return false, without waiting, when it is due after
  /// `deadline`.
  bool WaitForNextPoll(SteadyClock::time_point deadline);
  /// Return a `rate_shortfall` event when polls started late since the last call, naming
  /// `what` ("polls", "waveforms") and, when > 0, the slowest poll in ms.
  std::vector<DriverEvent> TakeEvents(const std::string& what, double slowest_ms = 0);
  /// Record how long one poll took (for the event's message).
  void RecordPollDuration(SteadyClock::duration d);

 private:
  double rate_hz_;
  SteadyClock::duration period_;
  SteadyClock::time_point next_{};
  std::int64_t polls_ = 0;
  std::int64_t late_ = 0;
  SteadyClock::duration slowest_{};
};

/// Configuration of a PolledDriver.
struct PolledConfig {
  std::string driver_name;              ///< "scpi.generic", written into schema metadata
  std::vector<ChannelSpec> channels;    ///< float64 channels with units
  double rate_hz = 10.0;                ///< polls per second, (0, 1e4]
  std::int64_t batch_size = 10;         ///< polls per batch, 1 .. 1e6
  hardware::Timeout io_timeout{1000};   ///< timeout of one query
  hardware::SerialOptions link;         ///< framing and serial settings
};

class PolledDriver : public InstrumentDriver {
 public:
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  hardware::InstrumentHardware& hardware() override { return *device_; }
  /// Return batch_size / rate_hz + 2 * io_timeout + 1 s.
  hardware::Timeout read_timeout() const override;
  /// Run ConfigureDevice on the transport.
  Status Configure() override;
  /// Restart the poll schedule now.
  Status StartAcquisition() override;
  /// Wrap a block from ReadRawData (see the header comment) as a batch, without copying.
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override;
  /// Return a `rate_shortfall` event when polls started late (see PollSchedule).
  std::vector<DriverEvent> TakeEvents() override { return TakeScheduleEvents(); }

  const PolledConfig& config() const { return config_; }
  MessageDevice& device() { return *device_; }

 protected:
  PolledDriver(PolledConfig config, std::unique_ptr<MessageDevice> device,
               std::shared_ptr<arrow::Schema> schema);
  /// Build the schema and device for `config`, checking ranges (messages name the option).
  static Status Prepare(const PolledConfig& config, std::unique_ptr<MessageDevice>* device,
                        std::shared_ptr<arrow::Schema>* schema,
                        std::vector<std::pair<std::string, std::string>> metadata = {});

  /// Return the schedule's `rate_shortfall` event, if any; drivers that override TakeEvents
  /// add it to theirs.
  std::vector<DriverEvent> TakeScheduleEvents() { return schedule_.TakeEvents("polls"); }

  /// Identify and set up the device after Connect.
  virtual Status ConfigureDevice(hardware::StreamTransport& t) = 0;
  /// Poll once and return exactly one value per channel.
  virtual Result<std::vector<double>> PollRow(hardware::StreamTransport& t) = 0;

 private:
  Result<std::shared_ptr<arrow::Buffer>> PollBatch(hardware::StreamTransport& t,
                                                   hardware::Timeout timeout);

  PolledConfig config_;
  std::unique_ptr<MessageDevice> device_;
  std::shared_ptr<arrow::Schema> schema_;
  PollSchedule schedule_;
  std::int64_t last_stamp_ns_ = 0;
  Status pending_;  // a poll's failure after a short batch, returned by the next read
};

/// Shrink a block of column-major 8-byte columns from `rows` rows to its first `kept` rows in
/// place: column i holds `widths[i] * rows` values (one row = `widths[i]` values) and the
/// columns follow each other. Returns the first `kept` rows' bytes, columns consecutive, as a
/// slice of `block` (no copy). For polled drivers that publish the rows read before a failed poll.
std::shared_ptr<arrow::Buffer> KeepFirstRows(std::shared_ptr<arrow::Buffer> block,
                                             std::int64_t rows, std::int64_t kept,
                                             const std::vector<std::int64_t>& widths);

/// Decode a stamped block (`rows` int64 ns timestamps, then `channels` columns of `rows`
/// float64) into a batch of `schema` without copying. Wrong sizes are Status::Invalid.
Result<std::shared_ptr<arrow::RecordBatch>> DecodeStampedBlock(
    const std::shared_ptr<arrow::Schema>& schema, std::int64_t channels,
    std::shared_ptr<arrow::Buffer> raw);

}  // namespace arrowdaq::instruments
