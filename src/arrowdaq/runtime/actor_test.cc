#include "arrowdaq/runtime/actor.h"

#include <atomic>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::runtime {
namespace {

using namespace std::chrono_literals;

// A test actor: records values, answers questions, fails on request, can be slowed down.
struct Record {
  int sender;
  int value;
};
struct Fail {};
struct Sleep {
  std::chrono::milliseconds d;
};
struct GetCount {
  Reply<int> reply;
};
struct NeverAnswer {
  Reply<int> reply;
};
using TestMsg = std::variant<Record, Fail, Sleep, GetCount, NeverAnswer>;

struct Journal {
  std::mutex mutex;
  std::vector<Record> records;
  std::atomic<int> starts{0};
  std::atomic<int> stops{0};
  std::vector<Reply<int>> parked;  // replies the actor keeps without answering
};

class TestActor : public Actor<TestMsg> {
 public:
  explicit TestActor(Journal* j) : journal_(j) {}
  asio::awaitable<Status> OnStart() override {
    journal_->starts++;
    co_return Status::OK();
  }
  asio::awaitable<void> OnStop() override {
    journal_->stops++;
    co_return;
  }
  asio::awaitable<Status> Handle(TestMsg msg) override {
    if (auto* r = std::get_if<Record>(&msg)) {
      std::lock_guard lock(journal_->mutex);
      journal_->records.push_back(*r);
      ++count_;
    } else if (std::holds_alternative<Fail>(msg)) {
      co_return Status::IOError("asked to fail");
    } else if (auto* s = std::get_if<Sleep>(&msg)) {
      std::this_thread::sleep_for(s->d);  // simulate a slow handler
    } else if (auto* g = std::get_if<GetCount>(&msg)) {
      g->reply.Send(count_);
    } else if (auto* n = std::get_if<NeverAnswer>(&msg)) {
      std::lock_guard lock(journal_->mutex);
      journal_->parked.push_back(std::move(n->reply));
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
  ASSERT_OK(ref.TellBlocking(Sleep{200ms}));  // being handled
  ASSERT_OK(ref.TellBlocking(Record{0, 1}));  // waits in the mailbox: now full
  // While the handler sleeps the mailbox stays full: a bounded wait times out...
  Status st = ref.TellBlocking(Record{0, 2}, 20ms);
  EXPECT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_TRUE(ref.TryTell(Record{0, 3}).IsCapacityError());
  // ... and an unbounded one succeeds once there is room: nothing was lost.
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
    ASSERT_OK(ref.TellBlocking(Sleep{150ms}));
    std::this_thread::sleep_for(30ms);  // let the handler take the Sleep message
    for (int i = 0; i < 5; ++i) (void)ref.TellBlocking(Record{0, i});
    std::this_thread::sleep_for(250ms);  // the Sleep ends and the mailbox empties
    ASSERT_OK_AND_ASSIGN(
        int count, ref.AskBlocking<int>([](Reply<int> r) { return GetCount{std::move(r)}; }, 5s));
    const auto stats = ref.stats();
    EXPECT_EQ(count + static_cast<int>(stats.dropped), 5) << ToString(policy);
    EXPECT_GE(stats.dropped, 3u) << ToString(policy);
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

TEST(Actor, GracefulStopDrainsTheMailbox) {
  Journal j;
  ActorSystem sys({.threads = 1});
  std::promise<ActorExit> exited;
  ActorOptions opts{.name = "drain", .mailbox_capacity = 64};
  opts.on_exit = [&](const ActorExit& e) { exited.set_value(e); };
  auto ref = SpawnTest(sys, &j, opts);
  ASSERT_OK(ref.TellBlocking(Sleep{50ms}));
  for (int i = 0; i < 50; ++i) ASSERT_OK(ref.TellBlocking(Record{0, i}));
  ref.Stop();
  EXPECT_FALSE(ref.TryTell(Record{0, 99}).ok());  // refused once stopping
  ref.Join();
  EXPECT_OK(exited.get_future().get().status);
  std::lock_guard lock(j.mutex);
  EXPECT_EQ(j.records.size(), 50u);  // every message queued before Stop was handled
  EXPECT_EQ(j.stops.load(), 1);
}

TEST(Actor, PendingAskIsAnsweredWithAnErrorWhenTheActorGivesUp) {
  Journal j;
  ActorSystem sys({.threads = 1});
  ActorOptions opts{.name = "doomed"};
  opts.supervision.max_restarts = 0;
  auto ref = SpawnTest(sys, &j, opts);
  ASSERT_OK(ref.TellBlocking(Sleep{50ms}));
  ASSERT_OK(ref.TellBlocking(Fail{}));
  auto r = ref.AskBlocking<int>([](Reply<int> rep) { return GetCount{std::move(rep)}; }, 5s);
  EXPECT_TRUE(r.status().IsCancelled()) << r.status().ToString();
}

}  // namespace
}  // namespace arrowdaq::runtime
