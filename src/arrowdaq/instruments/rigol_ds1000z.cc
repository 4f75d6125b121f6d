#include "arrowdaq/instruments/rigol_ds1000z.h"
#include "arrowdaq/core/options.h"

#include <arrow/array/data.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <thread>
#include <utility>

#include "arrowdaq/hardware/ieee488.h"

namespace arrowdaq::instruments {

using hardware::StreamTransport;

Result<RigolPreamble> ParseRigolPreamble(std::string_view reply) {
  auto values = hardware::ParseNumberList(reply);
  if (!values.ok() || values->size() != 10) {
    return Status::Invalid(":WAV:PRE? reply '", hardware::EscapeBytes(reply),
                           "' is not 10 comma-separated numbers",
                           values.ok() ? "" : " (" + values.status().message() + ")");
  }
  const auto& v = *values;
  RigolPreamble p;
  for (int i = 0; i < 4; ++i) {
    if (!std::isfinite(v[i]) || v[i] < 0 || v[i] > 1e9 || v[i] != std::floor(v[i])) {
      return Status::Invalid(":WAV:PRE? reply '", hardware::EscapeBytes(reply), "': field ", i,
                             " must be a non-negative integer");
    }
  }
  p.format = static_cast<int>(v[0]);
  p.type = static_cast<int>(v[1]);
  p.points = static_cast<std::int64_t>(v[2]);
  p.count = static_cast<std::int64_t>(v[3]);
  p.x_increment = v[4];
  p.x_origin = v[5];
  p.x_reference = v[6];
  p.y_increment = v[7];
  p.y_origin = v[8];
  p.y_reference = v[9];
  return p;
}

std::vector<OptionSpec> RigolDs1000zOptionSpecs() {
  std::vector<OptionSpec> specs = {
      {"source", std::string("CHAN1"), "waveform source: CHAN1..CHAN4 or MATH", ""},
      {"points", std::int64_t{1200},
       "points per waveform, 1..1200 (the screen; :WAV:STAR 1, :WAV:STOP points)", ""},
      {"rate_hz", 1.0, "waveforms per second, > 0 and <= 100", "Hz"},
      {"batch_size", std::int64_t{1}, "waveforms per batch, 1..1000", ""},
  };
  for (auto& s : LinkOptionSpecs(hardware::SerialOptions{}, 2000)) specs.push_back(std::move(s));
  return specs;
}

RigolDs1000zDriver::RigolDs1000zDriver(std::unique_ptr<MessageDevice> device,
                                       std::shared_ptr<arrow::Schema> schema, std::string source,
                                       std::int64_t points, double rate_hz,
                                       std::int64_t batch_size, hardware::Timeout timeout)
    : device_(std::move(device)),
      schema_(std::move(schema)),
      source_(std::move(source)),
      points_(points),
      rate_hz_(rate_hz),
      batch_size_(batch_size),
      timeout_(timeout),
      schedule_(rate_hz) {
  device_->set_reader([this](StreamTransport& t, hardware::Timeout to) {
    return FetchBatch(t, to);
  });
}

Result<std::unique_ptr<RigolDs1000zDriver>> RigolDs1000zDriver::Make(
    const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions o,
                        ResolvedOptions::Make(RigolDs1000zOptionSpecs(), given.values()));
  const std::string source = o.GetString("source");
  if (source != "CHAN1" && source != "CHAN2" && source != "CHAN3" && source != "CHAN4" &&
      source != "MATH") {
    return Status::Invalid("option 'source' must be CHAN1..CHAN4 or MATH, got \"", source, "\"");
  }
  const std::int64_t points = o.GetInt("points");
  if (points < 1 || points > 1200) {
    return Status::Invalid(
        "option 'points' must be 1..1200 (the screen waveform, NORMal mode), got ", points,
        points > 1200 ? ": more points need RAW mode, the scope stopped and reads of at most "
                        "250000 bytes each, which this driver does not implement"
                      : "");
  }
  const double rate = o.GetDouble("rate_hz");
  if (!(rate > 0 && rate <= 100)) {
    return Status::Invalid("option 'rate_hz' must be > 0 and <= 100 (Hz), got ",
                           FormatNumber(rate));
  }
  const std::int64_t batch = o.GetInt("batch_size");
  if (batch < 1 || batch > 1000) {
    return Status::Invalid("option 'batch_size' must be 1..1000, got ", batch);
  }
  ARROW_ASSIGN_OR_RAISE(auto link, LinkFromOptions(o));
  ARROW_ASSIGN_OR_RAISE(auto device, MessageDevice::Make(link));
  ARROW_ASSIGN_OR_RAISE(
      auto schema,
      MakeStreamSchema(
          {ChannelSpec{"waveform", "V", source + " waveform, " + std::to_string(points) +
                                            " points (fixed_size_list<float64>)",
                       arrow::fixed_size_list(arrow::float64(), static_cast<int32_t>(points))},
           ChannelSpec{"x_increment", "s", "time between points", arrow::float64()},
           ChannelSpec{"x_origin", "s", "time of the first point relative to the trigger",
                       arrow::float64()},
           ChannelSpec{"valid_points", "", "points the scope returned (fewer: NaN after them)",
                       arrow::int64()}},
          {{"driver", "rigol.ds1000z"}, {"source", source}}));
  return std::unique_ptr<RigolDs1000zDriver>(
      new RigolDs1000zDriver(std::move(device), std::move(schema), source, points, rate, batch,
                             hardware::Timeout{o.GetInt("timeout_ms")}));
}

