#include "arrowdaq/telemetry/rate_meter.h"

#include <algorithm>

namespace arrowdaq::telemetry {

RateSnapshot RateMeter::SnapshotAt(SteadyClock::time_point now) {
  std::lock_guard<std::mutex> lock(snapshot_mutex_);
  RateSnapshot snap;
  snap.total_rows = rows_.load(std::memory_order_relaxed);
  snap.total_bytes = bytes_.load(std::memory_order_relaxed);
  snap.interval_rows = snap.total_rows - last_rows_;
  snap.interval_bytes = snap.total_bytes - last_bytes_;
  snap.interval = now > last_time_
                      ? std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_time_)
                      : std::chrono::nanoseconds(0);
  if (snap.interval.count() > 0) {
    const double seconds = std::chrono::duration<double>(snap.interval).count();
    snap.rows_per_second = static_cast<double>(snap.interval_rows) / seconds;
    snap.bytes_per_second = static_cast<double>(snap.interval_bytes) / seconds;
  }
  last_time_ = std::max(now, last_time_);
  last_rows_ = snap.total_rows;
  last_bytes_ = snap.total_bytes;
  return snap;
}

}  // namespace arrowdaq::telemetry
