#include "arrowdaq/storage/disk_budget.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>

#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

std::string FormatBytes(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

Result<std::int64_t> DiskBudget::FreeBytes(const std::string& directory) {
  struct statvfs st;
  if (::statvfs(directory.c_str(), &st) != 0) {
    return Status::IOError("cannot read the free space of '", directory,
                           "': ", internal::ErrnoMessage(errno));
  }
  return static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
}

Result<DiskBudget> DiskBudget::Make(DiskBudgetOptions options) {
  DiskBudget budget(std::move(options));
  if (budget.options_.min_free_bytes <= 0) return budget;
  ARROW_ASSIGN_OR_RAISE(const std::int64_t free, FreeBytes(budget.options_.directory));
  if (free < budget.options_.min_free_bytes) {
    return Status::IOError("not enough free space for the run in '", budget.options_.directory,
                           "': ", FormatBytes(free), " free, storage.min_free is ",
                           FormatBytes(budget.options_.min_free_bytes));
  }
  return budget;
}

Result<DiskCheck> DiskBudget::Check(std::chrono::steady_clock::time_point now) {
  if (options_.min_free_bytes <= 0) return DiskCheck{};
  ARROW_ASSIGN_OR_RAISE(const std::int64_t free, FreeBytes(options_.directory));
  return Evaluate(free, now);
}

DiskCheck DiskBudget::Evaluate(std::int64_t free_bytes, std::chrono::steady_clock::time_point now) {
  DiskCheck out;
  out.free_bytes = free_bytes;
  if (options_.min_free_bytes <= 0) return out;
  if (have_sample_) {
    const double dt = std::chrono::duration<double>(now - last_time_).count();
    if (dt > 0) {
      const double rate = static_cast<double>(last_free_ - free_bytes) / dt;
      // Smoothed so one burst (a Parquet part closing) does not swing the projection.
      rate_ = rate_ == 0 ? rate : 0.5 * rate_ + 0.5 * rate;
    }
  }
  have_sample_ = true;
  last_free_ = free_bytes;
  last_time_ = now;
  out.falling_bytes_per_s = rate_;
  const double headroom = static_cast<double>(free_bytes - options_.min_free_bytes);
  const double interval = std::chrono::duration<double>(options_.interval).count();
  const double falling = rate_ > 0 ? rate_ : 0;
  if (headroom <= falling * interval) {
    out.verdict = DiskVerdict::kStop;
    out.message = "stopped before the disk fills: " + FormatBytes(free_bytes) + " free in '" +
                  options_.directory + "', falling by " + FormatBytes(static_cast<std::int64_t>(falling)) +
                  "/s, storage.min_free is " + FormatBytes(options_.min_free_bytes);
    return out;
  }
  const double seconds = falling > 0 ? headroom / falling : -1;
  if (!warned_ && seconds >= 0 &&
      seconds < std::chrono::duration<double>(options_.warn_before).count()) {
    warned_ = true;
    out.verdict = DiskVerdict::kWarn;
    char text[64];
    std::snprintf(text, sizeof(text), "%.0f s", seconds);
    out.message = "disk space: storage.min_free (" + FormatBytes(options_.min_free_bytes) +
                  ") will be reached in about " + text + " at " +
                  FormatBytes(static_cast<std::int64_t>(falling)) + "/s (" +
                  FormatBytes(free_bytes) + " free in '" + options_.directory +
                  "'); the run will stop then";
  }
  return out;
}

}  // namespace arrowdaq::storage
