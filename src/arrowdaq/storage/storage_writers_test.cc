// Tests of the storage writers: each format is written with three streams (one batch sliced
// with a nonzero offset) and read back through an independent reader, value by value; plus
// error paths (unwritable directory, full file, AddStream after the first write) and the
// inspector on good, foreign, truncated and random files.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>
#include <arrow/table.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <parquet/arrow/reader.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/csv_writer.h"
#include "arrowdaq/storage/hdf5_internal.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/inspect.h"
#include "arrowdaq/storage/ipc_writer.h"
#include "arrowdaq/storage/parquet_writer.h"
#include "arrowdaq/storage/storage_internal.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/temp_dir.h"

// When a chunk cannot be written (the file-size limit below), HDF5 1.10 keeps the chunk's
// buffer forever; that leak is the library's, on an error path, and not ours to fix.
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so"; }

namespace arrowdaq::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z

using testing::TempDir;

// Expected content of one stream: the timestamp column and every channel as double.
struct Expected {
  std::shared_ptr<const StreamInfo> info;
  std::vector<std::int64_t> ts;
  std::vector<std::vector<double>> channels;
};

// Stream "a": 2 float64 channels, 1 ms period. "b": one channel, 10 ms period with a 1 s gap
// after row 120. "c": a float64 and an int32 channel, 2 ms period.
class StreamSet {
 public:
  StreamSet() {
    Add("a", {{"ch0", "V", "first"}, {"ch1", "A", "second"}}, {});
    Add("b", {{"temp", "K", "temperature"}}, {{"driver", "sim_sine"}, {"resource", "SIM::t"}});
    Add("c", {{"x", "mm", ""}, {"count", "", "counter", arrow::int32()}}, {});
  }

