#include "arrowdaq/runtime/actor.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::runtime {
namespace {

using namespace std::chrono_literals;

using Clock = std::chrono::steady_clock;

// A test actor: records values, answers questions, fails on request, can be held still.
struct Record {
  int sender;
  int value;
};
struct Fail {};
struct GetCount {
  Reply<int> reply;
};
struct NeverAnswer {
  Reply<int> reply;
};
// A gate the handler waits at: the test knows when the handler is inside (Entered) and decides
// when it leaves (Open), so "the handler is busy" is a fact, not a guess about sleeps.
struct Gate {
  std::promise<void> entered;
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
  void WaitEntered() { ASSERT_EQ(entered_future.wait_for(60s), std::future_status::ready); }
  void Open() { open.set_value(); }
  std::future<void> entered_future = entered.get_future();
};
struct Hold {
  std::shared_ptr<Gate> gate;
};
using TestMsg = std::variant<Record, Fail, GetCount, NeverAnswer, Hold>;

struct Journal {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Record> records;
  std::vector<Clock::time_point> start_times;  // each OnStart
  std::vector<Clock::time_point> fail_times;   // each Fail handled
  std::atomic<int> starts{0};
  std::atomic<int> stops{0};
  std::vector<Reply<int>> parked;  // replies the actor keeps without answering

  /// Wait (at most a minute) until `done()` holds under the lock.
  template <typename F>
  bool WaitFor(F done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 60s, done);
  }
};

class TestActor : public Actor<TestMsg> {
 public:
  explicit TestActor(Journal* j) : journal_(j) {}
  asio::awaitable<Status> OnStart() override {
    {
      std::lock_guard lock(journal_->mutex);
      journal_->start_times.push_back(Clock::now());
      journal_->starts++;
    }
    journal_->changed.notify_all();
    co_return Status::OK();
  }
  asio::awaitable<void> OnStop() override {
    journal_->stops++;
    co_return;
  }
  asio::awaitable<Status> Handle(TestMsg msg) override {
    if (auto* r = std::get_if<Record>(&msg)) {
      {
        std::lock_guard lock(journal_->mutex);
        journal_->records.push_back(*r);
        ++count_;
      }
      journal_->changed.notify_all();
    } else if (std::holds_alternative<Fail>(msg)) {
      std::lock_guard lock(journal_->mutex);
      journal_->fail_times.push_back(Clock::now());
      co_return Status::IOError("asked to fail");
    } else if (auto* h = std::get_if<Hold>(&msg)) {
      h->gate->entered.set_value();
      // Bounded, so a broken test ends instead of hanging the executor forever.
      (void)h->gate->opened.wait_for(60s);
    } else if (auto* g = std::get_if<GetCount>(&msg)) {
      g->reply.Send(count_);
    } else if (auto* n = std::get_if<NeverAnswer>(&msg)) {
      {
        std::lock_guard lock(journal_->mutex);
        journal_->parked.push_back(std::move(n->reply));
      }
      journal_->changed.notify_all();
    }
    co_return Status::OK();
  }

 private:
  Journal* journal_;
  int count_ = 0;
};

ActorRef<TestMsg> SpawnTest(ActorSystem& sys, Journal* j, ActorOptions opts) {
  return sys.Spawn<TestActor>([j] { return std::make_unique<TestActor>(j); }, std::move(opts));
}

TEST(Actor, MessagesFromEachSenderKeepTheirOrder) {
  Journal j;  // outlives the system, whose threads run the actor
  ActorSystem sys({.threads = 2});
  auto ref = SpawnTest(sys, &j, {.name = "order", .mailbox_capacity = 8});
  constexpr int kSenders = 4;
  constexpr int kPerSender = 2000;
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      for (int i = 0; i < kPerSender; ++i) ASSERT_OK(ref.TellBlocking(Record{s, i}));
    });
  }
  for (auto& t : senders) t.join();
  ASSERT_OK_AND_ASSIGN(int count,
                       ref.AskBlocking<int>([](Reply<int> r) { return GetCount{std::move(r)}; }, 5s));
  EXPECT_EQ(count, kSenders * kPerSender);
  std::vector<int> next(kSenders, 0);
  std::lock_guard lock(j.mutex);
  for (const auto& r : j.records) {
    ASSERT_EQ(r.value, next[r.sender]) << "sender " << r.sender << " out of order";
    ++next[r.sender];
  }
}