hardware::Timeout RigolDs1000zDriver::read_timeout() const {
  const double batch_ms = std::ceil(static_cast<double>(batch_size_) / rate_hz_ * 1000.0);
  return hardware::Timeout{static_cast<std::int64_t>(batch_ms)} + 2 * batch_size_ * timeout_ +
         hardware::Timeout{1000};
}

Result<RigolPreamble> RigolDs1000zDriver::ReadPreamble(StreamTransport& t) {
  ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query(":WAV:PRE?", timeout_));
  auto p = ParseRigolPreamble(reply);
  if (!p.ok()) return Status::Invalid(t.resource(), ": ", p.status().message());
  if (p->format != 0 || p->type != 0) {
    return Status::Invalid(t.resource(), ": :WAV:PRE? reports format ", p->format, " and type ",
                           p->type, "; expected 0 (BYTE) and 0 (NORMal) after :WAV:FORM BYTE ",
                           "and :WAV:MODE NORM");
  }
  return p;
}

Status RigolDs1000zDriver::SendWaveformSettings(StreamTransport& t) {
  for (const std::string& command :
       {":WAV:SOUR " + source_, std::string(":WAV:MODE NORM"), std::string(":WAV:FORM BYTE"),
        std::string(":WAV:STAR 1"), ":WAV:STOP " + std::to_string(points_)}) {
    ARROW_RETURN_NOT_OK(t.WriteLine(command, timeout_));
  }
  return Status::OK();
}

Status RigolDs1000zDriver::Configure() {
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device_->transport());
  ARROW_ASSIGN_OR_RAISE(idn_, Identify(*t, "*IDN?", "RIGOL", timeout_));
  if (idn_.find("DS1") == std::string::npos && idn_.find("MSO1") == std::string::npos) {
    return Status::Invalid(t->resource(), ": *IDN? reply '", hardware::EscapeBytes(idn_),
                           "' names no DS1000Z/MSO1000Z scope");
  }
  ARROW_RETURN_NOT_OK(t->WriteLine("*CLS", timeout_));
  ARROW_RETURN_NOT_OK(SendWaveformSettings(*t));
  ARROW_RETURN_NOT_OK(CheckScpiErrors(*t, "the waveform settings", timeout_, ":SYST:ERR?"));
  return ReadPreamble(*t).status();
}

Status RigolDs1000zDriver::StartAcquisition() {
  schedule_.Restart();
  pending_ = Status::OK();
  return Status::OK();
}

