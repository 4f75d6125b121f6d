// The actor runtime: actors on an Asio thread pool, written as C++20 coroutines.
//
// An actor owns private state and handles the messages of its mailbox one at a time, in the
// order they arrived (so messages from one sender keep their order). A message type is usually a
// std::variant of small structs. The mailbox is bounded; what a full mailbox does is the actor's
// OverflowPolicy: kBlock suspends (or blocks) the sender, the drop policies discard and count.
//
//   Tell(msg)          awaitable, applies the policy            (from a coroutine)
//   TellBlocking(msg)  blocks the calling thread on kBlock      (from main, tests, I/O threads)
//   TryTell(msg)       never waits; full means an error
//   Ask<R>(make, t)    awaitable request/response with a timeout; make(Reply<R>) builds the message
//   AskBlocking<R>     the same from a plain thread
//   AskLater<R>        send now from a plain thread, Wait() for the answer later
//
// Supervision: a handler that returns a non-OK Status or throws fails the actor. The runtime
// calls OnStop, waits an exponential backoff, builds a new instance from the factory and goes
// on with the same mailbox; after `max_restarts` failures inside `window` it gives up: the
// actor is stopped, its queued messages are discarded (their askers get an error) and the
// supervisor's `on_exit` is told why. Stop() is graceful: new messages are refused, the mailbox
// is drained, then OnStop runs.
//
// Threading: ActorRef is a cheap value, safe to copy and use from any thread. Handlers of one
// actor never run concurrently. Blocking calls must not be made from an executor thread.
//
// GCC 12 caveat: build a message in a named variable before `co_await ref.Tell(std::move(m))`.
// With the message constructed inside the co_await expression (`co_await ref.Tell(Msg{..})`)
// GCC 12 mis-handles the temporary (seen as a hang and as a double destruction).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/bind_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/defer.hpp>
#include <asio/async_result.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/concurrent_channel.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include "arrowdaq/core/flow_control.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/runtime/bounded_queue.h"

namespace arrowdaq::runtime {

using Executor = asio::io_context::executor_type;
using Duration = std::chrono::steady_clock::duration;

/// An empty reply for requests that only succeed or fail.
struct Ack {};

namespace internal {

/// A one-shot wake-up signal for coroutines: Notify never blocks and is never lost (one
/// pending notification is buffered); Wait suspends until notified.
///
/// The waiter is resumed as a continuation of whoever notified it: a Notify from an executor
/// thread queues the waiter on that thread, to run when the current handler returns (Asio's
/// `defer`), instead of waking the other executor thread for every message or reply (a futex
/// wake-up and a cache hand-off each). A Notify from a plain thread wakes an executor thread
/// as before; when more than one handler is ready, an idle executor thread is woken for them.
class AsyncSignal {
 public:
  explicit AsyncSignal(const asio::any_io_executor& ex) : channel_(ex, 1) {}
  void Notify() { (void)channel_.try_send(asio::error_code{}, true); }
  asio::awaitable<void> Wait() {
    // Resumed on the waiter's own executor (its strand), as a continuation.
    auto ex = co_await asio::this_coro::executor;
    (void)co_await channel_.async_receive(
        asio::bind_executor(asio::prefer(ex, asio::execution::relationship.continuation),
                            asio::experimental::as_tuple(asio::use_awaitable)));
  }
  void Cancel() { channel_.cancel(); }

 private:
  // (error_code, bool): Asio 1.22 cannot instantiate a channel of plain void(error_code).
  asio::experimental::concurrent_channel<void(asio::error_code, bool)> channel_;
};

/// Something an Ask deadline can expire.
class Expirable {
 public:
  virtual ~Expirable() = default;
  /// The deadline passed: wake the asker (it reports the timeout).
  virtual void Expire() = 0;
  /// The system is going away: drop a parked asker without resuming it (its coroutine is
  /// destroyed, as Asio destroys the handlers still queued when an io_context goes).
  virtual void Abandon() = 0;
};

/// The deadlines of the pending awaitable Asks of one ActorSystem, served by one timer.
///
/// An Ask used to arm its own steady_timer and cancel it on the answer: a timerfd system call
/// and a cancelled-timer completion that woke the other executor thread, per request. Here a
/// request adds its deadline to an ordered map (one short lock) and removes it when answered;
/// the timer is re-armed only when a deadline earlier than the armed one arrives (requests
/// with equal timeouts never re-arm it) and, when it fires, expires what is due and re-arms
/// for the earliest left. Thread-safe.
class AskDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  using Key = std::pair<Clock::time_point, std::uint64_t>;

