#include "arrowdaq/instruments/message_device.h"
#include "arrowdaq/core/options.h"

#include <arrow/array/data.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

#include "arrowdaq/hardware/ieee488.h"
#include "arrowdaq/hardware/resource.h"
#include "arrowdaq/hardware/tcp_transport.h"

namespace arrowdaq::instruments {

using hardware::EscapeBytes;
using hardware::SerialOptions;
using hardware::StreamTransport;
using hardware::Timeout;

Result<std::unique_ptr<MessageDevice>> MessageDevice::Make(SerialOptions link) {
  ARROW_RETURN_NOT_OK(hardware::ValidateSerialOptions(link));
  return std::make_unique<MessageDevice>(std::move(link));
}

Status MessageDevice::Connect(const std::string& resource, Timeout timeout) {
  ARROW_RETURN_NOT_OK(Disconnect());
  ARROW_ASSIGN_OR_RAISE(const hardware::Resource parsed, hardware::ParseResource(resource));
  std::unique_ptr<StreamTransport> t;
  if (parsed.kind == hardware::ResourceKind::kTcpipSocket) {
    ARROW_ASSIGN_OR_RAISE(t, hardware::TcpTransport::Make(link_.framing));
  } else if (parsed.kind == hardware::ResourceKind::kAsrl) {
    ARROW_ASSIGN_OR_RAISE(t, hardware::SerialTransport::Make(link_));
  } else {
    return Status::Invalid("resource '", resource, "': this driver talks to real devices over ",
                           "TCPIP::<host>::<port>::SOCKET or ASRL<device>::INSTR, not ",
                           hardware::ToString(parsed.kind));
  }
  ARROW_RETURN_NOT_OK(t->Connect(resource, timeout));
  transport_ = std::move(t);
  return Status::OK();
}

Status MessageDevice::Disconnect() {
  if (transport_ != nullptr) ARROW_RETURN_NOT_OK(transport_->Disconnect());
  transport_.reset();
  return Status::OK();
}

Result<StreamTransport*> MessageDevice::transport() {
  if (transport_ == nullptr) return Status::IOError("device not connected (Connect first)");
  if (!transport_->connected()) {
    return Status::IOError(transport_->resource(), ": connection lost; reconnect ",
                           "(Disconnect + Connect)");
  }
  return transport_.get();
}

Result<std::string> MessageDevice::SendCommand(const std::string& command, Timeout timeout) {
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, transport());
  if (!query_rule_) return t->SendCommand(command, timeout);
  if (query_rule_(command)) return t->Query(command, timeout);
  ARROW_RETURN_NOT_OK(t->WriteLine(command, timeout));
  return std::string();
}

Result<std::shared_ptr<arrow::Buffer>> MessageDevice::ReadRawData(Timeout timeout) {
  // A lost connection is the reader's to report: it may still owe the failure that ended its
  // last (short) batch, which says why the connection was lost.
  if (transport_ == nullptr) return Status::IOError("device not connected (Connect first)");
  if (!reader_) return Status::Invalid(transport_->resource(), ": this device has no data reader");
  return reader_(*transport_, timeout);
}

