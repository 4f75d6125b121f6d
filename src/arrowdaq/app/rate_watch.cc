#include "arrowdaq/app/rate_watch.h"

#include <algorithm>
#include <cstdio>

namespace arrowdaq::app {

bool ShortOfRate(std::uint64_t rows, double seconds, double requested_hz, double rows_per_batch,
                 double fraction) {
  if (requested_hz <= 0 || seconds <= 0) return false;
  return static_cast<double>(rows) + rows_per_batch < fraction * requested_hz * seconds;
}

std::vector<RunEvent> RateWatch::Check(const std::vector<pipeline::StreamStats>& stats,
                                       const std::map<std::string, double>& requested,
                                       std::chrono::steady_clock::time_point now,
                                       std::int64_t wall_ns) {
  std::vector<RunEvent> events;
  for (const auto& st : stats) {
    auto rate = requested.find(st.name);
    if (rate == requested.end()) continue;
    auto [it, fresh] = windows_.try_emplace(st.name, Window{now, st.rows, st.packets});
    if (fresh) continue;
    Window& w = it->second;
    const std::uint64_t rows = st.rows - w.rows;
    const std::uint64_t packets = st.packets - w.packets;
    // Rows per batch as seen so far (one batch until the first one arrived).
    const double per_batch =
        st.packets > 0 ? static_cast<double>(st.rows) / static_cast<double>(st.packets) : 1.0;
    const double batch_period = per_batch / rate->second;
    const auto window = std::max<std::chrono::nanoseconds>(
        options_.window,
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::duration<double>(10 * batch_period)));
    const double seconds = std::chrono::duration<double>(now - w.start).count();
    if (now - w.start < window) continue;
    if (ShortOfRate(rows, seconds, rate->second, per_batch, options_.fraction)) {
      events.push_back({wall_ns, st.name, "rate_shortfall",
                        Describe(rows, packets, seconds, rate->second, "over the last")});
      reported_[st.name] = true;
    }
    w = Window{now, st.rows, st.packets};
  }
  return events;
}

std::string RateWatch::Describe(std::uint64_t rows, std::uint64_t packets, double seconds,
                                double requested_hz, const char* over) const {
  char text[256];
  std::snprintf(text, sizeof(text),
                "%.6g rows/s %s %.1f s (%llu packets), below %.0f%% of the requested %.6g "
                "rows/s",
                seconds > 0 ? static_cast<double>(rows) / seconds : 0.0, over, seconds,
                static_cast<unsigned long long>(packets), options_.fraction * 100,
                requested_hz);
  return text;
}

std::vector<RunEvent> RateWatch::Final(const std::vector<pipeline::StreamStats>& stats,
                                       const std::map<std::string, double>& requested,
                                       double seconds, std::int64_t wall_ns) {
  std::vector<RunEvent> events;
  for (const auto& st : stats) {
    auto rate = requested.find(st.name);
    if (rate == requested.end() || reported_[st.name]) continue;
    const double per_batch =
        st.packets > 0 ? static_cast<double>(st.rows) / static_cast<double>(st.packets) : 1.0;
    if (ShortOfRate(st.rows, seconds, rate->second, per_batch, options_.fraction)) {
      events.push_back({wall_ns, st.name, "rate_shortfall",
                        Describe(st.rows, st.packets, seconds, rate->second, "over the whole")});
      reported_[st.name] = true;
    }
  }
  return events;
}

}  // namespace arrowdaq::app
