// Sink: a consumer that sends streams out of the process (today: to Apache Kafka). Like a
// recording it subscribes to streams of the router with a policy (`block` by default, so
// back-pressure reaches the instruments when the destination cannot keep up; `drop_oldest` /
// `drop_newest` drop and count instead) and runs its own thread; unlike a recording it lives
// as long as the engine: started with it, stopped after the recordings drained.
//
// Figures are kept per destination (a Kafka topic): messages produced (handed to the client),
// delivered (acknowledged by the destination), failed (finally refused or not delivered
// before the stop's deadline; each failure is also an event with its cause).
//
// Threading: Start, BeginStop, Stop from the engine's owning thread; Stats from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/core/flow_control.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/pipeline/stream_router.h"

namespace arrowdaq::sinks {

/// Figures of one destination (a topic).
struct DestinationStats {
  std::string name;
  /// Messages given to the client library, accepted or refused: at the end, produced =
  /// delivered + failed.
  std::uint64_t produced = 0;
  std::uint64_t delivered = 0;  ///< acknowledged by the destination
  std::uint64_t failed = 0;     ///< refused, or not delivered by the stop's deadline
  std::uint64_t rows_delivered = 0;
  std::uint64_t bytes_delivered = 0;  ///< message values
};

/// Figures of one sink.
struct SinkStats {
  std::string name;
  std::string kind;
  OverflowPolicy policy = OverflowPolicy::kBlock;
  std::uint64_t offered = 0;  ///< packets the router offered to the sink's subscription
  std::uint64_t dropped = 0;  ///< packets its policy dropped (0 with block)
  std::uint64_t taken = 0;    ///< packets the sink took from its subscription
  std::vector<DestinationStats> destinations;
};

class Sink {
 public:
  virtual ~Sink() = default;
  /// Subscribe to the router and start the sink's thread.
  [[nodiscard]] virtual Status Start(pipeline::StreamRouter& router) = 0;
  /// Start the stop's clock (the end of the run): from now on the sink waits at most its
  /// deadline for the destination; it still takes every packet already stamped.
  virtual void BeginStop() = 0;
  /// Stop taking packets, send what is queued, wait for delivery (up to the deadline),
  /// count what was not delivered, join the thread. Idempotent.
  virtual void Stop() = 0;
  virtual SinkStats Stats() const = 0;
};

}  // namespace arrowdaq::sinks
