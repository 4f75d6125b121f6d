#include "arrowdaq/storage/hdf5_writer.h"

#include <arrow/array.h>
#include <arrow/util/key_value_metadata.h>
#include <hdf5_hl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/hdf5_internal.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

using internal::CheckHerr;
using internal::CheckHid;
using internal::Hid;

// kTimestampUnits (storage_internal.h): a UDUNITS time unit (NeXus) that CF readers (xarray)
// decode to datetime64[ns] exactly.
using internal::kTimestampUnits;
// The NeXus entry holding every stream's NXdata group (hard links to /<stream>).
constexpr char kEntryName[] = "entry";
constexpr std::int64_t kMaxChunkBytes = 1 << 20;
// Array (frame, waveform) columns: rows per chunk so that a chunk is about this size, at least
// one row. Frames of 64 KiB and more get one frame per chunk.
constexpr std::int64_t kArrayChunkBytes = 64 << 10;
constexpr hsize_t kEventChunkRows = 256;
// Without compression rows go straight to the file (no chunk cache, see Open): batches
// smaller than this per column are gathered in the writer first, so that each write to the
// file carries at least this much (a pwrite per column per 1000-row batch cost 0.6x the
// throughput of the cache's 512 KiB writes).
constexpr std::int64_t kGatherBytes = 64 << 10;

// One row of /events as it sits in memory (fixed-length, NUL-padded strings).
struct EventRecord {
  std::int64_t time;
  char stream[kEventStreamBytes];
  char kind[kEventKindBytes];
  char message[kEventMessageBytes];
};

// Copy `text` into a fixed field, cutting at a UTF-8 character boundary.
void CopyFixed(std::string_view text, char* out, size_t size) {
  std::memset(out, 0, size);
  size_t n = std::min(size, text.size());
  if (n < text.size()) {
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(out, text.data(), n);
}

struct TypeMap {
  hid_t memory;
  hid_t file;
};

Result<TypeMap> MapType(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::INT8:
      return TypeMap{H5T_NATIVE_INT8, H5T_STD_I8LE};
    case arrow::Type::INT16:
      return TypeMap{H5T_NATIVE_INT16, H5T_STD_I16LE};
    case arrow::Type::INT32:
      return TypeMap{H5T_NATIVE_INT32, H5T_STD_I32LE};
    case arrow::Type::INT64:
      return TypeMap{H5T_NATIVE_INT64, H5T_STD_I64LE};
    case arrow::Type::UINT8:
      return TypeMap{H5T_NATIVE_UINT8, H5T_STD_U8LE};
    case arrow::Type::UINT16:
      return TypeMap{H5T_NATIVE_UINT16, H5T_STD_U16LE};
    case arrow::Type::UINT32:
      return TypeMap{H5T_NATIVE_UINT32, H5T_STD_U32LE};
    case arrow::Type::UINT64:
      return TypeMap{H5T_NATIVE_UINT64, H5T_STD_U64LE};
    case arrow::Type::FLOAT:
      return TypeMap{H5T_NATIVE_FLOAT, H5T_IEEE_F32LE};
    case arrow::Type::DOUBLE:
      return TypeMap{H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE};
    case arrow::Type::TIMESTAMP:
      return TypeMap{H5T_NATIVE_INT64, H5T_STD_I64LE};
    default:
      return Status::NotImplemented("type ", type.ToString(),
                                    " (only fixed-width numeric columns are supported)");
  }
}

class Hdf5Writer final : public StorageWriter {
 public:
  Hdf5Writer(std::string path, RunInfo run, Hdf5Options options,
             std::vector<internal::Hdf5Part> parts = {})
      : path_(std::move(path)), run_(std::move(run)), options_(options), parts_(std::move(parts)) {}

  ~Hdf5Writer() override { (void)Close(); }