std::string UnescapeTerminator(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      const char next = text[i + 1];
      if (next == 'r' || next == 'n' || next == 't' || next == '\\') {
        out += next == 'r' ? '\r' : next == 'n' ? '\n' : next == 't' ? '\t' : '\\';
        ++i;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

namespace {
std::string EscapeTerminator(const std::string& t) { return EscapeBytes(t); }
}  // namespace

std::vector<OptionSpec> LinkOptionSpecs(const SerialOptions& d, std::int64_t timeout_ms) {
  return {
      {"timeout_ms", timeout_ms, "timeout of one command or query, 1..600000", "ms"},
      {"write_terminator", EscapeTerminator(d.framing.write_terminator),
       "appended to every command (escapes \\r \\n)", ""},
      {"read_terminator", EscapeTerminator(d.framing.read_terminator),
       "ends every reply (escapes \\r \\n)", ""},
      {"baud", d.baud, "serial resources: baud rate", "Bd"},
      {"data_bits", d.data_bits, "serial resources: data bits, 5..8", ""},
      {"parity", d.parity, "serial resources: none | even | odd", ""},
      {"stop_bits", d.stop_bits, "serial resources: 1 or 2", ""},
      {"flow_control", d.flow_control, "serial resources: none | xonxoff | rtscts", ""},
  };
}

Result<SerialOptions> LinkFromOptions(const ResolvedOptions& o) {
  SerialOptions link;
  link.framing.write_terminator = UnescapeTerminator(o.GetString("write_terminator"));
  link.framing.read_terminator = UnescapeTerminator(o.GetString("read_terminator"));
  link.baud = o.GetInt("baud");
  link.data_bits = o.GetInt("data_bits");
  link.parity = o.GetString("parity");
  link.stop_bits = o.GetInt("stop_bits");
  link.flow_control = o.GetString("flow_control");
  const std::int64_t timeout_ms = o.GetInt("timeout_ms");
  if (timeout_ms < 1 || timeout_ms > 600000) {
    return Status::Invalid("option 'timeout_ms' must be 1..600000 (ms), got ", timeout_ms);
  }
  ARROW_RETURN_NOT_OK(hardware::ValidateSerialOptions(link));
  return link;
}

Result<std::string> Identify(StreamTransport& t, const std::string& command,
                             const std::string& expect, Timeout timeout) {
  ARROW_ASSIGN_OR_RAISE(std::string idn, t.Query(command, timeout));
  if (idn.empty() || idn.find(expect) == std::string::npos) {
    return Status::Invalid(t.resource(), ": unexpected ", hardware::ReplyTo(command), ": '",
                           EscapeBytes(idn), "' (expected it to contain '", expect, "')");
  }
  return idn;
}

Status CheckScpiErrors(StreamTransport& t, const std::string& after, Timeout timeout,
                       const std::string& query) {
  std::string errors;
  for (int i = 0; i < 32; ++i) {
    ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query(query, timeout));
    // "+0,"No error"" or "0,..." ends the queue; anything else is an error entry.
    const std::size_t comma = reply.find(',');
    const std::string code = reply.substr(0, comma);
    auto value = hardware::ParseNumber(code);
    if (!value.ok()) {
      return Status::Invalid(t.resource(), ": unexpected ", hardware::ReplyTo(query), ": '",
                             EscapeBytes(reply), "'");
    }
    if (*value == 0) break;
    errors += (errors.empty() ? "" : "; ") + reply;
  }
  if (!errors.empty()) {
    return Status::Invalid(t.resource(), ": device reported errors after ", after, ": ", errors);
  }
  return Status::OK();
}

std::vector<std::string> SplitCommands(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(";;", start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    start = end + 2;
  }
  return out;
}

PollSchedule::PollSchedule(double rate_hz)
    : rate_hz_(rate_hz),
      period_(std::chrono::duration_cast<SteadyClock::duration>(
          std::chrono::duration<double>(1.0 / rate_hz))) {}

void PollSchedule::Restart() { next_ = SteadyClock::now(); }

bool PollSchedule::WaitForNextPoll(SteadyClock::time_point deadline) {
  const auto now = SteadyClock::now();
  if (next_ > now) {
    if (next_ > deadline) return false;
    std::this_thread::sleep_until(next_);
  } else if (now - next_ > period_) {
    next_ = now;  // late (slow device or consumer): restart the schedule, no burst
    ++late_;
  }
  next_ += period_;
  ++polls_;
  return true;
}

void PollSchedule::RecordPollDuration(SteadyClock::duration d) { slowest_ = std::max(slowest_, d); }

std::vector<DriverEvent> PollSchedule::TakeEvents(const std::string& what, double slowest_ms) {
  std::vector<DriverEvent> events;
  if (late_ > 0) {
    if (slowest_ms <= 0) {
      slowest_ms = std::chrono::duration<double, std::milli>(slowest_).count();
    }
    char text[256];
    std::snprintf(text, sizeof(text),
                  "%lld of %lld %s started more than one period (%.6g ms) late: the instrument "
                  "is slower than rate_hz = %g asks%s",
                  static_cast<long long>(late_), static_cast<long long>(polls_), what.c_str(),
                  1e3 / rate_hz_, rate_hz_, slowest_ms > 0 ? "; the slowest took " : "");
    std::string message = text;
    if (slowest_ms > 0) {
      std::snprintf(text, sizeof(text), "%.3g ms", slowest_ms);
      message += text;
    }
    events.push_back({"rate_shortfall", std::move(message)});
  }
  polls_ = late_ = 0;
  slowest_ = {};
  return events;
}

PolledDriver::PolledDriver(PolledConfig config, std::unique_ptr<MessageDevice> device,
                           std::shared_ptr<arrow::Schema> schema)
    : config_(std::move(config)),
      device_(std::move(device)),
      schema_(std::move(schema)),
      schedule_(config_.rate_hz) {
  device_->set_reader([this](StreamTransport& t, Timeout timeout) {
    return PollBatch(t, timeout);
  });
}

Status PolledDriver::Prepare(const PolledConfig& c, std::unique_ptr<MessageDevice>* device,
                             std::shared_ptr<arrow::Schema>* schema,
                             std::vector<std::pair<std::string, std::string>> metadata) {
  if (!(c.rate_hz > 0 && c.rate_hz <= 1e4)) {
    return Status::Invalid("option 'rate_hz' must be > 0 and <= 10000 (Hz), got ",
                           FormatNumber(c.rate_hz));
  }
  if (c.batch_size < 1 || c.batch_size > 1'000'000) {
    return Status::Invalid("option 'batch_size' must be 1..1000000, got ", c.batch_size);
  }
  if (c.channels.empty() || c.channels.size() > 1024) {
    return Status::Invalid("option 'channels' must be 1..1024, got ", c.channels.size());
  }
  metadata.emplace_back("driver", c.driver_name);
  ARROW_ASSIGN_OR_RAISE(*schema, MakeStreamSchema(c.channels, metadata));
  ARROW_ASSIGN_OR_RAISE(*device, MessageDevice::Make(c.link));
  return Status::OK();
}

Timeout PolledDriver::read_timeout() const {
  const double batch_ms =
      std::ceil(static_cast<double>(config_.batch_size) / config_.rate_hz * 1000.0);
  return Timeout{static_cast<std::int64_t>(batch_ms)} + 2 * config_.io_timeout + Timeout{1000};
}

Status PolledDriver::Configure() {
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device_->transport());
  return ConfigureDevice(*t);
}

