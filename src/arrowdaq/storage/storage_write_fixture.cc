// storage_write_fixture: writes known data with all four storage writers, for the Python
// oracle tests (tests/python/test_storage_formats.py). Test helper only; single-threaded.
//
// Stream `a`: channels ch0 [V] = n and ch1 [A] = 0.5 n (float64) for n = 0..rows-1, timestamps
// kT0 + n ms. Files: <dir>/run.h5, <dir>/a.arrow, <dir>/a/part-NNNNN.parquet, <dir>/a.csv (and
// its .units.csv / .metadata.csv).
//
//   storage_write_fixture DIR [--rows N] [--batch B] [--segment-rows S] [--gzip L]
//                             [--slow-ms M --flush-every K]
//
// With --slow-ms it sleeps M ms after each batch and flushes every K batches, printing
// "flushed <rows>" after each flush (for the SWMR-follow and SIGKILL tests); otherwise it
// writes everything, prints per-writer write times to stderr and "done <rows>".
#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/record_batch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/csv_writer.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/ipc_writer.h"
#include "arrowdaq/storage/parquet_writer.h"

namespace {

using arrowdaq::Result;
using arrowdaq::Status;
namespace storage = arrowdaq::storage;

constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t kPeriodNs = 1'000'000;

struct Args {
  std::string dir;
  std::int64_t rows = 100'000;
  std::int64_t batch = 1000;
  std::int64_t segment_rows = 25'000;
  int gzip = 0;
  int slow_ms = 0;
  int flush_every = 1;
};

Result<Args> ParseArgs(int argc, char** argv) {
  Args a;
  if (argc < 2) return Status::Invalid("usage: storage_write_fixture DIR [options]");
  a.dir = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string key = argv[i];
    if (i + 1 >= argc) return Status::Invalid("option ", key, " needs a value");
    const long long v = std::atoll(argv[++i]);
    if (key == "--rows")
      a.rows = v;
    else if (key == "--batch")
      a.batch = v;
    else if (key == "--segment-rows")
      a.segment_rows = v;
    else if (key == "--gzip")
      a.gzip = static_cast<int>(v);
    else if (key == "--slow-ms")
      a.slow_ms = static_cast<int>(v);
    else if (key == "--flush-every")
      a.flush_every = static_cast<int>(v);
    else
      return Status::Invalid("unknown option ", key);
  }
  if (a.batch <= 0 || a.rows < 0 || a.flush_every <= 0) {
    return Status::Invalid("--batch and --flush-every must be > 0, --rows >= 0");
  }
  return a;
}

Result<std::shared_ptr<arrow::RecordBatch>> MakeBatch(const std::shared_ptr<arrow::Schema>& schema,
                                                      std::int64_t first, std::int64_t n) {
  ARROW_ASSIGN_OR_RAISE(auto ts, arrow::AllocateBuffer(n * 8));
  ARROW_ASSIGN_OR_RAISE(auto c0, arrow::AllocateBuffer(n * 8));
  ARROW_ASSIGN_OR_RAISE(auto c1, arrow::AllocateBuffer(n * 8));
  auto* t = reinterpret_cast<std::int64_t*>(ts->mutable_data());
  auto* x0 = reinterpret_cast<double*>(c0->mutable_data());
  auto* x1 = reinterpret_cast<double*>(c1->mutable_data());
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t k = first + i;
    t[i] = kT0 + k * kPeriodNs;
    x0[i] = static_cast<double>(k);
    x1[i] = 0.5 * static_cast<double>(k);
  }
  std::vector<std::shared_ptr<arrow::Array>> cols{
      std::make_shared<arrow::TimestampArray>(schema->field(0)->type(), n, std::move(ts)),
      std::make_shared<arrow::DoubleArray>(n, std::move(c0)),
      std::make_shared<arrow::DoubleArray>(n, std::move(c1))};
  return arrow::RecordBatch::Make(schema, n, std::move(cols));
}