TEST(Actor, AwaitableTellAndAskInOneDeterministicThread) {
  Journal j;
  ActorSystem sys({.threads = 0});  // the test drives the executor: fully deterministic
  auto ref = SpawnTest(sys, &j, {.name = "det", .mailbox_capacity = 2});
  std::optional<Result<int>> answer;
  asio::co_spawn(
      sys.io_context(),
      [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 10; ++i) {
          Status st = co_await ref.Tell(Record{0, i});  // suspends while the mailbox is full
          EXPECT_TRUE(st.ok()) << st.ToString();
        }
        answer = co_await ref.Ask<int>([](Reply<int> r) { return GetCount{std::move(r)}; }, 1s);
      },
      asio::detached);
  ASSERT_TRUE(sys.RunUntil([&] { return answer.has_value(); }, 5s));
  ASSERT_OK(answer->status());
  EXPECT_EQ(**answer, 10);
  EXPECT_EQ(ref.stats().dropped, 0u);
}

TEST(Actor, FullMailboxBlocksTheSenderOnBlockPolicy) {
  Journal j;
  ActorSystem sys({.threads = 1});
  auto ref = SpawnTest(sys, &j, {.name = "slow", .mailbox_capacity = 1});
  auto gate = std::make_shared<Gate>();
  ASSERT_OK(ref.TellBlocking(Hold{gate}));
  gate->WaitEntered();                        // the handler is busy until the gate opens
  ASSERT_OK(ref.TellBlocking(Record{0, 1}));  // waits in the mailbox: now full
  // While the handler is held the mailbox stays full: a bounded wait times out...
  Status st = ref.TellBlocking(Record{0, 2}, 20ms);
  EXPECT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_TRUE(ref.TryTell(Record{0, 3}).IsCapacityError());
  // ... and an unbounded one succeeds once there is room: nothing was lost.
  gate->Open();
  ASSERT_OK(ref.TellBlocking(Record{0, 4}));
  ASSERT_OK_AND_ASSIGN(int count,
                       ref.AskBlocking<int>([](Reply<int> r) { return GetCount{std::move(r)}; }, 5s));
  EXPECT_EQ(count, 2);
  EXPECT_EQ(ref.stats().dropped, 0u);
}

TEST(Actor, FullMailboxDropsAndCountsOnDropPolicies) {
  for (auto policy : {OverflowPolicy::kDropNewest, OverflowPolicy::kDropOldest}) {
    Journal j;
    ActorSystem sys({.threads = 1});
    auto ref = SpawnTest(sys, &j, {.name = "lossy", .mailbox_capacity = 2, .overflow = policy});
    auto gate = std::make_shared<Gate>();
    ASSERT_OK(ref.TellBlocking(Hold{gate}));
    gate->WaitEntered();  // the handler holds still: the next five meet a mailbox of two
    for (int i = 0; i < 5; ++i) (void)ref.TellBlocking(Record{0, i});
    EXPECT_EQ(ref.stats().dropped, 3u) << ToString(policy);
    gate->Open();
    ASSERT_TRUE(j.WaitFor([&] { return j.records.size() == 2; })) << ToString(policy);
    ASSERT_OK_AND_ASSIGN(
        int count, ref.AskBlocking<int>([](Reply<int> r) { return GetCount{std::move(r)}; }, 5s));
    EXPECT_EQ(count, 2) << ToString(policy);
    EXPECT_EQ(ref.stats().dropped, 3u) << ToString(policy);
    std::lock_guard lock(j.mutex);
    ASSERT_EQ(j.records.size(), 2u);
    if (policy == OverflowPolicy::kDropNewest) {
      EXPECT_EQ(j.records[0].value, 0);  // the first two survive
      EXPECT_EQ(j.records[1].value, 1);
    } else {
      EXPECT_EQ(j.records[0].value, 3);  // the last two survive
      EXPECT_EQ(j.records[1].value, 4);
    }
  }
}

