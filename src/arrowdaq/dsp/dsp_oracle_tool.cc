// dsp_oracle_tool: test bridge between arrowdaq::dsp and scipy. Reads a little-endian float64
// file, runs one kernel with parameters from the command line, splitting the input into batches
// of the given sizes (cycling), and writes float64 output. Used by tests/python/test_dsp_*.py.
// Single-threaded command-line program; exits 2 with a message on bad arguments or files.
//
//   dsp_oracle_tool fir      --in x.bin --out y.bin --taps b.bin [--dtype float32] [--batches 1,7]
//                            [--method auto|direct|fft] [--print-method 1] (method on stderr)
//                            [--fft-planning measure|estimate] (FFTW effort, default measure)
//   dsp_oracle_tool decimate --in x.bin --out y.bin --q 4 [--taps b.bin] [--dtype ..] [--batches
//   ..] dsp_oracle_tool moving-average --in x.bin --out y.bin --n 5 [--dtype ..] [--batches ..]
//   dsp_oracle_tool firwin   --out b.bin --numtaps 63 --cutoff 50[,80] --fs 1000
//                            --window hamming|hann|blackman|rectangular|kaiser:8.6
//                            --pass lowpass|highpass|bandpass|bandstop [--no-scale]
//   dsp_oracle_tool stats    --in x.bin --out s.bin   (count, nan_count, min, max, mean, std, rms)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/dsp/batch_stats.h"
#include "arrowdaq/dsp/decimator.h"
#include "arrowdaq/dsp/fir_design.h"
#include "arrowdaq/dsp/fir_filter.h"
#include "arrowdaq/dsp/moving_average.h"

namespace arrowdaq::dsp {
namespace {

using Args = std::map<std::string, std::string>;

Result<std::vector<double>> ReadF64(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError("cannot open '", path, "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() % sizeof(double) != 0) {
    return Status::Invalid("'", path, "': size ", bytes.size(), " is not a multiple of 8");
  }
  std::vector<double> v(bytes.size() / sizeof(double));
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(v.data()));
  return v;
}

Status WriteF64(const std::string& path, const std::vector<double>& v) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return Status::IOError("cannot create '", path, "'");
  f.write(reinterpret_cast<const char*>(v.data()),
          static_cast<std::streamsize>(v.size() * sizeof(double)));
  if (!f) return Status::IOError("cannot write '", path, "'");
  return Status::OK();
}

Result<std::string> Get(const Args& args, const std::string& key) {
  auto it = args.find(key);
  if (it == args.end()) return Status::Invalid("missing --", key);
  return it->second;
}

Result<double> GetDouble(const Args& args, const std::string& key) {
  ARROW_ASSIGN_OR_RAISE(auto s, Get(args, key));
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  return Status::Invalid("--", key, ": not a number: '", s, "'");
}

Result<std::vector<double>> GetDoubleList(const Args& args, const std::string& key) {
  ARROW_ASSIGN_OR_RAISE(auto s, Get(args, key));
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Args one{{key, item}};
    ARROW_ASSIGN_OR_RAISE(double v, GetDouble(one, key));
    out.push_back(v);
  }
  return out;
}

Result<std::vector<size_t>> GetBatches(const Args& args) {
  if (!args.count("batches")) return std::vector<size_t>{};
  ARROW_ASSIGN_OR_RAISE(auto list, GetDoubleList(args, "batches"));
  std::vector<size_t> out;
  for (double v : list) {
    if (!(v >= 0) || v != static_cast<double>(static_cast<size_t>(v))) {
      return Status::Invalid("--batches: sizes must be non-negative integers");
    }
    out.push_back(static_cast<size_t>(v));
  }
  size_t sum = 0;
  for (size_t b : out) sum += b;
  if (!out.empty() && sum == 0) return Status::Invalid("--batches: sizes must not all be 0");
  return out;
}

// Calls fn(offset, size) for consecutive batches covering [0, n), cycling through `batches`
// (one batch of n when empty).
template <typename Fn>
Status ForEachBatch(size_t n, const std::vector<size_t>& batches, Fn&& fn) {
  if (batches.empty()) return fn(0, n);
  size_t pos = 0;
  for (size_t i = 0; pos < n; i = (i + 1) % batches.size()) {
    const size_t len = std::min(batches[i], n - pos);
    ARROW_RETURN_NOT_OK(fn(pos, len));
    pos += len;
  }
  return Status::OK();
}

