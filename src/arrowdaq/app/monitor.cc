#include "arrowdaq/app/monitor.h"

namespace arrowdaq::app {

Monitor::Monitor(std::shared_ptr<pipeline::Subscription> subscription)
    : subscription_(std::move(subscription)) {}

Monitor::~Monitor() {
  subscription_->Close();
  Join();
}

void Monitor::Start() { thread_ = std::thread([this] { Loop(); }); }

void Monitor::Join() {
  if (thread_.joinable()) thread_.join();
}

void Monitor::Loop() {
  while (auto packet = subscription_->Next()) {
    std::lock_guard lock(mutex_);
    auto& s = stats_[packet->stream_name()];
    const std::uint64_t expected = s.packets == 0 ? 0 : s.last_sequence + 1;
    if (s.packets > 0 && packet->sequence <= s.last_sequence) {
      ++s.out_of_order;
    } else {
      s.missed += packet->sequence - expected;
      s.last_sequence = packet->sequence;
    }
    ++s.packets;
    s.rows += static_cast<std::uint64_t>(packet->num_rows());
  }
}

std::map<std::string, MonitorStreamStats> Monitor::Stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace arrowdaq::app