  std::int64_t Timestamp(size_t s, std::int64_t k) const {
    if (s == 0) return kT0 + k * 1'000'000;
    if (s == 1) return kT0 + k * 10'000'000 + (k >= 120 ? 1'000'000'000 : 0);
    return kT0 + k * 2'000'000;
  }
  static double Value(size_t s, int c, std::int64_t k) {
    if (s == 2 && c == 1) return static_cast<double>(k * 3 - 50);
    return static_cast<double>(k) * (c + 1) + static_cast<double>(s) * 1000.0 + 0.25;
  }

  // Build rows [k0, k0 + n) of stream s; with `pad` extra rows on each side then sliced away,
  // so the returned batch has a nonzero offset.
  std::shared_ptr<arrow::RecordBatch> Batch(size_t s, std::int64_t k0, std::int64_t n,
                                            std::int64_t pad = 0) {
    const auto& schema = streams_[s].info->schema;
    arrow::TimestampBuilder tb(TimestampType(), arrow::default_memory_pool());
    std::vector<std::shared_ptr<arrow::Array>> cols;
    for (std::int64_t k = k0 - pad; k < k0 + n + pad; ++k) {
      (void)tb.Append(k < k0 || k >= k0 + n ? -1 : Timestamp(s, k));
    }
    cols.push_back(tb.Finish().ValueOrDie());
    for (int c = 1; c < schema->num_fields(); ++c) {
      if (schema->field(c)->type()->id() == arrow::Type::INT32) {
        arrow::Int32Builder b;
        for (std::int64_t k = k0 - pad; k < k0 + n + pad; ++k) {
          (void)b.Append(k < k0 || k >= k0 + n ? -999 : static_cast<int32_t>(Value(s, c - 1, k)));
        }
        cols.push_back(b.Finish().ValueOrDie());
      } else {
        arrow::DoubleBuilder b;
        for (std::int64_t k = k0 - pad; k < k0 + n + pad; ++k) {
          (void)b.Append(k < k0 || k >= k0 + n ? -999.0 : Value(s, c - 1, k));
        }
        cols.push_back(b.Finish().ValueOrDie());
      }
    }
    auto full = arrow::RecordBatch::Make(schema, n + 2 * pad, cols);
    return pad == 0 ? full : full->Slice(pad, n);
  }

  // Write the same sequence of packets through `w`: per stream batches of 100, 37 and a
  // 30-row slice (offset 7), interleaved across streams.
  Status WriteAll(StorageWriter* w) {
    for (auto& e : streams_) ARROW_RETURN_NOT_OK(w->AddStream(*e.info));
    std::vector<std::int64_t> next(streams_.size(), 0);
    const std::int64_t sizes[] = {100, 37, 30};
    for (int round = 0; round < 3; ++round) {
      for (size_t s = 0; s < streams_.size(); ++s) {
        auto batch = Batch(s, next[s], sizes[round], round == 2 ? 7 : 0);
        if (round == 2 && batch->column(1)->offset() == 0) {
          return Status::Invalid("test setup: slice has no offset");
        }
        DataPacket packet{streams_[s].info, static_cast<std::uint64_t>(round), batch};
        ARROW_RETURN_NOT_OK(w->Write(packet));
        next[s] += sizes[round];
      }
      ARROW_RETURN_NOT_OK(w->Flush());
    }
    return Status::OK();
  }

  const std::vector<Expected>& expected() {
    if (expected_.empty()) {
      for (size_t s = 0; s < streams_.size(); ++s) {
        Expected e;
        e.info = streams_[s].info;
        const int nch = e.info->schema->num_fields() - 1;
        e.channels.resize(nch);
        for (std::int64_t k = 0; k < 167; ++k) {
          e.ts.push_back(Timestamp(s, k));
          for (int c = 0; c < nch; ++c) e.channels[c].push_back(Value(s, c, k));
        }
        expected_.push_back(std::move(e));
      }
    }
    return expected_;
  }

  const StreamInfo& info(size_t s) const { return *streams_[s].info; }

 private:
  struct Entry {
    std::shared_ptr<const StreamInfo> info;
  };
  void Add(const std::string& name, const std::vector<ChannelSpec>& ch,
           const std::vector<std::pair<std::string, std::string>>& md) {
    auto schema = MakeStreamSchema(ch, md).ValueOrDie();
    streams_.push_back({std::make_shared<StreamInfo>(StreamInfo{name, schema})});
  }
  std::vector<Entry> streams_;
  std::vector<Expected> expected_;
};

RunInfo TestRun() { return RunInfo{"run-42", "[run]\nname = \"t\"\n", kT0, "0.1.0", "testhost"}; }

// Compare a table (timestamp + channels, possibly chunked) with the expected stream.
void ExpectTableEquals(const arrow::Table& table, const Expected& e) {
  ASSERT_EQ(table.num_rows(), static_cast<std::int64_t>(e.ts.size())) << e.info->name;
  ASSERT_EQ(table.num_columns(), static_cast<int>(e.channels.size()) + 1);
  ASSERT_TRUE(table.schema()->field(0)->type()->Equals(*TimestampType()));
  std::int64_t row = 0;
  for (const auto& chunk : table.column(0)->chunks()) {
    const auto& ts = static_cast<const arrow::TimestampArray&>(*chunk);
    for (std::int64_t i = 0; i < ts.length(); ++i, ++row) {
      ASSERT_EQ(ts.Value(i), e.ts[row]) << e.info->name << " row " << row;
    }
  }
  for (size_t c = 0; c < e.channels.size(); ++c) {
    const auto& field = table.schema()->field(static_cast<int>(c) + 1);
    EXPECT_EQ(FieldUnit(*field), FieldUnit(*e.info->schema->field(static_cast<int>(c) + 1)));
    row = 0;
    for (const auto& chunk : table.column(static_cast<int>(c) + 1)->chunks()) {
      for (std::int64_t i = 0; i < chunk->length(); ++i, ++row) {
        double v = chunk->type_id() == arrow::Type::INT32
                       ? static_cast<const arrow::Int32Array&>(*chunk).Value(i)
                       : static_cast<const arrow::DoubleArray&>(*chunk).Value(i);
        ASSERT_EQ(v, e.channels[c][row]) << e.info->name << " column " << c << " row " << row;
      }
    }
  }
}

// ---- HDF5, read back through the C API -----------------------------------------------------

std::vector<double> ReadH5Doubles(hid_t file, const std::string& name, hid_t* file_type_class,
                                  size_t* file_type_size) {
  hid_t d = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  EXPECT_GE(d, 0) << name;
  hid_t t = H5Dget_type(d);
  *file_type_class = H5Tget_class(t);
  *file_type_size = H5Tget_size(t);
  H5Tclose(t);
  hid_t sp = H5Dget_space(d);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(sp, &n, nullptr);
  H5Sclose(sp);
  std::vector<double> out(n);
  EXPECT_GE(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0);
  H5Dclose(d);
  return out;
}

std::vector<std::int64_t> ReadH5Int64(hid_t file, const std::string& name) {
  hid_t d = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  EXPECT_GE(d, 0) << name;
  hid_t sp = H5Dget_space(d);
  hsize_t n = 0;
  H5Sget_simple_extent_dims(sp, &n, nullptr);
  H5Sclose(sp);
  std::vector<std::int64_t> out(n);
  EXPECT_GE(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0);
  H5Dclose(d);
  return out;
}

std::string H5Attr(hid_t obj, const std::string& name) {
  auto r = internal::ReadStringAttribute(obj, name, "test");
  return r.ok() ? *r : "<" + r.status().ToString() + ">";
}

TEST(Hdf5WriterTest, WritesEveryValueColumnsAttributesAndEvents) {
  TempDir dir;
  StreamSet set;
  const std::string path = dir.Sub("run.h5");
  Hdf5Options opts;
  opts.gzip_level = 4;
  opts.chunk_rows = 64;
  ASSERT_OK_AND_ASSIGN(auto w, MakeHdf5Writer(path, TestRun(), opts));
  ASSERT_OK(w->WriteEvent({kT0 + 5, "a", "gap", "lost 3 packets"}));
  ASSERT_OK(set.WriteAll(w.get()));
  ASSERT_OK(w->WriteEvent({kT0 + 7, "", "info", std::string(300, 'x')}));
  ASSERT_OK(w->Close());
  ASSERT_OK(w->Close());  // idempotent

  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  EXPECT_EQ(H5Attr(file, "format_version"), "2");
  EXPECT_EQ(H5Attr(file, "NX_class"), "NXroot");
  EXPECT_EQ(H5Attr(file, "default"), "entry");
  EXPECT_EQ(H5Attr(file, "run_id"), "run-42");
  EXPECT_EQ(H5Attr(file, "host"), "testhost");
  EXPECT_EQ(H5Attr(file, "config"), "[run]\nname = \"t\"\n");
  EXPECT_EQ(H5Attr(file, "start_time"), "2023-11-14T22:13:20.000000000Z");
  EXPECT_THAT(H5Attr(file, "stop_time"), ::testing::MatchesRegex("20[0-9-]+T[0-9:.]+Z"));
  for (const auto& e : set.expected()) {
    const std::string g = "/" + e.info->name;
    EXPECT_EQ(ReadH5Int64(file, g + "/timestamp"), e.ts) << g;
    for (size_t c = 0; c < e.channels.size(); ++c) {
      const auto& field = e.info->schema->field(static_cast<int>(c) + 1);
      hid_t cls;
      size_t size;
      EXPECT_EQ(ReadH5Doubles(file, g + "/" + field->name(), &cls, &size), e.channels[c]);
      // Numeric columns keep their own type.
      if (field->type()->id() == arrow::Type::INT32) {
        EXPECT_EQ(cls, H5T_INTEGER);
        EXPECT_EQ(size, 4u);
      } else {
        EXPECT_EQ(cls, H5T_FLOAT);
        EXPECT_EQ(size, 8u);
      }
      hid_t d = H5Dopen2(file, (g + "/" + field->name()).c_str(), H5P_DEFAULT);
      EXPECT_EQ(H5Attr(d, "units"), FieldUnit(*field));
      EXPECT_EQ(H5Aexists(d, "unit"), 0);
      H5Dclose(d);
    }
  }
  hid_t ts = H5Dopen2(file, "/a/timestamp", H5P_DEFAULT);
  EXPECT_EQ(H5Attr(ts, "units"), "nanoseconds since 1970-01-01T00:00:00Z");
  H5Dclose(ts);
  hid_t gb = H5Gopen2(file, "/b", H5P_DEFAULT);
  EXPECT_EQ(H5Attr(gb, "driver"), "sim_sine");
  EXPECT_EQ(H5Attr(gb, "resource"), "SIM::t");
  H5Gclose(gb);
  EXPECT_EQ(H5Fclose(file), 0);

  ASSERT_OK_AND_ASSIGN(auto report, InspectFile(path));
  EXPECT_EQ(report.format, "hdf5");
  EXPECT_EQ(report.format_version, "2");
  ASSERT_EQ(report.streams.size(), 3u);
  EXPECT_EQ(report.streams[0].name, "a");
  EXPECT_EQ(report.streams[0].rows, 167);
  EXPECT_EQ(report.streams[0].gaps, 0);
  EXPECT_EQ(report.streams[0].median_period_ns, 1'000'000);
  EXPECT_NEAR(report.streams[0].rate_hz, 1000.0, 1e-6);
  EXPECT_EQ(report.streams[1].gaps, 1);
  EXPECT_EQ(report.streams[2].first_ns, kT0);
  EXPECT_EQ(report.streams[2].last_ns, kT0 + 166 * 2'000'000);
  ASSERT_EQ(report.events.size(), 2u);
  EXPECT_EQ(report.events[0].kind, "gap");
  EXPECT_EQ(report.events[0].message, "lost 3 packets");
  EXPECT_EQ(report.events[1].message, std::string(kEventMessageBytes, 'x'));  // truncated
  EXPECT_TRUE(report.warnings.empty()) << FormatReport(report);
  EXPECT_THAT(FormatReport(report), HasSubstr("stream b: 167 rows"));
}

TEST(Hdf5WriterTest, AddStreamAfterFirstWriteOrFlushFailsClearly) {
  TempDir dir;
  StreamSet set;
  ASSERT_OK_AND_ASSIGN(auto w, MakeHdf5Writer(dir.Sub("run.h5"), TestRun()));
  ASSERT_OK(w->AddStream(set.info(0)));
  ASSERT_OK(w->Flush());
  const Status st = w->AddStream(set.info(1));
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("cannot add stream 'b'"));
  EXPECT_THAT(st.message(), HasSubstr("SWMR"));
  EXPECT_THAT(st.message(), HasSubstr("run.h5"));
  // The writer stays usable for the streams it has.
  ASSERT_OK(
      w->Write(DataPacket{std::make_shared<StreamInfo>(set.info(0)), 0, set.Batch(0, 0, 10)}));
  ASSERT_OK(w->Close());
}

