// Benchmarks of the storage writers and of the disk they write to, in one binary so the
// fraction of the disk's bandwidth is measured in the same run.
//
//  * BM_DiskSequentialWrite: write(2) 256 MiB in 8 MiB blocks to a new file in the scratch
//    directory (ARROWDAQ_BENCH_DIR, else the temp dir), then fdatasync: the physical limit.
//  * BM_Write/<format>/rows: one stream (timestamp + 4 float64 channels) written in batches of
//    1k, 10k or 100k rows; an iteration appends 32 MiB of batches (4 MiB for CSV) and calls
//    Flush, as the recorder does every second. Writers hand data to the OS page cache and do not
//    fdatasync, so a rate above the disk's is possible for a while; disk_fraction relates the
//    rate to the disk bandwidth measured once by this binary (write + fdatasync of 256 MiB).
//    HDF5 writes uncompressed chunked float64 datasets (the default), Parquet zstd level 3,
//    IPC an uncompressed Arrow stream, CSV text.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/storage/csv_writer.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/ipc_writer.h"
#include "arrowdaq/storage/parquet_writer.h"
#include "bench_batches.h"
#include "bench_env.h"

namespace arrowdaq::bench {
namespace {

constexpr std::int64_t kDiskBytes = std::int64_t{256} << 20;
constexpr std::int64_t kBlock = std::int64_t{8} << 20;

// Write kDiskBytes to `path` and fdatasync; return bytes/s, or a negative value on error.
double WriteAndSync(const std::string& path) {
  std::vector<char> block(static_cast<size_t>(kBlock));
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 131 + 7);
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  for (std::int64_t done = 0; done < kDiskBytes;) {
    const ssize_t n = ::write(fd, block.data(), block.size());
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    done += n;
  }
  const int rc = ::fdatasync(fd);
  ::close(fd);
  ::unlink(path.c_str());
  if (rc != 0) return -1;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(kDiskBytes) / s;
}

// The disk bandwidth used for disk_fraction: measured once (best of 2) by this binary.
double DiskBandwidth() {
  static const double bw = [] {
    ScratchDir dir("disk");
    const std::string path = (dir.path() / "seq.bin").string();
    return std::max(WriteAndSync(path), WriteAndSync(path));
  }();
  return bw;
}

void BM_DiskSequentialWrite(benchmark::State& state) {
  ScratchDir dir("disk");
  const std::string path = (dir.path() / "seq.bin").string();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    if (WriteAndSync(path) < 0) {
      state.SkipWithError(("cannot write " + path + ": " + std::strerror(errno)).c_str());
      return;
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.SetBytesProcessed(state.iterations() * kDiskBytes);
  state.SetLabel("write + fdatasync, 256 MiB in 8 MiB blocks");
}
BENCHMARK(BM_DiskSequentialWrite)
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);

enum class Format { kHdf5, kIpc, kParquet, kCsv };

Result<std::unique_ptr<storage::StorageWriter>> MakeWriter(Format format,
                                                           const std::filesystem::path& dir) {
  switch (format) {
    case Format::kHdf5:
      return storage::MakeHdf5Writer((dir / "run.h5").string(),
                                     storage::RunInfo{"bench", "", 0, "bench", "localhost"});
    case Format::kIpc:
      return storage::MakeIpcWriter(dir.string());
    case Format::kParquet:
      return storage::MakeParquetWriter(dir.string());
    case Format::kCsv:
      return storage::MakeCsvWriter(dir.string());
  }
  return Status::Invalid("unknown format");
}

void BM_Write(benchmark::State& state, Format format) {
  constexpr int kChannels = 4;
  const std::int64_t rows = state.range(0);
  ScratchDir dir("storage");
  auto writer = MakeWriter(format, dir.path());
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  auto info = std::make_shared<const StreamInfo>(StreamInfo{"s", BenchSchema(kChannels)});
  if (Status st = (*writer)->AddStream(*info); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  // One batch, written again and again: the writers' cost does not depend on the values.
  const std::int64_t volume = format == Format::kCsv ? (std::int64_t{4} << 20)
                                                     : (std::int64_t{32} << 20);
  const auto batch = MakeBenchBatch(info->schema, rows);
  const std::int64_t batch_bytes = BatchBytes(*batch);
  const std::int64_t per_iteration = std::max<std::int64_t>(1, volume / batch_bytes);
  std::uint64_t sequence = 0;
  const std::int64_t a0 = Allocations();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < per_iteration; ++i) {
      DataPacket packet{info, sequence++, batch};
      if (Status st = (*writer)->Write(packet); !st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
    }
    if (Status st = (*writer)->Flush(); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
  }
  const std::int64_t a1 = Allocations();
  const std::int64_t batches = state.iterations() * per_iteration;
  (void)(*writer)->Close();
  state.SetItemsProcessed(batches * rows);
  state.SetBytesProcessed(batches * batch_bytes);
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(batches * rows * kChannels), benchmark::Counter::kIsRate);
  const double disk = DiskBandwidth();
  state.counters["disk_Bps"] = disk;
  state.counters["disk_fraction"] = benchmark::Counter(
      disk > 0 ? static_cast<double>(batches * batch_bytes) / disk : 0.0,
      benchmark::Counter::kIsRate);
  SetMemoryCounters(state, a0 >= 0 ? a1 - a0 : -1, batches);
}

#define ARROWDAQ_WRITER_BENCH(name, format)                                              \
  BENCHMARK_CAPTURE(BM_Write, name, format)->Arg(1'000)->Arg(10'000)->Arg(100'000)->UseRealTime() \
      ->Unit(benchmark::kMillisecond)

ARROWDAQ_WRITER_BENCH(hdf5, Format::kHdf5);
ARROWDAQ_WRITER_BENCH(ipc, Format::kIpc);
ARROWDAQ_WRITER_BENCH(parquet, Format::kParquet);
ARROWDAQ_WRITER_BENCH(csv, Format::kCsv);

}  // namespace
}  // namespace arrowdaq::bench

BENCHMARK_MAIN();