template <typename T>
Result<std::vector<double>> RunStreaming(const std::string& mode, const Args& args,
                                         const std::vector<double>& x64) {
  ARROW_ASSIGN_OR_RAISE(auto batches, GetBatches(args));
  std::vector<T> x(x64.begin(), x64.end());
  std::vector<T> y;
  if (mode == "fir" || mode == "moving-average") {
    y.resize(x.size());
    if (mode == "fir") {
      ARROW_ASSIGN_OR_RAISE(auto taps_path, Get(args, "taps"));
      ARROW_ASSIGN_OR_RAISE(auto taps, ReadF64(taps_path));
      FirFilterOptions options;
      const std::string method = args.count("method") ? args.at("method") : "auto";
      if (method == "direct") {
        options.method = FirMethod::kDirect;
      } else if (method == "fft") {
        options.method = FirMethod::kFft;
      } else if (method != "auto") {
        return Status::Invalid("--method: expected auto, direct or fft, got '", method, "'");
      }
      const std::string planning = args.count("fft-planning") ? args.at("fft-planning") : "measure";
      if (planning == "estimate") {
        options.fft_planning = internal::FftPlanning::kEstimate;
      } else if (planning != "measure") {
        return Status::Invalid("--fft-planning: expected measure or estimate, got '", planning,
                               "'");
      }
      ARROW_ASSIGN_OR_RAISE(auto fir, FirFilter<T>::Make(std::move(taps), options));
      if (args.count("print-method")) {
        std::fprintf(stderr, "method=%s\n", fir.method() == FirMethod::kFft ? "fft" : "direct");
      }
      ARROW_RETURN_NOT_OK(ForEachBatch(x.size(), batches, [&](size_t off, size_t len) {
        fir.Process(std::span<const T>(x).subspan(off, len), std::span<T>(y).subspan(off, len));
        return Status::OK();
      }));
    } else {
      ARROW_ASSIGN_OR_RAISE(double n, GetDouble(args, "n"));
      ARROW_ASSIGN_OR_RAISE(auto ma, MovingAverage<T>::Make(static_cast<int>(n)));
      ARROW_RETURN_NOT_OK(ForEachBatch(x.size(), batches, [&](size_t off, size_t len) {
        ma.Process(std::span<const T>(x).subspan(off, len), std::span<T>(y).subspan(off, len));
        return Status::OK();
      }));
    }
  } else {
    ARROW_ASSIGN_OR_RAISE(double q, GetDouble(args, "q"));
    std::vector<double> taps;
    if (args.count("taps")) {
      ARROW_ASSIGN_OR_RAISE(taps, ReadF64(args.at("taps")));
    } else {
      ARROW_ASSIGN_OR_RAISE(taps, DecimateDefaultTaps(static_cast<int>(q)));
    }
    ARROW_ASSIGN_OR_RAISE(auto dec, Decimator<T>::Make(static_cast<int>(q), std::move(taps)));
    ARROW_RETURN_NOT_OK(ForEachBatch(x.size(), batches, [&](size_t off, size_t len) {
      std::vector<T> part(dec.OutputSize(len));
      ARROW_ASSIGN_OR_RAISE(size_t got, dec.Process(std::span<const T>(x).subspan(off, len), part));
      y.insert(y.end(), part.begin(), part.begin() + got);
      return Status::OK();
    }));
  }
  return std::vector<double>(y.begin(), y.end());
}

Status Run(int argc, char** argv) {
  if (argc < 2) return Status::Invalid("usage: dsp_oracle_tool <mode> --key value ...");
  const std::string mode = argv[1];
  Args args;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") return Status::Invalid("unexpected argument '", arg, "'");
    const std::string key(arg.substr(2));
    if (key == "no-scale") {
      args[key] = "1";
      continue;
    }
    if (i + 1 >= argc) return Status::Invalid("--", key, " needs a value");
    args[key] = argv[++i];
  }
  ARROW_ASSIGN_OR_RAISE(auto out_path, Get(args, "out"));
  std::vector<double> out;
  if (mode == "firwin") {
    ARROW_ASSIGN_OR_RAISE(double numtaps, GetDouble(args, "numtaps"));
    ARROW_ASSIGN_OR_RAISE(auto cutoff, GetDoubleList(args, "cutoff"));
    ARROW_ASSIGN_OR_RAISE(double fs, GetDouble(args, "fs"));
    ARROW_ASSIGN_OR_RAISE(auto window_name, Get(args, "window"));
    ARROW_ASSIGN_OR_RAISE(auto window, ParseWindow(window_name));
    ARROW_ASSIGN_OR_RAISE(auto pass_name, Get(args, "pass"));
    ARROW_ASSIGN_OR_RAISE(auto pass, ParsePassKind(pass_name));
    ARROW_ASSIGN_OR_RAISE(out, Firwin(static_cast<int>(numtaps), cutoff, fs, pass, window,
                                      args.count("no-scale") == 0));
  } else if (mode == "stats") {
    ARROW_ASSIGN_OR_RAISE(auto in_path, Get(args, "in"));
    ARROW_ASSIGN_OR_RAISE(auto x, ReadF64(in_path));
    const BatchStats st = BatchStats::Compute(x);
    out = {static_cast<double>(st.count),
           static_cast<double>(st.nan_count),
           st.min,
           st.max,
           st.mean,
           st.std,
           st.rms};
  } else if (mode == "fir" || mode == "decimate" || mode == "moving-average") {
    ARROW_ASSIGN_OR_RAISE(auto in_path, Get(args, "in"));
    ARROW_ASSIGN_OR_RAISE(auto x, ReadF64(in_path));
    const std::string dtype = args.count("dtype") ? args.at("dtype") : "float64";
    if (dtype == "float64") {
      ARROW_ASSIGN_OR_RAISE(out, RunStreaming<double>(mode, args, x));
    } else if (dtype == "float32") {
      ARROW_ASSIGN_OR_RAISE(out, RunStreaming<float>(mode, args, x));
    } else {
      return Status::Invalid("--dtype must be float64 or float32, got '", dtype, "'");
    }
  } else {
    return Status::Invalid("unknown mode '", mode,
                           "' (fir, decimate, moving-average, firwin, stats)");
  }
  return WriteF64(out_path, out);
}

}  // namespace
}  // namespace arrowdaq::dsp

int main(int argc, char** argv) {
  const auto st = arrowdaq::dsp::Run(argc, argv);
  if (!st.ok()) {
    std::cerr << "dsp_oracle_tool: " << st.ToString() << "\n";
    return 2;
  }
  return 0;
}
