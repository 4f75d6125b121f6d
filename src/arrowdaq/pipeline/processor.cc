#include "arrowdaq/pipeline/processor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/builder.h>
#include <arrow/util/key_value_metadata.h>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/dsp/batch_stats.h"
#include "arrowdaq/dsp/decimator.h"
#include "arrowdaq/dsp/fir_design.h"
#include "arrowdaq/dsp/fir_filter.h"

namespace arrowdaq::pipeline {

namespace {

const std::map<std::string, std::vector<OptionSpec>>& Specs() {
  static const auto* specs = new std::map<std::string, std::vector<OptionSpec>>{
      {"fir",
       {{"cutoff_hz", 0.0, "cutoff frequency (lower edge for band filters); required", "Hz"},
        {"cutoff_high_hz", 0.0, "upper edge for bandpass/bandstop", "Hz"},
        {"pass", std::string("lowpass"), "lowpass, highpass, bandpass or bandstop", ""},
        {"taps", std::int64_t{63}, "number of coefficients (odd for highpass/bandstop)", ""},
        {"window", std::string("hamming"),
         "hamming, hann, blackman, rectangular or kaiser:<beta>", ""}}},
      {"decimate",
       {{"factor", std::int64_t{4}, "keep every factor-th sample after an anti-alias FIR "
                                    "(scipy.signal.decimate's FIR)", ""}}},
      {"moving_average", {{"window", std::int64_t{10}, "samples averaged", ""}}},
      {"stats", {}},
  };
  return *specs;
}

std::string FormatDoubles(const std::vector<double>& v) {
  std::string out;
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%.17g", v[i]);
    if (i) out += ',';
    out += buf;
  }
  return out;
}

std::string FormatParameters(const OptionMap& options) {
  std::string out;
  for (const auto& [k, v] : options) {
    out += (out.empty() ? "" : ";") + k + "=" + FormatOptionValue(v);
  }
  return out;
}

// The float64 channel columns of the input (every column after the timestamp must be one).
Result<std::vector<ChannelSpec>> InputChannels(const StreamInfo& input) {
  std::vector<ChannelSpec> channels;
  const auto& schema = *input.schema;
  for (int i = 1; i < schema.num_fields(); ++i) {
    const auto& f = schema.field(i);
    if (f->type()->id() != arrow::Type::DOUBLE) {
      return Status::Invalid("input stream '", input.name, "' column '", f->name(), "' is ",
                             f->type()->ToString(), "; processors take float64 channels");
    }
    std::string description;
    if (f->metadata() != nullptr) {
      auto d = f->metadata()->Get(kDescriptionKey);
      if (d.ok()) description = *d;
    }
    channels.push_back({f->name(), FieldUnit(*f), description, arrow::float64()});
  }
  return channels;
}

Result<std::shared_ptr<arrow::Schema>> OutputSchema(
    const ProcessorSpec& spec, const std::vector<ChannelSpec>& channels,
    std::vector<std::pair<std::string, std::string>> extra) {
  extra.insert(extra.begin(), {{kProcessorKindKey, spec.kind},
                               {kProcessorInputKey, spec.input->name},
                               {kProcessorParametersKey, FormatParameters(spec.options)}});
  return MakeStreamSchema(channels, extra);
}

Result<std::shared_ptr<arrow::Buffer>> AllocateDoubles(int64_t n) {
  ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(double))));
  return std::shared_ptr<arrow::Buffer>(std::move(buf));
}

std::span<const double> Values(const arrow::Array& a) {
  const auto& d = static_cast<const arrow::DoubleArray&>(a);
  return {d.raw_values(), static_cast<size_t>(d.length())};
}

std::shared_ptr<arrow::Array> DoubleArrayOf(std::shared_ptr<arrow::Buffer> buf, int64_t n) {
  return std::make_shared<arrow::DoubleArray>(n, std::move(buf));
}