  explicit AskDeadlines(asio::io_context& io) : timer_(std::in_place, io) {}

  Key Add(Clock::time_point deadline, std::weak_ptr<Expirable> target) {
    std::lock_guard lock(mutex_);
    Key key{deadline, next_id_++};
    pending_.emplace(key, std::move(target));
    if (deadline < armed_) Arm(deadline);
    return key;
  }

  void Remove(const Key& key) {
    std::lock_guard lock(mutex_);
    pending_.erase(key);
  }

  /// Destroy the timer before the io_context it runs on and drop the askers still parked
  /// (the system's destructor, after its threads have stopped); deadlines added later never
  /// fire.
  void Shutdown() {
    std::map<Key, std::weak_ptr<Expirable>> gone;
    {
      std::lock_guard lock(mutex_);
      timer_.reset();
      gone.swap(pending_);
    }
    for (auto& [key, w] : gone) {
      if (auto t = w.lock()) t->Abandon();
    }
  }

 private:
  void Arm(Clock::time_point when) {  // mutex_ held
    if (!timer_) return;
    armed_ = when;
    timer_->expires_at(when);  // cancels the wait for a later deadline
    timer_->async_wait([this](const asio::error_code& ec) {
      if (ec != asio::error::operation_aborted) Fire();
    });
  }

  void Fire() {
    std::vector<std::weak_ptr<Expirable>> due;
    {
      std::lock_guard lock(mutex_);
      armed_ = Clock::time_point::max();
      const auto now = Clock::now();
      while (!pending_.empty() && pending_.begin()->first.first <= now) {
        due.push_back(std::move(pending_.begin()->second));
        pending_.erase(pending_.begin());
      }
      if (!pending_.empty()) Arm(pending_.begin()->first.first);
    }
    for (auto& w : due) {
      if (auto t = w.lock()) t->Expire();
    }
  }

  std::mutex mutex_;
  std::map<Key, std::weak_ptr<Expirable>> pending_;
  std::uint64_t next_id_ = 0;
  Clock::time_point armed_ = Clock::time_point::max();
  std::optional<asio::steady_timer> timer_;
};

/// The shared state of one request: the answer, and how to wake whoever waits for it (a plain
/// thread on the condition variable, or an awaiting coroutine whose completion handler is
/// parked here).
/// now + `timeout`, saturated: a huge timeout (Duration::max()) means no deadline, not an
/// overflow into the past.
inline std::chrono::steady_clock::time_point DeadlineAfter(Duration timeout) {
  const auto now = std::chrono::steady_clock::now();
  if (timeout >= std::chrono::steady_clock::time_point::max() - now) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + timeout;
}

template <typename R>
struct ReplyState : Expirable {
  using Waiter = asio::async_result<asio::use_awaitable_t<>, void()>::handler_type;

  std::mutex mutex;
  std::condition_variable cv;
  std::optional<Result<R>> value;
  bool expired = false;
  bool abandoned = false;
  // The parked awaiting asker; resumed once, by the answer or the deadline, with Asio's
  // `defer`: a continuation of the thread that answers (an answer from an executor thread
  // resumes the asker on that thread after the current handler, without waking the other).
  std::optional<Waiter> waiter;