TEST(Actor, AskTimesOutWithAClearStatus) {
  Journal j;
  ActorSystem sys({.threads = 1});
  auto ref = SpawnTest(sys, &j, {.name = "mute"});
  auto r = ref.AskBlocking<int>([](Reply<int> rep) { return NeverAnswer{std::move(rep)}; }, 50ms);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_NE(r.status().message().find("actor 'mute' did not answer within 50 ms"),
            std::string::npos)
      << r.status().ToString();
  // The awaitable form says the same.
  auto r2 = sys.BlockOn(
      ref.Ask<int>([](Reply<int> rep) { return NeverAnswer{std::move(rep)}; }, 30ms));
  EXPECT_TRUE(r2.status().IsIOError()) << r2.status().ToString();
}

TEST(Actor, AskWithTheLargestTimeoutWaitsForTheAnswer) {
  // Duration::max() means "no deadline": now + max must saturate, not overflow into the past
  // (an Ask that times out at once, and signed overflow for UBSan).
  Journal j;
  ActorSystem sys({.threads = 1});
  auto ref = SpawnTest(sys, &j, {.name = "patient"});
  ASSERT_OK(ref.TellBlocking(Record{0, 1}, Duration::max()));
  auto r = sys.BlockOn(
      ref.Ask<int>([](Reply<int> rep) { return GetCount{std::move(rep)}; }, Duration::max()));
  ASSERT_OK(r.status());
  EXPECT_EQ(*r, 1);
  ASSERT_OK_AND_ASSIGN(
      int n, ref.AskBlocking<int>([](Reply<int> rep) { return GetCount{std::move(rep)}; },
                                  Duration::max()));
  EXPECT_EQ(n, 1);
}

TEST(Actor, AskWithAShortTimeoutAfterALongOneStillTimesOut) {
  // Asks share one deadline timer per system: a deadline earlier than the armed one must
  // re-arm it, or the short Ask would wait as long as the long one.
  Journal j;
  ActorSystem sys({.threads = 2});
  auto ref = SpawnTest(sys, &j, {.name = "mute"});
  asio::co_spawn(
      sys.io_context(),
      [ref]() -> asio::awaitable<void> {
        (void)co_await ref.Ask<int>([](Reply<int> r) { return NeverAnswer{std::move(r)}; }, 1h);
      },
      asio::detached);
  ASSERT_TRUE(j.WaitFor([&] { return j.parked.size() == 1; }));  // the long Ask is pending
  auto short_ask = asio::co_spawn(
      sys.io_context(),
      ref.Ask<int>([](Reply<int> r) { return NeverAnswer{std::move(r)}; }, 30ms),
      asio::use_future);
  ASSERT_EQ(short_ask.wait_for(60s), std::future_status::ready) << "the 30 ms Ask never ended";
  auto r = short_ask.get();
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  // The system goes with the 1 h Ask still parked: its coroutine is dropped, not leaked
  // (ASan's leak check) and not resumed on a dead executor.
}

