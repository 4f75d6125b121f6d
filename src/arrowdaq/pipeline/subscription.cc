#include "arrowdaq/pipeline/subscription.h"

#include <algorithm>

namespace arrowdaq::pipeline {

Subscription::Subscription(SubscriptionOptions options)
    : options_(std::move(options)),
      all_streams_(std::find(options_.streams.begin(), options_.streams.end(), "*") !=
                   options_.streams.end()),
      queue_(options_.capacity, options_.policy) {}

bool Subscription::Wants(const std::string& stream) const {
  return all_streams_ ||
         std::find(options_.streams.begin(), options_.streams.end(), stream) !=
             options_.streams.end();
}

void Subscription::Count(const std::string& stream, std::uint64_t DeliveryStats::*field) {
  std::lock_guard lock(stats_mutex_);
  ++(stats_[stream].*field);
}

std::optional<DataPacket> Subscription::Next(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  auto p = queue_.Pop(deadline);
  if (p) Count(p->stream_name(), &DeliveryStats::delivered);
  return p;
}

std::optional<DataPacket> Subscription::TryNext() {
  auto p = queue_.TryPop();
  if (p) Count(p->stream_name(), &DeliveryStats::delivered);
  return p;
}

bool Subscription::Offer(const DataPacket& packet) {
  Count(packet.stream_name(), &DeliveryStats::offered);
  const auto outcome = queue_.Push(packet, {}, [this](DataPacket& gone) {
    Count(gone.stream_name(), &DeliveryStats::dropped);
  });
  switch (outcome) {
    case runtime::PushOutcome::kRejected:
      Count(packet.stream_name(), &DeliveryStats::dropped);
      return true;
    case runtime::PushOutcome::kClosed: {
      // Not offered after all: keep offered == delivered + dropped + queued.
      std::lock_guard lock(stats_mutex_);
      --stats_[packet.stream_name()].offered;
      return false;
    }
    default:
      return true;
  }
}

void Subscription::Close() { queue_.Close(); }

std::map<std::string, DeliveryStats> Subscription::Stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

DeliveryStats Subscription::Totals() const {
  DeliveryStats t;
  std::lock_guard lock(stats_mutex_);
  for (const auto& [_, s] : stats_) {
    t.offered += s.offered;
    t.delivered += s.delivered;
    t.dropped += s.dropped;
  }
  return t;
}

}  // namespace arrowdaq::pipeline
