#include "acme_tm2.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>

#include <arrowdaq/core/schema.h>
#include <arrowdaq/instruments/message_device.h>

namespace acme {

using ad::Result;
using ad::Status;
using ad::hardware::Timeout;

std::vector<ad::OptionSpec> Tm2Driver::OptionSpecs() {
  return {
      {"rate_hz", 10.0, "samples per second, 1..1000", "Hz"},
      {"batch_size", std::int64_t{10}, "samples per FETCH?, 1..10000", ""},
      {"timeout_ms", std::int64_t{1000}, "timeout of one command, 1..60000", "ms"},
  };
}

Result<std::unique_ptr<Tm2Driver>> Tm2Driver::Make(const ad::ResolvedOptions& options) {
  // The SDK's MessageDevice opens TCPIP::host::port::SOCKET (or a serial line) and runs our
  // reader for each ReadRawData: one FETCH? per batch.
  ARROW_ASSIGN_OR_RAISE(auto device, ad::instruments::MessageDevice::Make({}));
  const std::int64_t n = options.GetInt("batch_size");
  device->set_reader([n](ad::hardware::StreamTransport& t, Timeout timeout)
                         -> Result<std::shared_ptr<arrow::Buffer>> {
    ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query("FETCH? " + std::to_string(n), timeout));
    return arrow::Buffer::FromString(std::move(reply));
  });
  return Make(options, std::move(device));
}

Result<std::unique_ptr<Tm2Driver>> Tm2Driver::Make(
    const ad::ResolvedOptions& options,
    std::unique_ptr<ad::hardware::InstrumentHardware> hardware) {
  const double rate = options.GetDouble("rate_hz");
  if (!(rate >= 1 && rate <= 1000)) {
    return Status::Invalid("option 'rate_hz' must be 1..1000 (Hz), got ", rate);
  }
  const std::int64_t batch = options.GetInt("batch_size");
  if (batch < 1 || batch > 10000) {
    return Status::Invalid("option 'batch_size' must be 1..10000, got ", batch);
  }
  const std::int64_t timeout = options.GetInt("timeout_ms");
  if (timeout < 1 || timeout > 60000) {
    return Status::Invalid("option 'timeout_ms' must be 1..60000 (ms), got ", timeout);
  }
  ARROW_ASSIGN_OR_RAISE(
      auto schema,
      ad::MakeStreamSchema(
          {{"sample", "", "sample index since START", arrow::int64()},
           {"inlet", "degC", "inlet temperature"},
           {"outlet", "degC", "outlet temperature"}},
          {{"driver", "acme.tm2"}, {ad::kRateKey, ad::FormatRate(rate)}}));
  return std::unique_ptr<Tm2Driver>(new Tm2Driver(rate, batch, Timeout{timeout},
                                                  std::move(hardware), std::move(schema)));
}

Tm2Driver::Tm2Driver(double rate_hz, std::int64_t batch_size, Timeout timeout,
                     std::unique_ptr<ad::hardware::InstrumentHardware> hardware,
                     std::shared_ptr<arrow::Schema> schema)
    : rate_hz_(rate_hz),
      batch_size_(batch_size),
      timeout_(timeout),
      hardware_(std::move(hardware)),
      schema_(std::move(schema)) {}

Timeout Tm2Driver::read_timeout() const {
  // A FETCH? waits for batch_size samples to be taken.
  return Timeout{static_cast<std::int64_t>(1000.0 * static_cast<double>(batch_size_) / rate_hz_)} +
         2 * timeout_;
}

Status Tm2Driver::Configure() {
  ARROW_ASSIGN_OR_RAISE(idn_, hardware_->SendCommand("*IDN?", timeout_));
  if (idn_.rfind("ACME,TM-2,", 0) != 0) {
    return Status::Invalid("not an Acme TM-2: *IDN? answered '", idn_, "'");
  }
  char rate[32];
  const auto end = std::to_chars(rate, rate + sizeof rate, rate_hz_).ptr;
  ARROW_RETURN_NOT_OK(hardware_->SendCommand("RATE " + std::string(rate, end), timeout_));
  ARROW_ASSIGN_OR_RAISE(const std::string set, hardware_->SendCommand("RATE?", timeout_));
  double readback = 0;
  const auto parsed = std::from_chars(set.data(), set.data() + set.size(), readback);
  if (parsed.ec != std::errc() || readback != rate_hz_) {
    return Status::Invalid("the TM-2 did not take RATE ", std::string(rate, end),
                           ": RATE? answered '", set, "'");
  }
  return Status::OK();
}

