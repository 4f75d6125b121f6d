// Benchmarks of the runtime layer, the reference guide's two groups done right:
//
//  * BM_ProjectColumns: RecordBatch::SelectColumns on 1k/10k/100k-row batches. This is column
//    PROJECTION (a zero-copy view: new shared_ptrs, no sample is read), not processing; it
//    shows the constant cost of building a view, whatever the batch size.
//  * Actor messaging on ALREADY-RUNNING actors (spawned once, outside the timed loops):
//    - BM_TellBlocking / BM_TellAwait: Tell throughput, messages carrying a
//      shared_ptr<const RecordBatch> of 100/1k/10k rows (the buffers are referenced, never
//      copied), sent in bursts of 10k from a plain thread (TellBlocking) or from a
//      coroutine on the executor (co_await Tell); each burst ends with an Ask so every message
//      was handled inside the timed region.
//    - BM_AskBlocking / BM_AskAwait: request/response round trips carrying the same payloads,
//      one at a time; counters median_us and p99_us over every round trip measured.
// Two executor threads (the machine has two cores); the receiving actor has the default
// mailbox (256, kBlock).
#include <benchmark/benchmark.h>

#include <vector>

#include "actor_fixture.h"
#include "bench_batches.h"

namespace arrowdaq::bench {
namespace {

// ---------------------------------------------------------------------------------------------
// Projection

void BM_ProjectColumns(benchmark::State& state) {
  const std::int64_t rows = state.range(0);
  const auto batch = MakeBenchBatch(BenchSchema(8), rows);
  const std::vector<int> keep = {0, 2, 5};
  std::int64_t bytes_viewed = 0;
  for (int i : keep) bytes_viewed += arrow::util::TotalBufferSize(*batch->column(i));
  for (auto _ : state) {
    auto projected = batch->SelectColumns(keep);
    benchmark::DoNotOptimize(projected);
  }
  state.SetItemsProcessed(state.iterations() * rows);
  state.SetBytesProcessed(state.iterations() * bytes_viewed);
  state.SetLabel("projection (zero-copy view), not processing");
}
BENCHMARK(BM_ProjectColumns)->Arg(1'000)->Arg(10'000)->Arg(100'000);

// ---------------------------------------------------------------------------------------------
// Actors (bodies in actor_fixture.h, shared with caf_comparison_benchmark)

BENCHMARK(BM_TellBlocking<>)->Arg(100)->Arg(1'000)->Arg(10'000)->UseRealTime();
BENCHMARK(BM_TellAwait<>)->Arg(100)->Arg(1'000)->Arg(10'000)->UseRealTime();
BENCHMARK(BM_AskBlocking<>)->Arg(100)->Arg(1'000)->Arg(10'000)->UseRealTime();
BENCHMARK(BM_AskAwait<>)->Arg(100)->Arg(1'000)->Arg(10'000)->UseRealTime();

}  // namespace
}  // namespace arrowdaq::bench

BENCHMARK_MAIN();
