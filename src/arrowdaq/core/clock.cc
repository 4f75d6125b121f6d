#include "arrowdaq/core/clock.h"

#include <cstdio>

namespace arrowdaq {

std::string FormatIsoTime(std::int64_t ns_since_epoch) {
  using namespace std::chrono;
  // Split into whole days and the time of day in integers: near the ends of the int64 range
  // (a damaged file's timestamps), the day's start in ns is not representable.
  constexpr std::int64_t kNsPerDay = 86'400'000'000'000;
  std::int64_t day_count = ns_since_epoch / kNsPerDay;
  std::int64_t ns_of_day = ns_since_epoch % kNsPerDay;
  if (ns_of_day < 0) {
    ns_of_day += kNsPerDay;
    --day_count;
  }
  const year_month_day ymd{sys_days{days{day_count}}};
  const hh_mm_ss<nanoseconds> hms{nanoseconds{ns_of_day}};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<long long>(hms.subseconds().count()));
  return buf;
}

}  // namespace arrowdaq
