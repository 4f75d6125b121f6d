// LiveFeed: live and recent data for network clients (the Flight server, later the dashboard).
// It is one router subscriber ("*", drop_oldest, so it never slows a producer) with its own
// thread, which keeps a ReplayRing per stream and fans every packet out to the clients'
// LiveSubscriptions. A client subscribes with a start position:
//
//   live     packets published from now on;
//   replay   the ring's packets of the last N seconds of sample time, then live;
//   since S  the ring's packets with sequence >= S, then live (S must still be in the ring, or
//            not yet published) -- a client that saw up to L resumes with since L+1 and gets
//            neither a gap nor a duplicate.
//
// The backlog and the switch to live happen under one lock with the fan-out, so nothing falls
// between them. Each LiveSubscription is a bounded drop_oldest queue: a client that stops
// reading loses its oldest packets, counted, and slows nobody else. Every delivered packet
// comes with the number of packets of its stream the client lost before it (evicted from its
// queue, or lost upstream when the feed itself fell behind), so the client can reconcile its
// sequence numbers exactly.
//
// Ownership: the feed owns its router subscription, its thread and the rings; clients share
// their LiveSubscription with the feed (the feed forgets closed ones). The router must outlive
// the feed. Threading: every method from any thread; LiveSubscription::Next from one consumer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/pipeline/replay_ring.h"
#include "arrowdaq/pipeline/stream_router.h"
#include "arrowdaq/pipeline/subscription.h"

namespace arrowdaq::pipeline {

struct LiveFeedOptions {
  ReplayRingOptions ring;
  /// Packets queued between the router and the feed's thread (drop_oldest: when the thread
  /// falls this far behind, packets are lost, counted and reported to clients as drops).
  std::size_t feed_capacity = 4096;
  /// Name of the feed's router subscription (unique among the router's subscriptions).
  std::string subscription_name = "live-feed";
};

struct LiveSubscriptionOptions {
  /// Stream names (each must exist; no wildcard: a client names what it wants).
  std::vector<std::string> streams;
  StartPosition start;
  /// Live packets queued for this client before the oldest is dropped (the backlog of a
  /// replay or since start does not count against it). 0 is raised to 1.
  std::size_t capacity = 64;
  /// Arrow buffer bytes of the live packets queued for this client: the oldest are dropped
  /// to stay within it (one packet is always kept, however large), so a stalled client of a
  /// camera stream holds megabytes, not gigabytes.
  std::int64_t capacity_bytes = std::int64_t{64} << 20;
  /// Who this is, for status lines ("ipv4:127.0.0.1:51234").
  std::string client;
};

/// One packet as a client receives it.
struct LiveDelivery {
  DataPacket packet;
  /// Packets of `packet`'s stream this subscription lost before this one (cumulative).
  std::uint64_t dropped = 0;
};

/// Per-stream accounting of one LiveSubscription.
struct LiveStreamStats {
  std::uint64_t delivered = 0;  ///< packets the client took
  std::uint64_t dropped = 0;    ///< packets lost: evicted from its queue, or lost upstream
  std::uint64_t queued = 0;     ///< packets waiting (backlog and live)
  /// Sequence number expected next (the first one this client has not been offered).
  std::uint64_t next_sequence = 0;
};

class LiveSubscription {
 public:
  LiveSubscription(std::uint64_t id, LiveSubscriptionOptions options);

  /// Take the next packet, waiting until `deadline` (forever when none). nullopt when the
  /// deadline passed or the subscription is closed (Close discards what is queued).
  std::optional<LiveDelivery> Next(
      std::optional<std::chrono::steady_clock::time_point> deadline = {});
  /// Stop: wake Next and refuse further packets. Idempotent; any thread.
  void Close();
  [[nodiscard]] bool closed() const;

  [[nodiscard]] std::uint64_t id() const { return id_; }
  const LiveSubscriptionOptions& options() const { return options_; }
  /// Return the per-stream accounting.
  [[nodiscard]] std::map<std::string, LiveStreamStats> Stats() const;

 private:
  friend class LiveFeed;
  struct Entry {
    DataPacket packet;
    std::uint64_t lost_upstream_before = 0;  // the stream's upstream losses when queued
    std::int64_t bytes = 0;                  // live entries only
  };
  struct StreamState {
    std::uint64_t expected = 0;       // next sequence to offer
    std::uint64_t evicted = 0;        // dropped from the queue by drop_oldest
    std::uint64_t lost_upstream = 0;  // sequence gaps before reaching this client
    std::uint64_t delivered = 0;
  };

  bool Wants(const std::string& stream) const;
  // Feed side (feed mutex held): queue a stream's backlog (packets with sequence >= `first`,
  // in order) and expect live packets after it.
  void Prime(const std::string& stream, std::vector<DataPacket> backlog, std::uint64_t first);
  // Feed side: offer one live packet of `bytes` Arrow buffer bytes.
  void Push(const DataPacket& packet, std::int64_t bytes);

  const std::uint64_t id_;
  const LiveSubscriptionOptions options_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Entry> backlog_;
  std::deque<Entry> live_;
  std::int64_t live_bytes_ = 0;
  std::map<std::string, StreamState> streams_;
  bool closed_ = false;
};

/// Per-stream state of the feed.
struct FeedStreamStats {
  std::string name;
  std::uint64_t ring_packets = 0;
  std::int64_t ring_bytes = 0;
  /// Oldest and newest sequence in the ring (both 0 when it is empty).
  std::uint64_t ring_first_sequence = 0;
  std::uint64_t ring_last_sequence = 0;
  /// Sequence the feed expects next (packets the feed has seen, gaps included).
  std::uint64_t next_sequence = 0;
  /// Packets the feed lost because its thread fell behind (clients got them as drops).
  std::uint64_t lost = 0;
};

class LiveFeed {
 public:
  /// Subscribe to every stream of `router` (present and future) and start the feed's thread.
  static Result<std::unique_ptr<LiveFeed>> Make(StreamRouter& router, LiveFeedOptions options);
  /// Stop (see Stop).
  ~LiveFeed();
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  /// Add a client. Fails (KeyError naming the known streams) on an unknown stream, and
  /// (Invalid) on a `since` sequence that is neither in the ring nor yet to be published.
  Result<std::shared_ptr<LiveSubscription>> Subscribe(LiveSubscriptionOptions options);

  /// Return the feed's per-stream state, in stream name order.
  [[nodiscard]] std::vector<FeedStreamStats> Stats() const;
  /// Return the open client subscriptions.
  [[nodiscard]] std::vector<std::shared_ptr<LiveSubscription>> Clients() const;

  /// Wait until the feed has handled every packet the router published so far (tests).
  void Sync();

  /// Leave the router, finish the thread and close every client. Idempotent.
  void Stop();

 private:
  LiveFeed(StreamRouter& router, LiveFeedOptions options);
  struct StreamState {
    std::shared_ptr<const StreamInfo> info;
    ReplayRing ring;
    std::uint64_t next_sequence = 0;
    std::uint64_t lost = 0;
  };
  void Run();
  void Handle(const DataPacket& packet);  // mutex_ held

  StreamRouter& router_;
  const LiveFeedOptions options_;
  std::shared_ptr<Subscription> input_;
  mutable std::mutex mutex_;
  std::condition_variable handled_;
  std::map<std::string, StreamState> streams_;
  std::vector<std::shared_ptr<LiveSubscription>> clients_;
  std::uint64_t next_client_id_ = 1;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace arrowdaq::pipeline
