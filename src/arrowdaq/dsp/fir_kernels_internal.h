// FIR inner kernels (SIMD, Highway runtime dispatch). Internal to arrowdaq_dsp: the streaming
// classes (FirFilter, Decimator, MovingAverage) own all state and call these pure functions on
// borrowed, contiguous buffers. Stateless; safe to call from any thread.
#pragma once

#include <cstddef>

namespace arrowdaq::dsp::internal {

/// Readable elements FirValid needs after the last window (one vector of the widest target).
inline constexpr size_t kFirPadding = 64;

/// Compute y[i] = sum_{j < num_taps} rtaps[j] * s[i + j] for i in [0, n_out).
/// `rtaps` holds the taps reversed (rtaps[j] = b[num_taps - 1 - j]); `s` holds
/// n_out + num_taps - 1 samples ([history | input]) followed by kFirPadding more readable
/// elements (any values: they only reach discarded lanes). Every output is computed with the
/// same vector operations wherever it falls, so results do not depend on batch boundaries.
void FirValid(const double* s, size_t n_out, const double* rtaps, size_t num_taps, double* y);
void FirValid(const float* s, size_t n_out, const float* rtaps, size_t num_taps, float* y);

/// Same as FirValid for the largest multiple of the vector length <= n_out (returned), without
/// reading past s[returned + num_taps - 2]: `s` may be a caller's buffer without padding. The
/// outputs it writes are bitwise equal to FirValid's (same operations per output).
size_t FirValidWholeVectors(const double* s, size_t n_out, const double* rtaps, size_t num_taps,
                            double* y);
size_t FirValidWholeVectors(const float* s, size_t n_out, const float* rtaps, size_t num_taps,
                            float* y);

/// Same as FirValid but only every `stride`-th output: y[k] = sum_j rtaps[j] * s[k*stride + j]
/// for k in [0, n_out). `s` holds (n_out - 1) * stride + num_taps readable samples.
void FirValidStrided(const double* s, size_t n_out, size_t stride, const double* rtaps,
                     size_t num_taps, double* y);
void FirValidStrided(const float* s, size_t n_out, size_t stride, const float* rtaps,
                     size_t num_taps, float* y);

/// One past the index of the last NaN or inf in x[0, n), or 0 if all are finite.
size_t LastNonFiniteEnd(const double* x, size_t n);

/// out[i] = in[i] for i < n (float promoted to double); returns false if any value is NaN or inf.
bool CopyToF64AllFinite(const double* in, double* out, size_t n);
bool CopyToF64AllFinite(const float* in, double* out, size_t n);

/// spec[k] *= h[k] for `count` complex values stored interleaved (re, im), with h given as
/// h_re_dup = (re, re) pairs and h_im_signed = (-im, +im) pairs.
void ComplexMultiplyInterleaved(double* spec, const double* h_re_dup, const double* h_im_signed,
                                size_t count);

/// Name of the SIMD target the dispatcher picked on this CPU (e.g. "AVX3", "AVX2").
const char* FirTargetName();

}  // namespace arrowdaq::dsp::internal
