// StreamRouter: the data plane of the instrument manager. It knows every stream (instrument
// and derived), stamps each published batch with the stream's next sequence number and hands
// the same DataPacket (the same shared_ptr, never a copy of the buffers) to every subscription
// that wants the stream, applying each subscription's overflow policy. It also keeps per-stream
// totals for progress lines and the run summary.
//
// Threading: Publish is called by each stream's producer (one thread per stream at a time);
// AddStream/Subscribe/Unsubscribe/Stats from any thread. Publish reads an immutable snapshot of
// the subscriber list, so subscribing never waits for a producer stuck on back-pressure.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/pipeline/subscription.h"

namespace arrowdaq::pipeline {

/// Totals of one stream.
struct StreamStats {
  std::string name;
  std::uint64_t packets = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::uint64_t next_sequence = 0;      ///< the sequence number the next packet would get
  bool sealed = false;                  ///< SealStreams ended it
  std::int64_t first_timestamp_ns = 0;  ///< of the first row (0 before the first packet)
  std::int64_t last_timestamp_ns = 0;   ///< of the last row
};

/// A producer's handle on one stream.
class StreamHandle {
 public:
  const std::shared_ptr<const StreamInfo>& info() const { return info_; }

 private:
  friend class StreamRouter;
  using SubscriberList = std::vector<std::shared_ptr<Subscription>>;

  // The next sequence number in the low 63 bits; the top bit set once the stream is sealed.
  static constexpr std::uint64_t kSealed = std::uint64_t{1} << 63;

  std::shared_ptr<const StreamInfo> info_;
  std::atomic<std::uint64_t> next_sequence_{0};
  std::atomic<std::shared_ptr<const SubscriberList>> subscribers_;
  // Publishes that have begun offering (counted before loading subscribers_) and that have
  // finished, so that Unsubscribe can wait for the publishes that may still offer to the
  // subscription it removes: those begun before it swapped the list. One producer per stream,
  // so "finished >= begun-then" means each of them is done, however busy the stream stays.
  std::atomic<std::uint64_t> offers_begun_{0};
  std::atomic<std::uint64_t> offers_done_{0};
  std::atomic<std::uint64_t> packets_{0};
  std::atomic<std::uint64_t> rows_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::int64_t> first_ts_{0};
  std::atomic<std::int64_t> last_ts_{0};
};

class StreamRouter {
 public:
  /// Declare a stream; fails on a duplicate name or a schema that is not a stream schema.
  Result<std::shared_ptr<StreamHandle>> AddStream(std::shared_ptr<const StreamInfo> info);
  /// Forget a stream; its subscriptions stay (they may want other streams).
  Status RemoveStream(const std::string& name);
  /// Return the stream's info, or an error naming the known streams.
  Result<std::shared_ptr<const StreamInfo>> FindStream(const std::string& name) const;
  std::vector<std::string> StreamNames() const;

  /// Add a subscription; every stream it names must exist (or be "*"), names are unique.
  Result<std::shared_ptr<Subscription>> Subscribe(SubscriptionOptions options);
  /// Remove a subscription and close it (its consumer drains what is queued).
  Status Unsubscribe(const std::string& name);

  /// Stamp `batch` with the stream's next sequence number and offer it to every
  /// subscriber. Fails if the batch's schema differs from the stream's, and with
  /// Status::Cancelled once the stream is sealed (the batch is not published).
  Result<DataPacket> Publish(StreamHandle& stream, std::shared_ptr<arrow::RecordBatch> batch);

  /// End publishing on the named streams at one point: every packet stamped before it is
  /// delivered as usual, every Publish after it is refused (Cancelled). The end of a run.
  /// Unknown names are an error (nothing is sealed then). Idempotent.
  Status SealStreams(const std::vector<std::string>& names);

  /// Return per-stream totals, in stream creation order.
  std::vector<StreamStats> Stats() const;
  /// Close every subscription (shutdown: releases producers blocked on back-pressure).
  void CloseAll();

 private:
  void RebuildSubscriberLists();  // mutex_ held
  // Wait (at most `bound`) until every Publish that may offer to `gone` from an old subscriber
  // list has finished: on the streams `gone` wants, those begun before this call.
  void WaitForOffers(const Subscription& gone, std::chrono::milliseconds bound);  // mutex_ not held

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<StreamHandle>> streams_;
  std::vector<std::shared_ptr<Subscription>> subscriptions_;
};

}  // namespace arrowdaq::pipeline
