// Monitor: the live consumer behind a `kind = "monitor"` subscription. On its own thread it
// takes every packet the subscription delivers and checks, per stream, that sequence numbers
// only grow; every number it never saw is counted as missed. On a lossy policy `missed` must
// equal the subscription's drop counter, which the summary shows side by side.
//
// Threading: Start/Join from the owner; Stats after Join (or any time, under its lock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "arrowdaq/pipeline/subscription.h"

namespace arrowdaq::app {

struct MonitorStreamStats {
  std::uint64_t packets = 0;
  std::uint64_t rows = 0;
  std::uint64_t missed = 0;        ///< sequence numbers skipped between packets seen
  std::uint64_t out_of_order = 0;  ///< packets whose sequence did not grow (must stay 0)
  std::uint64_t last_sequence = 0;
};

class Monitor {
 public:
  explicit Monitor(std::shared_ptr<pipeline::Subscription> subscription);
  ~Monitor();

  /// Start consuming on a new thread.
  void Start();
  /// Wait until the subscription is closed and drained.
  void Join();

  const std::shared_ptr<pipeline::Subscription>& subscription() const { return subscription_; }
  std::map<std::string, MonitorStreamStats> Stats() const;

 private:
  void Loop();

  std::shared_ptr<pipeline::Subscription> subscription_;
  mutable std::mutex mutex_;
  std::map<std::string, MonitorStreamStats> stats_;
  std::thread thread_;
};

}  // namespace arrowdaq::app
