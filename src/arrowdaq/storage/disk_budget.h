// DiskBudget: watch the free space of a run's file system so a run stops cleanly before the
// disk fills, instead of failing in the middle of a write. At start it refuses to begin below
// the margin; while running, each check samples the free space (statvfs), estimates the rate at
// which it falls, warns once when the margin would be reached within `warn_before`, and says
// stop when the free space is below the margin or would fall below it before the next check.
//
// Plain object; one thread (the recorder's).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "arrowdaq/core/status.h"

namespace arrowdaq::storage {

struct DiskBudgetOptions {
  /// A directory on the file system to watch (the run directory).
  std::string directory;
  /// Stop before the free space falls below this many bytes; 0 turns the budget off.
  std::int64_t min_free_bytes = 0;
  /// Warn when the margin would be reached within this, at the current rate.
  std::chrono::nanoseconds warn_before = std::chrono::minutes(10);
  /// Time between two checks (the recorder's flush interval): a stop is called when the
  /// margin would be crossed before the next check.
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
};

enum class DiskVerdict { kOk, kWarn, kStop };

/// The result of one check.
struct DiskCheck {
  DiskVerdict verdict = DiskVerdict::kOk;
  std::int64_t free_bytes = 0;
  /// Bytes per second the free space falls by (smoothed; 0 before two samples).
  double falling_bytes_per_s = 0;
  /// A sentence for the event log and the summary ("" for kOk).
  std::string message;
};

class DiskBudget {
 public:
  /// Check the free space now; IOError naming the directory and both figures when it is
  /// already below the margin, or when statvfs fails.
  static Result<DiskBudget> Make(DiskBudgetOptions options);

  /// Sample the file system's free space at `now` and judge it (see Evaluate).
  Result<DiskCheck> Check(std::chrono::steady_clock::time_point now);

  /// Judge `free_bytes` observed at `now`. kWarn is returned once (the first time the margin
  /// is projected within warn_before), kStop from the first time the free space is below
  /// the margin or projected to cross it before the next check.
  DiskCheck Evaluate(std::int64_t free_bytes, std::chrono::steady_clock::time_point now);

  /// Return the free bytes of the file system holding `directory` (for unprivileged users).
  static Result<std::int64_t> FreeBytes(const std::string& directory);

  const DiskBudgetOptions& options() const { return options_; }

 private:
  explicit DiskBudget(DiskBudgetOptions options) : options_(std::move(options)) {}

  DiskBudgetOptions options_;
  bool have_sample_ = false;
  std::int64_t last_free_ = 0;
  std::chrono::steady_clock::time_point last_time_;
  double rate_ = 0;
  bool warned_ = false;
};

/// Format a byte count for people: "12.3 MiB".
std::string FormatBytes(std::int64_t bytes);

}  // namespace arrowdaq::storage
