// FIR design by the window method, matching scipy.signal.firwin (symmetric windows, same sinc,
// same scaling rule). Pure functions: no state, callable from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/status.h"

namespace arrowdaq::dsp {

/// Which band(s) pass; the scipy `pass_zero` values of the same names.
enum class PassKind { kLowpass, kHighpass, kBandpass, kBandstop };

enum class WindowKind { kRectangular, kHamming, kHann, kBlackman, kKaiser };

/// A window function; `beta` is used by kKaiser only.
struct Window {
  WindowKind kind = WindowKind::kHamming;
  double beta = 0.0;

  static Window Rectangular() { return {WindowKind::kRectangular, 0.0}; }
  static Window Hamming() { return {WindowKind::kHamming, 0.0}; }
  static Window Hann() { return {WindowKind::kHann, 0.0}; }
  static Window Blackman() { return {WindowKind::kBlackman, 0.0}; }
  static Window Kaiser(double beta) { return {WindowKind::kKaiser, beta}; }

  /// The name ParseWindow accepts ("hamming", "kaiser:8.6", ...).
  std::string ToString() const;
};

/// Parse "rectangular" (alias "boxcar"), "hamming", "hann", "blackman" or "kaiser:<beta>".
[[nodiscard]] Result<Window> ParseWindow(std::string_view name);

/// Parse "lowpass", "highpass", "bandpass" or "bandstop".
[[nodiscard]] Result<PassKind> ParsePassKind(std::string_view name);

/// Symmetric window of `length` points, equal to scipy.signal.get_window(w, length,
/// fftbins=False). Fails for length < 0 or a non-finite Kaiser beta.
[[nodiscard]] Result<std::vector<double>> MakeWindow(const Window& window, int length);

/// \brief Design a linear-phase FIR filter, as scipy.signal.firwin(numtaps, cutoff_hz,
/// window=..., pass_zero=kind, scale=scale, fs=fs_hz).
///
/// `cutoff_hz` holds one edge for lowpass/highpass and two or more strictly increasing edges for
/// bandpass/bandstop, each in (0, fs/2). Fails (naming the parameter) for numtaps < 1, a bad
/// fs, a bad cutoff list, or an even numtaps when the response must pass Nyquist (highpass,
/// bandstop with an even number of edges, ...), which scipy refuses too.
[[nodiscard]] Result<std::vector<double>> Firwin(int numtaps, std::vector<double> cutoff_hz,
                                                 double fs_hz, PassKind kind, Window window,
                                                 bool scale = true);

/// The anti-alias FIR scipy.signal.decimate(x, q, ftype='fir') uses by default:
/// firwin(20 * q + 1, 1 / q, window='hamming') in normalised units (fs = 2). q >= 2.
[[nodiscard]] Result<std::vector<double>> DecimateDefaultTaps(int q);

}  // namespace arrowdaq::dsp
