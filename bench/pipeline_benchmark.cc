// Benchmarks of the pipeline layer.
//
//  * BM_RouterFanout/subs: StreamRouter::Publish of 1000-row batches to 1, 4, 16 and 64
//    subscriptions (kBlock, capacity 64), each drained by its own thread. Packets/s is the
//    publish rate (back-pressure makes it the rate every consumer sustains); deliveries_per_s
//    counts packet hand-overs (packets x subscribers), wakeups_per_delivery the consumer
//    wake-ups producers issued per hand-over. Zero copy: bytes are referenced.
//  * BM_PipelineNullSink/instruments/rows: K sim.ramp instruments (4 channels, rate 1e8 Hz, so
//    each source runs as fast as it can) through InstrumentManager to one kBlock subscription
//    drained by a thread that only counts: the engine's own ceiling without storage.
//  * BM_PipelineHdf5/rows: the same with 2 instruments into storage::Recorder +
//    MakeHdf5Writer in a scratch directory (ARROWDAQ_BENCH_DIR, else the temp dir), flushing
//    every second as `arrowdaq run` does: rows/s and bytes/s reaching the file.
//  * BM_EndToEndHdf5/instruments/rows: the same with 4, 16 and 64 instruments, and
//    BM_Hdf5FromMemory/streams/rows the HDF5 writer alone on as many streams from memory
//    (flush every 32 MiB): their ratio is issue 20's end-to-end goal.
// Every pipeline benchmark reports allocs_per_batch (operator new calls in steady state per
// batch, whole process, via arrowdaq::alloc_counter; -1 under sanitizers), arrow_pool_peak_MB
// and peak_rss_MB.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/pipeline/instrument_manager.h"
#include "arrowdaq/pipeline/stream_router.h"
#include "arrowdaq/runtime/actor.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/recorder.h"
#include "bench_batches.h"
#include "bench_env.h"