// An actor whose handler can be held at an await (a timer the test cancels), so that in a
// system the test drives itself the mailbox can be full while the actor is mid-message.
struct ParkOn {
  asio::steady_timer* timer;
};
struct Count {
  Reply<int> reply;
};
using GateMsg = std::variant<ParkOn, Record, Count>;
class GateActor : public Actor<GateMsg> {
 public:
  asio::awaitable<Status> Handle(GateMsg msg) override {
    if (auto* p = std::get_if<ParkOn>(&msg)) {
      (void)co_await p->timer->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    } else if (std::holds_alternative<Record>(msg)) {
      ++records_;
    } else {
      std::get<Count>(msg).reply.Send(records_);
    }
    co_return Status::OK();
  }

 private:
  int records_ = 0;
};

TEST(Actor, EveryParkedAwaitableSenderGetsThroughWhenRoomComes) {
  // Two coroutines Tell into a full kBlock mailbox and park. When the actor goes on, one pop
  // from the full mailbox wakes one sender; the rest of the mailbox drains without another
  // pop from full, so the woken sender must pass the turn on, or the second stays parked
  // for ever while there is room.
  ActorSystem sys({.threads = 0});  // the test drives the executor: fully deterministic
  auto ref = sys.Spawn<GateActor>([] { return std::make_unique<GateActor>(); },
                                  {.name = "gate", .mailbox_capacity = 4});
  asio::steady_timer hold(sys.io_context(), asio::steady_timer::time_point::max());
  ASSERT_OK(ref.TryTell(ParkOn{&hold}));
  sys.Poll();  // the actor takes ParkOn and waits at the timer
  for (int i = 0; i < 4; ++i) ASSERT_OK(ref.TryTell(Record{0, i}));
  ASSERT_TRUE(ref.TryTell(Record{0, 4}).IsCapacityError());  // full
  std::vector<std::future<Status>> senders;
  for (int s = 1; s <= 2; ++s) {
    senders.push_back(asio::co_spawn(
        sys.io_context(),
        [ref, s]() -> asio::awaitable<Status> {
          GateMsg m{Record{s, 0}};  // named: see the GCC 12 caveat in actor.h
          co_return co_await ref.Tell(std::move(m));
        },
        asio::use_future));
  }
  sys.Poll();  // both senders find the mailbox full and park
  for (auto& f : senders) ASSERT_NE(f.wait_for(0s), std::future_status::ready);
  hold.cancel();  // the actor goes on: four pops, the first from a full mailbox
  ASSERT_TRUE(sys.RunUntil(
      [&] {
        return std::all_of(senders.begin(), senders.end(), [](auto& f) {
          return f.wait_for(0s) == std::future_status::ready;
        });
      },
      5s))
      << "a parked sender was never woken although the mailbox had room";
  for (auto& f : senders) ASSERT_OK(f.get());
  std::optional<Result<int>> count;
  asio::co_spawn(
      sys.io_context(),
      [&]() -> asio::awaitable<void> {
        count = co_await ref.Ask<int>([](Reply<int> r) { return Count{std::move(r)}; }, 5s);
      },
      asio::detached);
  ASSERT_TRUE(sys.RunUntil([&] { return count.has_value(); }, 5s));
  ASSERT_OK(count->status());
  EXPECT_EQ(**count, 6);
}

TEST(Actor, SupervisorRestartsAFailingActorThenGivesUp) {
  Journal j;  // outlives the system, whose threads run the actor
  ActorSystem sys({.threads = 2});
  std::promise<ActorExit> exited;
  ActorOptions opts{.name = "flaky"};
  opts.supervision = {.max_restarts = 2, .window = 10s, .initial_backoff = 1ms};
  opts.on_exit = [&](const ActorExit& e) { exited.set_value(e); };
  auto ref = SpawnTest(sys, &j, opts);

  ASSERT_OK(ref.TellBlocking(Record{0, 1}));
  ASSERT_OK(ref.TellBlocking(Fail{}));
  // The restarted actor still takes messages (state is fresh: count restarts from 0).
  ASSERT_OK_AND_ASSIGN(int count,
                       ref.AskBlocking<int>([](Reply<int> r) { return GetCount{std::move(r)}; }, 5s));
  EXPECT_EQ(count, 0);
  EXPECT_EQ(j.starts.load(), 2);
  EXPECT_EQ(ref.stats().restarts, 1);

  ASSERT_OK(ref.TellBlocking(Fail{}));  // second restart
  ASSERT_OK(ref.TellBlocking(Fail{}));  // third failure inside the window: give up
  auto fut = exited.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  ActorExit e = fut.get();
  EXPECT_EQ(e.name, "flaky");
  EXPECT_EQ(e.restarts, 2);
  EXPECT_TRUE(e.status.IsIOError());
  EXPECT_NE(e.status.message().find("asked to fail"), std::string::npos);
  ref.Join();
  EXPECT_FALSE(ref.stats().running);
  EXPECT_EQ(j.starts.load(), 3);
  EXPECT_EQ(j.stops.load(), 3);
  EXPECT_FALSE(ref.TryTell(Record{0, 2}).ok());
}

