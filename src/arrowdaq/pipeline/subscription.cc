#include "arrowdaq/pipeline/subscription.h"

#include <algorithm>

namespace arrowdaq::pipeline {

namespace {

constexpr std::size_t kMaxWakeBatch = 64;  // never let a streaming consumer lag further

}  // namespace

Subscription::Subscription(SubscriptionOptions options)
    : options_(std::move(options)),
      all_streams_(std::find(options_.streams.begin(), options_.streams.end(), "*") !=
                   options_.streams.end()),
      capacity_(std::max<std::size_t>(options_.capacity, 1)),
      wake_threshold_(std::clamp<std::size_t>(capacity_ / 2, 1, kMaxWakeBatch)),
      resume_level_(capacity_ / 2) {}

bool Subscription::Wants(const std::string& stream) const {
  return all_streams_ ||
         std::find(options_.streams.begin(), options_.streams.end(), stream) !=
             options_.streams.end();
}

DeliveryStats& Subscription::CountersFor(const std::shared_ptr<const StreamInfo>& stream) {
  if (stream.get() == last_stream_ && last_counters_ != nullptr) return *last_counters_;
  auto [it, inserted] = counters_.try_emplace(stream.get());
  if (inserted) it->second.stream = stream;
  last_stream_ = stream.get();
  last_counters_ = &it->second.stats;
  return it->second.stats;
}

void Subscription::PushBack(const DataPacket& packet) {
  if (ring_.size() < capacity_ && size_ == ring_.size()) {
    // Grow (only until the ring holds `capacity_` packets): unroll the ring into order first.
    std::rotate(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(head_), ring_.end());
    head_ = 0;
    ring_.push_back(packet);
  } else {
    ring_[(head_ + size_) % ring_.size()] = packet;
  }
  ++size_;
}

DataPacket Subscription::PopFront() {
  DataPacket out = std::move(ring_[head_]);
  head_ = (head_ + 1) % ring_.size();
  --size_;
  return out;
}

void Subscription::WakeProducers(std::unique_lock<std::mutex>& lock) {
  const bool wake = blocked_producers_ > 0 && size_ <= resume_level_;
  lock.unlock();
  if (wake) not_full_.notify_all();
}

std::optional<DataPacket> Subscription::Next(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  using Clock = std::chrono::steady_clock;
  std::unique_lock lock(mutex_);
  while (size_ == 0) {
    if (closed_) return std::nullopt;
    const auto now = Clock::now();
    if (deadline && now >= *deadline) return std::nullopt;
    // A streaming consumer naps at most max_wake_latency (producers wake it early only when
    // its queue is half full); an idle one sleeps until the first packet arrives.
    const bool nap = streaming_ && options_.max_wake_latency.count() > 0;
    std::optional<Clock::time_point> until = deadline;
    if (nap && (!until || now + options_.max_wake_latency < *until)) {
      until = now + options_.max_wake_latency;
    }
    consumer_ = nap ? ConsumerState::kStreamingWait : ConsumerState::kIdleWait;
    ++consumer_sleeps_;
    auto woken = [this] { return closed_ || size_ > 0 || consumer_ == ConsumerState::kAwake; };
    bool was_woken = true;
    if (until) {
      was_woken = not_empty_.wait_until(lock, *until, woken);
    } else {
      not_empty_.wait(lock, woken);
    }
    consumer_ = ConsumerState::kAwake;
    if (!was_woken && size_ == 0 && nap) streaming_ = false;  // a whole nap without data
  }
  DataPacket packet = PopFront();
  ++CountersFor(packet.stream).delivered;
  streaming_ = true;
  WakeProducers(lock);
  return packet;
}

std::optional<DataPacket> Subscription::TryNext() {
  std::unique_lock lock(mutex_);
  if (size_ == 0) return std::nullopt;
  DataPacket packet = PopFront();
  ++CountersFor(packet.stream).delivered;
  WakeProducers(lock);
  return packet;
}

bool Subscription::Offer(const DataPacket& packet) {
  std::optional<DataPacket> gone;  // released outside the lock
  bool wake_consumer = false;
  {
    std::unique_lock lock(mutex_);
    if (closed_) return false;
    DeliveryStats& counters = CountersFor(packet.stream);
    if (size_ >= capacity_) {
      switch (options_.policy) {
        case OverflowPolicy::kBlock:
          ++blocked_producers_;
          // The consumer was woken when the queue reached the wake threshold; make sure of it
          // (a consumer napping with a long latency must not leave a producer stuck).
          if (consumer_ != ConsumerState::kAwake) {
            consumer_ = ConsumerState::kAwake;
            ++consumer_wakeups_;
            not_empty_.notify_all();
          }
          not_full_.wait(lock, [this] { return closed_ || size_ <= resume_level_; });
          --blocked_producers_;
          if (closed_) return false;
          break;
        case OverflowPolicy::kDropNewest:
          ++counters.offered;
          ++counters.dropped;
          return true;
        case OverflowPolicy::kDropOldest: {
          gone.emplace(PopFront());
          ++CountersFor(gone->stream).dropped;
          break;
        }
      }
    }
    ++counters.offered;  // unordered_map entries stay put when others are added
    PushBack(packet);
    if (consumer_ == ConsumerState::kIdleWait ||
        (consumer_ == ConsumerState::kStreamingWait && size_ >= wake_threshold_)) {
      consumer_ = ConsumerState::kAwake;
      ++consumer_wakeups_;
      wake_consumer = true;
    }
  }
  if (wake_consumer) not_empty_.notify_all();
  return true;
}

void Subscription::Close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

bool Subscription::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::size_t Subscription::queued() const {
  std::lock_guard lock(mutex_);
  return size_;
}

int Subscription::blocked_producers() const {
  std::lock_guard lock(mutex_);
  return blocked_producers_;
}

std::uint64_t Subscription::consumer_sleeps() const {
  std::lock_guard lock(mutex_);
  return consumer_sleeps_;
}

std::uint64_t Subscription::consumer_wakeups() const {
  std::lock_guard lock(mutex_);
  return consumer_wakeups_;
}

std::map<std::string, DeliveryStats> Subscription::Stats() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, DeliveryStats> out;
  for (const auto& [_, c] : counters_) {
    auto& s = out[c.stream ? c.stream->name : std::string()];
    s.offered += c.stats.offered;
    s.delivered += c.stats.delivered;
    s.dropped += c.stats.dropped;
  }
  return out;
}

DeliveryStats Subscription::Totals() const {
  DeliveryStats t;
  std::lock_guard lock(mutex_);
  for (const auto& [_, c] : counters_) {
    t.offered += c.stats.offered;
    t.delivered += c.stats.delivered;
    t.dropped += c.stats.dropped;
  }
  return t;
}

}  // namespace arrowdaq::pipeline