  void Fulfil(Result<R> r) {
    std::optional<Waiter> w;
    {
      std::lock_guard lock(mutex);
      if (value) return;
      value.emplace(std::move(r));
      TakeWaiter(w);
    }
    cv.notify_all();
    if (w) asio::defer(std::move(*w));
  }
  void Expire() override {
    std::optional<Waiter> w;
    {
      std::lock_guard lock(mutex);
      if (value) return;
      expired = true;
      TakeWaiter(w);
    }
    if (w) asio::defer(std::move(*w));
  }
  void Abandon() override {
    std::optional<Waiter> w;
    {
      std::lock_guard lock(mutex);
      abandoned = true;
      TakeWaiter(w);
    }
    // `w` is destroyed here, outside the lock, with the coroutine it would have resumed.
  }
  void TakeWaiter(std::optional<Waiter>& out) {  // mutex held
    if (waiter) {
      out.emplace(std::move(*waiter));
      waiter.reset();
    }
  }
  /// An awaitable that completes when the answer is there or the deadline passed.
  asio::awaitable<void> Wait() {
    {
      std::lock_guard lock(mutex);
      if (value || expired) co_return;  // answered before we parked: no suspension
    }
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [this](Waiter handler) {
          std::unique_lock lock(mutex);
          if (value || expired || abandoned) {
            lock.unlock();
            asio::defer(std::move(handler));  // answered meanwhile (or shut down): go on
            return;
          }
          waiter.emplace(std::move(handler));
        },
        asio::use_awaitable);
  }
  std::optional<Result<R>> Take() {
    std::lock_guard lock(mutex);
    return std::move(value);
  }
};

}  // namespace internal

/// The answering half of an Ask: the handler calls Send exactly once. A Reply destroyed
/// without an answer (the actor failed or stopped first) answers with an error, so an asker
/// never waits for a reply that cannot come.
template <typename R>
class Reply {
 public:
  Reply() = default;
  explicit Reply(std::shared_ptr<internal::ReplyState<R>> state) : state_(std::move(state)) {}
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&& other) noexcept {
    Abandon();
    state_ = std::move(other.state_);
    return *this;
  }
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply() { Abandon(); }

  /// Answer the asker (a value or an error Status).
  void Send(Result<R> result) {
    if (state_) {
      state_->Fulfil(std::move(result));
      state_.reset();
    }
  }

 private:
  void Abandon() {
    if (state_) {
      state_->Fulfil(Status::Cancelled("the actor ended before answering"));
      state_.reset();
    }
  }
  std::shared_ptr<internal::ReplyState<R>> state_;
};

/// The answer to a request sent with ActorRef::AskLater.
template <typename R>
class PendingAsk {
 public:
  PendingAsk(std::shared_ptr<internal::ReplyState<R>> state, Status sent,
             std::chrono::steady_clock::time_point deadline, Status timed_out)
      : state_(std::move(state)),
        sent_(std::move(sent)),
        deadline_(deadline),
        timed_out_(std::move(timed_out)) {}

  /// Wait (a plain thread) for the answer until the Ask's deadline; call once.
  Result<R> Wait() {
    if (!sent_.ok()) return sent_;
    std::unique_lock lock(state_->mutex);
    if (!state_->cv.wait_until(lock, deadline_, [&] { return state_->value.has_value(); })) {
      return timed_out_;
    }
    return std::move(*state_->value);
  }

  /// Wait (a plain thread) until the answer is in, the Ask's deadline has passed or `until`,
  /// whichever is first; return whether Wait would now return at once. Lets the waiter look
  /// at something else (an abort flag) every so often while a long request runs.
  bool WaitUntil(std::chrono::steady_clock::time_point until) {
    if (!sent_.ok()) return true;
    std::unique_lock lock(state_->mutex);
    if (state_->cv.wait_until(lock, std::min(until, deadline_),
                              [&] { return state_->value.has_value(); })) {
      return true;
    }
    return std::chrono::steady_clock::now() >= deadline_;
  }

 private:
  std::shared_ptr<internal::ReplyState<R>> state_;
  Status sent_;
  std::chrono::steady_clock::time_point deadline_;
  Status timed_out_;
};