  Status Open() {
    internal::SilenceHdf5Errors();
    ARROW_ASSIGN_OR_RAISE(
        Hid fapl, CheckHid(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path_, "H5Pcreate(file access)"));
    // SWMR needs the 1.10 file format (superblock v3, extensible-array chunk index).
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path_,
                  "H5Pset_libver_bounds"));
    if (options_.gzip_level == 0) {
      // Uncompressed columns go from the Arrow buffers straight to the file: no chunk cache and
      // no data sieve buffer. A chunk larger than the chunk cache, of a dataset needing no fill
      // value (H5D_FILL_TIME_NEVER, CreateColumn), is never cached: HDF5 writes each batch's
      // rows directly to their place in the chunk's file space, a whole chunk or part of one.
      // With the default 1 MiB cache every batch was first copied into the cached chunk (a
      // memmove of all the data, issue 20), and a chunk still partly filled at a Flush was
      // written whole, again at every Flush until full (with many slow streams, hundreds of
      // KiB per column per second for a few rows). The 64 KiB sieve buffer would then still
      // copy every piece under 64 KiB (a batch's rows on either side of a chunk boundary,
      // small batches), reading it back from the file first. Set on the file, not on each
      // dataset: H5Fstart_swmr_write reopens the datasets with the default access list. Chunk
      // shapes, and so the file, are the same either way. Compressed columns keep the cache:
      // a filter needs the whole chunk.
      int mdc_elements = 0;
      size_t slots = 0;
      size_t cache_bytes = 0;
      double w0 = 0;
      ARROW_RETURN_NOT_OK(
          CheckHerr(H5Pget_cache(fapl.get(), &mdc_elements, &slots, &cache_bytes, &w0), path_,
                    "H5Pget_cache"));
      ARROW_RETURN_NOT_OK(CheckHerr(H5Pset_cache(fapl.get(), mdc_elements, slots, 0, w0), path_,
                                    "H5Pset_cache"));
      ARROW_RETURN_NOT_OK(
          CheckHerr(H5Pset_sieve_buf_size(fapl.get(), 0), path_, "H5Pset_sieve_buf_size"));
    }
    ARROW_ASSIGN_OR_RAISE(
        Hid fcpl, CheckHid(H5Pcreate(H5P_FILE_CREATE), H5Pclose, path_, "H5Pcreate(file create)"));
    ARROW_RETURN_NOT_OK(CheckHerr(
        H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
        path_, "H5Pset_link_creation_order"));
    ARROW_ASSIGN_OR_RAISE(
        file_, CheckHid(H5Fcreate(path_.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl.get()), H5Fclose,
                        path_, "H5Fcreate"));
    created_ = true;
    const hid_t root = file_.get();
    ARROW_RETURN_NOT_OK(
        internal::WriteStringAttribute(root, "format_version", kStorageFormatVersion, path_));
    // NeXus: the root is an NXroot whose default plot is the entry's default stream.
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(root, "NX_class", "NXroot", path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(root, "default", kEntryName, path_));
    ARROW_RETURN_NOT_OK(
        internal::WriteStringAttribute(root, "arrowdaq_version", run_.arrowdaq_version, path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(root, "run_id", run_.run_id, path_));
    ARROW_RETURN_NOT_OK(internal::WriteFixedStringAttribute(
        root, "start_time", internal::FormatIsoTime(run_.start_time_ns), kTimeAttributeBytes,
        path_));
    // Attributes cannot be created in SWMR mode, so stop_time exists from the start (empty
    // until Close overwrites its value in place).
    ARROW_RETURN_NOT_OK(
        internal::WriteFixedStringAttribute(root, "stop_time", "", kTimeAttributeBytes, path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(root, "host", run_.host, path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(root, "config", run_.config_text, path_));
    ARROW_RETURN_NOT_OK(CreateEventsTable());
    ARROW_ASSIGN_OR_RAISE(Hid gcpl, CreationOrderGroupPlist());
    ARROW_ASSIGN_OR_RAISE(entry_, CheckHid(H5Gcreate2(root, kEntryName, H5P_DEFAULT, gcpl.get(),
                                                      H5P_DEFAULT),
                                           H5Gclose, path_, "H5Gcreate2(/entry)"));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(entry_.get(), "NX_class", "NXentry", path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(entry_.get(), "run_id", run_.run_id, path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(root, "overrides", run_.overrides, path_));
    // The run's free metadata: one attribute per key on /entry/metadata (an NXcollection),
    // numbers as numbers.
    ARROW_ASSIGN_OR_RAISE(Hid metadata, CheckHid(H5Gcreate2(entry_.get(), "metadata", H5P_DEFAULT,
                                                            H5P_DEFAULT, H5P_DEFAULT),
                                                 H5Gclose, path_, "H5Gcreate2(/entry/metadata)"));
    ARROW_RETURN_NOT_OK(
        internal::WriteStringAttribute(metadata.get(), "NX_class", "NXcollection", path_));
    for (const auto& [key, value] : run_.metadata) {
      ARROW_RETURN_NOT_OK(internal::WriteMetadataAttribute(metadata.get(), key, value, path_));
    }
    return Status::OK();
  }

  Result<Hid> CreationOrderGroupPlist() {
    ARROW_ASSIGN_OR_RAISE(Hid gcpl, CheckHid(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, path_,
                                             "H5Pcreate(group create)"));
    ARROW_RETURN_NOT_OK(CheckHerr(
        H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
        path_, "H5Pset_link_creation_order"));
    return gcpl;
  }

  std::string_view format_name() const override { return "hdf5"; }

  std::map<std::string, std::int64_t> StoredRows() const override {
    std::map<std::string, std::int64_t> out;
    for (const auto& s : streams_) out[s.info->name] = static_cast<std::int64_t>(s.durable_rows);
    return out;
  }

  /// Return true once Open() created the file (so a failed Open can remove it).
  bool created() const { return created_; }

  Status AddStream(const StreamInfo& stream) override {
    internal::SilenceHdf5Errors();
    if (closed_) return Status::Invalid(path_, ": AddStream('", stream.name, "') after Close");
    if (swmr_) {
      return Status::Invalid(path_, ": cannot add stream '", stream.name,
                             "' after the first Write/Flush: the file is in SWMR mode, where "
                             "no group, dataset or attribute can be created; declare every "
                             "stream before writing");
    }
    ARROW_RETURN_NOT_OK(internal::ValidateStreamName(stream.name));
    if (stream.name == "events" || stream.name == kEntryName || stream.name == "metadata") {
      return Status::Invalid("stream name '", stream.name, "' is reserved in HDF5 (",
                             stream.name == kEntryName  ? "the NeXus entry"
                             : stream.name == "events" ? "the event table"
                                                       : "the run metadata in /entry",
                             ")");
    }
    if (index_.count(stream.name) != 0) {
      return Status::Invalid(path_, ": stream '", stream.name, "' was already added");
    }
    if (stream.schema == nullptr) {
      return Status::Invalid("stream '", stream.name, "' has no schema");
    }
    ARROW_RETURN_NOT_OK(ValidateStreamSchema(*stream.schema));
    ARROW_ASSIGN_OR_RAISE(const std::optional<GridSpec> grid, ParseGrid(stream));
    std::vector<TypeMap> types;
    std::vector<std::optional<internal::ArrayShape>> arrays;
    for (const auto& field : stream.schema->fields()) {
      auto array = internal::ArrayColumnShape(*field->type());
      if (!array.ok()) {
        return Status::NotImplemented("HDF5 writer: column '", field->name(), "' of stream '",
                                      stream.name, "': ", array.status().message());
      }
      auto mapped = MapType(*array ? *(*array)->value_type : *field->type());
      if (!mapped.ok()) {
        return Status::NotImplemented("HDF5 writer: column '", field->name(), "' of stream '",
                                      stream.name, "': ", mapped.status().message());
      }
      if (field->name().empty() || field->name() == "." ||
          field->name().find('/') != std::string::npos) {
        return Status::Invalid("stream '", stream.name, "': column name '", field->name(),
                               "' cannot be an HDF5 dataset name");
      }
      if (*array) {
        for (size_t k = 1; k <= (*array)->shape.size(); ++k) {
          const std::string axis = AxisName(field->name(), k);
          if (stream.schema->GetFieldIndex(axis) >= 0) {
            return Status::Invalid("stream '", stream.name, "': column '", axis,
                                   "' collides with the axis dataset of array column '",
                                   field->name(), "'");
          }
        }
      }
      types.push_back(*mapped);
      arrays.push_back(*array);
    }

    Stream s;
    s.info = std::make_shared<StreamInfo>(stream);
    ARROW_ASSIGN_OR_RAISE(Hid gcpl, CreationOrderGroupPlist());
    // The group handle is closed before SWMR starts (only datasets may stay open).
    ARROW_ASSIGN_OR_RAISE(Hid group, CheckHid(H5Gcreate2(file_.get(), stream.name.c_str(),
                                                         H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
                                              H5Gclose, path_, "H5Gcreate2(/" + stream.name + ")"));
    if (const auto& md = stream.schema->metadata()) {
      for (int64_t i = 0; i < md->size(); ++i) {
        if (md->key(i) == kFormatVersionKey) {
          ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(group.get(), "format_version",
                                                             kStorageFormatVersion, path_));
          continue;
        }
        ARROW_RETURN_NOT_OK(internal::WriteMetadataAttribute(group.get(), md->key(i),
                                                             md->value(i), path_,
                                                             md->key(i) == kRateKey));
      }
    }
    for (int i = 0; i < stream.schema->num_fields(); ++i) {
      const auto& field = stream.schema->field(i);
      ARROW_ASSIGN_OR_RAISE(Hid dset,
                            CreateColumn(group.get(), stream.name, *field, types[i], arrays[i]));
      Column col{std::move(dset), types[i].memory, field->type()->byte_width(), arrays[i]};
      if (arrays[i]) {
        col.byte_width = arrays[i]->value_type->byte_width();
        col.row_shape.assign(arrays[i]->shape.begin(), arrays[i]->shape.end());
      }
      s.columns.push_back(std::move(col));
    }
    ARROW_RETURN_NOT_OK(DescribeNxData(group.get(), stream, s.columns));
    if (grid) ARROW_RETURN_NOT_OK(DescribeGrid(stream, s, *grid));
    // Gather small batches of scalar columns (array rows are large: written as they come).
    s.gather = options_.gzip_level == 0;
    for (const auto& col : s.columns) {
      if (col.array) s.gather = false;
      s.max_width = std::max(s.max_width, static_cast<std::int64_t>(col.byte_width));
    }
    index_.emplace(stream.name, streams_.size());
    streams_.push_back(std::move(s));
    return Status::OK();
  }

  Status Write(const DataPacket& packet) override {
    internal::SilenceHdf5Errors();
    ARROW_RETURN_NOT_OK(CheckUsable("Write"));
    if (packet.stream == nullptr || packet.batch == nullptr) {
      return Status::Invalid(path_, ": Write of an empty packet");
    }
    auto it = index_.find(packet.stream->name);
    if (it == index_.end()) {
      return Status::Invalid(path_, ": Write to stream '", packet.stream->name,
                             "' that was never added");
    }
    Stream& s = streams_[it->second];
    const arrow::RecordBatch& batch = *packet.batch;
    ARROW_RETURN_NOT_OK(internal::CheckBatchMatches(*s.info, batch));
    for (int c = 0; c < batch.num_columns(); ++c) {
      if (batch.column_data(c)->GetNullCount() != 0) {
        return Status::Invalid("stream '", s.info->name, "': column '",
                               batch.schema()->field(c)->name(),
                               "' holds nulls, which HDF5 columns cannot store");
      }
    }
    // Write straight from the Arrow buffers; slice offsets are applied here. Nothing on the
    // way allocates (the pointers' vector is reused; messages are made only on an error).
    std::vector<const std::uint8_t*>& values = values_;
    values.resize(static_cast<size_t>(batch.num_columns()));
    for (int c = 0; c < batch.num_columns(); ++c) {
      const Column& col = s.columns[c];
      const auto& data = batch.column_data(c);
      if (col.array) {
        auto got = internal::ArrayColumnValues(*data, *col.array, "");
        if (!got.ok()) {
          return got.status().WithMessage("stream '", s.info->name, "': column '",
                                          batch.schema()->field(c)->name(), "'",
                                          got.status().message());
        }
        values[c] = *got;
      } else {
        values[c] = data->buffers[1]->data() + static_cast<size_t>(data->offset) * col.byte_width;
      }
    }
    ARROW_RETURN_NOT_OK(EnsureSwmr());
    const hsize_t n = static_cast<hsize_t>(batch.num_rows());
    if (n == 0) return Status::OK();
    if (s.grid) ARROW_RETURN_NOT_OK(WritePixels(s, batch));
    if (s.gather && static_cast<std::int64_t>(n) * s.max_width < kGatherBytes) {
      for (int c = 0; c < batch.num_columns(); ++c) {
        auto& pending = s.columns[c].pending;
        pending.insert(pending.end(), values[c], values[c] + n * s.columns[c].byte_width);
      }
      s.pending_rows += n;
      if (static_cast<std::int64_t>(s.pending_rows) * s.max_width < kGatherBytes) {
        return Status::OK();
      }
      return WritePending(s);
    }
    // Rows gathered before go first.
    ARROW_RETURN_NOT_OK(WritePending(s));
    const hsize_t start = s.rows;
    const hsize_t new_size = start + n;
    for (int c = 0; c < batch.num_columns(); ++c) {
      const Column& col = s.columns[c];
      Status st = AppendColumn(col, s.info->name, batch.schema()->field(c)->name(), start, n,
                               new_size, values[c]);
      if (!st.ok()) return Fail(st);
    }
    s.rows = new_size;
    return Status::OK();
  }

  Status Flush() override {
    internal::SilenceHdf5Errors();
    if (closed_) return Status::OK();
    ARROW_RETURN_NOT_OK(CheckUsable("Flush"));
    ARROW_RETURN_NOT_OK(EnsureSwmr());
    for (auto& s : streams_) ARROW_RETURN_NOT_OK(WritePending(s));
    Status st = CheckHerr(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), path_, "H5Fflush");
    if (!st.ok()) return Fail(st);
    MarkDurable();
    return Status::OK();
  }

  Status WriteEvent(const RunEvent& event) override {
    internal::SilenceHdf5Errors();
    ARROW_RETURN_NOT_OK(CheckUsable("WriteEvent"));
    EventRecord rec;
    rec.time = event.time_ns;
    CopyFixed(event.stream, rec.stream, sizeof(rec.stream));
    CopyFixed(event.kind, rec.kind, sizeof(rec.kind));
    CopyFixed(event.message, rec.message, sizeof(rec.message));
    const hsize_t start = event_rows_;
    const hsize_t new_size = start + 1;
    const hsize_t count = 1;
    Status st = [&]() -> Status {
      ARROW_RETURN_NOT_OK(
          CheckHerr(H5Dset_extent(events_.get(), &new_size), path_, "H5Dset_extent(/events)"));
      ARROW_ASSIGN_OR_RAISE(Hid fspace, CheckHid(H5Dget_space(events_.get()), H5Sclose, path_,
                                                 "H5Dget_space(/events)"));
      ARROW_RETURN_NOT_OK(CheckHerr(
          H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr),
          path_, "H5Sselect_hyperslab(/events)"));
      ARROW_ASSIGN_OR_RAISE(Hid mspace, CheckHid(H5Screate_simple(1, &count, nullptr), H5Sclose,
                                                 path_, "H5Screate_simple"));
      return CheckHerr(H5Dwrite(events_.get(), event_mem_type_.get(), mspace.get(), fspace.get(),
                                H5P_DEFAULT, &rec),
                       path_, "H5Dwrite(/events)");
    }();
    if (!st.ok()) return Fail(st);
    event_rows_ = new_size;
    return Status::OK();
  }

  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    internal::SilenceHdf5Errors();
    Status st;
    if (failed_.ok() && file_.valid()) {
      // The data first: stop_time is only set once every row is on disk.
      for (auto& s : streams_) {
        if (st.ok()) st = WritePending(s);
      }
      if (st.ok()) st = CheckHerr(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), path_, "H5Fflush");
      if (st.ok()) {
        MarkDurable();
        const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        // Overwrites the value of the existing attribute (allowed in SWMR mode, unlike
        // creation).
        st = internal::WriteFixedStringAttribute(
            file_.get(), "stop_time", internal::FormatIsoTime(now), kTimeAttributeBytes, path_);
        if (st.ok()) st = CheckHerr(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), path_, "H5Fflush");
      }
      if (!st.ok()) (void)Fail(st);
    }
    ReleaseReserve();
    // After a failure, once more: a shrink refused when the failure happened may go through
    // now (the reserve is free), so that every column of a stream ends at the same row.
    if (!failed_.ok() && file_.valid()) RollBackToDurable();
    for (auto& s : streams_) {
      for (auto& c : s.columns) {
        if (c.dset.Reset() < 0 && st.ok()) st = internal::Hdf5Error(path_, "H5Dclose");
      }
      if (s.grid) {
        for (auto& image : s.grid->images) {
          if (image.Reset() < 0 && st.ok()) st = internal::Hdf5Error(path_, "H5Dclose");
        }
      }
    }
    entry_.Reset();
    if (events_.Reset() < 0 && st.ok()) st = internal::Hdf5Error(path_, "H5Dclose(/events)");
    event_mem_type_.Reset();
    if (file_.Reset() < 0 && st.ok()) st = internal::Hdf5Error(path_, "H5Fclose");
    return st;
  }

 private:
  struct Column {
    Hid dset;
    hid_t memory_type;
    int byte_width;  ///< of one element
    std::optional<internal::ArrayShape> array;
    std::vector<hsize_t> row_shape;  ///< dimensions after the row dimension (empty: scalar)
    std::vector<std::uint8_t> pending;  ///< values of the stream's pending rows
  };
  struct Stream {
    std::shared_ptr<const StreamInfo> info;
    std::vector<Column> columns;
    hsize_t rows = 0;
    /// Rows on disk as of the last successful H5Fflush.
    hsize_t durable_rows = 0;
    /// Small batches are gathered (Column::pending) and written kGatherBytes at a time.
    bool gather = false;
    std::int64_t max_width = 1;  ///< bytes of the widest column's value
    hsize_t pending_rows = 0;    ///< rows gathered, not yet written (after `rows`)
    /// The rows as pixels of an image (schema metadata nexus.grid.*, DescribeGrid).
    struct Grid {
      std::vector<hsize_t> shape;
      int index_column = -1;
      std::vector<int> signal_columns;
      std::vector<Hid> images;  ///< one float64 dataset of `shape` per signal column
    };
    std::unique_ptr<Grid> grid;
  };

  Status CheckUsable(std::string_view call) const {
    if (closed_) return Status::Invalid(path_, ": ", call, " after Close");
    if (!failed_.ok()) {
      return Status::IOError(path_, ": ", call, " refused: an earlier write failed (",
                             failed_.message(), ")");
    }
    return Status::OK();
  }

  // A failed HDF5 write may leave the columns of a stream at different lengths, so the writer
  // refuses further writes; the data flushed before stays readable.
  //
  // On a full disk HDF5 can still update metadata in place (a dataset's extent lives in its
  // object header, which already has its space) while it cannot allocate the chunks holding the
  // new rows: left alone, the file would show rows whose data never reached the disk (zeros).
  // So every dataset is shrunk back to the length of the last successful flush, whose data is
  // known to be on disk; the flush at close then writes those (in-place) extents.
  Status Fail(Status st) {
    if (failed_.ok()) {
      failed_ = st;
      ReleaseReserve();
      RollBackToDurable();
    }
    return st;
  }

  void MarkDurable() {
    for (auto& s : streams_) s.durable_rows = s.rows;
    durable_event_rows_ = event_rows_;
  }

  void RollBackToDurable() {
    for (auto& s : streams_) {
      for (auto& c : s.columns) {
        std::vector<hsize_t> extent{s.durable_rows};
        extent.insert(extent.end(), c.row_shape.begin(), c.row_shape.end());
        // Best effort: the error being reported is the write that failed.
        if (c.dset.valid()) (void)H5Dset_extent(c.dset.get(), extent.data());
      }
      s.rows = s.durable_rows;
      s.pending_rows = 0;
      for (auto& c : s.columns) c.pending.clear();
    }
    if (events_.valid() && event_rows_ > durable_event_rows_) {
      (void)H5Dset_extent(events_.get(), &durable_event_rows_);
      event_rows_ = durable_event_rows_;
    }
    H5Eclear2(H5E_DEFAULT);
  }

  Status EnsureSwmr() {
    if (swmr_) return Status::OK();
    entry_.Reset();
    Status st = CheckHerr(H5Fstart_swmr_write(file_.get()), path_, "H5Fstart_swmr_write");
    if (!st.ok()) return Fail(st);
    swmr_ = true;
    return Reserve();
  }

  // Space for the roll-back on a full disk: shrinking a dataset can itself need to write (a
  // partial edge chunk, the chunk index), so when the disk is full one column's shrink may
  // succeed and the next fail, leaving columns of one stream with different lengths. A file
  // of about one chunk per column (1 MiB each: the chunk size cap; at most 16 MiB) is kept
  // beside run.h5 and deleted before the roll-back. Taken once all streams are declared.
  Status Reserve() {
    std::size_t columns = 1;  // the events table
    for (const auto& s : streams_) columns += s.columns.size();
    const std::int64_t bytes = std::int64_t{1} << 20;
    const std::int64_t total = std::min<std::int64_t>(
        static_cast<std::int64_t>(columns) * bytes, std::int64_t{16} << 20);
    reserve_path_ = (std::filesystem::path(path_).parent_path() /
                     ("." + std::filesystem::path(path_).filename().string() + ".reserve"))
                        .string();
    // Best effort: without the space the run goes on as before, and the write that finds the
    // disk full reports it (naming run.h5).
    if (!internal::ReserveFileSpace(reserve_path_, total).ok()) reserve_path_.clear();
    return Status::OK();
  }

  void ReleaseReserve() {
    if (reserve_path_.empty()) return;
    ::unlink(reserve_path_.c_str());
    reserve_path_.clear();
  }

  Status CreateEventsTable() {
    ARROW_ASSIGN_OR_RAISE(event_mem_type_, CheckHid(H5Tcreate(H5T_COMPOUND, sizeof(EventRecord)),
                                                    H5Tclose, path_, "H5Tcreate(events)"));
    ARROW_ASSIGN_OR_RAISE(Hid file_type, CheckHid(H5Tcreate(H5T_COMPOUND, sizeof(EventRecord)),
                                                  H5Tclose, path_, "H5Tcreate(events)"));
    auto add_string = [&](const char* name, size_t offset, size_t size) -> Status {
      ARROW_ASSIGN_OR_RAISE(Hid str, CheckHid(H5Tcopy(H5T_C_S1), H5Tclose, path_, "H5Tcopy"));
      ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_size(str.get(), size), path_, "H5Tset_size"));
      ARROW_RETURN_NOT_OK(
          CheckHerr(H5Tset_strpad(str.get(), H5T_STR_NULLPAD), path_, "H5Tset_strpad"));
      ARROW_RETURN_NOT_OK(
          CheckHerr(H5Tinsert(event_mem_type_.get(), name, offset, str.get()), path_, "H5Tinsert"));
      return CheckHerr(H5Tinsert(file_type.get(), name, offset, str.get()), path_, "H5Tinsert");
    };
    ARROW_RETURN_NOT_OK(CheckHerr(
        H5Tinsert(event_mem_type_.get(), "time", offsetof(EventRecord, time), H5T_NATIVE_INT64),
        path_, "H5Tinsert"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Tinsert(file_type.get(), "time", offsetof(EventRecord, time), H5T_STD_I64LE),
                  path_, "H5Tinsert"));
    ARROW_RETURN_NOT_OK(
        add_string("stream", offsetof(EventRecord, stream), sizeof(EventRecord::stream)));
    ARROW_RETURN_NOT_OK(add_string("kind", offsetof(EventRecord, kind), sizeof(EventRecord::kind)));
    ARROW_RETURN_NOT_OK(
        add_string("message", offsetof(EventRecord, message), sizeof(EventRecord::message)));

    const hsize_t dims = 0;
    const hsize_t max_dims = H5S_UNLIMITED;
    ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(1, &dims, &max_dims), H5Sclose,
                                              path_, "H5Screate_simple"));
    ARROW_ASSIGN_OR_RAISE(Hid dcpl, CheckHid(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path_,
                                             "H5Pcreate(dataset create)"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_chunk(dcpl.get(), 1, &kEventChunkRows), path_, "H5Pset_chunk"));
    ARROW_ASSIGN_OR_RAISE(events_,
                          CheckHid(H5Dcreate2(file_.get(), "events", file_type.get(), space.get(),
                                              H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                   H5Dclose, path_, "H5Dcreate2(/events)"));
    // `units` of the table's `time` field (one spelling for every dataset of the file).
    return internal::WriteStringAttribute(events_.get(), "units", kTimestampUnits, path_);
  }

  Result<Hid> CreateColumn(hid_t group, const std::string& stream, const arrow::Field& field,
                           const TypeMap& type, const std::optional<internal::ArrayShape>& array) {
    const std::string where = "/" + stream + "/" + field.name();
    std::int64_t rows = options_.chunk_rows > 0 ? options_.chunk_rows : 65536;
    // (rows, d1, d2, ...): the row dimension grows; an array column's other dimensions are the
    // array's shape, fixed.
    std::vector<hsize_t> dims{0};
    std::vector<hsize_t> max_dims{H5S_UNLIMITED};
    if (array) {
      const std::int64_t row_bytes = array->size * array->value_type->byte_width();
      rows = std::clamp<std::int64_t>(rows, 1,
                                      std::max<std::int64_t>(1, kArrayChunkBytes / row_bytes));
      for (std::int64_t d : array->shape) {
        dims.push_back(static_cast<hsize_t>(d));
        max_dims.push_back(static_cast<hsize_t>(d));
      }
    } else {
      const std::int64_t width = field.type()->byte_width();
      rows = std::clamp<std::int64_t>(rows, 1, std::max<std::int64_t>(1, kMaxChunkBytes / width));
    }
    std::vector<hsize_t> chunk = dims;
    chunk[0] = static_cast<hsize_t>(rows);
    const int rank = static_cast<int>(dims.size());
    ARROW_ASSIGN_OR_RAISE(Hid dcpl, CheckHid(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path_,
                                             "H5Pcreate(dataset create)"));
    if (!parts_.empty()) {
      // The index of a rolled run: a virtual dataset stitched from the parts' datasets.
      return CreateVirtualColumn(group, stream, field, type, dims, dcpl.get());
    }
    ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(rank, dims.data(), max_dims.data()),
                                              H5Sclose, path_, "H5Screate_simple"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_chunk(dcpl.get(), rank, chunk.data()), path_, "H5Pset_chunk"));
    // Rows past the extent are never read, so chunks need no fill pass.
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), path_, "H5Pset_fill_time"));
    if (options_.gzip_level > 0) {
      if (options_.shuffle) {
        ARROW_RETURN_NOT_OK(CheckHerr(H5Pset_shuffle(dcpl.get()), path_, "H5Pset_shuffle"));
      }
      ARROW_RETURN_NOT_OK(CheckHerr(
          H5Pset_deflate(dcpl.get(), static_cast<unsigned>(std::min(options_.gzip_level, 9))),
          path_, "H5Pset_deflate"));
    }
    ARROW_ASSIGN_OR_RAISE(Hid dset,
                          CheckHid(H5Dcreate2(group, field.name().c_str(), type.file, space.get(),
                                              H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                   H5Dclose, path_, "H5Dcreate2(" + where + ")"));
    ARROW_RETURN_NOT_OK(DescribeColumn(dset.get(), field, array));
    return dset;
  }

  // A column of the index file: rows [offset, offset + n) come from part i's dataset of the
  // same path; the whole is one (total, d1, ...) dataset to readers.
  Result<Hid> CreateVirtualColumn(hid_t group, const std::string& stream,
                                  const arrow::Field& field, const TypeMap& type,
                                  std::vector<hsize_t> dims, hid_t dcpl) {
    const std::string where = "/" + stream + "/" + field.name();
    hsize_t total = 0;
    for (const auto& part : parts_) {
      auto it = part.rows.find(stream);
      if (it != part.rows.end()) total += static_cast<hsize_t>(it->second);
    }
    dims[0] = total;
    const int rank = static_cast<int>(dims.size());
    ARROW_ASSIGN_OR_RAISE(Hid vspace, CheckHid(H5Screate_simple(rank, dims.data(), nullptr),
                                               H5Sclose, path_, "H5Screate_simple"));
    hsize_t offset = 0;
    for (const auto& part : parts_) {
      auto it = part.rows.find(stream);
      const hsize_t n = it == part.rows.end() ? 0 : static_cast<hsize_t>(it->second);
      if (n == 0) continue;
      std::vector<hsize_t> start(dims.size(), 0), count = dims;
      start[0] = offset;
      count[0] = n;
      ARROW_RETURN_NOT_OK(CheckHerr(H5Sselect_hyperslab(vspace.get(), H5S_SELECT_SET,
                                                        start.data(), nullptr, count.data(),
                                                        nullptr),
                                    path_, "H5Sselect_hyperslab(" + where + ")"));
      ARROW_ASSIGN_OR_RAISE(Hid sspace, CheckHid(H5Screate_simple(rank, count.data(), nullptr),
                                                 H5Sclose, path_, "H5Screate_simple"));
      ARROW_RETURN_NOT_OK(CheckHerr(H5Pset_virtual(dcpl, vspace.get(), part.file.c_str(),
                                                   where.c_str(), sspace.get()),
                                    path_, "H5Pset_virtual(" + where + ")"));
      offset += n;
    }
    ARROW_RETURN_NOT_OK(CheckHerr(H5Sselect_all(vspace.get()), path_, "H5Sselect_all"));
    ARROW_ASSIGN_OR_RAISE(Hid dset,
                          CheckHid(H5Dcreate2(group, field.name().c_str(), type.file, vspace.get(),
                                              H5P_DEFAULT, dcpl, H5P_DEFAULT),
                                   H5Dclose, path_, "H5Dcreate2(" + where + ")"));
    auto array = internal::ArrayColumnShape(*field.type());
    ARROW_RETURN_NOT_OK(DescribeColumn(dset.get(), field, array.ok() ? *array : std::nullopt));
    return dset;
  }

  // The attributes of a column dataset: units (and for channels description, shape,
  // interpretation and the rest of the field metadata).
  Status DescribeColumn(hid_t dset_id, const arrow::Field& field,
                        const std::optional<internal::ArrayShape>& array) {
    struct Borrowed {
      hid_t id;
      hid_t get() const { return id; }
    } dset{dset_id};
    if (field.name() == kTimestampColumn) {
      ARROW_RETURN_NOT_OK(
          internal::WriteStringAttribute(dset.get(), "units", kTimestampUnits, path_));
    } else {
      // unit and description always exist (possibly empty); other field metadata follows.
      const auto& md = field.metadata();
      std::string unit;
      std::string description;
      if (md) {
        unit = md->Get(kUnitKey).ValueOr("");
        description = md->Get(kDescriptionKey).ValueOr("");
      }
      ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(dset.get(), "units", unit, path_));
      ARROW_RETURN_NOT_OK(
          internal::WriteStringAttribute(dset.get(), kDescriptionKey, description, path_));
      if (array) {
        ARROW_RETURN_NOT_OK(
            internal::WriteInt64ArrayAttribute(dset.get(), "shape", array->shape, path_));
        // NeXus: how to show one row (silx/h5web pick an image or a curve view).
        if (array->shape.size() <= 2) {
          ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(
              dset.get(), "interpretation", array->shape.size() == 2 ? "image" : "spectrum",
              path_));
        }
      }
      if (md) {
        for (int64_t i = 0; i < md->size(); ++i) {
          if (md->key(i) == kUnitKey || md->key(i) == kDescriptionKey) continue;
          ARROW_RETURN_NOT_OK(
              internal::WriteStringAttribute(dset.get(), md->key(i), md->value(i), path_));
        }
      }
    }
    return Status::OK();
  }

  // Name of the index dataset of dimension `k` (1-based after the row dimension) of array
  // column `column`: frame_dim1 (rows of a frame), frame_dim2 (its columns), ...
  static std::string AxisName(const std::string& column, size_t k) {
    return column + "_dim" + std::to_string(k);
  }

  // Split a comma-separated schema metadata value ("" when absent: no names).
  static std::vector<std::string> SplitList(const std::string& text) {
    std::vector<std::string> out;
    if (text.empty()) return out;
    for (std::size_t b = 0; b <= text.size();) {
      const std::size_t e = std::min(text.find(',', b), text.size());
      out.push_back(text.substr(b, e - b));
      b = e + 1;
    }
    return out;
  }

  // The columns a schema metadata key names (comma-separated), each checked to be a column of
  // one value per row other than the timestamp (and, with a signal, of the same shape as it).
  Result<std::vector<std::string>> NamedColumns(const StreamInfo& stream, const std::string& key,
                                                const std::vector<Column>& columns) const {
    const auto& schema = *stream.schema;
    const auto metadata = schema.metadata();
    if (metadata == nullptr || !metadata->Contains(key)) return std::vector<std::string>{};
    std::vector<std::string> named = SplitList(metadata->Get(key).ValueOr(""));
    if (named.empty()) named.emplace_back();
    for (const auto& name : named) {
      const int i = schema.GetFieldIndex(name);
      if (i < 1 || !columns[static_cast<std::size_t>(i)].row_shape.empty() ||
          !columns[1].row_shape.empty() ||
          std::count(named.begin(), named.end(), name) != 1) {
        return Status::Invalid(path_, ": stream ", stream.name, ": ", key, " names '", name,
                               "', which is not a column of one value per row (or twice)");
      }
    }
    return named;
  }

  // Make the stream group a NeXus NXdata: the timestamp dataset is the dimension scale of
  // every column's first dimension, array columns get index datasets as scales of their other
  // dimensions, `signal` is the first channel, `auxiliary_signals` the other channels of the
  // same shape, and the group is linked into /entry. All of it before SWMR starts.
  Status DescribeNxData(hid_t group, const StreamInfo& stream, std::vector<Column>& columns) {
    const hid_t ts = columns[0].dset.get();
    ARROW_RETURN_NOT_OK(CheckHerr(H5DSset_scale(ts, kTimestampColumn), path_,
                                  "H5DSset_scale(/" + stream.name + "/timestamp)"));
    const auto& schema = *stream.schema;
    ARROW_ASSIGN_OR_RAISE(const std::vector<std::string> own,
                          NamedColumns(stream, "nexus.axes", columns));
    // The stream's own axes (nexus.axes, e.g. a scan's motor readbacks) are dimension scales
    // of the row dimension too, beside the timestamp: each column's dims[0] lists them.
    for (const auto& name : own) {
      const hid_t scale = columns[static_cast<std::size_t>(schema.GetFieldIndex(name))].dset.get();
      ARROW_RETURN_NOT_OK(CheckHerr(H5DSset_scale(scale, name.c_str()), path_,
                                    "H5DSset_scale(/" + stream.name + "/" + name + ")"));
    }
    for (int i = 1; i < schema.num_fields(); ++i) {
      const std::string& name = schema.field(i)->name();
      const std::string where = "/" + stream.name + "/" + name;
      const hid_t dset = columns[i].dset.get();
      // A dimension scale cannot have scales of its own.
      if (std::find(own.begin(), own.end(), name) != own.end()) continue;
      ARROW_RETURN_NOT_OK(
          CheckHerr(H5DSattach_scale(dset, ts, 0), path_, "H5DSattach_scale(" + where + ")"));
      for (const auto& axis : own) {
        const hid_t scale =
            columns[static_cast<std::size_t>(schema.GetFieldIndex(axis))].dset.get();
        ARROW_RETURN_NOT_OK(CheckHerr(H5DSattach_scale(dset, scale, 0), path_,
                                      "H5DSattach_scale(" + where + ", " + axis + ")"));
      }
      for (size_t k = 1; k <= columns[i].row_shape.size(); ++k) {
        const std::string axis = AxisName(name, k);
        const hsize_t n = columns[i].row_shape[k - 1];
        std::vector<std::int64_t> index(n);
        for (hsize_t j = 0; j < n; ++j) index[j] = static_cast<std::int64_t>(j);
        ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(1, &n, nullptr), H5Sclose,
                                                  path_, "H5Screate_simple"));
        ARROW_ASSIGN_OR_RAISE(
            Hid scale, CheckHid(H5Dcreate2(group, axis.c_str(), H5T_STD_I64LE, space.get(),
                                           H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                H5Dclose, path_, "H5Dcreate2(/" + stream.name + "/" + axis + ")"));
        ARROW_RETURN_NOT_OK(CheckHerr(H5Dwrite(scale.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                                               H5P_DEFAULT, index.data()),
                                      path_, "H5Dwrite(/" + stream.name + "/" + axis + ")"));
        ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(scale.get(), "units", "", path_));
        ARROW_RETURN_NOT_OK(CheckHerr(H5DSset_scale(scale.get(), axis.c_str()), path_,
                                      "H5DSset_scale(" + axis + ")"));
        ARROW_RETURN_NOT_OK(CheckHerr(H5DSattach_scale(dset, scale.get(), static_cast<unsigned>(k)),
                                      path_, "H5DSattach_scale(" + where + ")"));
      }
    }
    // The signal: the first channel; others of the same shape are auxiliary signals (plotted
    // with it by silx / h5web).
    const std::string& signal = schema.field(1)->name();
    std::vector<std::string> axes{kTimestampColumn};
    for (size_t k = 1; k <= columns[1].row_shape.size(); ++k) axes.push_back(AxisName(signal, k));
    // A stream may name its own NeXus axes (schema metadata "nexus.axes": comma-separated
    // columns of one value per row, e.g. the motor positions of `arrowdaq scan`'s stream):
    // they replace the timestamp as the plot's axes (one: a curve; several: a scatter, every
    // `<axis>_indices` 0). Anything else there is refused.
    const auto metadata = schema.metadata();
    const bool own_axes = !own.empty();
    if (own_axes) axes = own;
    std::vector<std::string> auxiliary;
    for (int i = 2; i < schema.num_fields(); ++i) {
      const std::string& name = schema.field(i)->name();
      if (columns[i].row_shape == columns[1].row_shape &&
          std::find(axes.begin(), axes.end(), name) == axes.end()) {
        auxiliary.push_back(name);
      }
    }
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(group, "NX_class", "NXdata", path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(group, "signal", signal, path_));
    if (axes.size() == 1) {
      ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(group, "axes", axes[0], path_));
    } else {
      ARROW_RETURN_NOT_OK(internal::WriteStringArrayAttribute(group, "axes", axes, path_));
    }
    for (size_t k = 0; k < axes.size(); ++k) {
      ARROW_RETURN_NOT_OK(internal::WriteInt64Attribute(
          group, axes[k] + "_indices", own_axes ? 0 : static_cast<std::int64_t>(k), path_));
    }
    if (!auxiliary.empty()) {
      ARROW_RETURN_NOT_OK(
          internal::WriteStringArrayAttribute(group, "auxiliary_signals", auxiliary, path_));
    }
    const std::string link = std::string(kEntryName) + "/" + stream.name;
    ARROW_RETURN_NOT_OK(CheckHerr(H5Lcreate_hard(group, ".", file_.get(), link.c_str(),
                                                 H5P_DEFAULT, H5P_DEFAULT),
                                  path_, "H5Lcreate_hard(/" + link + ")"));
    const bool wants_default = metadata != nullptr &&
                               metadata->Get("nexus.default").ValueOr("") == "true";
    if (streams_.empty() || wants_default) {
      // The first stream is the entry's default plot, unless a stream asks to be
      // (schema metadata "nexus.default" = "true": the points of a scan).
      if (!streams_.empty()) {
        ARROW_RETURN_NOT_OK(
            CheckHerr(H5Adelete(entry_.get(), "default"), path_, "H5Adelete(default)"));
      }
      ARROW_RETURN_NOT_OK(
          internal::WriteStringAttribute(entry_.get(), "default", stream.name, path_));
    }
    return Status::OK();
  }

  // A stream whose rows are the points of a grid (schema metadata, set by `arrowdaq scan`
  // for grid plans) is also written as an image, so that NeXus readers plot a 2-D map:
  //   nexus.grid.shape    "n0,n1,..."  the grid's shape, slowest axis first
  //   nexus.grid.axes     "a0,a1,..."  one column per dimension: the axis datasets take its
  //                                    name and units
  //   nexus.grid.axis.<a> "v0,v1,..."  the positions along that dimension (n_k of them)
  //   nexus.grid.index    "<column>"   int64 column: the row's pixel, row-major (C order)
  //   nexus.grid.signals  "s0,s1,..."  the columns written as images (s0 is the signal)
  // The group /<stream>_grid (linked as /entry/<stream>_grid, the entry's default when the
  // stream asks for it with nexus.default) is an NXdata: one float64 dataset of that shape per
  // signal, NaN until its pixel's row is written, and 1-D axis datasets that are dimension
  // scales of the images' dimensions (<axis>_indices = k). Made before SWMR starts (the
  // datasets are allocated and filled with NaN at once), so a reader sees the map fill in.
  // Not in the index file of a rolled run.h5 (each part holds the pixels of its own rows).
  struct GridSpec {
    std::vector<hsize_t> shape;
    std::vector<std::string> axes;
    std::vector<std::vector<double>> positions;  ///< per axis
    std::vector<std::string> signals;
    std::string index;
  };

  // Read and check the nexus.grid.* metadata before anything of the stream is created.
  Result<std::optional<GridSpec>> ParseGrid(const StreamInfo& stream) const {
    const auto metadata = stream.schema->metadata();
    if (metadata == nullptr || !metadata->Contains("nexus.grid.shape") || !parts_.empty()) {
      return std::optional<GridSpec>{};
    }
    const auto& schema = *stream.schema;
    auto bad = [&](const std::string& why) {
      return Status::Invalid(path_, ": stream ", stream.name, ": ", why);
    };
    // The columns a key names: each a column of one value per row other than the timestamp.
    auto named = [&](const std::string& key) -> Result<std::vector<std::string>> {
      std::vector<std::string> names = SplitList(metadata->Get(key).ValueOr(""));
      if (names.empty()) names.emplace_back();
      for (const auto& name : names) {
        const int i = schema.GetFieldIndex(name);
        if (i < 1 || std::count(names.begin(), names.end(), name) != 1 ||
            !internal::ArrayColumnShape(*schema.field(i)->type()).ok() ||
            *internal::ArrayColumnShape(*schema.field(i)->type())) {
          return bad(key + " names '" + name +
                     "', which is not a column of one value per row (or twice)");
        }
      }
      return names;
    };
    if (H5Lexists(file_.get(), (stream.name + "_grid").c_str(), H5P_DEFAULT) > 0) {
      return bad("its image /" + stream.name + "_grid would replace what the file holds there");
    }
    GridSpec grid;
    hsize_t pixels = 1;
    const std::string shape_text = metadata->Get("nexus.grid.shape").ValueOr("");
    for (const auto& text : SplitList(shape_text)) {
      char* end = nullptr;
      const long long n = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n < 1 || n > (1LL << 31) ||
          pixels > (hsize_t{1} << 40) / static_cast<hsize_t>(n)) {
        return bad("nexus.grid.shape '" + shape_text +
                   "' is not a list of sizes >= 1 (at most 2^40 pixels)");
      }
      grid.shape.push_back(static_cast<hsize_t>(n));
      pixels *= static_cast<hsize_t>(n);
    }
    if (grid.shape.empty() || grid.shape.size() > 32) {
      return bad("nexus.grid.shape '" + shape_text + "': 1..32 sizes");
    }
    ARROW_ASSIGN_OR_RAISE(grid.axes, named("nexus.grid.axes"));
    ARROW_ASSIGN_OR_RAISE(grid.signals, named("nexus.grid.signals"));
    ARROW_ASSIGN_OR_RAISE(const auto index, named("nexus.grid.index"));
    if (grid.axes.size() != grid.shape.size()) {
      return bad("nexus.grid.axes names " + std::to_string(grid.axes.size()) + " columns for " +
                 std::to_string(grid.shape.size()) + " dimensions");
    }
    if (index.size() != 1 || schema.GetFieldByName(index[0])->type()->id() != arrow::Type::INT64) {
      return bad("nexus.grid.index must name one int64 column");
    }
    grid.index = index[0];
    for (const auto& name : grid.signals) {
      const auto id = schema.GetFieldByName(name)->type()->id();
      if (id != arrow::Type::DOUBLE && id != arrow::Type::INT64) {
        return bad("nexus.grid.signals: column '" + name + "' is not float64 or int64");
      }
      if (std::find(grid.axes.begin(), grid.axes.end(), name) != grid.axes.end()) {
        return bad("nexus.grid.signals: column '" + name + "' is also an axis");
      }
      if (name == grid.index) return bad("nexus.grid.signals: column '" + name + "' is the index");
    }
    for (std::size_t k = 0; k < grid.axes.size(); ++k) {
      const std::string key = "nexus.grid.axis." + grid.axes[k];
      std::vector<double> values;
      for (const auto& text : SplitList(metadata->Get(key).ValueOr(""))) {
        char* end = nullptr;
        values.push_back(std::strtod(text.c_str(), &end));
        if (text.empty() || *end != '\0') return bad(key + ": '" + text + "' is not a number");
      }
      if (values.size() != grid.shape[k]) {
        return bad(key + " holds " + std::to_string(values.size()) + " positions for a size of " +
                   std::to_string(grid.shape[k]));
      }
      grid.positions.push_back(std::move(values));
    }
    return std::optional<GridSpec>(std::move(grid));
  }

  Status DescribeGrid(const StreamInfo& stream, Stream& s, const GridSpec& spec) {
    const auto metadata = stream.schema->metadata();
    const auto& schema = *stream.schema;
    const auto& axes = spec.axes;
    const auto& signals = spec.signals;
    auto grid = std::make_unique<Stream::Grid>();
    grid->shape = spec.shape;
    grid->index_column = schema.GetFieldIndex(spec.index);
    for (const auto& name : signals) grid->signal_columns.push_back(schema.GetFieldIndex(name));
    const std::string name = stream.name + "_grid";
    const std::string where = "/" + name;
    ARROW_ASSIGN_OR_RAISE(Hid gcpl, CreationOrderGroupPlist());
    ARROW_ASSIGN_OR_RAISE(Hid group, CheckHid(H5Gcreate2(file_.get(), name.c_str(), H5P_DEFAULT,
                                                         gcpl.get(), H5P_DEFAULT),
                                              H5Gclose, path_,
                                              "H5Gcreate2(" + where + ") for the image of '" +
                                                  stream.name + "' (a stream of that name?)"));
    auto unit_of = [&](const std::string& column, const char* key) {
      const auto& md = schema.GetFieldByName(column)->metadata();
      return md ? md->Get(key).ValueOr("") : std::string();
    };
    // The axis datasets: positions along each dimension, dimension scales.
    std::vector<Hid> scales;
    for (std::size_t k = 0; k < axes.size(); ++k) {
      const std::vector<double>& values = spec.positions[k];
      const hsize_t n = grid->shape[k];
      ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(1, &n, nullptr), H5Sclose, path_,
                                                "H5Screate_simple"));
      ARROW_ASSIGN_OR_RAISE(
          Hid scale, CheckHid(H5Dcreate2(group.get(), axes[k].c_str(), H5T_IEEE_F64LE,
                                         space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                              H5Dclose, path_, "H5Dcreate2(" + where + "/" + axes[k] + ")"));
      ARROW_RETURN_NOT_OK(CheckHerr(H5Dwrite(scale.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                                             H5P_DEFAULT, values.data()),
                                    path_, "H5Dwrite(" + where + "/" + axes[k] + ")"));
      ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(scale.get(), "units",
                                                         unit_of(axes[k], kUnitKey), path_));
      ARROW_RETURN_NOT_OK(CheckHerr(H5DSset_scale(scale.get(), axes[k].c_str()), path_,
                                    "H5DSset_scale(" + where + "/" + axes[k] + ")"));
      scales.push_back(std::move(scale));
    }
    // The images: NaN until written. Chunked, with NaN as the fill value and chunks allocated
    // as pixels arrive (H5D_ALLOC_TIME_INCR, also under SWMR, as any chunked append is): a
    // 3000 x 3000 grid allocated early wrote 72 MiB per image before its first point (46 s
    // to the first point under ASan on a slow disk). Unwritten chunks read as the fill value.
    // Chunks of at most 128 Ki pixels (1 MiB), the fastest dimensions whole where they fit.
    const int rank = static_cast<int>(grid->shape.size());
    ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(rank, grid->shape.data(), nullptr),
                                              H5Sclose, path_, "H5Screate_simple"));
    ARROW_ASSIGN_OR_RAISE(Hid dcpl, CheckHid(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path_,
                                             "H5Pcreate(dataset create)"));
    std::vector<hsize_t> chunk(grid->shape.size());
    hsize_t budget = hsize_t{1} << 17;
    for (int k = rank - 1; k >= 0; --k) {
      chunk[k] = std::max<hsize_t>(1, std::min(grid->shape[k], budget));
      budget = std::max<hsize_t>(1, budget / chunk[k]);
    }
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_chunk(dcpl.get(), rank, chunk.data()), path_, "H5Pset_chunk"));
    const double nan = std::nan("");
    ARROW_RETURN_NOT_OK(CheckHerr(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &nan), path_,
                                  "H5Pset_fill_value"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_INCR), path_, "H5Pset_alloc_time"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_IFSET), path_, "H5Pset_fill_time"));
    for (const auto& signal : signals) {
      const std::string at = where + "/" + signal;
      ARROW_ASSIGN_OR_RAISE(Hid image,
                            CheckHid(H5Dcreate2(group.get(), signal.c_str(), H5T_IEEE_F64LE,
                                                space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                                     H5Dclose, path_, "H5Dcreate2(" + at + ")"));
      ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(image.get(), "units",
                                                         unit_of(signal, kUnitKey), path_));
      ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(
          image.get(), kDescriptionKey, unit_of(signal, kDescriptionKey), path_));
      if (rank == 2) {
        ARROW_RETURN_NOT_OK(
            internal::WriteStringAttribute(image.get(), "interpretation", "image", path_));
      }
      for (std::size_t k = 0; k < scales.size(); ++k) {
        ARROW_RETURN_NOT_OK(CheckHerr(
            H5DSattach_scale(image.get(), scales[k].get(), static_cast<unsigned>(k)), path_,
            "H5DSattach_scale(" + at + ", " + axes[k] + ")"));
      }
      grid->images.push_back(std::move(image));
    }
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(group.get(), "NX_class", "NXdata", path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(group.get(), "signal", signals[0], path_));
    ARROW_RETURN_NOT_OK(internal::WriteStringArrayAttribute(group.get(), "axes", axes, path_));
    for (std::size_t k = 0; k < axes.size(); ++k) {
      ARROW_RETURN_NOT_OK(internal::WriteInt64Attribute(
          group.get(), axes[k] + "_indices", static_cast<std::int64_t>(k), path_));
    }
    if (signals.size() > 1) {
      ARROW_RETURN_NOT_OK(internal::WriteStringArrayAttribute(
          group.get(), "auxiliary_signals",
          std::vector<std::string>(signals.begin() + 1, signals.end()), path_));
    }
    const std::string link = std::string(kEntryName) + "/" + name;
    ARROW_RETURN_NOT_OK(CheckHerr(H5Lcreate_hard(group.get(), ".", file_.get(), link.c_str(),
                                                 H5P_DEFAULT, H5P_DEFAULT),
                                  path_, "H5Lcreate_hard(/" + link + ")"));
    if (metadata->Get("nexus.default").ValueOr("") == "true") {  // the map is the run's plot
      ARROW_RETURN_NOT_OK(
          CheckHerr(H5Adelete(entry_.get(), "default"), path_, "H5Adelete(default)"));
      ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(entry_.get(), "default", name, path_));
    }
    s.grid = std::move(grid);
    return Status::OK();
  }

  // Write each row of `batch` (a grid stream's) into its pixel of every image.
  Status WritePixels(Stream& s, const arrow::RecordBatch& batch) {
    const Stream::Grid& grid = *s.grid;
    const auto& index = static_cast<const arrow::Int64Array&>(*batch.column(grid.index_column));
    hsize_t pixels = 1;
    for (hsize_t n : grid.shape) pixels *= n;
    const int rank = static_cast<int>(grid.shape.size());
    ARROW_ASSIGN_OR_RAISE(Hid mspace, CheckHid(H5Screate(H5S_SCALAR), H5Sclose, path_,
                                               "H5Screate(scalar)"));
    for (std::int64_t r = 0; r < batch.num_rows(); ++r) {
      const std::int64_t flat = index.Value(r);
      if (flat < 0 || static_cast<hsize_t>(flat) >= pixels) {
        return Status::Invalid(path_, ": stream ", s.info->name, ": row ", s.rows + s.pending_rows,
                               ": pixel index ", flat, " is outside the grid (", pixels,
                               " pixels)");
      }
      std::vector<hsize_t> coord(grid.shape.size());
      hsize_t rest = static_cast<hsize_t>(flat);
      for (int k = rank - 1; k >= 0; --k) {
        coord[static_cast<std::size_t>(k)] = rest % grid.shape[static_cast<std::size_t>(k)];
        rest /= grid.shape[static_cast<std::size_t>(k)];
      }
      for (std::size_t j = 0; j < grid.signal_columns.size(); ++j) {
        const auto& column = *batch.column(grid.signal_columns[j]);
        const double value =
            column.type_id() == arrow::Type::DOUBLE
                ? static_cast<const arrow::DoubleArray&>(column).Value(r)
                : static_cast<double>(static_cast<const arrow::Int64Array&>(column).Value(r));
        const hid_t image = grid.images[j].get();
        const std::string at = "/" + s.info->name + "_grid";
        ARROW_ASSIGN_OR_RAISE(Hid fspace, CheckHid(H5Dget_space(image), H5Sclose, path_,
                                                   "H5Dget_space(" + at + ")"));
        Status st = CheckHerr(H5Sselect_elements(fspace.get(), H5S_SELECT_SET, 1, coord.data()),
                              path_, "H5Sselect_elements(" + at + ")");
        if (st.ok()) {
          st = CheckHerr(H5Dwrite(image, H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(),
                                  H5P_DEFAULT, &value),
                         path_, "H5Dwrite(" + at + ")");
        }
        if (!st.ok()) return Fail(st);
      }
    }
    return Status::OK();
  }

  // Write the rows gathered for `s` (Write, Flush, Close).
  Status WritePending(Stream& s) {
    if (s.pending_rows == 0) return Status::OK();
    const hsize_t start = s.rows;
    const hsize_t new_size = start + s.pending_rows;
    for (size_t c = 0; c < s.columns.size(); ++c) {
      Status st = AppendColumn(s.columns[c], s.info->name,
                               s.info->schema->field(static_cast<int>(c))->name(), start,
                               s.pending_rows, new_size, s.columns[c].pending.data());
      if (!st.ok()) return Fail(st);
    }
    s.rows = new_size;
    s.pending_rows = 0;
    for (auto& c : s.columns) c.pending.clear();
    return Status::OK();
  }

  Status AppendColumn(const Column& col, const std::string& stream, const std::string& column,
                      hsize_t start, hsize_t n, hsize_t new_size, const std::uint8_t* values) {
    // Once per column and batch: no operator new here (fixed-size selections; the dataset's
    // name for a message is made only on an error). HDF5 itself mallocs its dataspace ids.
    const auto where = [&](const char* call) {
      return std::string(call) + "(/" + stream + "/" + column + ")";
    };
    const int rank = 1 + static_cast<int>(col.row_shape.size());
    if (rank > H5S_MAX_RANK) {
      return Status::Invalid(path_, ": ", where("AppendColumn"), " has rank ", rank);
    }
    std::array<hsize_t, H5S_MAX_RANK> extent{}, offset{}, count{};
    extent[0] = new_size;
    offset[0] = start;
    count[0] = n;
    for (size_t d = 0; d < col.row_shape.size(); ++d) {
      extent[d + 1] = col.row_shape[d];
      count[d + 1] = col.row_shape[d];
    }
    if (herr_t rc = H5Dset_extent(col.dset.get(), extent.data()); rc < 0) {
      return CheckHerr(rc, path_, where("H5Dset_extent"));
    }
    const hid_t fs = H5Dget_space(col.dset.get());
    if (fs < 0) return CheckHid(fs, H5Sclose, path_, where("H5Dget_space")).status();
    ARROW_ASSIGN_OR_RAISE(Hid fspace, CheckHid(fs, H5Sclose, path_, "H5Dget_space"));
    if (herr_t rc = H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, offset.data(), nullptr,
                                        count.data(), nullptr);
        rc < 0) {
      return CheckHerr(rc, path_, where("H5Sselect_hyperslab"));
    }
    ARROW_ASSIGN_OR_RAISE(Hid mspace, CheckHid(H5Screate_simple(rank, count.data(), nullptr),
                                               H5Sclose, path_, "H5Screate_simple"));
    if (herr_t rc = H5Dwrite(col.dset.get(), col.memory_type, mspace.get(), fspace.get(),
                             H5P_DEFAULT, values);
        rc < 0) {
      return CheckHerr(rc, path_, where("H5Dwrite"));
    }
    return Status::OK();
  }

  std::string path_;
  RunInfo run_;
  Hdf5Options options_;
  std::vector<internal::Hdf5Part> parts_;  ///< non-empty: this file is a rolled run's index
  Hid file_;
  Hid entry_;  ///< /entry, closed before SWMR starts (only datasets may stay open)
  Hid events_;
  Hid event_mem_type_;
  hsize_t event_rows_ = 0;
  hsize_t durable_event_rows_ = 0;
  std::vector<Stream> streams_;
  std::vector<const std::uint8_t*> values_;  ///< Write's column pointers (reused)
  std::unordered_map<std::string, size_t> index_;
  bool created_ = false;
  bool swmr_ = false;
  bool closed_ = false;
  Status failed_;
  std::string reserve_path_;  // the roll-back's space (Reserve), "" when none
};