Status CheckInputBatch(const arrow::RecordBatch& batch, size_t channels) {
  if (static_cast<size_t>(batch.num_columns()) != channels + 1) {
    return Status::Invalid("batch has ", batch.num_columns(), " columns, expected ",
                           channels + 1);
  }
  for (int i = 1; i < batch.num_columns(); ++i) {
    if (batch.column(i)->null_count() != 0) {
      return Status::Invalid("column '", batch.schema()->field(i)->name(), "' has nulls");
    }
  }
  return Status::OK();
}

// The group delay of a linear-phase (symmetric) FIR of `taps` coefficients: (taps - 1) / 2
// samples, in ns at `rate` (0 when the rate is unknown).
struct GroupDelay {
  double samples = 0;
  std::int64_t ns = 0;
};

GroupDelay DelayOf(std::int64_t taps, const Result<double>& rate) {
  GroupDelay d;
  d.samples = static_cast<double>(taps - 1) / 2.0;
  if (rate.ok() && *rate > 0) d.ns = std::llround(d.samples * 1e9 / *rate);
  return d;
}

// Schema metadata that says how the stream's timestamps relate to its input's.
std::vector<std::pair<std::string, std::string>> DelayMetadata(const GroupDelay& d) {
  char samples[32];
  std::snprintf(samples, sizeof(samples), "%.17g", d.samples);
  return {{kGroupDelaySamplesKey, samples},
          {kGroupDelayNsKey, std::to_string(d.ns)},
          {kTimestampShiftKey, d.ns != 0 ? "group_delay" : "none"}};
}

// Return the timestamps ts[first], ts[first + stride], ... (count of them), each minus
// `delay_ns`: the time at which the filtered signal's sample actually happened.
Result<std::shared_ptr<arrow::Array>> ShiftedTimestamps(const arrow::RecordBatch& batch,
                                                        std::int64_t first, std::int64_t stride,
                                                        std::int64_t count,
                                                        std::int64_t delay_ns) {
  const auto& ts = static_cast<const arrow::TimestampArray&>(*batch.column(0));
  ARROW_ASSIGN_OR_RAISE(auto buf, arrow::AllocateBuffer(count * 8));
  auto* out = reinterpret_cast<std::int64_t*>(buf->mutable_data());
  for (std::int64_t k = 0; k < count; ++k) out[k] = ts.Value(first + k * stride) - delay_ns;
  return std::make_shared<arrow::TimestampArray>(batch.schema()->field(0)->type(), count,
                                                 std::shared_ptr<arrow::Buffer>(std::move(buf)));
}