Result<std::shared_ptr<arrow::Buffer>> RigolDs1000zDriver::FetchBatch(StreamTransport& t,
                                                                      hardware::Timeout timeout) {
  if (!pending_.ok()) return std::exchange(pending_, Status::OK());
  const auto deadline = SteadyClock::now() + timeout;
  const std::int64_t rows = batch_size_;
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> owned,
                        arrow::AllocateBuffer(rows * 8 * (4 + points_)));
  std::shared_ptr<arrow::Buffer> buf = std::move(owned);
  auto* stamps = reinterpret_cast<std::int64_t*>(buf->mutable_data());
  auto* x_inc = reinterpret_cast<double*>(buf->mutable_data() + rows * 8);
  auto* x_org = x_inc + rows;
  auto* valid = reinterpret_cast<std::int64_t*>(x_org + rows);
  auto* volts = reinterpret_cast<double*>(valid + rows);
  // A failed read after some waveforms ends the batch early: keep them, report it next.
  auto fail = [&](std::int64_t read, Status st) -> Result<std::shared_ptr<arrow::Buffer>> {
    if (read == 0) return st;
    pending_ = std::move(st);
    return KeepFirstRows(buf, rows, read, {1, 1, 1, 1, points_});
  };
  for (std::int64_t r = 0; r < rows; ++r) {
    if (!schedule_.WaitForNextPoll(deadline)) {
      return fail(r, Status::IOError(t.resource(), ": batch of ", rows, " waveforms at ",
                                     rate_hz_, " Hz cannot finish within the read timeout of ",
                                     timeout.count(), " ms"));
    }
    last_stamp_ns_ = std::max(WallClockNanos(), last_stamp_ns_ + 1);
    stamps[r] = last_stamp_ns_;
    const auto started = SteadyClock::now();
    if (Status st = SendWaveformSettings(t); !st.ok()) return fail(r, st);
    auto p = ReadPreamble(t);
    if (!p.ok()) return fail(r, p.status());
    auto block = t.QueryBlock(":WAV:DATA?", timeout_);
    if (!block.ok()) return fail(r, block.status());
    const std::string& data = *block;
    const auto n = static_cast<std::int64_t>(data.size());
    if (n > points_) {
      return fail(r, Status::Invalid(t.resource(), ": ", hardware::ReplyTo(":WAV:DATA?"),
                                     ": block of ", n, " bytes, more than the ", points_,
                                     " points asked for (:WAV:STAR 1, :WAV:STOP ", points_, ")"));
    }
    schedule_.RecordPollDuration(SteadyClock::now() - started);
    x_inc[r] = p->x_increment;
    x_org[r] = p->x_origin;
    valid[r] = n;
    double* out = volts + r * points_;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto byte = static_cast<unsigned char>(data[static_cast<std::size_t>(i)]);
      out[i] = (static_cast<double>(byte) - p->y_origin - p->y_reference) * p->y_increment;
    }
    for (std::int64_t i = n; i < points_; ++i) out[i] = std::numeric_limits<double>::quiet_NaN();
    ++waveforms_;
    if (n < points_) {
      fewest_points_ = short_waveforms_ == 0 ? n : std::min(fewest_points_, n);
      ++short_waveforms_;
    }
  }
  return buf;
}

std::vector<DriverEvent> RigolDs1000zDriver::TakeEvents() {
  std::vector<DriverEvent> events = schedule_.TakeEvents("waveforms");
  if (short_waveforms_ > 0) {
    events.push_back({"info", std::to_string(short_waveforms_) + " of " +
                                  std::to_string(waveforms_) + " waveforms had fewer than " +
                                  std::to_string(points_) + " points (fewest " +
                                  std::to_string(fewest_points_) +
                                  "; a stopped scope with its trace scrolled): NaN after the "
                                  "points returned, see valid_points"});
  }
  waveforms_ = short_waveforms_ = fewest_points_ = 0;
  return events;
}

Result<std::shared_ptr<arrow::RecordBatch>> RigolDs1000zDriver::Decode(
    std::shared_ptr<arrow::Buffer> raw) {
  if (raw == nullptr || !raw->is_cpu()) return Status::Invalid("waveform block is null");
  const std::int64_t row_bytes = 8 * (4 + points_);
  if (raw->size() == 0 || raw->size() % row_bytes != 0 || raw->address() % 8 != 0) {
    return Status::Invalid("waveform block has ", raw->size(), " bytes, not a positive multiple ",
                           "of ", row_bytes, " (8-byte aligned)");
  }
  const std::int64_t rows = raw->size() / row_bytes;
  auto column = [&](std::int64_t offset_values, std::int64_t n) {
    return arrow::SliceBuffer(raw, offset_values * 8, n * 8);
  };
  auto values = arrow::ArrayData::Make(arrow::float64(), rows * points_,
                                       {nullptr, column(4 * rows, rows * points_)}, 0);
  auto waveform = arrow::ArrayData::Make(schema_->field(1)->type(), rows, {nullptr}, 0);
  waveform->child_data.push_back(std::move(values));
  std::vector<std::shared_ptr<arrow::ArrayData>> columns = {
      arrow::ArrayData::Make(TimestampType(), rows, {nullptr, column(0, rows)}, 0),
      std::move(waveform),
      arrow::ArrayData::Make(arrow::float64(), rows, {nullptr, column(rows, rows)}, 0),
      arrow::ArrayData::Make(arrow::float64(), rows, {nullptr, column(2 * rows, rows)}, 0),
      arrow::ArrayData::Make(arrow::int64(), rows, {nullptr, column(3 * rows, rows)}, 0),
  };
  return arrow::RecordBatch::Make(schema_, rows, std::move(columns));
}

Status RegisterRigolDs1000z(DriverRegistry& registry) {
  DriverInfo info;
  info.name = "rigol.ds1000z";
  info.description = "Rigol DS1000Z oscilloscope over LAN: one waveform (BYTE block) per row";
  info.default_resource = "";
  info.options = RigolDs1000zOptionSpecs();
  info.factory = FactoryOf(&RigolDs1000zDriver::Make);
  return registry.Register(std::move(info));
}

}  // namespace arrowdaq::instruments