Result<std::unique_ptr<Hdf5Writer>> OpenHdf5File(const std::string& path, const RunInfo& run,
                                                 const Hdf5Options& options,
                                                 std::vector<internal::Hdf5Part> parts = {}) {
  auto writer = std::make_unique<Hdf5Writer>(path, run, options, std::move(parts));
  Status st = writer->Open();
  if (!st.ok()) {
    (void)writer->Close();
    // Leave no half-made file behind (but never remove a file that existed before).
    if (writer->created()) ::unlink(path.c_str());
    return Status::IOError("cannot create HDF5 file: ", st.message());
  }
  return writer;
}

// A run.h5 written in parts: each part a complete file, rolled at a Flush when it is large or
// old enough, and at Close the index run.h5 (virtual datasets over the parts).
class RollingHdf5Writer final : public StorageWriter {
 public:
  RollingHdf5Writer(std::string path, RunInfo run, Hdf5Options options)
      : path_(std::move(path)), run_(std::move(run)), options_(options) {
    stem_ = path_.size() > 3 && path_.ends_with(".h5") ? path_.substr(0, path_.size() - 3)
                                                      : path_;
  }
  ~RollingHdf5Writer() override { (void)Close(); }

  Status OpenPart() {
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), ".%05d.h5", static_cast<int>(parts_.size()));
    part_path_ = stem_ + suffix;
    ARROW_ASSIGN_OR_RAISE(current_, OpenHdf5File(part_path_, run_, options_));
    for (const auto& s : streams_) ARROW_RETURN_NOT_OK(current_->AddStream(s));
    // A later part is complete at once: into SWMR mode, so a crash leaves it readable.
    if (!streams_.empty()) ARROW_RETURN_NOT_OK(current_->Flush());
    part_start_ = std::chrono::steady_clock::now();
    return Status::OK();
  }

  Status AddStream(const StreamInfo& stream) override {
    if (current_ == nullptr) return Status::Invalid(path_, ": AddStream after Close");
    ARROW_RETURN_NOT_OK(current_->AddStream(stream));
    streams_.push_back(stream);
    return Status::OK();
  }

  Status Write(const DataPacket& packet) override {
    if (current_ == nullptr) return Status::Invalid(path_, ": Write after Close");
    if (roll_pending_) {
      // Roll when there is data for the next part (no empty part at the end of a run).
      roll_pending_ = false;
      ARROW_RETURN_NOT_OK(ClosePart());
      ARROW_RETURN_NOT_OK(OpenPart());
    }
    return current_->Write(packet);
  }

  Status WriteEvent(const RunEvent& event) override {
    if (current_ == nullptr) return Status::Invalid(path_, ": WriteEvent after Close");
    ARROW_RETURN_NOT_OK(current_->WriteEvent(event));
    events_.push_back(event);
    return Status::OK();
  }

  Status Flush() override {
    if (current_ == nullptr) return Status::OK();
    ARROW_RETURN_NOT_OK(current_->Flush());
    std::error_code ec;
    const auto size = std::filesystem::file_size(part_path_, ec);
    const bool big = options_.roll_bytes > 0 && !ec &&
                     static_cast<std::int64_t>(size) >= options_.roll_bytes;
    const bool old = options_.roll_interval.count() > 0 &&
                     std::chrono::steady_clock::now() - part_start_ >= options_.roll_interval;
    if (big || old) roll_pending_ = true;
    return Status::OK();
  }

  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    Status st = ClosePart();
    // The index, even after a failed part: it presents what the parts hold.
    Status index = WriteIndex();
    return st.ok() ? index : st;
  }

  std::string_view format_name() const override { return "hdf5"; }

  std::map<std::string, std::int64_t> StoredRows() const override {
    std::map<std::string, std::int64_t> out;
    for (const auto& part : parts_) {
      for (const auto& [name, n] : part.rows) out[name] += n;
    }
    if (current_ != nullptr) {
      for (const auto& [name, n] : current_->StoredRows()) out[name] += n;
    }
    for (const auto& s : streams_) out.emplace(s.name, 0);
    return out;
  }

 private:
  Status ClosePart() {
    if (current_ == nullptr) return Status::OK();
    Status st = current_->Close();
    parts_.push_back({std::filesystem::path(part_path_).filename().string(),
                      current_->StoredRows()});
    current_.reset();
    return st;
  }

  Status WriteIndex() {
    RunInfo run = run_;
    ARROW_ASSIGN_OR_RAISE(auto index, OpenHdf5File(path_, run, options_, parts_));
    for (const auto& s : streams_) ARROW_RETURN_NOT_OK(index->AddStream(s));
    for (const auto& e : events_) ARROW_RETURN_NOT_OK(index->WriteEvent(e));
    return index->Close();
  }

  std::string path_;
  std::string stem_;
  RunInfo run_;
  Hdf5Options options_;
  std::vector<StreamInfo> streams_;
  std::vector<RunEvent> events_;
  std::vector<internal::Hdf5Part> parts_;  ///< closed parts
  std::unique_ptr<Hdf5Writer> current_;
  std::string part_path_;
  std::chrono::steady_clock::time_point part_start_;
  bool roll_pending_ = false;  ///< the current part is full: the next Write starts a new one
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<StorageWriter>> MakeHdf5Writer(const std::string& path, const RunInfo& run,
                                                      const Hdf5Options& options) {
  if (options.gzip_level < 0 || options.gzip_level > 9) {
    return Status::Invalid("Hdf5Options.gzip_level must be 0..9, got ", options.gzip_level);
  }
  if (options.roll_bytes < 0 || options.roll_interval.count() < 0) {
    return Status::Invalid("Hdf5Options.roll_bytes and roll_interval must be >= 0");
  }
  if (options.roll_bytes > 0 || options.roll_interval.count() > 0) {
    if (::access(path.c_str(), F_OK) == 0) {
      return Status::IOError("cannot create HDF5 file: ", path, ": file exists");
    }
    auto writer = std::make_unique<RollingHdf5Writer>(path, run, options);
    ARROW_RETURN_NOT_OK(writer->OpenPart());
    return writer;
  }
  auto writer = std::make_unique<Hdf5Writer>(path, run, options);
  Status st = writer->Open();
  if (!st.ok()) {
    (void)writer->Close();
    // Leave no half-made file behind (but never remove a file that existed before).
    if (writer->created()) ::unlink(path.c_str());
    return Status::IOError("cannot create HDF5 file: ", st.message());
  }
  return writer;
}

}  // namespace arrowdaq::storage