/// Restart policy of a supervised actor.
struct SupervisionOptions {
  /// Restarts allowed inside `window`; one more failure and the actor gives up.
  int max_restarts = 3;
  std::chrono::milliseconds window{10'000};
  std::chrono::milliseconds initial_backoff{10};
  std::chrono::milliseconds max_backoff{2'000};
  double backoff_multiplier = 2.0;
};

/// How an actor ended.
struct ActorExit {
  std::string name;
  Status status;  ///< OK for a graceful stop, the last failure when it gave up
  int restarts = 0;
};

struct ActorOptions {
  std::string name = "actor";
  std::size_t mailbox_capacity = 256;
  OverflowPolicy overflow = OverflowPolicy::kBlock;
  SupervisionOptions supervision;
  /// Told once when the actor ends, on an executor thread (the supervisor's hook).
  std::function<void(const ActorExit&)> on_exit;
};

/// Base class of every actor. `Msg` is the message type (usually a std::variant).
template <typename Msg>
class Actor {
 public:
  using Message = Msg;
  virtual ~Actor() = default;

  /// Prepare the actor; a non-OK Status counts as a failure (supervision applies).
  virtual asio::awaitable<Status> OnStart() { co_return Status::OK(); }
  /// Handle one message; a non-OK Status fails the actor (supervision applies). Errors that
  /// belong to the sender go into the message's Reply instead.
  virtual asio::awaitable<Status> Handle(Msg msg) = 0;
  /// Release resources; called after a graceful stop and after each failure.
  virtual asio::awaitable<void> OnStop() { co_return; }
};

/// Counters of one actor, readable from any thread.
struct ActorStats {
  std::uint64_t received = 0;
  std::uint64_t dropped = 0;
  int restarts = 0;
  bool running = false;
};

namespace internal {

template <typename Msg>
class ActorCell : public std::enable_shared_from_this<ActorCell<Msg>> {
 public:
  using Factory = std::function<std::unique_ptr<Actor<Msg>>()>;

  ActorCell(asio::strand<Executor> strand, Factory factory, ActorOptions options,
            std::shared_ptr<AskDeadlines> deadlines)
      : deadlines_(std::move(deadlines)),
        strand_(std::move(strand)),
        factory_(std::move(factory)),
        options_(std::move(options)),
        mailbox_(options_.mailbox_capacity, options_.overflow),
        message_signal_(std::make_shared<AsyncSignal>(strand_)),
        room_signal_(std::make_shared<AsyncSignal>(strand_)) {
    // Wake the actor only when it is parked (not once per message), and parked senders only
    // when a pop freed a full mailbox (they wait only while it is full; see Tell).
    mailbox_.SetWakeHooks(
        [this] {
          if (consumer_parked_.load() && consumer_parked_.exchange(false)) {
            message_signal_->Notify();
          }
        },
        [this](bool freed) {
          if (freed && parked_senders_.load() > 0) room_signal_->Notify();
        });
  }

  void Start() {
    running_.store(true);
    asio::co_spawn(strand_, Run(this->shared_from_this()), asio::detached);
  }

  const std::string& name() const { return options_.name; }
  AskDeadlines& deadlines() const { return *deadlines_; }

  Status Refused(const char* why) const {
    return Status::Invalid("actor '", options_.name, "' ", why);
  }

  Status FromOutcome(PushOutcome outcome) const {
    switch (outcome) {
      case PushOutcome::kQueued:
      case PushOutcome::kQueuedDropped:
        return Status::OK();
      case PushOutcome::kRejected:
        return Status::CapacityError("mailbox of actor '", options_.name, "' is full (capacity ",
                                     mailbox_.capacity(), ")");
      case PushOutcome::kTimedOut:
        return Status::IOError("timed out waiting for room in the mailbox of actor '",
                               options_.name, "'");
      case PushOutcome::kClosed:
        break;
    }
    return Refused("is stopped and takes no messages");
  }

  Status TryTell(Msg&& msg) {
    if (stopping_.load()) return Refused("is stopping and takes no new messages");
    return FromOutcome(mailbox_.TryPush(std::move(msg)));
  }

  Status TellBlocking(Msg msg, std::optional<std::chrono::steady_clock::time_point> deadline) {
    if (stopping_.load()) return Refused("is stopping and takes no new messages");
    return FromOutcome(mailbox_.Push(std::move(msg), deadline));
  }

  // The awaitable Tell, one coroutine frame (ActorRef::Tell is this coroutine): a message that
  // finds room is queued without suspending; a sender that finds a kBlock mailbox full parks
  // on the room signal (never on a condition variable: we are on an executor).
  static asio::awaitable<Status> Tell(std::shared_ptr<ActorCell> self, Msg msg) {
    if (self->stopping_.load()) co_return self->Refused("is stopping and takes no new messages");
    if (self->mailbox_.policy() != OverflowPolicy::kBlock) {
      co_return self->FromOutcome(self->mailbox_.Push(std::move(msg)));  // lossy: never wait
    }
    PushOutcome outcome = self->mailbox_.TryPush(std::move(msg));
    if (outcome == PushOutcome::kRejected) {
      // Park: count ourselves before the second try, so that a pop from the full mailbox
      // after it sees us and notifies (the signal keeps one notification if we are late).
      self->parked_senders_.fetch_add(1);
      for (;;) {
        outcome = self->mailbox_.TryPush(std::move(msg));
        if (outcome != PushOutcome::kRejected) break;
        co_await self->room_signal_->Wait();
      }
      // A pop wakes one parked sender: pass the turn on while there is room.
      if (self->parked_senders_.fetch_sub(1) > 1 && !self->mailbox_.full()) {
        self->room_signal_->Notify();
      }
    }
    co_return self->FromOutcome(outcome);
  }

  void RequestStop() {
    if (stopping_.exchange(true)) return;
    message_signal_->Notify();
  }

  bool finished() const { return finished_.load(); }

  void WaitFinished() {
    std::unique_lock lock(exit_mutex_);
    exit_cv_.wait(lock, [this] { return finished_.load(); });
  }

  asio::awaitable<void> JoinAsync() {
    // Poll with a short timer: joins are rare (shutdown) and this keeps the cell simple.
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    while (!finished_.load()) {
      timer.expires_after(std::chrono::milliseconds(1));
      (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

  ActorStats stats() const {
    ActorStats s;
    s.received = received_.load();
    s.dropped = mailbox_.dropped();
    s.restarts = restarts_.load();
    s.running = running_.load();
    return s;
  }

 private:
  static Status FromException(const std::string& name, std::exception_ptr e) {
    try {
      std::rethrow_exception(std::move(e));
    } catch (const std::exception& ex) {
      return Status::UnknownError("actor '", name, "' threw: ", ex.what());
    } catch (...) {
      return Status::UnknownError("actor '", name, "' threw a non-standard exception");
    }
  }

  // Run one incarnation: OnStart, then messages until a graceful stop (OK) or a failure.
  asio::awaitable<Status> Incarnation(Actor<Msg>& actor) {
    Status st;
    try {
      st = co_await actor.OnStart();
    } catch (...) {
      st = FromException(options_.name, std::current_exception());
    }
    while (st.ok()) {
      std::optional<Msg> msg = mailbox_.TryPop();
      if (!msg) {
        if (stopping_.load()) {
          // Drain what raced in before the stop flag was seen.
          msg = mailbox_.TryPop();
          if (!msg) break;
        } else {
          // Park: say so before looking once more, so a push after that look sees it and
          // notifies (a notification that comes early is kept by the signal).
          consumer_parked_.store(true);
          msg = mailbox_.TryPop();
          if (!msg) {
            if (!stopping_.load()) co_await message_signal_->Wait();
            consumer_parked_.store(false);
            continue;
          }
          consumer_parked_.store(false);
        }
      }
      received_.fetch_add(1, std::memory_order_relaxed);
      try {
        st = co_await actor.Handle(std::move(*msg));
      } catch (...) {
        st = FromException(options_.name, std::current_exception());
      }
    }
    co_return st;
  }

  static asio::awaitable<void> Run(std::shared_ptr<ActorCell> self) {
    using Clock = std::chrono::steady_clock;
    std::deque<Clock::time_point> failures;
    auto backoff = self->options_.supervision.initial_backoff;
    Status last;
    for (;;) {
      std::unique_ptr<Actor<Msg>> actor;
      try {
        actor = self->factory_();
      } catch (...) {
        last = FromException(self->options_.name, std::current_exception());
      }
      if (actor) {
        last = co_await self->Incarnation(*actor);
        try {
          co_await actor->OnStop();
        } catch (...) {
          // OnStop must not throw; a failure there cannot be acted on any more.
        }
        actor.reset();
      } else if (last.ok()) {
        last = Status::Invalid("actor '", self->options_.name, "' factory returned no actor");
      }
      if (last.ok()) break;  // graceful stop

      const auto now = Clock::now();
      failures.push_back(now);
      while (!failures.empty() && now - failures.front() > self->options_.supervision.window) {
        failures.pop_front();
      }
      if (static_cast<int>(failures.size()) > self->options_.supervision.max_restarts ||
          self->stopping_.load()) {
        break;  // give up (or a stop was requested meanwhile)
      }
      asio::steady_timer timer(self->strand_, backoff);
      (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      backoff = std::min(self->options_.supervision.max_backoff,
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             backoff * self->options_.supervision.backoff_multiplier));
      self->restarts_.fetch_add(1);
    }
    self->stopping_.store(true);
    self->mailbox_.Close();
    self->mailbox_.Clear();  // queued Replies answer "cancelled" as they are destroyed
    self->running_.store(false);
    ActorExit exit{self->options_.name, last, self->restarts_.load()};
    {
      std::lock_guard lock(self->exit_mutex_);
      self->finished_.store(true);
    }
    self->exit_cv_.notify_all();
    if (self->options_.on_exit) self->options_.on_exit(exit);
  }

  std::shared_ptr<AskDeadlines> deadlines_;
  asio::strand<Executor> strand_;
  Factory factory_;
  ActorOptions options_;
  BoundedQueue<Msg> mailbox_;
  std::shared_ptr<AsyncSignal> message_signal_;
  std::shared_ptr<AsyncSignal> room_signal_;
  std::atomic<bool> consumer_parked_{false};  // the actor waits for a message
  std::atomic<int> parked_senders_{0};        // Tells waiting for room in a full kBlock mailbox
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> finished_{false};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<int> restarts_{0};
  std::mutex exit_mutex_;
  std::condition_variable exit_cv_;
};

}  // namespace internal

/// A handle to a running actor: a value, cheap to copy, usable from any thread.
template <typename Msg>
class ActorRef {
 public:
  ActorRef() = default;
  explicit ActorRef(std::shared_ptr<internal::ActorCell<Msg>> cell) : cell_(std::move(cell)) {}

  bool valid() const { return cell_ != nullptr; }
  const std::string& name() const { return cell_->name(); }

  /// Send a message applying the mailbox policy; suspends while a kBlock mailbox is full.
  asio::awaitable<Status> Tell(Msg msg) const {
    // The cell is kept alive by the coroutine across a suspension.
    return internal::ActorCell<Msg>::Tell(cell_, std::move(msg));
  }
  /// Send without waiting; a full mailbox is a CapacityError.
  Status TryTell(Msg msg) const { return cell_->TryTell(std::move(msg)); }
  /// Send from a plain thread; on kBlock waits for room (until `timeout` when given).
  Status TellBlocking(Msg msg, std::optional<Duration> timeout = {}) const {
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (timeout) deadline = internal::DeadlineAfter(*timeout);
    return cell_->TellBlocking(std::move(msg), deadline);
  }

  /// Ask: `make(Reply<R>)` builds the request; the result is the actor's answer, or an error
  /// when it does not answer within `timeout`.
  template <typename R, typename MakeMsg>
  asio::awaitable<Result<R>> Ask(MakeMsg make, Duration timeout) const {
    auto state = std::make_shared<internal::ReplyState<R>>();
    Msg request = make(Reply<R>(state));  // named: see WorkerThread::Run on co_await temporaries
    Status sent = co_await Tell(std::move(request));
    if (!sent.ok()) co_return sent;
    // One wait, parked in the reply state (no channel, no parallel group of a signal and a
    // timer per request); the system's deadline list wakes it when the timeout passes first.
    // The answer resumes the asker as a continuation: a request and its answer between two
    // actors stay on one executor thread.
    auto& deadlines = cell_->deadlines();
    const auto key = deadlines.Add(internal::DeadlineAfter(timeout),
                                   std::weak_ptr<internal::Expirable>(state));
    co_await state->Wait();
    deadlines.Remove(key);
    if (auto v = state->Take()) co_return std::move(*v);
    co_return TimeoutStatus(timeout);
  }

  /// Ask from a plain thread (main, tests); never from an executor thread.
  template <typename R, typename MakeMsg>
  Result<R> AskBlocking(MakeMsg make, Duration timeout) const {
    return AskLater<R>(std::move(make), timeout).Wait();
  }

  /// Send the request of an Ask now and collect the answer later with Wait (from a plain
  /// thread), so that one thread can ask many actors at once and wait for all.
  template <typename R, typename MakeMsg>
  PendingAsk<R> AskLater(MakeMsg make, Duration timeout) const {
    const auto deadline = internal::DeadlineAfter(timeout);
    auto state = std::make_shared<internal::ReplyState<R>>();
    Status sent = TellBlocking(make(Reply<R>(state)), timeout);
    return PendingAsk<R>(std::move(state), std::move(sent), deadline, TimeoutStatus(timeout));
  }

  /// Stop gracefully: refuse new messages, handle the queued ones, then OnStop.
  void Stop() const { cell_->RequestStop(); }
  /// Wait from a plain thread until the actor has ended.
  void Join() const { cell_->WaitFinished(); }
  /// Wait from a coroutine until the actor has ended.
  asio::awaitable<void> JoinAsync() const {
    auto cell = cell_;
    co_await cell->JoinAsync();
  }
  bool finished() const { return cell_->finished(); }
  ActorStats stats() const { return cell_->stats(); }

 private:
  Status TimeoutStatus(Duration timeout) const {
    return Status::IOError(
        "actor '", cell_->name(), "' did not answer within ",
        std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(), " ms (timed out)");
  }
  std::shared_ptr<internal::ActorCell<Msg>> cell_;
};

struct ActorSystemOptions {
  /// Executor threads; 0 means the caller drives the system with Poll/RunFor (deterministic
  /// tests).
  int threads = 2;
};

/// Own the executor every actor runs on. Destroying the system stops the threads; stop actors
/// first (StopAll) for a graceful end.
class ActorSystem {
 public:
  explicit ActorSystem(ActorSystemOptions options = {});
  ~ActorSystem();
  ActorSystem(const ActorSystem&) = delete;
  ActorSystem& operator=(const ActorSystem&) = delete;

  /// Start an actor built by `factory` (called again for every restart).
  template <typename A>
  ActorRef<typename A::Message> Spawn(std::function<std::unique_ptr<A>()> factory,
                                      ActorOptions options) {
    using Msg = typename A::Message;
    auto cell = std::make_shared<internal::ActorCell<Msg>>(
        asio::make_strand(io_.get_executor()),
        [f = std::move(factory)]() -> std::unique_ptr<Actor<Msg>> { return f(); },
        std::move(options), deadlines_);
    cell->Start();
    return ActorRef<Msg>(std::move(cell));
  }

  Executor executor() { return io_.get_executor(); }
  asio::io_context& io_context() { return io_; }

  /// Run ready handlers without waiting (threads == 0 only); returns how many ran.
  std::size_t Poll();
  /// Run handlers for up to `d` of wall time or until `done()` is true (threads == 0 only).
  bool RunUntil(const std::function<bool()>& done, Duration d);

  /// Run `coro` on the executor and wait for its result from a plain thread.
  template <typename T>
  T BlockOn(asio::awaitable<T> coro) {
    return asio::co_spawn(io_, std::move(coro), asio::use_future).get();
  }

 private:
  asio::io_context io_;
  std::shared_ptr<internal::AskDeadlines> deadlines_ =
      std::make_shared<internal::AskDeadlines>(io_);
  std::optional<asio::executor_work_guard<Executor>> work_;
  std::vector<std::thread> threads_;
};

}  // namespace arrowdaq::runtime
