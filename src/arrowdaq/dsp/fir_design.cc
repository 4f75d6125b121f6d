#include "arrowdaq/dsp/fir_design.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <string>

namespace arrowdaq::dsp {
namespace {

constexpr int kMaxTaps = 1 << 24;

// Modified Bessel function of the first kind, order 0, by its power series
// sum_k ((x/2)^k / k!)^2: all terms positive, so it is accurate to a few ulp for any x.
double BesselI0(double x) {
  const double q = 0.25 * x * x;
  double term = 1.0;
  double sum = 1.0;
  for (int k = 1; k < 1000; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

// numpy.sinc: sin(pi x) / (pi x), 1 at 0.
double Sinc(double x) {
  const double y = std::numbers::pi * (x == 0.0 ? 1e-20 : x);
  return std::sin(y) / y;
}

std::vector<double> GeneralCosine(int m, std::initializer_list<double> a) {
  // scipy: fac = linspace(-pi, pi, M); w = sum_k a[k] * cos(k * fac).
  std::vector<double> w(m, 0.0);
  const double start = -std::numbers::pi;
  const double step = (2.0 * std::numbers::pi) / (m - 1);
  for (int n = 0; n < m; ++n) {
    const double fac = (n == m - 1) ? std::numbers::pi : start + n * step;
    int k = 0;
    for (double ak : a) {
      w[n] += ak * std::cos(k * fac);
      ++k;
    }
  }
  return w;
}

}  // namespace

std::string Window::ToString() const {
  switch (kind) {
    case WindowKind::kRectangular:
      return "rectangular";
    case WindowKind::kHamming:
      return "hamming";
    case WindowKind::kHann:
      return "hann";
    case WindowKind::kBlackman:
      return "blackman";
    case WindowKind::kKaiser:
      return "kaiser:" + std::to_string(beta);
  }
  return "unknown";
}

Result<Window> ParseWindow(std::string_view name) {
  if (name == "rectangular" || name == "boxcar") return Window::Rectangular();
  if (name == "hamming") return Window::Hamming();
  if (name == "hann") return Window::Hann();
  if (name == "blackman") return Window::Blackman();
  constexpr std::string_view kKaiserPrefix = "kaiser:";
  if (name.substr(0, kKaiserPrefix.size()) == kKaiserPrefix) {
    const std::string_view num = name.substr(kKaiserPrefix.size());
    double beta = 0.0;
    const auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), beta);
    if (ec != std::errc() || ptr != num.data() + num.size() || num.empty() ||
        !std::isfinite(beta)) {
      return Status::Invalid("window '", name, "': kaiser needs a finite beta, e.g. kaiser:8.6");
    }
    return Window::Kaiser(beta);
  }
  return Status::Invalid("unknown window '", name,
                         "' (expected rectangular, hamming, hann, blackman or kaiser:<beta>)");
}

Result<PassKind> ParsePassKind(std::string_view name) {
  if (name == "lowpass") return PassKind::kLowpass;
  if (name == "highpass") return PassKind::kHighpass;
  if (name == "bandpass") return PassKind::kBandpass;
  if (name == "bandstop") return PassKind::kBandstop;
  return Status::Invalid("unknown pass kind '", name,
                         "' (expected lowpass, highpass, bandpass or bandstop)");
}

Result<std::vector<double>> MakeWindow(const Window& window, int length) {
  if (length < 0 || length > kMaxTaps) {
    return Status::Invalid("window length must be in [0, ", kMaxTaps, "], got ", length);
  }
  if (window.kind == WindowKind::kKaiser && !std::isfinite(window.beta)) {
    return Status::Invalid("kaiser window: beta must be finite, got ", window.beta);
  }
  if (length <= 1) return std::vector<double>(length, 1.0);
  switch (window.kind) {
    case WindowKind::kRectangular:
      return std::vector<double>(length, 1.0);
    case WindowKind::kHamming:
      return GeneralCosine(length, {0.54, 1.0 - 0.54});
    case WindowKind::kHann:
      return GeneralCosine(length, {0.5, 1.0 - 0.5});
    case WindowKind::kBlackman:
      return GeneralCosine(length, {0.42, 0.50, 0.08});
    case WindowKind::kKaiser: {
      std::vector<double> w(length);
      const double alpha = (length - 1) / 2.0;
      const double denom = BesselI0(window.beta);
      for (int n = 0; n < length; ++n) {
        const double r = (n - alpha) / alpha;
        w[n] = BesselI0(window.beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / denom;
      }
      return w;
    }
  }
  return Status::Invalid("unknown window kind");
}

Result<std::vector<double>> Firwin(int numtaps, std::vector<double> cutoff_hz, double fs_hz,
                                   PassKind kind, Window window, bool scale) {
  if (numtaps < 1 || numtaps > kMaxTaps) {
    return Status::Invalid("firwin: numtaps must be in [1, ", kMaxTaps, "], got ", numtaps);
  }
  if (!std::isfinite(fs_hz) || fs_hz <= 0.0) {
    return Status::Invalid("firwin: fs_hz must be finite and > 0, got ", fs_hz);
  }
  if (cutoff_hz.empty()) return Status::Invalid("firwin: at least one cutoff is required");
  const double nyq = 0.5 * fs_hz;
  std::vector<double> cutoff(cutoff_hz.size());
  for (size_t i = 0; i < cutoff_hz.size(); ++i) {
    cutoff[i] = cutoff_hz[i] / nyq;
    if (!(cutoff[i] > 0.0 && cutoff[i] < 1.0)) {
      return Status::Invalid("firwin: cutoff_hz[", i, "] = ", cutoff_hz[i],
                             " must be > 0 and < fs/2 = ", nyq);
    }
    if (i > 0 && !(cutoff[i] > cutoff[i - 1])) {
      return Status::Invalid("firwin: cutoff_hz must be strictly increasing, cutoff_hz[", i,
                             "] = ", cutoff_hz[i], " <= ", cutoff_hz[i - 1]);
    }
  }
  bool pass_zero = true;
  switch (kind) {
    case PassKind::kLowpass:
    case PassKind::kHighpass:
      if (cutoff.size() != 1) {
        return Status::Invalid("firwin: lowpass/highpass take exactly one cutoff, got ",
                               cutoff.size());
      }
      pass_zero = kind == PassKind::kLowpass;
      break;
    case PassKind::kBandpass:
    case PassKind::kBandstop:
      if (cutoff.size() < 2) {
        return Status::Invalid("firwin: bandpass/bandstop take at least two cutoffs, got ",
                               cutoff.size());
      }
      pass_zero = kind == PassKind::kBandstop;
      break;
  }
  const bool pass_nyquist = ((cutoff.size() % 2) == 0) == pass_zero;
  if (pass_nyquist && numtaps % 2 == 0) {
    return Status::Invalid("firwin: numtaps = ", numtaps,
                           " is even but the response must pass Nyquist; use an odd numtaps");
  }
  // Band edges in pairs, each pair a passband.
  std::vector<double> edges;
  if (pass_zero) edges.push_back(0.0);
  edges.insert(edges.end(), cutoff.begin(), cutoff.end());
  if (pass_nyquist) edges.push_back(1.0);

  const double alpha = 0.5 * (numtaps - 1);
  std::vector<double> h(numtaps, 0.0);
  for (int n = 0; n < numtaps; ++n) {
    const double m = n - alpha;
    double acc = 0.0;
    for (size_t b = 0; b + 1 < edges.size(); b += 2) {
      const double left = edges[b], right = edges[b + 1];
      acc += right * Sinc(right * m);
      acc -= left * Sinc(left * m);
    }
    h[n] = acc;
  }
  ARROW_ASSIGN_OR_RAISE(auto win, MakeWindow(window, numtaps));
  for (int n = 0; n < numtaps; ++n) h[n] *= win[n];

  if (scale) {
    const double left = edges[0], right = edges[1];
    const double f = left == 0.0 ? 0.0 : (right == 1.0 ? 1.0 : 0.5 * (left + right));
    double s = 0.0;
    for (int n = 0; n < numtaps; ++n) {
      s += h[n] * std::cos(std::numbers::pi * (n - alpha) * f);
    }
    for (double& v : h) v /= s;
  }
  return h;
}

Result<std::vector<double>> DecimateDefaultTaps(int q) {
  if (q < 2 || q > 100000) return Status::Invalid("decimate: q must be in [2, 100000], got ", q);
  return Firwin(20 * q + 1, {1.0 / q}, 2.0, PassKind::kLowpass, Window::Hamming());
}

}  // namespace arrowdaq::dsp
