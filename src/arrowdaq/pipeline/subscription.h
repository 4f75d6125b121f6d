// Subscription: a consumer's bounded queue of DataPackets from one or more streams, with its
// overflow policy and exact accounting. The router pushes (producer threads, possibly several
// streams at once); one consumer pops. Every packet offered to a subscription ends up exactly
// once as delivered (popped by the consumer), dropped (discarded by the policy) or still
// queued, per stream, so a consumer can reconcile what it saw with sequence numbers.
//
// Each subscription owns its queue (a ring of at most `capacity` packets, grown on demand and
// then reused, so steady state allocates nothing) and one mutex that guards the queue and the
// counters together: a producer takes one uncontended lock per delivery and no lock shared
// with other subscriptions. Wake-ups are batched (see docs/architecture.md, "Fan-out"): a
// consumer that was idle is woken by the first packet; a consumer that is streaming sleeps at
// most `max_wake_latency` and is woken early only when its queue is half full; a producer
// blocked on a full kBlock queue is woken once the queue is half empty. So a fast producer
// pays one wake-up per batch of packets per subscriber instead of one per packet.
//
// Threading: Offer from any producer thread; Next/TryNext from one consumer thread; counters
// from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/flow_control.h"

namespace arrowdaq::pipeline {

struct SubscriptionOptions {
  std::string name;
  /// Stream names, or {"*"} for every stream (present and future).
  std::vector<std::string> streams{"*"};
  std::size_t capacity = 16;
  OverflowPolicy policy = OverflowPolicy::kDropOldest;
  /// How long a streaming consumer may sleep before it looks at its queue by itself (the
  /// producer wakes it sooner once the queue is half full). Bounds the delivery latency that
  /// wake-up batching adds; zero wakes the consumer for every packet.
  std::chrono::microseconds max_wake_latency{1000};
};

/// Per-stream accounting of one subscription.
struct DeliveryStats {
  std::uint64_t offered = 0;    ///< packets the router handed to this subscription
  std::uint64_t delivered = 0;  ///< packets the consumer took
  std::uint64_t dropped = 0;    ///< packets the overflow policy discarded
};

class Subscription {
 public:
  explicit Subscription(SubscriptionOptions options);

  const std::string& name() const { return options_.name; }
  const SubscriptionOptions& options() const { return options_; }
  /// Return whether this subscription wants packets of `stream`.
  bool Wants(const std::string& stream) const;

  /// Take the next packet, waiting until `deadline` (forever when none); nullopt when the
  /// deadline passed or the subscription is closed and empty.
  std::optional<DataPacket> Next(
      std::optional<std::chrono::steady_clock::time_point> deadline = {});
  /// Take the next packet without waiting.
  std::optional<DataPacket> TryNext();

  /// Offer a packet (router side). Applies the policy; with kBlock waits for room.
  /// Returns false when the subscription is closed.
  bool Offer(const DataPacket& packet);
  /// Stop taking packets; the consumer still drains what is queued, then Next returns nullopt.
  void Close();
  bool closed() const;

  /// Return the per-stream accounting.
  std::map<std::string, DeliveryStats> Stats() const;
  /// Return the totals over all streams.
  DeliveryStats Totals() const;
  std::size_t queued() const;
  /// Return how many producers are waiting in Offer for room (policy block, queue full).
  int blocked_producers() const;
  /// Return how often the consumer went to sleep on an empty queue, and how often a producer
  /// woke it (wake-ups cost a system call each; batching keeps them per batch, not per packet).
  std::uint64_t consumer_sleeps() const;
  std::uint64_t consumer_wakeups() const;

 private:
  // What the consumer is doing, so a producer knows whether (and when) to wake it.
  enum class ConsumerState { kAwake, kIdleWait, kStreamingWait };

  struct StreamCounters {
    std::shared_ptr<const StreamInfo> stream;  // held so its address stays unique
    DeliveryStats stats;
  };

  DeliveryStats& CountersFor(const std::shared_ptr<const StreamInfo>& stream);  // mutex_ held
  DataPacket PopFront();                                                         // mutex_ held
  void PushBack(const DataPacket& packet);                                       // mutex_ held
  // After a pop: wake producers blocked on a full queue once it is half empty.
  void WakeProducers(std::unique_lock<std::mutex>& lock);

  const SubscriptionOptions options_;
  const bool all_streams_;
  const std::size_t capacity_;
  const std::size_t wake_threshold_;  // queue depth at which a streaming consumer is woken
  const std::size_t resume_level_;    // queue depth at which blocked producers resume

  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::vector<DataPacket> ring_;  // grows up to capacity_, then reused
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  bool closed_ = false;
  bool streaming_ = false;  // the consumer took a packet since its last idle timeout
  ConsumerState consumer_ = ConsumerState::kAwake;
  int blocked_producers_ = 0;
  std::uint64_t consumer_sleeps_ = 0;
  std::uint64_t consumer_wakeups_ = 0;
  std::unordered_map<const StreamInfo*, StreamCounters> counters_;
  const StreamInfo* last_stream_ = nullptr;  // packets come in runs per stream: cache the
  DeliveryStats* last_counters_ = nullptr;   // entry used last
};

}  // namespace arrowdaq::pipeline