// Bytes this process has passed to write()/pwrite() so far (Linux /proc/self/io `wchar`).
std::int64_t BytesWrittenByProcess() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::int64_t value = 0;
  while (io >> key >> value) {
    if (key == "wchar:") return value;
  }
  return -1;
}

// A slow stream flushed after every batch (a few rows a second, flushed every second) must
// cost about its own bytes on disk: each Flush writes the new rows, not the partly filled
// 512 KiB chunk of every column again (which HDF5's chunk cache did: 200 flushes x 3 columns x
// 512 KiB = 300 MiB written for 48 KB of data).
TEST(Hdf5WriterTest, FlushWritesNewRowsNotWholePartialChunks) {
  TempDir dir;
  StreamSet set;
  const std::string path = dir.Sub("run.h5");
  ASSERT_OK_AND_ASSIGN(auto w, MakeHdf5Writer(path, TestRun()));
  auto info = std::make_shared<StreamInfo>(set.info(0));
  ASSERT_OK(w->AddStream(*info));
  const std::int64_t before = BytesWrittenByProcess();
  ASSERT_GE(before, 0) << "/proc/self/io has no wchar";
  constexpr std::int64_t kBatches = 200;
  constexpr std::int64_t kRows = 10;
  for (std::int64_t i = 0; i < kBatches; ++i) {
    ASSERT_OK(w->Write(DataPacket{info, static_cast<std::uint64_t>(i),
                                  set.Batch(0, i * kRows, kRows)}));
    ASSERT_OK(w->Flush());
  }
  const std::int64_t written = BytesWrittenByProcess() - before;
  ASSERT_OK(w->Close());
  // 48,000 bytes of rows; the metadata each Flush rewrites (object headers, chunk index,
  // superblock) is a few KiB. A whole chunk per column per Flush would be 300 MiB.
  EXPECT_LT(written, std::int64_t{8} << 20) << "bytes written for 48 KB of rows";

  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  std::vector<std::int64_t> ts;
  std::vector<double> ch1;
  for (std::int64_t k = 0; k < kBatches * kRows; ++k) {
    ts.push_back(set.Timestamp(0, k));
    ch1.push_back(StreamSet::Value(0, 1, k));
  }
  EXPECT_EQ(ReadH5Int64(file, "/a/timestamp"), ts);
  hid_t cls;
  size_t size;
  EXPECT_EQ(ReadH5Doubles(file, "/a/ch1", &cls, &size), ch1);
  H5Fclose(file);
}

