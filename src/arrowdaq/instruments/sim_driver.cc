#include "arrowdaq/instruments/sim_driver.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>

#include "arrowdaq/core/clock.h"

namespace arrowdaq::instruments {

namespace {

using hardware::SimSourceOptions;
using hardware::Waveform;

constexpr hardware::Timeout kCommandTimeout{1000};
constexpr Waveform kWaveforms[] = {Waveform::kSine, Waveform::kNoise, Waveform::kRamp};

std::string Upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return out;
}

std::string Describe(Waveform waveform) {
  switch (waveform) {
    case Waveform::kSine: return "simulated sine source (one phase-shifted sine per channel)";
    case Waveform::kNoise: return "simulated Gaussian white-noise source (counter-based, seeded)";
    case Waveform::kRamp:
      return "simulated ramp source (x = offset + amplitude * ((n + c) mod wrap))";
  }
  return "";
}

}  // namespace

std::string SimDriverName(Waveform waveform) {
  return "sim." + std::string(hardware::ToString(waveform));
}

std::string SimDefaultResource(Waveform waveform) {
  return "SIM::" + std::string(hardware::ToString(waveform));
}

std::vector<OptionSpec> SimDriverOptionSpecs(Waveform waveform) {
  std::vector<OptionSpec> specs = {
      {"rate_hz", 1000.0, "samples per second per channel, > 0 and <= 1e8", "Hz"},
      {"batch_size", std::int64_t{100}, "rows (samples per channel) per batch, 1..10000000", ""},
      {"channels", std::int64_t{1}, "number of channels ch0..ch<N-1>, 1..1024", ""},
      {"amplitude", 1.0, "sine peak / noise standard deviation / ramp step, in the channel unit",
       ""},
  };
  if (waveform == Waveform::kSine) {
    specs.push_back({"frequency_hz", 10.0, "sine frequency", "Hz"});
  }
  specs.push_back({"offset", 0.0, "constant added to every value, in the channel unit", ""});
  if (waveform == Waveform::kNoise) {
    specs.push_back({"seed", std::int64_t{0}, "noise generator seed, >= 0", ""});
  }
  specs.push_back({"fifo_batches", std::int64_t{0},
                   "0: the source pauses when nobody can take its data (lossless); N > 0: it "
                   "runs free with an N-batch FIFO and counts lost samples as overruns",
                   "batches"});
  specs.push_back({"drop_every", std::int64_t{0},
                   "0: off; N > 0: every N-th batch is lost as an overrun (a deterministic hole, "
                   "for tests)",
                   "batches"});
  if (waveform == Waveform::kRamp) {
    specs.push_back({"wrap", hardware::kDefaultRampWrap,
                     "ramp period in samples: the ramp restarts at 0 every wrap samples, 1..2^53",
                     "samples"});
  }
  specs.push_back({"unit", std::string("V"), "unit of every channel (field metadata)", ""});
  for (auto& spec : SimPoolOptionSpecs()) specs.push_back(std::move(spec));
  return specs;
}

Result<std::unique_ptr<SimDriver>> SimDriver::Make(const SimSourceOptions& options,
                                                   const std::string& unit, SimPoolOptions pool) {
  ARROW_ASSIGN_OR_RAISE(auto hw, hardware::SimulatedHardware::Make(options));
  ARROW_ASSIGN_OR_RAISE(auto decoder, Float64BlockDecoder::Make(
                                          options.channels, options.rate_hz, unit,
                                          {{"driver", SimDriverName(options.waveform)},
                                           {"resource", SimDefaultResource(options.waveform)}}));
  const std::int64_t block_bytes = decoder.PooledBlockBytes(options.batch_size);
  auto driver = std::make_unique<SimDriver>(std::move(hw), std::move(decoder), nullptr);
  ARROW_ASSIGN_OR_RAISE(
      driver->batches_,
      BatchPool::Make({.block_bytes = block_bytes,
                       .max_batches = SimPoolBatches(pool, block_bytes),
                       .on_exhausted = pool.on_exhausted,
                       .block_timeout = driver->read_timeout()},
                      driver->decoder_.PooledBuilder(options.batch_size)));
  return driver;
}

Result<std::unique_ptr<SimDriver>> SimDriver::Make(Waveform waveform,
                                                   const ResolvedOptions& given) {
  // Re-resolve against this waveform's specs, so every Get below finds its key with its type
  // even when the caller resolved against other specs.
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions options,
                        ResolvedOptions::Make(SimDriverOptionSpecs(waveform), given.values()));
  const OptionMap& values = options.values();
  SimSourceOptions o;
  o.waveform = waveform;
  o.rate_hz = options.GetDouble("rate_hz");
  o.batch_size = options.GetInt("batch_size");
  o.channels = options.GetInt("channels");
  o.amplitude = options.GetDouble("amplitude");
  o.fifo_batches = options.GetInt("fifo_batches");
  o.drop_every = options.GetInt("drop_every");
  o.offset = options.GetDouble("offset");
  if (values.count("frequency_hz") != 0) o.frequency_hz = options.GetDouble("frequency_hz");
  if (values.count("seed") != 0) {
    const std::int64_t seed = options.GetInt("seed");
    if (seed < 0) return Status::Invalid("option 'seed' must be >= 0, got ", seed);
    o.seed = static_cast<std::uint64_t>(seed);
  }
  if (values.count("wrap") != 0) o.wrap = options.GetInt("wrap");
  const std::string unit = values.count("unit") != 0 ? options.GetString("unit") : "V";
  ARROW_ASSIGN_OR_RAISE(const SimPoolOptions pool, SimPoolOptionsFrom(options));
  return Make(o, unit, pool);
}