Status Run(const Args& args) {
  ARROW_ASSIGN_OR_RAISE(
      auto schema, arrowdaq::MakeStreamSchema({{"ch0", "V", "n"}, {"ch1", "A", "n/2"}},
                                              {{"driver", "sim_ramp"},
                                               {"resource", "SIM::ramp"},
                                               {arrowdaq::kRateKey, "1000"},
                                               {"channels", "2"},
                                               {"serial", "007"}}));
  auto info = std::make_shared<arrowdaq::StreamInfo>(arrowdaq::StreamInfo{"a", schema});
  storage::RunInfo run{"fixture-run", "[instruments.a]\ndriver = \"sim_ramp\"\n", kT0, "0.1.0",
                       "fixture-host"};
  storage::Hdf5Options h5;
  h5.gzip_level = args.gzip;
  storage::ParquetOptions pq;
  pq.segment_rows = args.segment_rows;
  pq.segment_duration = std::chrono::nanoseconds(0);

  std::error_code ec;
  std::filesystem::create_directories(args.dir, ec);
  const char* names[] = {"hdf5", "ipc", "parquet", "csv"};
  std::vector<std::unique_ptr<storage::StorageWriter>> writers;
  ARROW_ASSIGN_OR_RAISE(auto w0, storage::MakeHdf5Writer(args.dir + "/run.h5", run, h5));
  writers.push_back(std::move(w0));
  ARROW_ASSIGN_OR_RAISE(auto w1, storage::MakeIpcWriter(args.dir));
  writers.push_back(std::move(w1));
  ARROW_ASSIGN_OR_RAISE(auto w2, storage::MakeParquetWriter(args.dir, pq));
  writers.push_back(std::move(w2));
  ARROW_ASSIGN_OR_RAISE(auto w3, storage::MakeCsvWriter(args.dir));
  writers.push_back(std::move(w3));
  for (auto& w : writers) {
    ARROW_RETURN_NOT_OK(w->AddStream(*info));
    ARROW_RETURN_NOT_OK(w->WriteEvent({kT0, "a", "info", "fixture started"}));
    ARROW_RETURN_NOT_OK(w->WriteEvent({kT0 + kPeriodNs, "a", "fault", "simulated fault"}));
  }

  std::vector<double> seconds(writers.size(), 0.0);
  std::int64_t written = 0;
  std::int64_t batches = 0;
  while (written < args.rows) {
    const std::int64_t n = std::min(args.batch, args.rows - written);
    ARROW_ASSIGN_OR_RAISE(auto batch, MakeBatch(schema, written, n));
    arrowdaq::DataPacket packet{info, static_cast<std::uint64_t>(batches), batch};
    for (size_t i = 0; i < writers.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      ARROW_RETURN_NOT_OK(writers[i]->Write(packet));
      seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    written += n;
    ++batches;
    if (args.slow_ms > 0) {
      if (batches % args.flush_every == 0) {
        for (auto& w : writers) ARROW_RETURN_NOT_OK(w->Flush());
        std::printf("flushed %lld\n", static_cast<long long>(written));
        std::fflush(stdout);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(args.slow_ms));
    }
  }
  for (size_t i = 0; i < writers.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    ARROW_RETURN_NOT_OK(writers[i]->Flush());
    ARROW_RETURN_NOT_OK(writers[i]->Close());
    seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "timing %s: %.3f s for %lld rows (%.3g rows/s)\n", names[i], seconds[i],
                 static_cast<long long>(written), seconds[i] > 0 ? written / seconds[i] : 0.0);
  }
  std::printf("done %lld\n", static_cast<long long>(written));
  return Status::OK();
}

}  // namespace

int main(int argc, char** argv) {
  auto args = ParseArgs(argc, argv);
  Status st = args.ok() ? Run(*args) : args.status();
  if (!st.ok()) {
    std::fprintf(stderr, "storage_write_fixture: %s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