// Small batches are gathered by the writer and large ones written as they come: mixed, in
// any order, with flushes between, every row lands in its place (a sliced batch included).
TEST(Hdf5WriterTest, SmallAndLargeBatchesMixedKeepEveryRowInOrder) {
  TempDir dir;
  StreamSet set;
  const std::string path = dir.Sub("run.h5");
  ASSERT_OK_AND_ASSIGN(auto w, MakeHdf5Writer(path, TestRun()));
  auto info = std::make_shared<StreamInfo>(set.info(0));
  ASSERT_OK(w->AddStream(*info));
  const std::int64_t sizes[] = {10, 3, 20'000, 7, 9'000, 1, 8'191, 8'192, 5};
  std::int64_t next = 0;
  std::uint64_t seq = 0;
  for (std::int64_t n : sizes) {
    ASSERT_OK(w->Write(DataPacket{info, seq, set.Batch(0, next, n, seq % 2 == 1 ? 4 : 0)}));
    next += n;
    if (++seq % 3 == 0) ASSERT_OK(w->Flush());
  }
  ASSERT_OK(w->Close());
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  std::vector<std::int64_t> ts;
  std::vector<double> ch0;
  for (std::int64_t k = 0; k < next; ++k) {
    ts.push_back(set.Timestamp(0, k));
    ch0.push_back(StreamSet::Value(0, 0, k));
  }
  EXPECT_EQ(ReadH5Int64(file, "/a/timestamp"), ts);
  hid_t cls;
  size_t size;
  EXPECT_EQ(ReadH5Doubles(file, "/a/ch0", &cls, &size), ch0);
  H5Fclose(file);
}

TEST(Hdf5WriterTest, RejectsBadStreamsAndBatches) {
  TempDir dir;
  StreamSet set;
  ASSERT_OK_AND_ASSIGN(auto w, MakeHdf5Writer(dir.Sub("run.h5"), TestRun()));
  StreamInfo evil{"../evil", set.info(0).schema};
  EXPECT_THAT(w->AddStream(evil).message(), HasSubstr("must not start with '.'"));
  StreamInfo slash{"a/b", set.info(0).schema};
  EXPECT_THAT(w->AddStream(slash).message(), HasSubstr("may only hold"));
  StreamInfo events{"events", set.info(0).schema};
  EXPECT_THAT(w->AddStream(events).message(), HasSubstr("reserved"));
  ASSERT_OK(w->AddStream(set.info(0)));
  EXPECT_THAT(w->AddStream(set.info(0)).message(), HasSubstr("already added"));
  // A batch of stream b sent as stream a does not match a's schema.
  DataPacket wrong{std::make_shared<StreamInfo>(set.info(0)), 0, set.Batch(1, 0, 5)};
  EXPECT_THAT(w->Write(wrong).message(), HasSubstr("columns"));
  DataPacket unknown{std::make_shared<StreamInfo>(set.info(2)), 0, set.Batch(2, 0, 5)};
  EXPECT_THAT(w->Write(unknown).message(), HasSubstr("never added"));
  ASSERT_OK(w->Close());
  // The file exists now: a second writer must not overwrite it.
  auto again = MakeHdf5Writer(dir.Sub("run.h5"), TestRun());
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("run.h5"));
}

