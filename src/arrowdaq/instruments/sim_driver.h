// SimDriver: the simulated sources `sim.sine`, `sim.noise` and `sim.ramp` as first-class
// drivers, so the demo and the tests need no hardware. Each owns a SimulatedHardware (values:
// hardware/sim_waveforms.h) and decodes its batches with the shared Float64BlockDecoder
// (zero copy; timestamps: sample_clock.h). The acquisition loop's batches come from a BatchPool
// (core/batch_pool.h): the device fills a recycled batch in place. docs/instruments.md lists the
// options and formulas.
//
// Ownership: the driver owns its hardware and decoder. Threading: the instrument's worker only
// (paced(): a strand of the shared paced pool, one call at a time, reads only when due). RegisterSimDrivers is called once by DriverRegistry::Default().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/hardware/sim_waveforms.h"
#include "arrowdaq/hardware/simulated_hardware.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/float64_block.h"

namespace arrowdaq::instruments {

/// Return the driver name of a waveform: "sim.sine", "sim.noise", "sim.ramp".
std::string SimDriverName(hardware::Waveform waveform);
/// Return the default resource of a waveform: "SIM::sine", ...
std::string SimDefaultResource(hardware::Waveform waveform);

/// Return the options of the driver for `waveform`, with defaults, units and descriptions:
/// rate_hz, batch_size, channels, amplitude, frequency_hz (sine), offset, seed (noise),
/// wrap (ramp), unit, pool_batches, on_pool_exhausted.
std::vector<OptionSpec> SimDriverOptionSpecs(hardware::Waveform waveform);

class SimDriver : public InstrumentDriver {
 public:
  /// Validate `options` (message names the option) and build the driver; `unit` is every
  /// channel's unit. The schema metadata holds driver=sim.<waveform> and
  /// resource=SIM::<waveform>.
  static Result<std::unique_ptr<SimDriver>> Make(const hardware::SimSourceOptions& options,
                                                 const std::string& unit = "V",
                                                 SimPoolOptions pool = {});
  /// Build from options resolved against SimDriverOptionSpecs(waveform), as the registry does
  /// (they are checked again, so other ResolvedOptions give an error, not a crash).
  static Result<std::unique_ptr<SimDriver>> Make(hardware::Waveform waveform,
                                                 const ResolvedOptions& options);

  /// Use Make.
  SimDriver(std::unique_ptr<hardware::SimulatedHardware> hardware, Float64BlockDecoder decoder,
            std::unique_ptr<BatchPool> batches);

  std::shared_ptr<arrow::Schema> schema() const override { return decoder_.schema(); }
  hardware::InstrumentHardware& hardware() override { return *hardware_; }
  /// Return max(1 s, 4 batch periods), a batch period being batch_size / rate_hz.
  hardware::Timeout read_timeout() const override;
  /// Send *RST (sample index back to 0) and check the *IDN? reply names this waveform.
  Status Configure() override;
  /// Send INIT and start a timestamp segment at the wall clock.
  Status StartAcquisition() override;
  /// Send ABOR.
  Status StopAcquisition() override;
  /// Decode exactly batch_size rows; any other size is refused.
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override;
  /// Fill a pooled batch in place (the device writes the channels, the clock the timestamps):
  /// no allocation per batch once the pool is warm. Exhaustion: the pool's policy.
  Result<std::shared_ptr<arrow::RecordBatch>> ReadBatch() override;
  std::optional<BufferPoolStats> pool_stats() const override { return batches_->stats(); }
  std::string_view pool_policy() const override {
    return ToString(batches_->options().on_exhausted);
  }
  /// Samples lost to overruns since the previous call (only with fifo_batches > 0).
  std::int64_t TakeOverrunSamples() override;
  /// A simulated source's read waits only for its batch's deadline: it shares the paced pool.
  bool paced() const override { return true; }
  std::chrono::steady_clock::time_point NextReadDue() const override {
    return hardware_->next_deadline();
  }

  hardware::SimulatedHardware& sim_hardware() { return *hardware_; }
  const hardware::SimSourceOptions& options() const { return hardware_->options(); }
  const SampleClock& clock() const { return decoder_.clock(); }

 private:
  std::unique_ptr<hardware::SimulatedHardware> hardware_;
  Float64BlockDecoder decoder_;
  std::unique_ptr<BatchPool> batches_;  // made by Make, never replaced (pool_stats: any thread)
  std::int64_t clock_skipped_ = 0;      // overrun samples already skipped on the clock
  std::int64_t overruns_reported_ = 0;  // overrun samples already taken by the actor
};

/// Register sim.sine, sim.noise and sim.ramp in `registry`.
Status RegisterSimDrivers(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