Status Tm2Driver::StartAcquisition() {
  ARROW_RETURN_NOT_OK(hardware_->SendCommand("START", timeout_).status());
  start_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  next_sample_ = 0;
  return Status::OK();
}

Status Tm2Driver::StopAcquisition() { return hardware_->SendCommand("STOP", timeout_).status(); }

std::vector<ad::instruments::DriverEvent> Tm2Driver::TakeEvents() {
  std::vector<ad::instruments::DriverEvent> events;
  if (lost_ > 0) {
    events.push_back({"gap", std::to_string(lost_) + " samples dropped by the TM-2"});
  }
  lost_ = 0;
  return events;
}

Result<std::shared_ptr<arrow::RecordBatch>> Tm2Driver::Decode(std::shared_ptr<arrow::Buffer> raw) {
  const std::string_view text(reinterpret_cast<const char*>(raw->data()),
                              static_cast<std::size_t>(raw->size()));
  std::vector<double> values;
  std::int64_t first = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  for (bool head = true;; head = false) {
    const char* comma = std::find(p, end, ',');
    std::from_chars_result r{};
    if (head) {
      r = std::from_chars(p, comma, first);
    } else {
      double v = 0;
      r = std::from_chars(p, comma, v);
      values.push_back(v);
    }
    if (r.ec != std::errc() || r.ptr != comma) {
      return Status::Invalid("FETCH? reply is not '<index>,<numbers>...': '",
                             std::string(text.substr(0, 80)), "'");
    }
    if (comma == end) break;
    p = comma + 1;
  }
  if (values.empty() || values.size() % 2 != 0 || first < next_sample_) {
    return Status::Invalid("FETCH? reply has ", values.size(), " values from sample ", first,
                           " (expected pairs from sample ", next_sample_, " on)");
  }
  lost_ += first - next_sample_;
  const auto rows = static_cast<std::int64_t>(values.size() / 2);
  next_sample_ = first + rows;
  arrow::TimestampBuilder stamps(ad::TimestampType(), arrow::default_memory_pool());
  arrow::Int64Builder samples;
  arrow::DoubleBuilder inlet, outlet;
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t k = first + i;
    ARROW_RETURN_NOT_OK(stamps.Append(
        start_ns_ + static_cast<std::int64_t>(std::llround(1e9 * static_cast<double>(k) / rate_hz_))));
    ARROW_RETURN_NOT_OK(samples.Append(k));
    ARROW_RETURN_NOT_OK(inlet.Append(values[2 * i]));
    ARROW_RETURN_NOT_OK(outlet.Append(values[2 * i + 1]));
  }
  std::vector<std::shared_ptr<arrow::Array>> columns(4);
  ARROW_RETURN_NOT_OK(stamps.Finish(&columns[0]));
  ARROW_RETURN_NOT_OK(samples.Finish(&columns[1]));
  ARROW_RETURN_NOT_OK(inlet.Finish(&columns[2]));
  ARROW_RETURN_NOT_OK(outlet.Finish(&columns[3]));
  return arrow::RecordBatch::Make(schema_, rows, std::move(columns));
}

void Tm2Drivers(std::vector<ad::instruments::DriverInfo>* out) {
  ad::instruments::DriverInfo info;
  info.name = "acme.tm2";
  info.description = "Acme TM-2 two-channel temperature monitor (TCP socket, FETCH? blocks)";
  info.default_resource = "";  // a real device: the config must give TCPIP::host::port::SOCKET
  info.options = Tm2Driver::OptionSpecs();
  info.factory = [](const ad::ResolvedOptions& options)
      -> Result<std::unique_ptr<ad::instruments::InstrumentDriver>> { return Tm2Driver::Make(options); };
  out->push_back(std::move(info));
}

}  // namespace acme
