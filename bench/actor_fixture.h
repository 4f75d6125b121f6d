// The arrowdaq side of the actor benchmarks, shared by runtime_benchmark and
// caf_comparison_benchmark: one ActorSystem (2 executor threads) and one running Sink actor
// per mailbox capacity used (default mailbox: 256, kBlock), spawned once, never per iteration;
// the message types (a shared_ptr<const RecordBatch>, zero copy) and the coroutines that send
// a burst of Tells or a sequence of Asks. Header-only; Runtime<N>::Get() from any plain thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <benchmark/benchmark.h>

#include "arrowdaq/runtime/actor.h"
#include "bench_batches.h"

namespace arrowdaq::bench {

using Clock = std::chrono::steady_clock;
using runtime::Actor;
using runtime::ActorRef;
using runtime::ActorSystem;
using runtime::Reply;

/// Tells per burst (each burst ends with one Ask, so every message was handled).
inline constexpr int kBurst = 10'000;
/// Tells per burst from a coroutine.
inline constexpr int kAwaitBurst = 10'000;
/// Asks per coroutine run.
inline constexpr int kAsksPerIteration = 1'000;
inline constexpr auto kAskTimeout = std::chrono::seconds(10);

/// The sink's mailbox by default (ActorOptions: 256, kBlock: a sender waits while it is full).
inline constexpr std::size_t kDefaultMailbox = 256;
/// A mailbox no burst fills (a burst is kBurst + 1 = 10,001 messages): no sender ever waits,
/// as with CAF 0.17's mailbox, which is unbounded (CAF has no bounded mailbox for its actors).
/// Used for the like-for-like comparison with CAF; the capacity is a bound, not a
/// preallocation.
inline constexpr std::size_t kNeverFullMailbox = std::size_t{1} << 20;

struct Data {
  std::shared_ptr<const arrow::RecordBatch> batch;
};
struct Ping {
  std::shared_ptr<const arrow::RecordBatch> batch;
  Reply<std::int64_t> reply;
};
using SinkMsg = std::variant<Data, Ping>;

// Counts the rows it receives; answers a Ping with the row total so far.
class Sink : public Actor<SinkMsg> {
 public:
  asio::awaitable<Status> Handle(SinkMsg msg) override {
    if (auto* d = std::get_if<Data>(&msg)) {
      rows_ += d->batch->num_rows();
    } else {
      auto& p = std::get<Ping>(msg);
      rows_ += p.batch->num_rows();
      p.reply.Send(rows_);
    }
    co_return Status::OK();
  }

 private:
  std::int64_t rows_ = 0;
};

// One actor system and one sink per mailbox capacity for the whole binary: spawned once, never
// per iteration.
template <std::size_t kCapacity = kDefaultMailbox>
struct Runtime {
  ActorSystem system{runtime::ActorSystemOptions{.threads = 2}};
  ActorRef<SinkMsg> sink = system.Spawn<Sink>(
      [] { return std::make_unique<Sink>(); },
      runtime::ActorOptions{.name = "sink", .mailbox_capacity = kCapacity});
  ~Runtime() {
    sink.Stop();
    sink.Join();
  }
  static Runtime& Get() {
    static Runtime rt;
    return rt;
  }
};

inline std::shared_ptr<const arrow::RecordBatch> Payload(std::int64_t rows) {
  return MakeBenchBatch(BenchSchema(1), rows);
}

inline auto MakePing(const std::shared_ptr<const arrow::RecordBatch>& batch) {
  return [batch](Reply<std::int64_t> r) { return SinkMsg{Ping{batch, std::move(r)}}; };
}

inline asio::awaitable<Status> TellBurst(ActorRef<SinkMsg> sink,
                                  std::shared_ptr<const arrow::RecordBatch> batch, int burst) {
  for (int i = 0; i < burst; ++i) {
    SinkMsg msg{Data{batch}};  // named: GCC 12 mishandles temporaries in co_await expressions
    Status st = co_await sink.Tell(std::move(msg));
    if (!st.ok()) co_return st;
  }
  auto done = co_await sink.Ask<std::int64_t>(MakePing(batch), kAskTimeout);
  co_return done.status();
}

inline asio::awaitable<Status> AskLoop(ActorRef<SinkMsg> sink,
                                std::shared_ptr<const arrow::RecordBatch> batch,
                                std::vector<double>* us) {
  for (int i = 0; i < kAsksPerIteration; ++i) {
    const auto t0 = Clock::now();
    auto r = co_await sink.Ask<std::int64_t>(MakePing(batch), kAskTimeout);
    us->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!r.ok()) co_return r.status();
  }
  co_return Status::OK();
}

// The arrowdaq halves of the actor benchmarks (registered by each binary).

inline void SetThroughput(benchmark::State& state, const arrow::RecordBatch& batch, std::int64_t msgs) {
  state.SetItemsProcessed(msgs);
  // Bytes referenced by the messages (zero copy: nothing is copied, the figure shows scale).
  state.SetBytesProcessed(msgs * BatchBytes(batch));
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(msgs * batch.num_rows()), benchmark::Counter::kIsRate);
}

template <std::size_t kCapacity = kDefaultMailbox>
inline void BM_TellBlocking(benchmark::State& state) {
  auto& rt = Runtime<kCapacity>::Get();
  const auto batch = Payload(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < kBurst; ++i) {
      if (Status st = rt.sink.TellBlocking(Data{batch}); !st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
    auto done = rt.sink.template AskBlocking<std::int64_t>(MakePing(batch), kAskTimeout);
    if (!done.ok()) state.SkipWithError(done.status().ToString().c_str());
  }
  SetThroughput(state, *batch, state.iterations() * (kBurst + 1));
  state.SetLabel("messages/s from a plain thread, mailbox " + std::to_string(kCapacity));
}

template <std::size_t kCapacity = kDefaultMailbox>
inline void BM_TellAwait(benchmark::State& state) {
  auto& rt = Runtime<kCapacity>::Get();
  const auto batch = Payload(state.range(0));
  for (auto _ : state) {
    Status st = rt.system.BlockOn(TellBurst(rt.sink, batch, kAwaitBurst));
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  SetThroughput(state, *batch, state.iterations() * (kAwaitBurst + 1));
  state.SetLabel("messages/s from a coroutine, mailbox " + std::to_string(kCapacity));
}

inline void SetLatency(benchmark::State& state, std::vector<double>& us, const arrow::RecordBatch& batch) {
  state.SetItemsProcessed(static_cast<std::int64_t>(us.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(us.size()) * BatchBytes(batch));
  state.counters["median_us"] = Quantile(us, 0.5);
  state.counters["p99_us"] = Quantile(us, 0.99);
}

template <std::size_t kCapacity = kDefaultMailbox>
inline void BM_AskBlocking(benchmark::State& state) {
  auto& rt = Runtime<kCapacity>::Get();
  const auto batch = Payload(state.range(0));
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    auto r = rt.sink.template AskBlocking<std::int64_t>(MakePing(batch), kAskTimeout);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  SetLatency(state, us, *batch);
  state.SetLabel("round trip from a plain thread");
}

template <std::size_t kCapacity = kDefaultMailbox>
inline void BM_AskAwait(benchmark::State& state) {
  auto& rt = Runtime<kCapacity>::Get();
  const auto batch = Payload(state.range(0));
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    Status st = rt.system.BlockOn(AskLoop(rt.sink, batch, &us));
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  SetLatency(state, us, *batch);
  state.SetLabel("round trip from a coroutine (1000 per iteration)");
}

}  // namespace arrowdaq::bench