// A stream whose rows are the pixels of a 2 x 3 grid (the metadata `arrowdaq scan` sets).
TEST(Hdf5WriterTest, GridMetadataGivesAnImageAndBadMetadataIsRefusedNamingTheKey) {
  auto schema_with = [](std::vector<std::pair<std::string, std::string>> changes) {
    std::vector<std::pair<std::string, std::string>> md = {
        {"nexus.grid.shape", "2,3"},        {"nexus.grid.axes", "y,x"},
        {"nexus.grid.axis.y", "-1,1"},      {"nexus.grid.axis.x", "0,0.5,1"},
        {"nexus.grid.signals", "v"},        {"nexus.grid.index", "pixel"}};
    for (auto& [k, v] : changes) {
      bool found = false;
      for (auto& kv : md) {
        if (kv.first == k) kv.second = v, found = true;
      }
      if (!found) md.emplace_back(k, v);
    }
    return MakeStreamSchema({{"v", "V", ""}, {"y", "mm", ""}, {"x", "mm", ""},
                             {"pixel", "", "", arrow::int64()}},
                            md)
        .ValueOrDie();
  };
  TempDir dir;
  {
    ASSERT_OK_AND_ASSIGN(auto w, MakeHdf5Writer(dir.Sub("bad.h5"), TestRun()));
    const std::vector<std::pair<std::pair<std::string, std::string>, std::string>> bad = {
        {{"nexus.grid.shape", "2,0"}, "nexus.grid.shape"},
        {{"nexus.grid.shape", "2,x"}, "nexus.grid.shape"},
        {{"nexus.grid.axes", "y"}, "names 1 columns for 2 dimensions"},
        {{"nexus.grid.axes", "y,nope"}, "nexus.grid.axes names 'nope'"},
        {{"nexus.grid.axis.x", "0,1"}, "nexus.grid.axis.x holds 2 positions for a size of 3"},
        {{"nexus.grid.axis.x", "0,a,1"}, "'a' is not a number"},
        {{"nexus.grid.index", "v"}, "nexus.grid.index must name one int64 column"},
        {{"nexus.grid.signals", "x"}, "also an axis"},
    };
    int k = 0;
    for (const auto& [change, message] : bad) {
      StreamInfo info{"s" + std::to_string(k++), schema_with({change})};
      EXPECT_THAT(w->AddStream(info).message(), HasSubstr(message)) << change.first;
    }
    ASSERT_OK(w->Close());
  }
  const std::string path = dir.Sub("run.h5");
  auto info = std::make_shared<StreamInfo>(StreamInfo{"g", schema_with({})});
  ASSERT_OK_AND_ASSIGN(auto w, MakeHdf5Writer(path, TestRun()));
  ASSERT_OK(w->AddStream(*info));
  auto batch = [&](std::int64_t pixel, double v) {
    arrow::TimestampBuilder ts(TimestampType(), arrow::default_memory_pool());
    arrow::DoubleBuilder value, y, x;
    arrow::Int64Builder index;
    EXPECT_TRUE(ts.Append(1000 + pixel).ok() && value.Append(v).ok() && y.Append(0).ok() &&
                x.Append(0).ok() && index.Append(pixel).ok());
    std::vector<std::shared_ptr<arrow::Array>> columns(5);
    EXPECT_TRUE(ts.Finish(&columns[0]).ok() && value.Finish(&columns[1]).ok() &&
                y.Finish(&columns[2]).ok() && x.Finish(&columns[3]).ok() &&
                index.Finish(&columns[4]).ok());
    return arrow::RecordBatch::Make(info->schema, 1, columns);
  };
  ASSERT_OK(w->Write({info, 0, batch(5, 7.5)}));
  ASSERT_OK(w->Write({info, 1, batch(1, 2.5)}));
  EXPECT_THAT(w->Write({info, 2, batch(6, 1)}).message(), HasSubstr("outside the grid"));
  (void)w->Close();
  // Read back with the HDF5 C API: pixel 5 is [1][2], pixel 1 is [0][1], the rest NaN.
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  hid_t dset = H5Dopen2(file, "/g_grid/v", H5P_DEFAULT);
  ASSERT_GE(dset, 0);
  double image[2][3];
  ASSERT_GE(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, image), 0);
  for (int i = 0; i < 6; ++i) {
    const double v = image[i / 3][i % 3];
    if (i == 5) {
      EXPECT_EQ(v, 7.5);
    } else if (i == 1) {
      EXPECT_EQ(v, 2.5);
    } else {
      EXPECT_TRUE(std::isnan(v)) << i;
    }
  }
  H5Dclose(dset);
  H5Fclose(file);
}

// ---- Arrow IPC ----------------------------------------------------------------------------

std::shared_ptr<arrow::Table> ReadIpc(const std::string& path, std::string* version) {
  auto file = arrowdaq::storage::internal::OpenForRead(path).ValueOrDie();
  // The IPC *file* format: random access through the footer.
  auto reader = arrow::ipc::RecordBatchFileReader::Open(file, internal::SingleThreadIpcOptions()).ValueOrDie();
  *version = reader->schema()->metadata()->Get(kFormatVersionKey).ValueOr("");
  return reader->ToTable().ValueOrDie();
}

TEST(IpcWriterTest, WritesEveryValue) {
  TempDir dir;
  StreamSet set;
  ASSERT_OK_AND_ASSIGN(auto w, MakeIpcWriter(dir.Sub("out")));
  ASSERT_OK(set.WriteAll(w.get()));
  // Until Close the file has no footer and says so by its name.
  EXPECT_TRUE(fs::exists(dir.Sub("out/a.arrow.partial")));
  EXPECT_FALSE(fs::exists(dir.Sub("out/a.arrow")));
  ASSERT_OK(w->Close());
  EXPECT_FALSE(fs::exists(dir.Sub("out/a.arrow.partial")));
  for (const auto& e : set.expected()) {
    std::string version;
    auto table = ReadIpc(dir.Sub("out/" + e.info->name + ".arrow"), &version);
    EXPECT_EQ(version, "2");
    ExpectTableEquals(*table, e);
  }
  ASSERT_OK_AND_ASSIGN(auto report, InspectFile(dir.Sub("out/b.arrow")));
  EXPECT_EQ(report.format, "arrow-ipc");
  ASSERT_EQ(report.streams.size(), 1u);
  EXPECT_EQ(report.streams[0].name, "b");
  EXPECT_EQ(report.streams[0].rows, 167);
  EXPECT_EQ(report.streams[0].gaps, 1);
  EXPECT_EQ(report.streams[0].median_period_ns, 10'000'000);
}

// ---- Parquet -------------------------------------------------------------------------------

// Read without pre-buffering: pre-buffered reads run on Arrow's IO thread pool, whose last
// shared_ptr releases (atomics inside the uninstrumented pyarrow-wheel libarrow) TSan reports
// as races (see tests/tsan.supp). A local file gains nothing from pre-buffering.
std::shared_ptr<arrow::Table> ReadParquet(const std::string& path) {
  auto file = arrowdaq::storage::internal::OpenForRead(path).ValueOrDie();
  parquet::ArrowReaderProperties props;
  props.set_pre_buffer(false);
  parquet::arrow::FileReaderBuilder builder;
  EXPECT_TRUE(builder.Open(file).ok());
  auto reader = builder.properties(props)->Build().ValueOrDie();
  return reader->ReadTable().ValueOrDie();
}

