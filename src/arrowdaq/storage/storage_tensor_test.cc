// Tests of array columns (camera frames as `arrow.fixed_shape_tensor`, waveforms as
// `fixed_size_list`) in every writer: HDF5 read back through the C API as (N, H, W) datasets
// chunked by frame, Arrow IPC and Parquet read back through Arrow's readers with the tensor type
// intact, CSV refused with a message naming the stream, and the inspector reporting the shapes.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/extension/fixed_shape_tensor.h>
#include <arrow/extension_type.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/table.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <parquet/arrow/reader.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/storage_internal.h"
#include "arrowdaq/storage/csv_writer.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/inspect.h"
#include "arrowdaq/storage/ipc_writer.h"
#include "arrowdaq/storage/parquet_writer.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/temp_dir.h"

namespace arrowdaq::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr std::int64_t kT0 = 1'700'000'000'000'000'000;

using testing::TempDir;

// Pixel i (row-major) of frame k, and sample i of waveform k.
std::uint16_t Pixel(std::int64_t k, std::int64_t i) {
  return static_cast<std::uint16_t>(k * 1000 + i * 3 + 1);
}
double Sample(std::int64_t k, std::int64_t i) { return static_cast<double>(k) + 0.125 * i; }

// A stream "cam": timestamp, frame (tensor uint16 [h, w], unit counts), wave (fixed_size_list
// <float64>[4], unit V). Frames k0 .. k0+n-1; with `pad`, extra rows around them are sliced away.
struct CameraStream {
  std::int64_t h;
  std::int64_t w;
  std::shared_ptr<arrow::DataType> frame_type;
  std::shared_ptr<StreamInfo> info;

  CameraStream(std::int64_t height, std::int64_t width) : h(height), w(width) {
    frame_type = arrow::extension::FixedShapeTensorType::Make(arrow::uint16(), {h, w}).ValueOrDie();
    auto schema = MakeStreamSchema(
                      {ChannelSpec{"frame", "counts", "camera frame", frame_type},
                       ChannelSpec{"wave", "V", "", arrow::fixed_size_list(arrow::float64(), 4)}},
                      {{kRateKey, "100"}})
                      .ValueOrDie();
    info = std::make_shared<StreamInfo>(StreamInfo{"cam", schema});
  }

  std::shared_ptr<arrow::RecordBatch> Batch(std::int64_t k0, std::int64_t n,
                                            std::int64_t pad = 0) const {
    arrow::TimestampBuilder tb(TimestampType(), arrow::default_memory_pool());
    arrow::UInt16Builder pixels;
    arrow::DoubleBuilder samples;
    for (std::int64_t k = k0 - pad; k < k0 + n + pad; ++k) {
      (void)tb.Append(kT0 + k * 10'000'000);
      for (std::int64_t i = 0; i < h * w; ++i) (void)pixels.Append(Pixel(k, i));
      for (std::int64_t i = 0; i < 4; ++i) (void)samples.Append(Sample(k, i));
    }
    const std::int64_t rows = n + 2 * pad;
    auto storage = std::make_shared<arrow::FixedSizeListArray>(
        arrow::fixed_size_list(arrow::uint16(), static_cast<int32_t>(h * w)), rows,
        pixels.Finish().ValueOrDie());
    auto frames = arrow::ExtensionType::WrapArray(frame_type, storage);
    auto waves = std::make_shared<arrow::FixedSizeListArray>(
        arrow::fixed_size_list(arrow::float64(), 4), rows, samples.Finish().ValueOrDie());
    auto full =
        arrow::RecordBatch::Make(info->schema, rows, {tb.Finish().ValueOrDie(), frames, waves});
    return pad == 0 ? full : full->Slice(pad, n);
  }

  // Write frames 0..9 as batches of 3, 1 and a 6-frame slice with offset 2.
  Status WriteAll(StorageWriter* writer) const {
    ARROW_RETURN_NOT_OK(writer->AddStream(*info));
    ARROW_RETURN_NOT_OK(writer->Write(DataPacket{info, 0, Batch(0, 3)}));
    ARROW_RETURN_NOT_OK(writer->Write(DataPacket{info, 1, Batch(3, 1)}));
    auto sliced = Batch(4, 6, 2);
    if (sliced->column(1)->offset() == 0) return Status::Invalid("test setup: no slice offset");
    ARROW_RETURN_NOT_OK(writer->Write(DataPacket{info, 2, sliced}));
    return writer->Close();
  }
};

constexpr std::int64_t kFrames = 10;

struct H5Dataset {
  std::vector<hsize_t> dims;
  std::vector<hsize_t> chunk;
  H5T_class_t type_class;
  size_t type_size;
  H5T_sign_t sign;
};

H5Dataset Describe(hid_t dset) {
  H5Dataset out;
  hid_t space = H5Dget_space(dset);
  const int rank = H5Sget_simple_extent_ndims(space);
  out.dims.resize(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space, out.dims.data(), nullptr);
  H5Sclose(space);
  hid_t dcpl = H5Dget_create_plist(dset);
  out.chunk.resize(static_cast<size_t>(rank));
  H5Pget_chunk(dcpl, rank, out.chunk.data());
  H5Pclose(dcpl);
  hid_t type = H5Dget_type(dset);
  out.type_class = H5Tget_class(type);
  out.type_size = H5Tget_size(type);
  out.sign = H5Tget_sign(type);
  H5Tclose(type);
  return out;
}

