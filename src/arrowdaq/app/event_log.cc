#include "arrowdaq/app/event_log.h"

#include <algorithm>
#include <cstdio>

#include "arrowdaq/telemetry/logging.h"

namespace arrowdaq::app {

namespace {

std::string Seconds(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

EventLog::EventLog(EventLogOptions options) : options_(options) {}

void EventLog::Record(RunEvent event) {
  const auto now = options_.clock();
  std::lock_guard lock(mutex_);
  for (const auto& [id, listener] : raw_listeners_) listener(event);
  const auto key = std::make_pair(event.stream, event.kind);
  totals_[key] += event.repeat;
  auto [it, fresh] = bursts_.try_emplace(key);
  Burst& burst = it->second;
  if (!fresh && now >= burst.window_end && burst.pending > 0) {
    // The burst went on through its window: send what it held; this event opens the next.
    SendPending(burst, now);
  }
  if (fresh || now >= burst.window_end) {
    // The first of its kind, or a whole window passed quietly: send it at once.
    burst.interval = options_.interval;
    burst.window_end = now + burst.interval;
    Send(std::move(event));
    return;
  }
  if (burst.pending == 0) burst.first_pending_ns = event.time_ns;
  burst.pending += event.repeat;
  burst.pending_samples += event.samples;
  burst.last = std::move(event);
}

void EventLog::SendPending(Burst& burst, SteadyClock::time_point now) {
  RunEvent summary = burst.last;
  summary.repeat = burst.pending;
  summary.samples = burst.pending_samples;
  summary.time_ns = burst.first_pending_ns;
  summary.message = summary.kind + " x " + std::to_string(burst.pending) + " more within " +
                    Seconds(burst.interval) + " (coalesced" +
                    (burst.pending_samples > 0
                         ? ", " + std::to_string(burst.pending_samples) + " samples"
                         : std::string()) +
                    "); last: " + burst.last.message;
  burst.pending = 0;
  burst.pending_samples = 0;
  // A burst that goes on gets a longer window; Record resets it after a quiet window.
  burst.interval = std::min(options_.max_interval, burst.interval * 2);
  burst.window_end = now + burst.interval;
  Send(std::move(summary));
}

void EventLog::Tick() {
  const auto now = options_.clock();
  std::lock_guard lock(mutex_);
  for (auto& [key, burst] : bursts_) {
    if (burst.pending > 0 && now >= burst.window_end) SendPending(burst, now);
  }
}

void EventLog::Flush() {
  const auto now = options_.clock();
  std::lock_guard lock(mutex_);
  for (auto& [key, burst] : bursts_) {
    if (burst.pending > 0) SendPending(burst, now);
  }
}

void EventLog::Send(RunEvent event) {
  if (options_.log) {
    // An "info" event (a recording started, an instrument back) is no warning.
    const auto level = event.kind == "info" ? spdlog::level::info : spdlog::level::warn;
    telemetry::GetLogger("run")->log(level, "{}{}{}: {}", event.stream,
                                     event.stream.empty() ? "" : " ", event.kind, event.message);
  }
  for (const auto& [id, listener] : listeners_) listener(event);
  if (first_.size() < options_.keep_first) {
    first_.push_back(std::move(event));
    return;
  }
  last_.push_back(std::move(event));
  if (last_.size() > options_.keep_last) {
    last_.pop_front();
    ++forgotten_;
  }
}

int EventLog::AddListener(Listener listener) {
  std::lock_guard lock(mutex_);
  listeners_.emplace_back(next_listener_, std::move(listener));
  return next_listener_++;
}

int EventLog::AddRawListener(Listener listener) {
  std::lock_guard lock(mutex_);
  raw_listeners_.emplace_back(next_listener_, std::move(listener));
  return next_listener_++;
}

void EventLog::RemoveListener(int id) {
  std::lock_guard lock(mutex_);
  std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
  std::erase_if(raw_listeners_, [id](const auto& entry) { return entry.first == id; });
}

std::vector<RunEvent> EventLog::Events() const {
  std::lock_guard lock(mutex_);
  std::vector<RunEvent> out(first_.begin(), first_.end());
  out.insert(out.end(), last_.begin(), last_.end());
  return out;
}

std::vector<RunEvent> EventLog::EventsSince(std::int64_t since_ns) const {
  std::vector<RunEvent> out = Events();
  std::erase_if(out, [since_ns](const RunEvent& e) { return e.time_ns < since_ns; });
  return out;
}

std::vector<EventTotal> EventLog::Totals() const {
  std::lock_guard lock(mutex_);
  std::vector<EventTotal> out;
  out.reserve(totals_.size());
  for (const auto& [key, count] : totals_) out.push_back({key.first, key.second, count});
  return out;
}

std::uint64_t EventLog::forgotten() const {
  std::lock_guard lock(mutex_);
  return forgotten_;
}

}  // namespace arrowdaq::app