TEST(ParquetWriterTest, SplitsSegmentsByRowsAndKeepsEveryValue) {
  TempDir dir;
  StreamSet set;
  ParquetOptions opts;
  opts.segment_rows = 60;
  opts.segment_duration = std::chrono::nanoseconds(0);
  ASSERT_OK_AND_ASSIGN(auto w, MakeParquetWriter(dir.path(), opts));
  ASSERT_OK(set.WriteAll(w.get()));
  // Closed segments are complete files even before Close.
  EXPECT_TRUE(fs::exists(dir.Sub("a/part-00001.parquet")));
  EXPECT_TRUE(fs::exists(dir.Sub("a/part-00002.parquet.partial")));
  ASSERT_OK(w->Close());
  EXPECT_FALSE(fs::exists(dir.Sub("a/part-00002.parquet.partial")));
  for (const auto& e : set.expected()) {
    std::vector<std::shared_ptr<arrow::Table>> parts;
    for (int i = 0; i < 3; ++i) {
      char name[64];
      std::snprintf(name, sizeof(name), "%s/part-%05d.parquet", e.info->name.c_str(), i);
      auto part = ReadParquet(dir.Sub(name));
      EXPECT_EQ(part->num_rows(), i < 2 ? 60 : 47) << name;
      EXPECT_EQ(part->schema()->metadata()->Get(kFormatVersionKey).ValueOr(""), "2");
      parts.push_back(part);
    }
    EXPECT_FALSE(fs::exists(dir.Sub(e.info->name + "/part-00003.parquet")));
    auto table = arrow::ConcatenateTables(parts).ValueOrDie();
    ExpectTableEquals(*table, e);
  }
  ASSERT_OK_AND_ASSIGN(auto report, InspectFile(dir.path()));
  EXPECT_EQ(report.format, "parquet");
  ASSERT_EQ(report.streams.size(), 3u);
  EXPECT_EQ(report.streams[1].name, "b");
  EXPECT_EQ(report.streams[1].segments, 3);
  EXPECT_EQ(report.streams[1].rows, 167);
  EXPECT_EQ(report.streams[1].gaps, 1);
}

TEST(ParquetWriterTest, SplitsSegmentsByDuration) {
  TempDir dir;
  StreamSet set;
  ParquetOptions opts;
  opts.segment_duration = std::chrono::milliseconds(50);  // stream a: 1 ms period
  ASSERT_OK_AND_ASSIGN(auto w, MakeParquetWriter(dir.path(), opts));
  ASSERT_OK(set.WriteAll(w.get()));
  ASSERT_OK(w->Close());
  const std::int64_t want[] = {50, 50, 50, 17};
  for (int i = 0; i < 4; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "a/part-%05d.parquet", i);
    auto part = ReadParquet(dir.Sub(name));
    ASSERT_EQ(part->num_rows(), want[i]) << name;
    const auto& ts = static_cast<const arrow::TimestampArray&>(*part->column(0)->chunk(0));
    EXPECT_EQ(ts.Value(0), kT0 + i * 50'000'000) << name;
  }
}

// ---- CSV -------------------------------------------------------------------------------------

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, ',')) out.push_back(f);
  return out;
}

TEST(CsvWriterTest, WritesHeaderWithUnitsIsoTimesAndEveryValue) {
  TempDir dir;
  StreamSet set;
  ASSERT_OK_AND_ASSIGN(auto w, MakeCsvWriter(dir.path()));
  ASSERT_OK(set.WriteAll(w.get()));
  ASSERT_OK(w->Close());
  std::ifstream in(dir.Sub("c.csv"));
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "timestamp,x,count");
  const auto& e = set.expected()[2];
  for (size_t row = 0; row < e.ts.size(); ++row) {
    ASSERT_TRUE(std::getline(in, line)) << row;
    auto f = SplitCsv(line);
    ASSERT_EQ(f.size(), 3u) << line;
    if (row == 0) {
      EXPECT_EQ(f[0], "2023-11-14T22:13:20.000000000Z");
    }
    if (row == 1) {
      EXPECT_EQ(f[0], "2023-11-14T22:13:20.002000000Z");
    }
    EXPECT_EQ(std::strtod(f[1].c_str(), nullptr), e.channels[0][row]) << line;
    EXPECT_EQ(std::strtod(f[2].c_str(), nullptr), e.channels[1][row]) << line;
  }
  EXPECT_FALSE(std::getline(in, line));
  std::ifstream a(dir.Sub("a.csv"));
  ASSERT_TRUE(std::getline(a, line));
  EXPECT_EQ(line, "timestamp,ch0,ch1");
  // Units beside it, one line per column.
  std::ifstream units(dir.Sub("c.units.csv"));
  std::string all((std::istreambuf_iterator<char>(units)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all.substr(0, all.find("\nx,")), "column,units,description\ntimestamp,,ISO 8601 UTC with nanoseconds");
  EXPECT_THAT(all, HasSubstr("\nx,mm,"));
  EXPECT_THAT(all, HasSubstr("\ncount,,"));
}

// ---- Errors common to all writers -----------------------------------------------------------

TEST(StorageErrorsTest, UnwritableDirectoryFailsAtOpenNamingIt) {
  TempDir dir;
  std::ofstream(dir.Sub("plainfile")) << "x";
  const std::string bad = dir.Sub("plainfile/sub");  // parent is a regular file
  auto h5 = MakeHdf5Writer(bad + "/run.h5", TestRun());
  ASSERT_FALSE(h5.ok());
  EXPECT_THAT(h5.status().message(), HasSubstr(bad + "/run.h5"));
  for (const Status& st : {MakeIpcWriter(bad).status(), MakeParquetWriter(bad).status(),
                           MakeCsvWriter(bad).status()}) {
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.IsIOError());
    EXPECT_THAT(st.message(), HasSubstr(bad));
  }
  if (::geteuid() != 0) {  // root ignores permission bits
    const std::string ro = dir.Sub("readonly");
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    auto ipc = MakeIpcWriter(ro);
    ASSERT_FALSE(ipc.ok());
    EXPECT_THAT(ipc.status().message(), HasSubstr("not writable"));
    EXPECT_THAT(ipc.status().message(), HasSubstr("Permission denied"));
  }
}