Status PolledDriver::StartAcquisition() {
  schedule_.Restart();
  pending_ = Status::OK();
  return Status::OK();
}

std::shared_ptr<arrow::Buffer> KeepFirstRows(std::shared_ptr<arrow::Buffer> block,
                                             std::int64_t rows, std::int64_t kept,
                                             const std::vector<std::int64_t>& widths) {
  // Column i starts at 8 * rows * (sum of earlier widths); it moves to 8 * kept * (the same
  // sum). Each destination lies before its source and after every earlier column's new end,
  // so moving the columns in order never overwrites bytes not yet moved.
  std::uint8_t* base = block->mutable_data();
  std::int64_t before = 0;
  for (const std::int64_t w : widths) {
    if (before > 0) {
      std::memmove(base + 8 * kept * before, base + 8 * rows * before,
                   static_cast<std::size_t>(8 * kept * w));
    }
    before += w;
  }
  return arrow::SliceBuffer(std::move(block), 0, 8 * kept * before);
}

Result<std::shared_ptr<arrow::Buffer>> PolledDriver::PollBatch(StreamTransport& t,
                                                               Timeout timeout) {
  if (!pending_.ok()) return std::exchange(pending_, Status::OK());
  const auto deadline = SteadyClock::now() + timeout;
  const std::int64_t rows = config_.batch_size;
  const auto channels = static_cast<std::int64_t>(config_.channels.size());
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> owned,
                        arrow::AllocateBuffer(rows * 8 * (1 + channels)));
  std::shared_ptr<arrow::Buffer> buf = std::move(owned);
  auto* stamps = reinterpret_cast<std::int64_t*>(buf->mutable_data());
  auto* values = reinterpret_cast<double*>(buf->mutable_data() + rows * 8);
  // A failed poll after some rows ends the batch early: keep them, report the failure next.
  auto fail = [&](std::int64_t read, Status st) -> Result<std::shared_ptr<arrow::Buffer>> {
    if (read == 0) return st;
    pending_ = std::move(st);
    return KeepFirstRows(buf, rows, read, std::vector<std::int64_t>(1 + channels, 1));
  };
  for (std::int64_t r = 0; r < rows; ++r) {
    if (!schedule_.WaitForNextPoll(deadline)) {
      return fail(r, Status::IOError(t.resource(), ": batch of ", rows, " polls at ",
                                     config_.rate_hz, " Hz cannot finish within the read ",
                                     "timeout of ", timeout.count(), " ms"));
    }
    last_stamp_ns_ = std::max(WallClockNanos(), last_stamp_ns_ + 1);
    stamps[r] = last_stamp_ns_;
    const auto poll_start = SteadyClock::now();
    auto row = PollRow(t);
    if (!row.ok()) return fail(r, row.status());
    schedule_.RecordPollDuration(SteadyClock::now() - poll_start);
    if (static_cast<std::int64_t>(row->size()) != channels) {
      return fail(r, Status::Invalid(t.resource(), ": poll returned ", row->size(),
                                     " values, expected ", channels, " (one per channel)"));
    }
    for (std::int64_t c = 0; c < channels; ++c) values[c * rows + r] = (*row)[c];
  }
  return buf;
}

