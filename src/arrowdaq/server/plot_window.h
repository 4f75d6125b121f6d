// PlotWindow: the server side of a live plot. It reduces a stream's samples to what a plot of
// `pixels` columns can show over a scrolling time window: per column (bucket) and channel the
// minimum and the maximum, so a spike between two displayed points stays visible as the
// envelope. Buckets sit on a fixed grid of absolute sample time (bucket k covers
// [k*dt, (k+1)*dt) ns, dt = window / pixels), so a frame can be recomputed by anyone from the
// stored samples (the browser test does it with numpy on run.h5).
//
// Work is per sample on Add (one bucket update per channel) and per bucket on Frame, never per
// sample of the window: a 100 kHz stream costs the same per frame as a 10 Hz one.
//
// Threading: one owner (the live channel's thread); not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq::server {

/// One channel a plot can show.
struct PlotChannel {
  std::string name;
  std::string unit;  ///< "" when the stream declares none
  int column = -1;   ///< index in the stream's schema
};

/// Return the channels of `schema` a plot can show (numeric columns after the timestamp),
/// keeping only `wanted` when it is not empty. KeyError naming the plottable channels when a
/// wanted one is not among them; Invalid when the schema has no timestamp column first.
[[nodiscard]] Result<std::vector<PlotChannel>> PlotChannels(
    const arrow::Schema& schema, const std::vector<std::string>& wanted);

/// What a frame holds: for bucket i (0..pixels-1), [t0_ns + i*dt_ns, t0_ns + (i+1)*dt_ns).
struct PlotFrame {
  std::int64_t t0_ns = 0;
  std::int64_t dt_ns = 1;
  int pixels = 0;
  std::int64_t last_ns = 0;  ///< newest sample time added (its bucket may still grow)
  std::uint64_t samples = 0;  ///< rows added since the window was made
  /// Per channel, per bucket; NaN for a bucket without samples.
  std::vector<std::vector<double>> min;
  std::vector<std::vector<double>> max;
};

class PlotWindow {
 public:
  PlotWindow(std::vector<PlotChannel> channels, std::chrono::nanoseconds window, int pixels);

  /// Add a batch of the stream (timestamp column first). Samples older than the window are
  /// ignored; nulls are skipped.
  void Add(const arrow::RecordBatch& batch);
  /// Return the window ending with the bucket of the newest sample.
  [[nodiscard]] PlotFrame Frame() const;
  [[nodiscard]] bool empty() const { return buckets_.empty(); }
  const std::vector<PlotChannel>& channels() const { return channels_; }

 private:
  struct Bucket {
    std::vector<double> min, max;
  };
  void Advance(std::int64_t index);  // make `index` the newest bucket
  std::vector<PlotChannel> channels_;
  std::int64_t dt_ns_;
  int pixels_;
  std::deque<Bucket> buckets_;   // buckets_[j] is bucket first_index_ + j
  std::int64_t first_index_ = 0;
  std::int64_t last_ns_ = 0;
  std::uint64_t samples_ = 0;
};

/// Return floor(a / b) for b > 0.
[[nodiscard]] inline std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

}  // namespace arrowdaq::server
