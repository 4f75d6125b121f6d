// BoundedQueue: a thread-safe FIFO of at most `capacity` items with an explicit overflow policy
// (block, drop oldest, drop newest) and exact drop accounting. It is the storage behind actor
// mailboxes and data subscriptions. Any number of producer and consumer threads may call it.
// Blocking calls wait on a condition variable; coroutine code uses the non-blocking calls plus a
// wake-up hook (see SetWakeHooks) so it never blocks an executor thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

#include "arrowdaq/core/flow_control.h"

namespace arrowdaq::runtime {

/// Say what happened to a pushed item.
enum class PushOutcome {
  kQueued,         ///< queued, nothing lost
  kQueuedDropped,  ///< queued after discarding the oldest item (drop_oldest)
  kRejected,       ///< not queued: full (drop_newest, or TryPush on a full queue)
  kClosed,         ///< not queued: the queue is closed
  kTimedOut,       ///< not queued: still full at the deadline (blocking push)
};

template <typename T>
class BoundedQueue {
 public:
  /// Create a queue; capacity 0 is raised to 1.
  BoundedQueue(std::size_t capacity, OverflowPolicy policy)
      : capacity_(capacity == 0 ? 1 : capacity), policy_(policy) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  /// Push applying the queue's policy. With kBlock this waits while the queue is full (until
  /// `deadline`, or forever when none is given); the lossy policies never wait. `on_drop`
  /// receives an item discarded by drop_oldest (outside the lock) so the caller can account
  /// for it.
  PushOutcome Push(T item, std::optional<std::chrono::steady_clock::time_point> deadline = {},
                   const std::function<void(T&)>& on_drop = {}) {
    std::optional<T> dropped;
    PushOutcome outcome;
    {
      std::unique_lock lock(mutex_);
      if (closed_) return PushOutcome::kClosed;
      if (items_.size() >= capacity_) {
        switch (policy_) {
          case OverflowPolicy::kBlock: {
            ++blocked_pushers_;
            auto has_room = [this] { return closed_ || items_.size() < capacity_; };
            bool ok = true;
            if (deadline) {
              ok = not_full_.wait_until(lock, *deadline, has_room);
            } else {
              not_full_.wait(lock, has_room);
            }
            --blocked_pushers_;
            if (closed_) return PushOutcome::kClosed;
            if (!ok) return PushOutcome::kTimedOut;
            break;
          }
          case OverflowPolicy::kDropNewest:
            ++dropped_;
            return PushOutcome::kRejected;
          case OverflowPolicy::kDropOldest:
            dropped.emplace(std::move(items_.front()));
            items_.pop_front();
            ++dropped_;
            break;
        }
      }
      items_.push_back(std::move(item));
      ++pushed_;
      outcome = dropped ? PushOutcome::kQueuedDropped : PushOutcome::kQueued;
    }
    not_empty_.notify_one();
    if (on_push_) on_push_();
    if (dropped && on_drop) on_drop(*dropped);
    return outcome;
  }

  /// Push without ever waiting: a full queue rejects the item whatever the policy (not
  /// counted as a drop; the caller decides).
  PushOutcome TryPush(T&& item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return PushOutcome::kClosed;
      if (items_.size() >= capacity_) return PushOutcome::kRejected;
      items_.push_back(std::move(item));
      ++pushed_;
    }
    not_empty_.notify_one();
    if (on_push_) on_push_();
    return PushOutcome::kQueued;
  }

  /// Push even when full (control messages such as a stop request); fails only when closed.
  bool ForcePush(T item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return false;
      items_.push_back(std::move(item));
      ++pushed_;
    }
    not_empty_.notify_one();
    if (on_push_) on_push_();
    return true;
  }

  /// Pop the oldest item without waiting.
  std::optional<T> TryPop() {
    std::optional<T> out;
    bool wake_pushers;
    bool was_full;
    {
      std::lock_guard lock(mutex_);
      if (items_.empty()) return out;
      was_full = items_.size() >= capacity_;
      out.emplace(std::move(items_.front()));
      items_.pop_front();
      wake_pushers = was_full && blocked_pushers_ > 0;
    }
    NotifyRoom(wake_pushers, was_full);
    return out;
  }

  /// Pop the oldest item, waiting until one arrives, the deadline passes or the queue is
  /// closed and empty (then nullopt).
  std::optional<T> Pop(std::optional<std::chrono::steady_clock::time_point> deadline = {}) {
    std::optional<T> out;
    bool wake_pushers;
    bool was_full;
    {
      std::unique_lock lock(mutex_);
      auto ready = [this] { return closed_ || !items_.empty(); };
      if (deadline) {
        if (!not_empty_.wait_until(lock, *deadline, ready)) return out;
      } else {
        not_empty_.wait(lock, ready);
      }
      if (items_.empty()) return out;
      was_full = items_.size() >= capacity_;
      out.emplace(std::move(items_.front()));
      items_.pop_front();
      wake_pushers = was_full && blocked_pushers_ > 0;
    }
    NotifyRoom(wake_pushers, was_full);
    return out;
  }

  /// Refuse further pushes and wake every waiter; queued items can still be popped.
  void Close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    if (on_push_) on_push_();
    if (on_room_) on_room_(true);
  }

  /// Discard every queued item (returns how many); used when an actor gives up.
  std::size_t Clear() {
    std::deque<T> gone;
    {
      std::lock_guard lock(mutex_);
      gone.swap(items_);
    }
    not_full_.notify_all();
    if (on_room_) on_room_(true);
    return gone.size();
  }

  /// Install hooks called (outside the lock) after every push and after every pop, clear or
  /// close; coroutine consumers and producers use them to wake. `on_room(freed)` is told
  /// whether that call took the queue out of the full state (true for clear and close): a
  /// producer that found the queue full can only gain room from such a call. Set before the
  /// queue is shared.
  void SetWakeHooks(std::function<void()> on_push, std::function<void(bool)> on_room) {
    on_push_ = std::move(on_push);
    on_room_ = std::move(on_room);
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  bool full() const {
    std::lock_guard lock(mutex_);
    return items_.size() >= capacity_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::size_t capacity() const { return capacity_; }
  OverflowPolicy policy() const { return policy_; }
  /// Return how many items the policy discarded so far.
  std::uint64_t dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
  }
  /// Return how many items were queued so far.
  std::uint64_t pushed() const {
    std::lock_guard lock(mutex_);
    return pushed_;
  }

 private:
  // Blocked pushers wait only while the queue is full, so only a pop from a full queue can
  // let one go on: wake them all then (one system call per full -> not full transition, not
  // one per pop); those that find it full again wait again.
  void NotifyRoom(bool wake_pushers, bool was_full) {
    if (wake_pushers) not_full_.notify_all();
    if (on_room_) on_room_(was_full);
  }

  const std::size_t capacity_;
  const OverflowPolicy policy_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
  int blocked_pushers_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t pushed_ = 0;
  std::function<void()> on_push_;
  std::function<void(bool)> on_room_;
};

}  // namespace arrowdaq::runtime