// A write that hits a file-size limit (standing in for a full disk) fails with an IOError
// naming the file and the system's reason.
TEST(StorageErrorsTest, FailedWriteNamesFileAndCause) {
  TempDir dir;
  StreamSet set;
  ASSERT_OK_AND_ASSIGN(auto csv, MakeCsvWriter(dir.Sub("csv")));
  ASSERT_OK_AND_ASSIGN(auto ipc, MakeIpcWriter(dir.Sub("ipc")));
  ASSERT_OK_AND_ASSIGN(auto h5, MakeHdf5Writer(dir.Sub("run.h5"), TestRun()));
  for (auto* w : {csv.get(), ipc.get(), h5.get()}) ASSERT_OK(w->AddStream(set.info(0)));
  auto info = std::make_shared<StreamInfo>(set.info(0));
  DataPacket big{info, 0, set.Batch(0, 0, 200'000)};

  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old;
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 256 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Status csv_st = csv->Write(big);
  const Status ipc_st = ipc->Write(big);
  Status h5_st = h5->Write(big);
  if (h5_st.ok()) h5_st = h5->Flush();
  ::setrlimit(RLIMIT_FSIZE, &old);

  ASSERT_TRUE(csv_st.IsIOError()) << csv_st.ToString();
  EXPECT_THAT(csv_st.message(), HasSubstr(dir.Sub("csv/a.csv")));
  EXPECT_THAT(csv_st.message(), HasSubstr("too large"));
  ASSERT_TRUE(ipc_st.IsIOError()) << ipc_st.ToString();
  EXPECT_THAT(ipc_st.message(), HasSubstr(dir.Sub("ipc/a.arrow.partial")));
  ASSERT_TRUE(h5_st.IsIOError()) << h5_st.ToString();
  EXPECT_THAT(h5_st.message(), HasSubstr(dir.Sub("run.h5")));
  // After a failed HDF5 write the writer refuses more rather than misalign columns.
  EXPECT_THAT(h5->Write(DataPacket{info, 1, set.Batch(0, 0, 5)}).message(),
              HasSubstr("earlier write failed"));
  (void)h5->Close();
}

// ---- Inspector on foreign and damaged input ----------------------------------------------------

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Damaged files hold any int64 as a timestamp (inspect_file_fuzz found the overflow at the low
// end); expected strings computed with Python's datetime.
TEST(InspectTest, TimestampsAtTheEndsOfTheInt64RangeFormat) {
  EXPECT_EQ(internal::FormatIsoTime(std::numeric_limits<std::int64_t>::min()),
            "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(internal::FormatIsoTime(std::numeric_limits<std::int64_t>::max()),
            "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(internal::FormatIsoTime(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(internal::FormatIsoTime(0), "1970-01-01T00:00:00.000000000Z");
}

TEST(InspectTest, RandomBytesGiveErrorsNotCrashes) {
  TempDir dir;
  std::mt19937 rng(1234);
  std::string noise(64 * 1024, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  for (const char* name : {"x.h5", "x.arrows", "x.parquet", "x.bin"}) {
    WriteBytes(dir.Sub(name), noise);
    auto r = InspectFile(dir.Sub(name));
    EXPECT_FALSE(r.ok()) << name;
    EXPECT_THAT(r.status().message(), HasSubstr(dir.Sub(name)));
  }
  // Random bytes behind each format's magic number.
  for (const auto& [name, magic] : std::vector<std::pair<std::string, std::string>>{
           {"m.h5", std::string("\x89HDF\r\n\x1a\n", 8)},
           {"m.arrows", std::string("\xff\xff\xff\xff", 4)},
           {"m.parquet", "PAR1"}}) {
    WriteBytes(dir.Sub(name), magic + noise + (name == "m.parquet" ? "PAR1" : ""));
    auto r = InspectFile(dir.Sub(name));
    EXPECT_FALSE(r.ok() && !r->streams.empty() && r->warnings.empty()) << name;
  }
  EXPECT_FALSE(InspectFile(dir.Sub("missing.h5")).ok());
  auto bin = InspectFile(dir.Sub("x.bin"));
  EXPECT_THAT(bin.status().message(), HasSubstr("not a file arrowdaq writes"));
}

TEST(InspectTest, ForeignFilesAreNotOurs) {
  TempDir dir;
  // An HDF5 file without format_version.
  hid_t f = H5Fcreate(dir.Sub("foreign.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  H5Fclose(f);
  auto h5 = InspectFile(dir.Sub("foreign.h5"));
  ASSERT_FALSE(h5.ok());
  EXPECT_THAT(h5.status().message(), HasSubstr("not an arrowdaq run"));
  // An Arrow IPC stream without arrowdaq metadata.
  auto schema = arrow::schema({arrow::field("timestamp", TimestampType())});
  {
    auto out = arrow::io::FileOutputStream::Open(dir.Sub("foreign.arrows")).ValueOrDie();
    auto w = arrow::ipc::MakeStreamWriter(out, schema).ValueOrDie();
    ASSERT_OK(w->Close());
    ASSERT_OK(out->Close());
  }
  auto ipc = InspectFile(dir.Sub("foreign.arrows"));
  ASSERT_FALSE(ipc.ok());
  EXPECT_THAT(ipc.status().message(), HasSubstr("not written by arrowdaq"));
}

// A writer process that dies without Close leaves run.h5 in SWMR-write state; the inspector
// still reads it (through a SWMR-read open) up to the last flush and says it was not closed.
TEST(InspectTest, ReadsHdf5LeftByADeadWriter) {
  TempDir dir;
  StreamSet set;
  const std::string path = dir.Sub("run.h5");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = MakeHdf5Writer(path, TestRun());
    if (!w.ok() || !(*w)->AddStream(set.info(0)).ok()) ::_exit(2);
    auto info = std::make_shared<StreamInfo>(set.info(0));
    if (!(*w)->Write(DataPacket{info, 0, set.Batch(0, 0, 100)}).ok()) ::_exit(3);
    if (!(*w)->Flush().ok()) ::_exit(4);
    ::_exit(0);  // no Close, no destructors: like a crash after the flush
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_OK_AND_ASSIGN(auto report, InspectFile(path));
  ASSERT_EQ(report.streams.size(), 1u);
  EXPECT_EQ(report.streams[0].rows, 100);
  EXPECT_EQ(report.streams[0].last_ns, kT0 + 99 * 1'000'000);
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_THAT(report.warnings[0], HasSubstr("not closed"));
}

TEST(InspectTest, TruncatedFilesGiveErrorsOrPartialReports) {
  TempDir dir;
  StreamSet set;
  {
    ASSERT_OK_AND_ASSIGN(auto h5, MakeHdf5Writer(dir.Sub("run.h5"), TestRun()));
    ASSERT_OK_AND_ASSIGN(auto ipc, MakeIpcWriter(dir.path()));
    ASSERT_OK_AND_ASSIGN(auto pq, MakeParquetWriter(dir.path()));
    for (auto* w : {h5.get(), ipc.get(), pq.get()}) {
      ASSERT_OK(set.WriteAll(w));
      ASSERT_OK(w->Close());
    }
  }
  // A report "looks intact" when it has no warning and every stream of the intact file with
  // all its rows (run.h5 holds the three streams a, b, c; a.arrow and the part one).
  auto looks_intact = [](const InspectReport& r, const InspectReport& intact) {
    if (!r.warnings.empty() || r.streams.size() != intact.streams.size()) return false;
    for (size_t i = 0; i < r.streams.size(); ++i) {
      if (r.streams[i].name != intact.streams[i].name ||
          r.streams[i].rows != intact.streams[i].rows) {
        return false;
      }
    }
    return true;
  };
  for (const std::string name : {"run.h5", "a.arrow", "a/part-00000.parquet"}) {
    ASSERT_OK_AND_ASSIGN(const InspectReport intact, InspectFile(dir.Sub(name)));
    ASSERT_EQ(intact.streams.size(), name == "run.h5" ? 3u : 1u) << name;
    ASSERT_TRUE(looks_intact(intact, intact)) << FormatReport(intact);  // the check can fire
    const std::string bytes = ReadBytes(dir.Sub(name));
    const std::string base = fs::path(name).filename().string();
    for (size_t keep : {size_t{0}, size_t{10}, size_t{100}, bytes.size() / 3, bytes.size() / 2,
                        bytes.size() - 1}) {
      const std::string cut = dir.Sub(std::string("cut_") + std::to_string(keep) + "_" + base);
      WriteBytes(cut, bytes.substr(0, keep));
      auto r = InspectFile(cut);  // must not crash; either an error or a flagged report
      if (r.ok()) {
        EXPECT_FALSE(looks_intact(*r, intact)) << cut << " looks intact:\n" << FormatReport(*r);
      } else {
        EXPECT_THAT(r.status().message(), HasSubstr(cut));
      }
    }
  }
}

// A writer process that dies without Close leaves <stream>.arrow.partial: the IPC file format
// without its footer. Its bytes after the magic are a stream, read up to the last complete
// batch, also when the process died in the middle of one.
TEST(InspectTest, ReadsArrowFileLeftByADeadWriter) {
  TempDir dir;
  StreamSet set;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto w = MakeIpcWriter(dir.path());
    if (!w.ok() || !(*w)->AddStream(set.info(0)).ok()) ::_exit(2);
    auto info = std::make_shared<StreamInfo>(set.info(0));
    if (!(*w)->Write(DataPacket{info, 0, set.Batch(0, 0, 60)}).ok()) ::_exit(3);
    if (!(*w)->Write(DataPacket{info, 1, set.Batch(0, 60, 40)}).ok()) ::_exit(3);
    if (!(*w)->Flush().ok()) ::_exit(4);
    ::_exit(0);  // no Close: like a crash after the flush
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(fs::exists(dir.Sub("a.arrow")));
  ASSERT_OK_AND_ASSIGN(auto report, InspectFile(dir.Sub("a.arrow.partial")));
  ASSERT_EQ(report.streams.size(), 1u);
  EXPECT_EQ(report.streams[0].name, "a");
  EXPECT_EQ(report.streams[0].rows, 100);
  ASSERT_FALSE(report.warnings.empty());
  EXPECT_THAT(report.warnings[0], HasSubstr("unfinished"));
  // Cut in the middle of the second batch: the first one remains.
  const std::string bytes = ReadBytes(dir.Sub("a.arrow.partial"));
  WriteBytes(dir.Sub("half.arrow.partial"), bytes.substr(0, bytes.size() - 100));
  ASSERT_OK_AND_ASSIGN(auto half, InspectFile(dir.Sub("half.arrow.partial")));
  EXPECT_EQ(half.streams[0].rows, 60);
}

}  // namespace
}  // namespace arrowdaq::storage
