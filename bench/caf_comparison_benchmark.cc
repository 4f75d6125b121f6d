// The actor runtime against the C++ Actor Framework (CAF 0.17, Debian libcaf-dev), in one
// binary, same machine, same run: the same two patterns with the same payloads
// (shared_ptr<const RecordBatch> of 100 / 1k / 10k rows, referenced, never copied), both with
// two scheduler threads and one receiving actor spawned once.
//
//  * TellBlocking: a plain thread sends bursts of kBurst one-way messages, then one request
//    (arrowdaq: ActorRef::TellBlocking + AskBlocking; CAF: scoped_actor send + request.receive).
//  * TellAwait: the same burst sent from inside the runtime (arrowdaq: a coroutine,
//    co_await Tell; CAF: an event-based client actor that sends and then requests).
//  * AskBlocking: one request/response at a time from a plain thread; median_us / p99_us.
//  * AskAwait: sequential requests from inside the runtime (arrowdaq: co_await Ask in a
//    coroutine; CAF: a client actor chaining request(...).then(...)); median_us / p99_us.
//
// Mailboxes, like for like: CAF 0.17's mailbox is unbounded (a sender never waits) and CAF has
// no bounded one for its actors, so the arrowdaq sink compared with it (arrowdaq/...) has a
// mailbox of kNeverFullMailbox (1,048,576, kBlock), which no burst (10,001 messages) fills: no
// sender ever waits on either side. The same Tell bursts into arrowdaq's default mailbox (256,
// kBlock: the sender waits while it is full) run as arrowdaq-mailbox256/... for reference.
// Until 2026-12-01 the comparison ran arrowdaq's bounded 256 against CAF's unbounded mailbox.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actor_fixture.h"
#include "bench_batches.h"

