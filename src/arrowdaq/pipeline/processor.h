// Processors: the transforms behind derived streams (`[[processors]]` in the config). A
// Processor turns each batch of its input stream into a batch of its output stream, keeping
// whatever state the transform needs across batches (filter history, decimation phase), so
// that the output does not depend on how the input was cut into batches.
//
// Kinds: "fir" (windowed-sinc FIR per channel), "decimate" (anti-alias FIR + keep every q-th
// sample), "moving_average", "stats" (one row of min/max/mean/std/rms per channel per batch).
// The output schema records provenance in its metadata: the kind, the input stream, the
// parameters and, for FIR-based kinds, the exact coefficients, so anyone can recompute the
// output from the stored input.
//
// Threading: a Processor is used by one thread at a time (its ProcessorActor's thread).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::pipeline {

inline constexpr char kProcessorKindKey[] = "arrowdaq.processor";
inline constexpr char kProcessorInputKey[] = "arrowdaq.input";
inline constexpr char kProcessorParametersKey[] = "arrowdaq.parameters";
inline constexpr char kProcessorCoefficientsKey[] = "arrowdaq.coefficients";
/// FIR, moving average, decimate: the filter's group delay, (taps - 1) / 2 input samples, and
/// the same in ns at the input's rate; the output timestamps are the input's minus it.
inline constexpr char kGroupDelaySamplesKey[] = "arrowdaq.group_delay_samples";
inline constexpr char kGroupDelayNsKey[] = "arrowdaq.group_delay_ns";
/// "group_delay" when the timestamps were shifted by it, "none" when not (no known rate).
inline constexpr char kTimestampShiftKey[] = "arrowdaq.timestamp_shift";

struct ProcessorSpec {
  std::string kind;
  std::string output;  ///< name of the derived stream
  std::shared_ptr<const StreamInfo> input;
  OptionMap options;
};

class Processor {
 public:
  virtual ~Processor() = default;
  /// Return the schema of the derived stream (timestamp first, provenance in metadata).
  virtual const std::shared_ptr<arrow::Schema>& output_schema() const = 0;
  /// Transform one input batch; the result may have zero rows (a decimator between outputs).
  virtual Result<std::shared_ptr<arrow::RecordBatch>> Process(const arrow::RecordBatch& batch) = 0;
};

/// Return the processor kinds, sorted.
std::vector<std::string> ProcessorKinds();
/// Return the options `kind` accepts (with defaults), or an error naming the known kinds.
Result<std::vector<OptionSpec>> ProcessorOptionSpecs(const std::string& kind);
/// Build a processor; errors name the option and the reason (a cutoff at or above Nyquist,
/// zero taps, an unknown window, an input with no sample rate, ...).
Result<std::unique_ptr<Processor>> MakeProcessor(const ProcessorSpec& spec);

}  // namespace arrowdaq::pipeline