TEST(TensorStorageTest, Hdf5StoresFramesAsNByHByWChunkedByFrame) {
  TempDir dir;
  // 160 x 240 uint16 = 75 KiB per frame: one frame per chunk.
  CameraStream cam(160, 240);
  const std::string path = dir.Sub("run.h5");
  ASSERT_OK_AND_ASSIGN(auto writer, MakeHdf5Writer(path, RunInfo{"r", "", kT0, "t", "h"}));
  ASSERT_OK(cam.WriteAll(writer.get()));

  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  hid_t frame = H5Dopen2(file, "/cam/frame", H5P_DEFAULT);
  ASSERT_GE(frame, 0);
  const H5Dataset d = Describe(frame);
  EXPECT_EQ(d.dims, (std::vector<hsize_t>{kFrames, 160, 240}));
  EXPECT_EQ(d.chunk, (std::vector<hsize_t>{1, 160, 240}));
  EXPECT_EQ(d.type_class, H5T_INTEGER);
  EXPECT_EQ(d.type_size, 2u);
  EXPECT_EQ(d.sign, H5T_SGN_NONE);
  std::vector<std::uint16_t> pixels(kFrames * 160 * 240);
  ASSERT_GE(H5Dread(frame, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels.data()), 0);
  for (std::int64_t k = 0; k < kFrames; ++k) {
    for (std::int64_t i = 0; i < 160 * 240; ++i) {
      ASSERT_EQ(pixels[k * 160 * 240 + i], Pixel(k, i)) << "frame " << k << " pixel " << i;
    }
  }
  // shape attribute (int64 [H, W]) and units.
  hid_t attr = H5Aopen(frame, "shape", H5P_DEFAULT);
  ASSERT_GE(attr, 0);
  std::int64_t shape[2] = {0, 0};
  ASSERT_GE(H5Aread(attr, H5T_NATIVE_INT64, shape), 0);
  EXPECT_EQ(shape[0], 160);
  EXPECT_EQ(shape[1], 240);
  H5Aclose(attr);
  EXPECT_GT(H5Aexists(frame, "units"), 0);
  H5Dclose(frame);

  // A plain fixed_size_list column: (N, 4) float64, several rows per chunk.
  hid_t wave = H5Dopen2(file, "/cam/wave", H5P_DEFAULT);
  ASSERT_GE(wave, 0);
  const H5Dataset wd = Describe(wave);
  EXPECT_EQ(wd.dims, (std::vector<hsize_t>{kFrames, 4}));
  EXPECT_EQ(wd.chunk[1], 4u);
  EXPECT_GT(wd.chunk[0], 1u);
  std::vector<double> samples(kFrames * 4);
  ASSERT_GE(H5Dread(wave, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, samples.data()), 0);
  for (std::int64_t k = 0; k < kFrames; ++k) {
    for (std::int64_t i = 0; i < 4; ++i) EXPECT_EQ(samples[k * 4 + i], Sample(k, i));
  }
  H5Dclose(wave);
  hid_t ts = H5Dopen2(file, "/cam/timestamp", H5P_DEFAULT);
  EXPECT_EQ(Describe(ts).dims, (std::vector<hsize_t>{kFrames}));
  H5Dclose(ts);
  H5Fclose(file);

  ASSERT_OK_AND_ASSIGN(auto report, InspectFile(path));
  ASSERT_EQ(report.streams.size(), 1u);
  const auto& s = report.streams[0];
  EXPECT_EQ(s.rows, kFrames);
  ASSERT_EQ(s.arrays.size(), 2u);
  EXPECT_EQ(s.arrays[0].name, "frame");
  EXPECT_EQ(s.arrays[0].value_type, "uint16");
  EXPECT_EQ(s.arrays[0].shape, (std::vector<std::int64_t>{160, 240}));
  EXPECT_THAT(FormatReport(report), HasSubstr("frames frame: 10 x 160x240 uint16 at 100 Hz"));
}

TEST(TensorStorageTest, Hdf5SmallFramesShareAChunk) {
  TempDir dir;
  CameraStream cam(3, 5);
  const std::string path = dir.Sub("run.h5");
  ASSERT_OK_AND_ASSIGN(auto writer, MakeHdf5Writer(path, RunInfo{"r", "", kT0, "t", "h"}));
  ASSERT_OK(cam.WriteAll(writer.get()));
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t frame = H5Dopen2(file, "/cam/frame", H5P_DEFAULT);
  ASSERT_GE(frame, 0);
  const H5Dataset d = Describe(frame);
  EXPECT_EQ(d.dims, (std::vector<hsize_t>{kFrames, 3, 5}));
  EXPECT_EQ(d.chunk, (std::vector<hsize_t>{65536 / 30, 3, 5}));
  std::vector<std::uint16_t> pixels(kFrames * 15);
  ASSERT_GE(H5Dread(frame, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, pixels.data()), 0);
  for (std::int64_t k = 0; k < kFrames; ++k) {
    for (std::int64_t i = 0; i < 15; ++i) ASSERT_EQ(pixels[k * 15 + i], Pixel(k, i));
  }
  H5Dclose(frame);
  H5Fclose(file);
}