namespace arrowdaq::bench {

/// The CAF payload: the same shared_ptr the arrowdaq messages carry.
struct CafBatch {
  std::shared_ptr<const arrow::RecordBatch> batch;
};

/// Where a CAF client actor records round-trip times (owned by the benchmark thread).
struct CafLatencies {
  std::vector<double>* us = nullptr;
};

}  // namespace arrowdaq::bench

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(arrowdaq::bench::CafBatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(arrowdaq::bench::CafLatencies)

namespace arrowdaq::bench {
namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using burst_atom = caf::atom_constant<caf::atom("burst")>;
using asks_atom = caf::atom_constant<caf::atom("asks")>;

// The CAF twin of Sink: counts rows, answers a ping with the running total.
caf::behavior CafSink(caf::event_based_actor* /*self*/) {
  auto rows = std::make_shared<std::int64_t>(0);
  return {
      [rows](const CafBatch& b) { *rows += b.batch->num_rows(); },
      [rows](ping_atom, const CafBatch& b) -> std::int64_t {
        *rows += b.batch->num_rows();
        return *rows;
      },
  };
}

// Runs the in-runtime patterns against `sink`: a burst of sends then one request, or a chain
// of requests timed one by one. Answers its requester when done.
caf::behavior CafClient(caf::event_based_actor* self, caf::actor sink) {
  return {
      [self, sink](burst_atom, const CafBatch& b) -> caf::result<std::int64_t> {
        for (int i = 0; i < kAwaitBurst; ++i) self->send(sink, b);
        auto rp = self->make_response_promise<std::int64_t>();
        self->request(sink, caf::infinite, ping_atom::value, b)
            .then([rp](std::int64_t rows) mutable { rp.deliver(rows); });
        return rp;
      },
      [self, sink](asks_atom, const CafBatch& b, CafLatencies lat) -> caf::result<std::int64_t> {
        auto rp = self->make_response_promise<std::int64_t>();
        auto step = std::make_shared<std::function<void(int)>>();
        *step = [self, sink, b, lat, rp, step](int left) mutable {
          if (left == 0) {
            rp.deliver(std::int64_t{0});
            *step = nullptr;  // break the self-reference
            return;
          }
          const auto t0 = Clock::now();
          self->request(sink, caf::infinite, ping_atom::value, b)
              .then([t0, lat, step, left](std::int64_t) {
                lat.us->push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
                (*step)(left - 1);
              });
        };
        (*step)(kAsksPerIteration);
        return rp;
      },
  };
}

struct CafRuntime {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> system;
  caf::actor sink;
  caf::actor client;

  CafRuntime() {
    cfg.set("scheduler.max-threads", 2);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    system = std::make_unique<caf::actor_system>(cfg);
    sink = system->spawn(CafSink);
    client = system->spawn(CafClient, sink);
  }
  ~CafRuntime() {
    caf::anon_send_exit(client, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
    client = nullptr;
    sink = nullptr;
    system.reset();
  }
  static CafRuntime& Get() {
    static CafRuntime rt;
    return rt;
  }
};

void BM_CafTellBlocking(benchmark::State& state) {
  auto& rt = CafRuntime::Get();
  const auto batch = Payload(state.range(0));
  caf::scoped_actor self{*rt.system};
  for (auto _ : state) {
    for (int i = 0; i < kBurst; ++i) self->send(rt.sink, CafBatch{batch});
    self->request(rt.sink, caf::infinite, ping_atom::value, CafBatch{batch})
        .receive([](std::int64_t) {},
                 [&](caf::error& e) { state.SkipWithError(to_string(e).c_str()); });
  }
  SetThroughput(state, *batch, state.iterations() * (kBurst + 1));
  state.SetLabel("CAF: messages/s from a plain thread (scoped_actor)");
}

void BM_CafTellAwait(benchmark::State& state) {
  auto& rt = CafRuntime::Get();
  const auto batch = Payload(state.range(0));
  caf::scoped_actor self{*rt.system};
  for (auto _ : state) {
    self->request(rt.client, caf::infinite, burst_atom::value, CafBatch{batch})
        .receive([](std::int64_t) {},
                 [&](caf::error& e) { state.SkipWithError(to_string(e).c_str()); });
  }
  SetThroughput(state, *batch, state.iterations() * (kAwaitBurst + 1));
  state.SetLabel("CAF: messages/s from an event-based actor");
}

void BM_CafAskBlocking(benchmark::State& state) {
  auto& rt = CafRuntime::Get();
  const auto batch = Payload(state.range(0));
  caf::scoped_actor self{*rt.system};
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    const auto t0 = Clock::now();
    self->request(rt.sink, caf::infinite, ping_atom::value, CafBatch{batch})
        .receive([](std::int64_t) {},
                 [&](caf::error& e) { state.SkipWithError(to_string(e).c_str()); });
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  SetLatency(state, us, *batch);
  state.SetLabel("CAF: round trip from a plain thread (scoped_actor)");
}

void BM_CafAskAwait(benchmark::State& state) {
  auto& rt = CafRuntime::Get();
  const auto batch = Payload(state.range(0));
  caf::scoped_actor self{*rt.system};
  std::vector<double> us;
  us.reserve(1 << 20);
  for (auto _ : state) {
    self->request(rt.client, caf::infinite, asks_atom::value, CafBatch{batch}, CafLatencies{&us})
        .receive([](std::int64_t) {},
                 [&](caf::error& e) { state.SkipWithError(to_string(e).c_str()); });
  }
  SetLatency(state, us, *batch);
  state.SetLabel("CAF: round trip from an event-based actor (1000 per iteration)");
}

#define ARROWDAQ_PAYLOADS ->Arg(100)->Arg(1'000)->Arg(10'000)->UseRealTime()

BENCHMARK(BM_TellBlocking<kNeverFullMailbox>)->Name("arrowdaq/TellBlocking") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_CafTellBlocking)->Name("caf/TellBlocking") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_TellBlocking<kDefaultMailbox>)
    ->Name("arrowdaq-mailbox256/TellBlocking") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_TellAwait<kNeverFullMailbox>)->Name("arrowdaq/TellAwait") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_CafTellAwait)->Name("caf/TellAwait") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_TellAwait<kDefaultMailbox>)->Name("arrowdaq-mailbox256/TellAwait") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_AskBlocking<kNeverFullMailbox>)->Name("arrowdaq/AskBlocking") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_CafAskBlocking)->Name("caf/AskBlocking") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_AskAwait<kNeverFullMailbox>)->Name("arrowdaq/AskAwait") ARROWDAQ_PAYLOADS;
BENCHMARK(BM_CafAskAwait)->Name("caf/AskAwait") ARROWDAQ_PAYLOADS;

}  // namespace
}  // namespace arrowdaq::bench

// Leave without running static destructors: tearing down the CAF actor system at exit corrupted
// the heap in this build (seen as "free(): corrupted unsorted chunks" after the last benchmark),
// and the figures are already written by then.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(0);
}