namespace arrowdaq::bench {
namespace {

// ---------------------------------------------------------------------------------------------
// Fan-out

void BM_RouterFanout(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  constexpr std::int64_t kRows = 1000;
  pipeline::StreamRouter router;
  auto info = std::make_shared<const StreamInfo>(StreamInfo{"src", BenchSchema(4)});
  auto stream = router.AddStream(info).ValueOrDie();
  auto batch = MakeBenchBatch(info->schema, kRows);
  std::vector<std::thread> consumers;
  std::atomic<std::int64_t> received{0};
  std::vector<std::shared_ptr<pipeline::Subscription>> subs;
  for (int i = 0; i < subscribers; ++i) {
    auto sub = router
                   .Subscribe({.name = "sub" + std::to_string(i),
                               .streams = {"src"},
                               .capacity = 64,
                               .policy = OverflowPolicy::kBlock})
                   .ValueOrDie();
    subs.push_back(sub);
    consumers.emplace_back([sub, &received] {
      std::int64_t n = 0;
      while (sub->Next()) ++n;
      received.fetch_add(n);
    });
  }
  const std::int64_t a0 = Allocations();
  for (auto _ : state) {
    auto packet = router.Publish(*stream, batch);
    if (!packet.ok()) {
      state.SkipWithError(packet.status().ToString().c_str());
      break;
    }
  }
  const std::int64_t a1 = Allocations();
  router.CloseAll();
  for (auto& t : consumers) t.join();
  const auto packets = static_cast<std::int64_t>(state.iterations());
  state.SetItemsProcessed(packets);
  state.SetBytesProcessed(packets * BatchBytes(*batch));
  state.counters["deliveries_per_s"] =
      benchmark::Counter(static_cast<double>(packets * subscribers), benchmark::Counter::kIsRate);
  state.counters["delivered_ok"] = received.load() == packets * subscribers ? 1 : 0;
  std::uint64_t wakeups = 0;
  for (const auto& sub : subs) wakeups += sub->consumer_wakeups();
  state.counters["wakeups_per_delivery"] =
      static_cast<double>(wakeups) / static_cast<double>(std::max<std::int64_t>(1, packets * subscribers));
  SetMemoryCounters(state, a0 >= 0 ? a1 - a0 : -1, packets);
}
BENCHMARK(BM_RouterFanout)->Arg(1)->Arg(4)->Arg(16)->Arg(64)->UseRealTime();

// ---------------------------------------------------------------------------------------------
// End to end

constexpr std::int64_t kChannels = 4;

Status RegisterRamps(pipeline::InstrumentManager& manager, int count, std::int64_t batch_rows) {
  for (int i = 0; i < count; ++i) {
    pipeline::InstrumentRegistration reg;
    reg.name = "ramp" + std::to_string(i);
    reg.driver = "sim.ramp";
    reg.resource = "SIM::ramp";
    OptionMap options{{"rate_hz", 1e8}, {"batch_size", batch_rows}, {"channels", kChannels}};
    reg.make_driver = [options] {
      return instruments::DriverRegistry::Default().Create("sim.ramp", options);
    };
    ARROW_RETURN_NOT_OK(manager.RegisterInstrument(std::move(reg)));
  }
  return Status::OK();
}

Status StartAll(pipeline::InstrumentManager& manager, int count) {
  for (int i = 0; i < count; ++i) {
    ARROW_RETURN_NOT_OK(manager.ConnectInstrument("ramp" + std::to_string(i)));
  }
  for (int i = 0; i < count; ++i) {
    ARROW_RETURN_NOT_OK(manager.StartAcquisition("ramp" + std::to_string(i)));
  }
  return Status::OK();
}

void StopAll(pipeline::InstrumentManager& manager, int count) {
  for (int i = 0; i < count; ++i) (void)manager.StopAcquisition("ramp" + std::to_string(i));
  manager.Shutdown();
}

// Wait (polling, 50 us) until `counter` reaches `target`.
template <typename F>
void WaitUntil(F current, std::int64_t target) {
  while (current() < target) std::this_thread::sleep_for(std::chrono::microseconds(50));
}

std::int64_t RowBytes() { return 8 * (1 + kChannels); }  // timestamp + float64 channels

void BM_PipelineNullSink(benchmark::State& state) {
  const int instruments = static_cast<int>(state.range(0));
  const std::int64_t rows = state.range(1);
  constexpr std::int64_t kPacketsPerIteration = 64;
  runtime::ActorSystem system(runtime::ActorSystemOptions{.threads = 2});
  pipeline::InstrumentManager manager(system);
  if (Status st = RegisterRamps(manager, instruments, rows); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  auto sub = manager
                 .AddDataSubscriber({.name = "null",
                                     .streams = {"*"},
                                     .capacity = 64,
                                     .policy = OverflowPolicy::kBlock})
                 .ValueOrDie();
  std::atomic<std::int64_t> packets{0}, got_rows{0};
  std::thread drain([&] {
    while (auto p = sub->Next()) {
      got_rows.fetch_add(p->num_rows(), std::memory_order_relaxed);
      packets.fetch_add(1, std::memory_order_release);
    }
  });
  if (Status st = StartAll(manager, instruments); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
  }
  WaitUntil([&] { return packets.load(); }, 16);  // warm up
  const std::int64_t p0 = packets.load(), r0 = got_rows.load(), a0 = Allocations();
  for (auto _ : state) {
    WaitUntil([&] { return packets.load(std::memory_order_acquire); },
              packets.load() + kPacketsPerIteration);
  }
  const std::int64_t p1 = packets.load(), r1 = got_rows.load(), a1 = Allocations();
  StopAll(manager, instruments);
  drain.join();
  state.SetItemsProcessed(r1 - r0);
  state.SetBytesProcessed((r1 - r0) * RowBytes());
  state.counters["packets_per_s"] =
      benchmark::Counter(static_cast<double>(p1 - p0), benchmark::Counter::kIsRate);
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>((r1 - r0) * kChannels), benchmark::Counter::kIsRate);
  SetMemoryCounters(state, a0 >= 0 ? a1 - a0 : -1, p1 - p0);
  state.SetLabel("rows/s, sim.ramp x" + std::to_string(instruments) + " -> null sink");
}
BENCHMARK(BM_PipelineNullSink)
    ->ArgsProduct({{1, 4}, {1'000, 10'000}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void PipelineHdf5(benchmark::State& state, int instruments, std::int64_t rows) {
  const std::int64_t rows_per_iteration = std::max<std::int64_t>(64 * rows, 1 << 20);
  ScratchDir dir("pipeline-hdf5");
  runtime::ActorSystem system(runtime::ActorSystemOptions{.threads = 2});
  pipeline::InstrumentManager manager(system);
  if (Status st = RegisterRamps(manager, instruments, rows); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  auto sub = manager
                 .AddDataSubscriber({.name = "storage",
                                     .streams = {"*"},
                                     .capacity = 64,
                                     .policy = OverflowPolicy::kBlock})
                 .ValueOrDie();
  storage::RunInfo run{"bench", "", 0, "bench", "localhost"};
  auto writer = storage::MakeHdf5Writer((dir.path() / "run.h5").string(), run);
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  std::vector<std::unique_ptr<storage::StorageWriter>> writers;
  writers.push_back(std::move(*writer));
  storage::PacketSource source{
      [sub](std::chrono::steady_clock::time_point deadline) { return sub->Next(deadline); },
      [sub] { return sub->closed() && sub->queued() == 0; }};
  storage::Recorder recorder(std::move(writers), std::move(source), storage::RecorderOptions{});
  for (const auto& name : manager.router().StreamNames()) {
    (void)recorder.AddStream(*manager.router().FindStream(name).ValueOrDie());
  }
  recorder.Start();
  if (Status st = StartAll(manager, instruments); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
  }
  // Polled: rows() copies nothing (stats() copies a map, which would count as allocations).
  auto stored = [&] { return static_cast<std::int64_t>(recorder.rows()); };
  WaitUntil(stored, 4 * rows);  // warm up
  const std::int64_t r0 = stored();
  const auto pk0 = static_cast<std::int64_t>(recorder.packets());
  const std::int64_t a0 = Allocations();
  for (auto _ : state) WaitUntil(stored, stored() + rows_per_iteration);
  const std::int64_t r1 = stored(), a1 = Allocations();
  const auto pk1 = static_cast<std::int64_t>(recorder.packets());
  StopAll(manager, instruments);
  if (Status st = recorder.Finish(); !st.ok()) state.SkipWithError(st.ToString().c_str());
  state.SetItemsProcessed(r1 - r0);
  state.SetBytesProcessed((r1 - r0) * RowBytes());
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>((r1 - r0) * kChannels), benchmark::Counter::kIsRate);
  SetMemoryCounters(state, a0 >= 0 ? a1 - a0 : -1, pk1 - pk0);
  state.SetLabel("rows/s, sim.ramp x" + std::to_string(instruments) +
                 " (4 ch) -> Recorder -> HDF5");
}

void BM_PipelineHdf5(benchmark::State& state) { PipelineHdf5(state, 2, state.range(0)); }
BENCHMARK(BM_PipelineHdf5)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Issue 20 goal 1: K instruments end to end into HDF5 (BM_EndToEndHdf5/K/rows) against the
// HDF5 writer alone writing the same K streams' batches from memory, with the recorder's flush
// (BM_Hdf5FromMemory/K/rows), in the same binary and run: the ratio is the engine's overhead.
void BM_EndToEndHdf5(benchmark::State& state) {
  PipelineHdf5(state, static_cast<int>(state.range(0)), state.range(1));
}
BENCHMARK(BM_EndToEndHdf5)
    ->ArgsProduct({{4, 16, 64}, {10'000}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Hdf5FromMemory(benchmark::State& state) {
  const int streams = static_cast<int>(state.range(0));
  const std::int64_t rows = state.range(1);
  ScratchDir dir("hdf5-memory");
  storage::RunInfo run{"bench", "", 0, "bench", "localhost"};
  auto writer = storage::MakeHdf5Writer((dir.path() / "run.h5").string(), run);
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  std::vector<std::shared_ptr<const StreamInfo>> infos;
  for (int i = 0; i < streams; ++i) {
    infos.push_back(std::make_shared<const StreamInfo>(
        StreamInfo{"ramp" + std::to_string(i), BenchSchema(kChannels)}));
    if (Status st = (*writer)->AddStream(*infos.back()); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
  }
  const auto batch = MakeBenchBatch(infos[0]->schema, rows);
  const std::int64_t batch_bytes = BatchBytes(*batch);
  constexpr std::int64_t kFlushBytes = std::int64_t{32} << 20;  // about what 1 s brings
  std::int64_t since_flush = 0;
  std::uint64_t sequence = 0;
  for (auto _ : state) {
    for (const auto& info : infos) {
      if (Status st = (*writer)->Write(DataPacket{info, sequence, batch}); !st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
    ++sequence;
    since_flush += batch_bytes * streams;
    if (since_flush >= kFlushBytes) {
      since_flush = 0;
      if (Status st = (*writer)->Flush(); !st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
  }
  (void)(*writer)->Close();
  const std::int64_t total_rows = state.iterations() * rows * streams;
  state.SetItemsProcessed(total_rows);
  state.SetBytesProcessed(total_rows * RowBytes());
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(total_rows * kChannels), benchmark::Counter::kIsRate);
  state.SetLabel("rows/s, " + std::to_string(streams) + " streams (4 ch) from memory -> HDF5");
}
BENCHMARK(BM_Hdf5FromMemory)
    ->ArgsProduct({{4, 16, 64}, {10'000}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace arrowdaq::bench

BENCHMARK_MAIN();