// FIR and moving average: one streaming filter per channel. Both are linear-phase (symmetric
// coefficients), so output sample n is the filtered signal at input sample n - (taps - 1) / 2:
// its timestamp is the input's minus that group delay, and input and output plotted on their
// own timestamps line up. Without a known rate the timestamps pass through unchanged (the same
// array, no copy), and the delay in samples is still in the schema metadata.
class FilterProcessor : public Processor {
 public:
  FilterProcessor(std::shared_ptr<arrow::Schema> schema, std::vector<dsp::FirFilter<double>> filters,
                  std::int64_t delay_ns)
      : schema_(std::move(schema)), filters_(std::move(filters)), delay_ns_(delay_ns) {}
  const std::shared_ptr<arrow::Schema>& output_schema() const override { return schema_; }
  Result<std::shared_ptr<arrow::RecordBatch>> Process(const arrow::RecordBatch& batch) override {
    ARROW_RETURN_NOT_OK(CheckInputBatch(batch, filters_.size()));
    const int64_t n = batch.num_rows();
    arrow::ArrayVector columns{batch.column(0)};
    if (delay_ns_ != 0) {
      ARROW_ASSIGN_OR_RAISE(columns[0], ShiftedTimestamps(batch, 0, 1, n, delay_ns_));
    }
    for (size_t c = 0; c < filters_.size(); ++c) {
      ARROW_ASSIGN_OR_RAISE(auto buf, AllocateDoubles(n));
      filters_[c].Process(Values(*batch.column(static_cast<int>(c) + 1)),
                          {reinterpret_cast<double*>(buf->mutable_data()), static_cast<size_t>(n)});
      columns.push_back(DoubleArrayOf(std::move(buf), n));
    }
    return arrow::RecordBatch::Make(schema_, n, std::move(columns));
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<dsp::FirFilter<double>> filters_;
  std::int64_t delay_ns_;
};

class DecimateProcessor : public Processor {
 public:
  DecimateProcessor(std::shared_ptr<arrow::Schema> schema, std::vector<dsp::Decimator<double>> d,
                    int q, std::int64_t delay_ns)
      : schema_(std::move(schema)), decimators_(std::move(d)), q_(q), delay_ns_(delay_ns) {}
  const std::shared_ptr<arrow::Schema>& output_schema() const override { return schema_; }
  Result<std::shared_ptr<arrow::RecordBatch>> Process(const arrow::RecordBatch& batch) override {
    ARROW_RETURN_NOT_OK(CheckInputBatch(batch, decimators_.size()));
    const int64_t n = batch.num_rows();
    // Kept samples are the global indices 0, q, 2q, ... (scipy's y[::q]).
    const int64_t first = (q_ - index_ % q_) % q_;
    const int64_t kept = first < n ? (n - first + q_ - 1) / q_ : 0;
    // The anti-alias FIR delays the signal by its group delay (in input samples), as in
    // FilterProcessor: kept sample k carries the input timestamp of its index minus that delay.
    ARROW_ASSIGN_OR_RAISE(auto ts_out, ShiftedTimestamps(batch, first, q_, kept, delay_ns_));
    arrow::ArrayVector columns{std::move(ts_out)};
    for (size_t c = 0; c < decimators_.size(); ++c) {
      auto& d = decimators_[c];
      const size_t expect = d.OutputSize(static_cast<size_t>(n));
      if (static_cast<int64_t>(expect) != kept) {
        return Status::Invalid("decimator phase out of step (", expect, " vs ", kept, ")");
      }
      ARROW_ASSIGN_OR_RAISE(auto buf, AllocateDoubles(kept));
      ARROW_ASSIGN_OR_RAISE(size_t got,
                            d.Process(Values(*batch.column(static_cast<int>(c) + 1)),
                                      {reinterpret_cast<double*>(buf->mutable_data()),
                                       static_cast<size_t>(kept)}));
      (void)got;
      columns.push_back(DoubleArrayOf(std::move(buf), kept));
    }
    index_ += n;
    return arrow::RecordBatch::Make(schema_, kept, std::move(columns));
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<dsp::Decimator<double>> decimators_;
  int q_;
  std::int64_t delay_ns_;
  int64_t index_ = 0;  // global index of the next input sample
};

class StatsProcessor : public Processor {
 public:
  StatsProcessor(std::shared_ptr<arrow::Schema> schema, size_t channels)
      : schema_(std::move(schema)), channels_(channels) {}
  const std::shared_ptr<arrow::Schema>& output_schema() const override { return schema_; }
  Result<std::shared_ptr<arrow::RecordBatch>> Process(const arrow::RecordBatch& batch) override {
    ARROW_RETURN_NOT_OK(CheckInputBatch(batch, channels_));
    if (batch.num_rows() == 0) return arrow::RecordBatch::MakeEmpty(schema_);
    arrow::TimestampBuilder tsb(schema_->field(0)->type(), arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(
        tsb.Append(static_cast<const arrow::TimestampArray&>(*batch.column(0)).Value(0)));
    ARROW_ASSIGN_OR_RAISE(auto ts, tsb.Finish());
    arrow::ArrayVector columns{ts};
    for (size_t c = 0; c < channels_; ++c) {
      const auto s = dsp::BatchStats::Compute(Values(*batch.column(static_cast<int>(c) + 1)));
      for (double v : {s.min, s.max, s.mean, s.std, s.rms}) {
        arrow::DoubleBuilder b;
        ARROW_RETURN_NOT_OK(b.Append(v));
        ARROW_ASSIGN_OR_RAISE(auto a, b.Finish());
        columns.push_back(a);
      }
    }
    return arrow::RecordBatch::Make(schema_, 1, std::move(columns));
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  size_t channels_;
};

Result<std::unique_ptr<Processor>> MakeFir(const ProcessorSpec& spec, const ResolvedOptions& o,
                                           const std::vector<ChannelSpec>& channels) {
  ARROW_ASSIGN_OR_RAISE(double rate, StreamRate(*spec.input->schema));
  const double cutoff = o.GetDouble("cutoff_hz");
  const double high = o.GetDouble("cutoff_high_hz");
  const int64_t taps = o.GetInt("taps");
  if (taps < 1 || taps > 100'000) {
    return Status::Invalid("option 'taps' must be between 1 and 100000, got ", taps);
  }
  ARROW_ASSIGN_OR_RAISE(auto pass, dsp::ParsePassKind(o.GetString("pass")));
  ARROW_ASSIGN_OR_RAISE(auto window, dsp::ParseWindow(o.GetString("window")));
  if (!(cutoff > 0)) return Status::Invalid("option 'cutoff_hz' must be > 0, got ", cutoff);
  if (cutoff >= rate / 2) {
    return Status::Invalid("option 'cutoff_hz' (", cutoff, " Hz) must be below the Nyquist "
                           "frequency of '", spec.input->name, "' (", rate / 2, " Hz)");
  }
  std::vector<double> edges{cutoff};
  if (pass == dsp::PassKind::kBandpass || pass == dsp::PassKind::kBandstop) {
    if (!(high > cutoff)) {
      return Status::Invalid("option 'cutoff_high_hz' must be above cutoff_hz for a band filter");
    }
    edges.push_back(high);
  }
  ARROW_ASSIGN_OR_RAISE(auto coefficients,
                        dsp::Firwin(static_cast<int>(taps), edges, rate, pass, window));
  std::vector<dsp::FirFilter<double>> filters;
  for (size_t c = 0; c < channels.size(); ++c) {
    ARROW_ASSIGN_OR_RAISE(auto f, dsp::FirFilter<double>::Make(coefficients));
    filters.push_back(std::move(f));
  }
  const GroupDelay delay = DelayOf(taps, rate);
  std::vector<std::pair<std::string, std::string>> extra{
      {kProcessorCoefficientsKey, FormatDoubles(coefficients)}, {kRateKey, FormatRate(rate)}};
  for (auto& kv : DelayMetadata(delay)) extra.push_back(std::move(kv));
  ARROW_ASSIGN_OR_RAISE(auto schema, OutputSchema(spec, channels, std::move(extra)));
  return std::make_unique<FilterProcessor>(std::move(schema), std::move(filters), delay.ns);
}

Result<std::unique_ptr<Processor>> MakeMovingAverage(const ProcessorSpec& spec,
                                                     const ResolvedOptions& o,
                                                     const std::vector<ChannelSpec>& channels) {
  const int64_t window = o.GetInt("window");
  if (window < 1 || window > 10'000'000) {
    return Status::Invalid("option 'window' must be between 1 and 10000000, got ", window);
  }
  std::vector<double> coefficients(static_cast<size_t>(window), 1.0 / static_cast<double>(window));
  std::vector<dsp::FirFilter<double>> filters;
  for (size_t c = 0; c < channels.size(); ++c) {
    ARROW_ASSIGN_OR_RAISE(auto f, dsp::FirFilter<double>::Make(coefficients));
    filters.push_back(std::move(f));
  }
  std::vector<std::pair<std::string, std::string>> extra;
  const auto rate = StreamRate(*spec.input->schema);
  if (rate.ok()) extra.emplace_back(kRateKey, FormatRate(*rate));
  // A moving average is a symmetric FIR (a boxcar): the same group delay, (window - 1) / 2.
  const GroupDelay delay = DelayOf(window, rate);
  for (auto& kv : DelayMetadata(delay)) extra.push_back(std::move(kv));
  ARROW_ASSIGN_OR_RAISE(auto schema, OutputSchema(spec, channels, extra));
  return std::make_unique<FilterProcessor>(std::move(schema), std::move(filters), delay.ns);
}

Result<std::unique_ptr<Processor>> MakeDecimate(const ProcessorSpec& spec,
                                                const ResolvedOptions& o,
                                                const std::vector<ChannelSpec>& channels) {
  const int64_t q = o.GetInt("factor");
  if (q < 2 || q > 10'000) {
    return Status::Invalid("option 'factor' must be between 2 and 10000, got ", q);
  }
  ARROW_ASSIGN_OR_RAISE(auto coefficients, dsp::DecimateDefaultTaps(static_cast<int>(q)));
  std::vector<dsp::Decimator<double>> decimators;
  for (size_t c = 0; c < channels.size(); ++c) {
    ARROW_ASSIGN_OR_RAISE(auto d, dsp::Decimator<double>::Make(static_cast<int>(q), coefficients));
    decimators.push_back(std::move(d));
  }
  std::vector<std::pair<std::string, std::string>> extra{
      {kProcessorCoefficientsKey, FormatDoubles(coefficients)}};
  const auto rate = StreamRate(*spec.input->schema);
  if (rate.ok()) extra.emplace_back(kRateKey, FormatRate(*rate / static_cast<double>(q)));
  // The delay of the anti-alias FIR, in input samples (and ns at the input's rate).
  const GroupDelay delay = DelayOf(static_cast<std::int64_t>(coefficients.size()), rate);
  for (auto& kv : DelayMetadata(delay)) extra.push_back(std::move(kv));
  ARROW_ASSIGN_OR_RAISE(auto schema, OutputSchema(spec, channels, extra));
  return std::make_unique<DecimateProcessor>(std::move(schema), std::move(decimators),
                                             static_cast<int>(q), delay.ns);
}

Result<std::unique_ptr<Processor>> MakeStats(const ProcessorSpec& spec,
                                             const std::vector<ChannelSpec>& channels) {
  std::vector<ChannelSpec> out;
  for (const auto& ch : channels) {
    for (const char* stat : {"min", "max", "mean", "std", "rms"}) {
      out.push_back({ch.name + "_" + stat, ch.unit, std::string(stat) + " of " + ch.name +
                                                        " over one input batch",
                     arrow::float64()});
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto schema, OutputSchema(spec, out, {}));
  return std::make_unique<StatsProcessor>(std::move(schema), channels.size());
}

}  // namespace

std::vector<std::string> ProcessorKinds() {
  std::vector<std::string> kinds;
  for (const auto& [k, _] : Specs()) kinds.push_back(k);
  return kinds;
}

Result<std::vector<OptionSpec>> ProcessorOptionSpecs(const std::string& kind) {
  auto it = Specs().find(kind);
  if (it == Specs().end()) {
    std::string known;
    for (const auto& k : ProcessorKinds()) known += (known.empty() ? "" : ", ") + k;
    return Status::KeyError("unknown processor kind '", kind, "' (known: ", known, ")");
  }
  return it->second;
}

Result<std::unique_ptr<Processor>> MakeProcessor(const ProcessorSpec& spec) {
  if (spec.input == nullptr || spec.input->schema == nullptr) {
    return Status::Invalid("processor '", spec.output, "' has no input stream");
  }
  ARROW_ASSIGN_OR_RAISE(auto specs, ProcessorOptionSpecs(spec.kind));
  ARROW_ASSIGN_OR_RAISE(auto options, ResolvedOptions::Make(specs, spec.options));
  ARROW_ASSIGN_OR_RAISE(auto channels, InputChannels(*spec.input));
  if (spec.kind == "fir") return MakeFir(spec, options, channels);
  if (spec.kind == "moving_average") return MakeMovingAverage(spec, options, channels);
  if (spec.kind == "decimate") return MakeDecimate(spec, options, channels);
  return MakeStats(spec, channels);
}

}  // namespace arrowdaq::pipeline
