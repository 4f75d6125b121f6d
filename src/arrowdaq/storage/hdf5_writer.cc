#include "arrowdaq/storage/hdf5_writer.h"

#include <arrow/array.h>
#include <arrow/util/key_value_metadata.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
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

constexpr char kTimestampUnits[] = "ns since 1970-01-01T00:00:00Z (UTC)";
constexpr std::int64_t kMaxChunkBytes = 1 << 20;
// Array (frame, waveform) columns: rows per chunk so that a chunk is about this size, at least
// one row. Frames of 64 KiB and more get one frame per chunk.
constexpr std::int64_t kArrayChunkBytes = 64 << 10;
constexpr hsize_t kEventChunkRows = 256;

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
  Hdf5Writer(std::string path, RunInfo run, Hdf5Options options)
      : path_(std::move(path)), run_(std::move(run)), options_(options) {}

  ~Hdf5Writer() override { (void)Close(); }

  Status Open() {
    internal::SilenceHdf5Errors();
    ARROW_ASSIGN_OR_RAISE(
        Hid fapl, CheckHid(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path_, "H5Pcreate(file access)"));
    // SWMR needs the 1.10 file format (superblock v3, extensible-array chunk index).
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path_,
                  "H5Pset_libver_bounds"));
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
    return CreateEventsTable();
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
    if (stream.name == "events") {
      return Status::Invalid("stream name 'events' is reserved for the HDF5 event table");
    }
    if (index_.count(stream.name) != 0) {
      return Status::Invalid(path_, ": stream '", stream.name, "' was already added");
    }
    if (stream.schema == nullptr) {
      return Status::Invalid("stream '", stream.name, "' has no schema");
    }
    ARROW_RETURN_NOT_OK(ValidateStreamSchema(*stream.schema));
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
      types.push_back(*mapped);
      arrays.push_back(*array);
    }

    Stream s;
    s.info = std::make_shared<StreamInfo>(stream);
    ARROW_ASSIGN_OR_RAISE(Hid gcpl, CheckHid(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, path_,
                                             "H5Pcreate(group create)"));
    ARROW_RETURN_NOT_OK(CheckHerr(
        H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
        path_, "H5Pset_link_creation_order"));
    // The group handle is closed before SWMR starts (only datasets may stay open).
    ARROW_ASSIGN_OR_RAISE(Hid group, CheckHid(H5Gcreate2(file_.get(), stream.name.c_str(),
                                                         H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
                                              H5Gclose, path_, "H5Gcreate2(/" + stream.name + ")"));
    if (const auto& md = stream.schema->metadata()) {
      for (int64_t i = 0; i < md->size(); ++i) {
        const std::string key =
            md->key(i) == kFormatVersionKey ? std::string("format_version") : md->key(i);
        ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(group.get(), key, md->value(i), path_));
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
    // Write straight from the Arrow buffers; slice offsets are applied here.
    std::vector<const std::uint8_t*> values(static_cast<size_t>(batch.num_columns()));
    for (int c = 0; c < batch.num_columns(); ++c) {
      const Column& col = s.columns[c];
      const auto& data = batch.column_data(c);
      if (col.array) {
        ARROW_ASSIGN_OR_RAISE(
            values[c], internal::ArrayColumnValues(*data, *col.array,
                                                   "stream '" + s.info->name + "': column '" +
                                                       batch.schema()->field(c)->name() + "'"));
      } else {
        values[c] = data->buffers[1]->data() + static_cast<size_t>(data->offset) * col.byte_width;
      }
    }
    ARROW_RETURN_NOT_OK(EnsureSwmr());
    const hsize_t n = static_cast<hsize_t>(batch.num_rows());
    if (n == 0) return Status::OK();
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
      st = CheckHerr(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), path_, "H5Fflush");
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
    for (auto& s : streams_) {
      for (auto& c : s.columns) {
        if (c.dset.Reset() < 0 && st.ok()) st = internal::Hdf5Error(path_, "H5Dclose");
      }
    }
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
  };
  struct Stream {
    std::shared_ptr<const StreamInfo> info;
    std::vector<Column> columns;
    hsize_t rows = 0;
    /// Rows on disk as of the last successful H5Fflush.
    hsize_t durable_rows = 0;
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
    }
    if (events_.valid() && event_rows_ > durable_event_rows_) {
      (void)H5Dset_extent(events_.get(), &durable_event_rows_);
      event_rows_ = durable_event_rows_;
    }
    H5Eclear2(H5E_DEFAULT);
  }

  Status EnsureSwmr() {
    if (swmr_) return Status::OK();
    Status st = CheckHerr(H5Fstart_swmr_write(file_.get()), path_, "H5Fstart_swmr_write");
    if (!st.ok()) return Fail(st);
    swmr_ = true;
    return Status::OK();
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
    return internal::WriteStringAttribute(events_.get(), "time_units", kTimestampUnits, path_);
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
    ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(rank, dims.data(), max_dims.data()),
                                              H5Sclose, path_, "H5Screate_simple"));
    ARROW_ASSIGN_OR_RAISE(Hid dcpl, CheckHid(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path_,
                                             "H5Pcreate(dataset create)"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Pset_chunk(dcpl.get(), rank, chunk.data()), path_, "H5Pset_chunk"));
    ARROW_ASSIGN_OR_RAISE(Hid dapl, CheckHid(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose, path_,
                                             "H5Pcreate(dataset access)"));
    if (array && rows == 1 && options_.gzip_level == 0) {
      // Every write fills whole chunks (one frame each), so no chunk cache is needed: with a
      // zero-byte cache HDF5 writes each frame from the Arrow buffer straight to the file
      // instead of copying it into the cache first.
      ARROW_RETURN_NOT_OK(CheckHerr(H5Pset_chunk_cache(dapl.get(), H5D_CHUNK_CACHE_NSLOTS_DEFAULT,
                                                       0, H5D_CHUNK_CACHE_W0_DEFAULT),
                                    path_, "H5Pset_chunk_cache"));
    }
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
                                              H5P_DEFAULT, dcpl.get(), dapl.get()),
                                   H5Dclose, path_, "H5Dcreate2(" + where + ")"));
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
      ARROW_RETURN_NOT_OK(internal::WriteStringAttribute(dset.get(), kUnitKey, unit, path_));
      ARROW_RETURN_NOT_OK(
          internal::WriteStringAttribute(dset.get(), kDescriptionKey, description, path_));
      if (array) {
        ARROW_RETURN_NOT_OK(
            internal::WriteInt64ArrayAttribute(dset.get(), "shape", array->shape, path_));
      }
      if (md) {
        for (int64_t i = 0; i < md->size(); ++i) {
          if (md->key(i) == kUnitKey || md->key(i) == kDescriptionKey) continue;
          ARROW_RETURN_NOT_OK(
              internal::WriteStringAttribute(dset.get(), md->key(i), md->value(i), path_));
        }
      }
    }
    return dset;
  }

  Status AppendColumn(const Column& col, const std::string& stream, const std::string& column,
                      hsize_t start, hsize_t n, hsize_t new_size, const std::uint8_t* values) {
    const std::string where = "/" + stream + "/" + column;
    const int rank = 1 + static_cast<int>(col.row_shape.size());
    std::vector<hsize_t> extent{new_size};
    std::vector<hsize_t> offset{start};
    std::vector<hsize_t> count{n};
    for (hsize_t d : col.row_shape) {
      extent.push_back(d);
      offset.push_back(0);
      count.push_back(d);
    }
    ARROW_RETURN_NOT_OK(CheckHerr(H5Dset_extent(col.dset.get(), extent.data()), path_,
                                  "H5Dset_extent(" + where + ")"));
    ARROW_ASSIGN_OR_RAISE(Hid fspace, CheckHid(H5Dget_space(col.dset.get()), H5Sclose, path_,
                                               "H5Dget_space(" + where + ")"));
    ARROW_RETURN_NOT_OK(CheckHerr(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, offset.data(),
                                                      nullptr, count.data(), nullptr),
                                  path_, "H5Sselect_hyperslab(" + where + ")"));
    ARROW_ASSIGN_OR_RAISE(Hid mspace, CheckHid(H5Screate_simple(rank, count.data(), nullptr),
                                               H5Sclose, path_, "H5Screate_simple"));
    return CheckHerr(
        H5Dwrite(col.dset.get(), col.memory_type, mspace.get(), fspace.get(), H5P_DEFAULT, values),
        path_, "H5Dwrite(" + where + ")");
  }

  std::string path_;
  RunInfo run_;
  Hdf5Options options_;
  Hid file_;
  Hid events_;
  Hid event_mem_type_;
  hsize_t event_rows_ = 0;
  hsize_t durable_event_rows_ = 0;
  std::vector<Stream> streams_;
  std::unordered_map<std::string, size_t> index_;
  bool created_ = false;
  bool swmr_ = false;
  bool closed_ = false;
  Status failed_;
};

}  // namespace

Result<std::unique_ptr<StorageWriter>> MakeHdf5Writer(const std::string& path, const RunInfo& run,
                                                      const Hdf5Options& options) {
  if (options.gzip_level < 0 || options.gzip_level > 9) {
    return Status::Invalid("Hdf5Options.gzip_level must be 0..9, got ", options.gzip_level);
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