// Backoff: the supervisor waits initial_backoff after the first failure, then multiplies the
// wait, capped at max_backoff. Timers never fire early, so the lower bounds are exact; the one
// upper bound (the cap) has seconds of slack.
TEST(Actor, SupervisorWaitsAGrowingCappedBackoffBeforeEachRestart) {
  Journal j;
  ActorSystem sys({.threads = 2});
  std::promise<ActorExit> exited;
  ActorOptions opts{.name = "backoff"};
  opts.supervision = {.max_restarts = 2,
                      .window = 600s,
                      .initial_backoff = 100ms,
                      .max_backoff = 250ms,
                      .backoff_multiplier = 30.0};  // uncapped: 100 ms, 3 s
  opts.on_exit = [&](const ActorExit& e) { exited.set_value(e); };
  auto ref = SpawnTest(sys, &j, opts);
  for (int k = 1; k <= 2; ++k) {
    ASSERT_OK(ref.TellBlocking(Fail{}));
    ASSERT_TRUE(j.WaitFor([&] { return j.start_times.size() == static_cast<size_t>(k + 1); }));
  }
  ASSERT_OK(ref.TellBlocking(Fail{}));  // third failure: more than max_restarts, gives up
  auto fut = exited.get_future();
  ASSERT_EQ(fut.wait_for(60s), std::future_status::ready);
  EXPECT_EQ(fut.get().restarts, 2);
  std::lock_guard lock(j.mutex);
  ASSERT_EQ(j.fail_times.size(), 3u);
  ASSERT_EQ(j.start_times.size(), 3u);  // no start after the last failure
  auto waited = [&](int k) { return j.start_times[k + 1] - j.fail_times[k]; };
  EXPECT_GE(waited(0), 100ms);
  EXPECT_GE(waited(1), 250ms);  // 100 ms x 30, capped
  EXPECT_LT(waited(1), 2s);     // the cap holds (uncapped it would be 3 s)
}

