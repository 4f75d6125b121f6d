// RateMeter: counts rows and bytes that producers push through one point (a stream, a writer)
// and reports totals plus the rate since the previous snapshot. Add() is lock-free (relaxed
// atomics) and may be called from any number of threads; Snapshot() may be called from any
// thread (snapshots are serialized by a mutex that Add never touches).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

#include "arrowdaq/core/clock.h"

namespace arrowdaq::telemetry {

/// Totals since construction and rates over the interval since the previous snapshot.
struct RateSnapshot {
  std::int64_t total_rows = 0;
  std::int64_t total_bytes = 0;
  std::int64_t interval_rows = 0;   ///< rows added since the previous snapshot
  std::int64_t interval_bytes = 0;  ///< bytes added since the previous snapshot
  std::chrono::nanoseconds interval{0};  ///< time since the previous snapshot (or construction)
  double rows_per_second = 0;       ///< interval_rows / interval; 0 when the interval is 0
  double bytes_per_second = 0;      ///< interval_bytes / interval; 0 when the interval is 0
};

/// Count rows and bytes; measure their rate between snapshots.
class RateMeter {
 public:
  /// Start the first interval now.
  RateMeter() : RateMeter(SteadyClock::now()) {}
  /// Start the first interval at `start` (for tests with a fixed clock).
  explicit RateMeter(SteadyClock::time_point start) : last_time_(start) {}

  RateMeter(const RateMeter&) = delete;
  RateMeter& operator=(const RateMeter&) = delete;

  /// Count `rows` rows and `bytes` bytes. Lock-free; any thread.
  void Add(std::int64_t rows, std::int64_t bytes) {
    rows_.fetch_add(rows, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }

  /// Return totals and the rate since the previous snapshot, and start a new interval.
  [[nodiscard]] RateSnapshot Snapshot() { return SnapshotAt(SteadyClock::now()); }
  /// Like Snapshot() with an explicit "now" (for tests with a fixed clock).
  [[nodiscard]] RateSnapshot SnapshotAt(SteadyClock::time_point now);

  /// Return the rows counted so far (no snapshot taken).
  [[nodiscard]] std::int64_t total_rows() const { return rows_.load(std::memory_order_relaxed); }
  /// Return the bytes counted so far (no snapshot taken).
  [[nodiscard]] std::int64_t total_bytes() const {
    return bytes_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> rows_{0};
  std::atomic<std::int64_t> bytes_{0};

  std::mutex snapshot_mutex_;  // guards the fields below; never taken by Add
  SteadyClock::time_point last_time_;
  std::int64_t last_rows_ = 0;
  std::int64_t last_bytes_ = 0;
};

}  // namespace arrowdaq::telemetry