// Check a table read back from IPC or Parquet: the tensor type and every pixel.
void ExpectFrames(const arrow::Table& table, const CameraStream& cam) {
  ASSERT_EQ(table.num_rows(), kFrames);
  const auto& type = table.schema()->GetFieldByName("frame")->type();
  ASSERT_EQ(type->id(), arrow::Type::EXTENSION) << type->ToString();
  const auto& ext = static_cast<const arrow::ExtensionType&>(*type);
  EXPECT_EQ(ext.extension_name(), "arrow.fixed_shape_tensor");
  EXPECT_TRUE(type->Equals(*cam.frame_type)) << type->ToString();
  EXPECT_EQ(FieldUnit(*table.schema()->GetFieldByName("frame")), "counts");
  std::int64_t k = 0;
  for (const auto& chunk : table.GetColumnByName("frame")->chunks()) {
    const auto& storage = static_cast<const arrow::FixedSizeListArray&>(
        *static_cast<const arrow::ExtensionArray&>(*chunk).storage());
    for (std::int64_t r = 0; r < storage.length(); ++r, ++k) {
      const auto values = std::static_pointer_cast<arrow::UInt16Array>(storage.value_slice(r));
      ASSERT_EQ(values->length(), cam.h * cam.w);
      for (std::int64_t i = 0; i < values->length(); ++i) {
        ASSERT_EQ(values->Value(i), Pixel(k, i)) << "frame " << k << " pixel " << i;
      }
    }
  }
  EXPECT_EQ(k, kFrames);
}

TEST(TensorStorageTest, IpcKeepsTheTensorType) {
  TempDir dir;
  CameraStream cam(16, 12);
  ASSERT_OK_AND_ASSIGN(auto writer, MakeIpcWriter(dir.path()));
  ASSERT_OK(cam.WriteAll(writer.get()));
  const std::string path = dir.Sub("cam.arrow");
  ASSERT_OK_AND_ASSIGN(auto file, arrowdaq::storage::internal::OpenForRead(path));
  // No thread pool: TSan cannot judge Arrow's uninstrumented pool (tests/tsan.supp).
  auto options = arrow::ipc::IpcReadOptions::Defaults();
  options.use_threads = false;
  ASSERT_OK_AND_ASSIGN(auto reader, arrow::ipc::RecordBatchFileReader::Open(file, options));
  ASSERT_OK_AND_ASSIGN(auto table, reader->ToTable());
  ExpectFrames(*table, cam);

  ASSERT_OK_AND_ASSIGN(auto report, InspectFile(path));
  ASSERT_EQ(report.streams.size(), 1u);
  ASSERT_EQ(report.streams[0].arrays.size(), 2u);
  EXPECT_EQ(report.streams[0].arrays[0].shape, (std::vector<std::int64_t>{16, 12}));
  EXPECT_EQ(report.streams[0].arrays[1].shape, (std::vector<std::int64_t>{4}));
  EXPECT_THAT(FormatReport(report), HasSubstr("frames frame: 10 x 16x12 uint16 at 100 Hz"));
}

TEST(TensorStorageTest, ParquetStoresTheListStorageAndRestoresTheTensorType) {
  TempDir dir;
  CameraStream cam(8, 9);
  ASSERT_OK_AND_ASSIGN(auto writer, MakeParquetWriter(dir.path()));
  ASSERT_OK(cam.WriteAll(writer.get()));
  const std::string path = dir.Sub("cam/part-00000.parquet");
  ASSERT_OK_AND_ASSIGN(auto file, arrowdaq::storage::internal::OpenForRead(path));
  // No pre-buffering: it runs on Arrow's IO thread pool, which TSan misjudges (tests/tsan.supp).
  parquet::ArrowReaderProperties props;
  props.set_pre_buffer(false);
  parquet::arrow::FileReaderBuilder builder;
  ASSERT_OK(builder.Open(file));
  ASSERT_OK_AND_ASSIGN(auto reader, builder.properties(props)->Build());
  ASSERT_OK_AND_ASSIGN(auto table, reader->ReadTable());
  ExpectFrames(*table, cam);
}

TEST(TensorStorageTest, CsvRefusesFrameColumnsNamingStreamAndColumn) {
  TempDir dir;
  CameraStream cam(4, 4);
  ASSERT_OK_AND_ASSIGN(auto writer, MakeCsvWriter(dir.path()));
  Status st = writer->AddStream(*cam.info);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.IsNotImplemented()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("CSV writer: column 'frame' of stream 'cam'"));
  EXPECT_THAT(st.message(), HasSubstr("CSV cannot store"));
  EXPECT_FALSE(fs::exists(dir.Sub("cam.csv")));
}

}  // namespace
}  // namespace arrowdaq::storage