// The window: failures older than `window` are forgotten, so an actor that fails now and then
// is restarted forever, while max_restarts + 1 failures inside the window make it give up.
TEST(Actor, SupervisorForgetsFailuresOlderThanItsWindow) {
  Journal j;
  ActorSystem sys({.threads = 2});
  std::promise<ActorExit> exited;
  ActorOptions opts{.name = "window"};
  constexpr auto kWindow = 1500ms;
  opts.supervision = {.max_restarts = 1, .window = kWindow, .initial_backoff = 1ms};
  opts.on_exit = [&](const ActorExit& e) { exited.set_value(e); };
  auto ref = SpawnTest(sys, &j, opts);
  auto fut = exited.get_future();

  ASSERT_OK(ref.TellBlocking(Fail{}));  // failure 1: restarted
  ASSERT_TRUE(j.WaitFor([&] { return j.start_times.size() == 2; }));
  Clock::time_point first_failure;
  {
    std::lock_guard lock(j.mutex);
    first_failure = j.fail_times.at(0);
  }
  // Let the window pass (time passing is what is tested here, so the test waits for it).
  std::this_thread::sleep_until(first_failure + kWindow + 100ms);
  ASSERT_OK(ref.TellBlocking(Fail{}));  // failure 2: failure 1 is outside the window: restarted
  ASSERT_TRUE(j.WaitFor([&] { return j.start_times.size() == 3; }));
  EXPECT_EQ(fut.wait_for(0s), std::future_status::timeout) << "gave up although 1 failure was old";
  EXPECT_EQ(ref.stats().restarts, 2);

  ASSERT_OK(ref.TellBlocking(Fail{}));  // failure 3, right after 2: two inside the window
  ASSERT_EQ(fut.wait_for(60s), std::future_status::ready);
  const ActorExit e = fut.get();
  EXPECT_EQ(e.restarts, 2);
  EXPECT_TRUE(e.status.IsIOError()) << e.status.ToString();
  std::lock_guard lock(j.mutex);
  ASSERT_EQ(j.fail_times.size(), 3u);
  // The premise of the last step: failures 2 and 3 were inside one window.
  EXPECT_LT(j.fail_times[2] - j.fail_times[1], kWindow);
  EXPECT_EQ(j.start_times.size(), 3u);
}

TEST(Actor, GracefulStopDrainsTheMailbox) {
  Journal j;
  ActorSystem sys({.threads = 1});
  std::promise<ActorExit> exited;
  ActorOptions opts{.name = "drain", .mailbox_capacity = 64};
  opts.on_exit = [&](const ActorExit& e) { exited.set_value(e); };
  auto ref = SpawnTest(sys, &j, opts);
  auto gate = std::make_shared<Gate>();
  ASSERT_OK(ref.TellBlocking(Hold{gate}));
  gate->WaitEntered();  // all 50 below are queued, none handled, when Stop is asked
  for (int i = 0; i < 50; ++i) ASSERT_OK(ref.TellBlocking(Record{0, i}));
  ref.Stop();
  EXPECT_FALSE(ref.TryTell(Record{0, 99}).ok());  // refused once stopping
  gate->Open();
  ref.Join();
  EXPECT_OK(exited.get_future().get().status);
  std::lock_guard lock(j.mutex);
  EXPECT_EQ(j.records.size(), 50u);  // every message queued before Stop was handled
  EXPECT_EQ(j.stops.load(), 1);
}

TEST(Actor, PendingAskIsAnsweredWithAnErrorWhenTheActorGivesUp) {
  Journal j;
  // The asking side's io_context outlives the actor system: the actor's thread may still be
  // destroying the abandoned request (whose reply signal lives on this context) after the
  // answer arrived, so the system (and its thread) must end first.
  asio::io_context io;
  ActorSystem sys({.threads = 1});
  ActorOptions opts{.name = "doomed"};
  opts.supervision.max_restarts = 0;
  auto ref = SpawnTest(sys, &j, opts);
  auto gate = std::make_shared<Gate>();
  ASSERT_OK(ref.TellBlocking(Hold{gate}));
  gate->WaitEntered();
  ASSERT_OK(ref.TellBlocking(Fail{}));
  // Ask from a coroutine on the test's own io_context: once poll() returns, the coroutine is
  // suspended waiting for the answer, so its request is queued behind Fail.
  std::optional<Result<int>> answer;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        answer = co_await ref.Ask<int>([](Reply<int> rep) { return GetCount{std::move(rep)}; }, 60s);
      },
      asio::detached);
  io.poll();
  ASSERT_FALSE(answer.has_value());
  gate->Open();  // Fail is handled: the actor gives up and its queued request is abandoned
  io.run_for(std::chrono::seconds(60));
  ASSERT_TRUE(answer.has_value());
  EXPECT_TRUE(answer->status().IsCancelled()) << answer->status().ToString();
}

}  // namespace
}  // namespace arrowdaq::runtime
