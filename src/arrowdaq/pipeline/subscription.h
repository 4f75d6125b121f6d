// Subscription: a consumer's bounded queue of DataPackets from one or more streams, with its
// overflow policy and exact accounting. The router pushes (producer threads, possibly several
// streams at once); one consumer pops. Every packet offered to a subscription ends up exactly
// once as delivered (popped by the consumer), dropped (discarded by the policy) or still
// queued, per stream, so a consumer can reconcile what it saw with sequence numbers.
//
// Threading: Offer from any producer thread; Next/TryNext from the consumer; counters from any
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/flow_control.h"
#include "arrowdaq/runtime/bounded_queue.h"

namespace arrowdaq::pipeline {

struct SubscriptionOptions {
  std::string name;
  /// Stream names, or {"*"} for every stream (present and future).
  std::vector<std::string> streams{"*"};
  std::size_t capacity = 16;
  OverflowPolicy policy = OverflowPolicy::kDropOldest;
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
  bool closed() const { return queue_.closed(); }

  /// Return the per-stream accounting.
  std::map<std::string, DeliveryStats> Stats() const;
  /// Return the totals over all streams.
  DeliveryStats Totals() const;
  std::size_t queued() const { return queue_.size(); }

 private:
  void Count(const std::string& stream, std::uint64_t DeliveryStats::*field);

  const SubscriptionOptions options_;
  const bool all_streams_;
  runtime::BoundedQueue<DataPacket> queue_;
  mutable std::mutex stats_mutex_;
  std::map<std::string, DeliveryStats> stats_;
};

}  // namespace arrowdaq::pipeline