Result<std::shared_ptr<arrow::RecordBatch>> PolledDriver::Decode(
    std::shared_ptr<arrow::Buffer> raw) {
  return DecodeStampedBlock(schema_, static_cast<std::int64_t>(config_.channels.size()),
                            std::move(raw));
}

Result<std::shared_ptr<arrow::RecordBatch>> DecodeStampedBlock(
    const std::shared_ptr<arrow::Schema>& schema, std::int64_t channels,
    std::shared_ptr<arrow::Buffer> raw) {
  if (raw == nullptr || !raw->is_cpu()) return Status::Invalid("stamped block is null or not CPU");
  const std::int64_t row_bytes = 8 * (1 + channels);
  if (raw->size() == 0 || raw->size() % row_bytes != 0) {
    return Status::Invalid("stamped block has ", raw->size(), " bytes, not a positive multiple of ",
                           row_bytes, " (int64 timestamp + ", channels, " float64 per row)");
  }
  if (raw->address() % 8 != 0) {
    ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> aligned,
                          arrow::AllocateBuffer(raw->size()));
    std::memcpy(aligned->mutable_data(), raw->data(), static_cast<std::size_t>(raw->size()));
    raw = std::move(aligned);
  }
  const std::int64_t rows = raw->size() / row_bytes;
  std::vector<std::shared_ptr<arrow::ArrayData>> columns;
  columns.push_back(arrow::ArrayData::Make(TimestampType(), rows,
                                           {nullptr, arrow::SliceBuffer(raw, 0, rows * 8)}, 0));
  for (std::int64_t c = 0; c < channels; ++c) {
    columns.push_back(arrow::ArrayData::Make(
        arrow::float64(), rows, {nullptr, arrow::SliceBuffer(raw, (1 + c) * rows * 8, rows * 8)},
        0));
  }
  return arrow::RecordBatch::Make(schema, rows, std::move(columns));
}

}  // namespace arrowdaq::instruments