SimDriver::SimDriver(std::unique_ptr<hardware::SimulatedHardware> hardware,
                     Float64BlockDecoder decoder, std::unique_ptr<BatchPool> batches)
    : hardware_(std::move(hardware)), decoder_(std::move(decoder)), batches_(std::move(batches)) {}

hardware::Timeout SimDriver::read_timeout() const {
  const SimSourceOptions& o = hardware_->options();
  const double four_periods_ms = 4.0 * static_cast<double>(o.batch_size) / o.rate_hz * 1000.0;
  // Clamped (to ~100 years) so that an absurdly low rate cannot overflow the conversion.
  const double clamped_ms = std::min(std::ceil(four_periods_ms), 3.0e12);
  return std::max(hardware::Timeout{1000},
                  hardware::Timeout{static_cast<std::int64_t>(clamped_ms)});
}

Status SimDriver::Configure() {
  ARROW_RETURN_NOT_OK(hardware_->SendCommand("*RST", kCommandTimeout));
  ARROW_ASSIGN_OR_RAISE(std::string idn, hardware_->SendCommand("*IDN?", kCommandTimeout));
  const std::string expected =
      "arrowdaq,SIM-" + Upper(hardware::ToString(hardware_->options().waveform)) + ",";
  if (idn.rfind(expected, 0) != 0) {
    return Status::Invalid("unexpected *IDN? reply '", idn, "' (expected '", expected, "...')");
  }
  decoder_.clock().Reset();
  return Status::OK();
}

Status SimDriver::StartAcquisition() {
  ARROW_RETURN_NOT_OK(hardware_->SendCommand("INIT", kCommandTimeout));
  decoder_.clock().StartSegment(WallClockNanos());
  return Status::OK();
}

Status SimDriver::StopAcquisition() {
  return hardware_->SendCommand("ABOR", kCommandTimeout).status();
}

Result<std::shared_ptr<arrow::RecordBatch>> SimDriver::Decode(std::shared_ptr<arrow::Buffer> raw) {
  // Samples the hardware skipped (overrun) keep their places on the time grid.
  const std::int64_t lost = hardware_->overrun_samples();
  if (lost > clock_skipped_) {
    decoder_.clock().Skip(lost - clock_skipped_);
    clock_skipped_ = lost;
  }
  return decoder_.Decode(std::move(raw), hardware_->options().batch_size);
}

Result<std::shared_ptr<arrow::RecordBatch>> SimDriver::ReadBatch() {
  if (!decoder_.clock().has_segment()) {
    return Status::Invalid("no acquisition segment: StartAcquisition must precede ReadBatch");
  }
  const std::int64_t rows = hardware_->options().batch_size;
  ARROW_ASSIGN_OR_RAISE(PooledBatch pooled, batches_->Acquire());
  const std::int64_t time_bytes = rows * static_cast<std::int64_t>(sizeof(std::int64_t));
  ARROW_RETURN_NOT_OK(hardware_->ReadInto(
      std::span<std::uint8_t>(pooled.data + time_bytes,
                              static_cast<std::size_t>(hardware_->batch_bytes())),
      read_timeout()));
  // Samples the hardware skipped (overrun) keep their places on the time grid.
  const std::int64_t lost = hardware_->overrun_samples();
  if (lost > clock_skipped_) {
    decoder_.clock().Skip(lost - clock_skipped_);
    clock_skipped_ = lost;
  }
  ARROW_RETURN_NOT_OK(decoder_.StampPooled(rows, pooled.data));
  return std::move(pooled.batch);
}

std::int64_t SimDriver::TakeOverrunSamples() {
  const std::int64_t lost = hardware_->overrun_samples();
  const std::int64_t fresh = lost - overruns_reported_;
  overruns_reported_ = lost;
  return fresh;
}

Status RegisterSimDrivers(DriverRegistry& registry) {
  for (Waveform waveform : kWaveforms) {
    DriverInfo info;
    info.name = SimDriverName(waveform);
    info.description = Describe(waveform);
    info.default_resource = SimDefaultResource(waveform);
    info.options = SimDriverOptionSpecs(waveform);
    info.factory =
        [waveform](const ResolvedOptions& options) -> Result<std::unique_ptr<InstrumentDriver>> {
      ARROW_ASSIGN_OR_RAISE(auto driver, SimDriver::Make(waveform, options));
      return std::unique_ptr<InstrumentDriver>(std::move(driver));
    };
    ARROW_RETURN_NOT_OK(registry.Register(std::move(info)));
  }
  return Status::OK();
}

}  // namespace arrowdaq::instruments
