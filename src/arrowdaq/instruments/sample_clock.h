// SampleClock: the timestamps a driver puts on its samples when the device does not stamp them
// itself. Sample index n counts every row the driver has decoded since Configure (0, 1, 2, ...);
// acquisition runs in segments (StartAcquisition .. StopAcquisition), and within a segment that
// began at wall time t_seg_ns with sample index n_seg
//
//   t[n] = t_seg_ns + floor((n - n_seg) * 1e9 / rate_hz)       (int64 ns since the Unix epoch, UTC)
//
// computed in IEEE double exactly in that order. For the first segment n_seg = 0 and t_seg_ns is
// the wall clock at the first INIT: t[n] = t_init_ns + floor(n * 1e9 / rate_hz). A later segment
// starts at max(wall clock, last timestamp + 1 ns), so timestamps never repeat or go back.
// Owned by one driver, used by the instrument's own thread only.
#pragma once

#include <cstdint>

#include "arrowdaq/core/status.h"

namespace arrowdaq::instruments {

class SampleClock {
 public:
  /// `rate_hz` must be in (0, 1e9] so that consecutive samples get distinct nanoseconds.
  explicit SampleClock(double rate_hz) : rate_hz_(rate_hz) {}

  /// Return floor(k * 1e9 / rate_hz): the offset in ns of the k-th sample of a segment.
  static std::int64_t OffsetNanos(std::int64_t k, double rate_hz);

  /// Forget the segment and restart the sample index at 0 (after a (re)connect). The last
  /// timestamp is kept, so timestamps stay strictly increasing for the life of the clock.
  void Reset();
  /// Begin a segment at the next sample index; `wall_ns` is the wall clock at INIT.
  void StartSegment(std::int64_t wall_ns);
  /// Write the timestamps of the next `rows` samples to `out` and advance the sample index.
  /// Fails (writing nothing) when no segment was started since construction or Reset.
  Status Stamp(std::int64_t rows, std::int64_t* out);

  /// Advance the sample index by `rows` samples that were lost (overrun), so the next
  /// timestamps stay on the sample grid.
  void Skip(std::int64_t rows) { next_index_ += rows; }

  double rate_hz() const { return rate_hz_; }
  bool has_segment() const { return has_segment_; }
  std::int64_t next_index() const { return next_index_; }
  std::int64_t segment_start_ns() const { return segment_start_ns_; }
  std::int64_t segment_first_index() const { return segment_first_index_; }

 private:
  double rate_hz_;
  bool has_segment_ = false;
  bool has_last_ = false;
  std::int64_t next_index_ = 0;
  std::int64_t segment_start_ns_ = 0;
  std::int64_t segment_first_index_ = 0;
  std::int64_t last_ns_ = 0;
};

}  // namespace arrowdaq::instruments
