#include "arrowdaq/storage/inspect.h"

#include <arrow/array.h>
#include <arrow/chunked_array.h>
#include <arrow/csv/api.h>
#include <arrow/scalar.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>
#include <hdf5_hl.h>

#include <algorithm>
#include <limits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/hdf5_internal.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

using internal::CheckHerr;
using internal::CheckHid;
using internal::Hid;

constexpr size_t kMedianSample = 1 << 20;
constexpr hsize_t kReadBlock = 1 << 20;
constexpr size_t kMaxEvents = 100000;

// Accumulate first/last timestamp, rate, median period and gaps in one pass. The median comes
// from the first kMedianSample intervals; later intervals are judged against it.
class TimestampStats {
 public:
  void Add(const std::int64_t* ts, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
      if (rows_ == 0) {
        first_ = ts[i];
      } else {
        std::int64_t d;
        if (__builtin_sub_overflow(ts[i], last_, &d)) {
          // Timestamps so far apart that their difference does not fit: certainly a gap.
          d = std::numeric_limits<std::int64_t>::max();
        }
        if (!frozen_) {
          diffs_.push_back(d);
          if (diffs_.size() == kMedianSample) Freeze();
        } else if (IsGap(d)) {
          ++late_gaps_;
        }
      }
      last_ = ts[i];
      ++rows_;
    }
  }

  std::int64_t rows() const { return rows_; }

  void Finish(StreamReport* out) {
    if (!frozen_) Freeze();
    out->rows = rows_;
    out->first_ns = rows_ > 0 ? first_ : 0;
    out->last_ns = rows_ > 0 ? last_ : 0;
    out->median_period_ns = median_;
    // Exact in int64; only a damaged file's span that does not fit falls back to double.
    std::int64_t span_ns;
    const double span = __builtin_sub_overflow(last_, first_, &span_ns)
                            ? static_cast<double>(last_) - static_cast<double>(first_)
                            : static_cast<double>(span_ns);
    out->rate_hz = (rows_ > 1 && span > 0) ? static_cast<double>(rows_ - 1) * 1e9 / span : 0.0;
    std::int64_t gaps = late_gaps_;
    for (std::int64_t d : diffs_) gaps += IsGap(d) ? 1 : 0;
    out->gaps = gaps;
  }

 private:
  void Freeze() {
    frozen_ = true;
    if (diffs_.empty()) return;
    std::vector<std::int64_t> sorted = diffs_;
    auto mid = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2);
    std::nth_element(sorted.begin(), mid, sorted.end());
    median_ = *mid;
  }
  bool IsGap(std::int64_t d) const {
    return median_ > 0 && static_cast<double>(d) > 1.5 * static_cast<double>(median_);
  }

  std::int64_t rows_ = 0;
  std::int64_t first_ = 0;
  std::int64_t last_ = 0;
  std::vector<std::int64_t> diffs_;
  bool frozen_ = false;
  std::int64_t median_ = 0;
  std::int64_t late_gaps_ = 0;
};

std::string ChannelLabel(const std::string& name, const std::string& unit) {
  return unit.empty() ? name : name + " [" + unit + "]";
}

// ---------------------------------------------------------------------------------------------
// HDF5

Result<hsize_t> OneDimLength(hid_t dset, const std::string& path, const std::string& where) {
  ARROW_ASSIGN_OR_RAISE(
      Hid space, CheckHid(H5Dget_space(dset), H5Sclose, path, "H5Dget_space(" + where + ")"));
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    return Status::Invalid(path, ": dataset ", where, " is not one-dimensional");
  }
  hsize_t dims = 0;
  if (H5Sget_simple_extent_dims(space.get(), &dims, nullptr) < 0) {
    return internal::Hdf5Error(path, "H5Sget_simple_extent_dims(" + where + ")");
  }
  return dims;
}

Status ReadEvents(hid_t dset, const std::string& path, InspectReport* report) {
  bool truncated = false;
  ARROW_ASSIGN_OR_RAISE(report->events,
                        internal::ReadEventTable(dset, path, kMaxEvents, &truncated));
  if (truncated) {
    report->warnings.push_back("only the first " + std::to_string(kMaxEvents) +
                               " events are listed");
  }
  return Status::OK();
}

Result<std::vector<std::string>> LinkNames(hid_t group, const std::string& path) {
  H5G_info_t info;
  ARROW_RETURN_NOT_OK(CheckHerr(H5Gget_info(group, &info), path, "H5Gget_info"));
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    // Creation order when the file tracks it (ours do), name order otherwise.
    H5_index_t index = H5_INDEX_CRT_ORDER;
    ssize_t len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) {
      H5Eclear2(H5E_DEFAULT);
      index = H5_INDEX_NAME;
      len = H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    }
    if (len < 0) return internal::Hdf5Error(path, "H5Lget_name_by_idx");
    std::string name(static_cast<size_t>(len) + 1, '\0');
    if (H5Lget_name_by_idx(group, ".", index, H5_ITER_INC, i, name.data(), name.size(),
                           H5P_DEFAULT) < 0) {
      return internal::Hdf5Error(path, "H5Lget_name_by_idx");
    }
    name.resize(static_cast<size_t>(len));
    names.push_back(std::move(name));
  }
  return names;
}

// Name an HDF5 numeric type the way Arrow does ("uint16", "float64"); "" for other types.
std::string Hdf5TypeName(hid_t type) {
  const size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    default:
      return "";
  }
}

// Describe a dataset of rank > 1 (one array per row); nullopt for 1-D datasets.
std::optional<ArrayColumnReport> Hdf5ArrayColumn(hid_t dset, const std::string& name) {
  Hid space(H5Dget_space(dset), H5Sclose);
  Hid type(H5Dget_type(dset), H5Tclose);
  if (!space.valid() || !type.valid()) return std::nullopt;
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank <= 1) return std::nullopt;
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) < 0) return std::nullopt;
  ArrayColumnReport out;
  out.name = name;
  out.value_type = Hdf5TypeName(type.get());
  for (int i = 1; i < rank; ++i) out.shape.push_back(static_cast<std::int64_t>(dims[i]));
  return out;
}

Status InspectHdf5Stream(hid_t group, const std::string& name, const std::string& path,
                         StreamReport* out) {
  out->name = name;
  ARROW_ASSIGN_OR_RAISE(std::vector<std::string> links, LinkNames(group, path));
  for (const auto& link : links) {
    if (link == kTimestampColumn) continue;
    std::string unit;
    Hid obj(H5Oopen(group, link.c_str(), H5P_DEFAULT), H5Oclose);
    if (obj.valid()) {
      const bool dataset = H5Iget_type(obj.get()) == H5I_DATASET;
      // Index datasets of array columns (format 2: frame_dim1, ...) are axes, not channels.
      if (dataset && H5DSis_scale(obj.get()) > 0) {
        H5Eclear2(H5E_DEFAULT);
        continue;
      }
      // `units` since format 2, `unit` in format 1.
      auto u = internal::ReadStringAttribute(obj.get(), "units", path);
      if (!u.ok()) u = internal::ReadStringAttribute(obj.get(), kUnitKey, path);
      if (u.ok()) unit = *u;
      if (dataset) {
        if (auto array = Hdf5ArrayColumn(obj.get(), link)) out->arrays.push_back(*array);
      }
    }
    H5Eclear2(H5E_DEFAULT);
    out->channels.push_back(ChannelLabel(link, unit));
  }
  const std::string where = "/" + name + "/timestamp";
  ARROW_ASSIGN_OR_RAISE(Hid dset, CheckHid(H5Dopen2(group, kTimestampColumn, H5P_DEFAULT), H5Dclose,
                                           path, "H5Dopen2(" + where + ")"));
  ARROW_ASSIGN_OR_RAISE(
      Hid ftype, CheckHid(H5Dget_type(dset.get()), H5Tclose, path, "H5Dget_type(" + where + ")"));
  if (H5Tget_class(ftype.get()) != H5T_INTEGER || H5Tget_size(ftype.get()) != 8) {
    return Status::Invalid(path, ": ", where, " is not a 64-bit integer dataset");
  }
  ARROW_ASSIGN_OR_RAISE(hsize_t rows, OneDimLength(dset.get(), path, where));
  TimestampStats stats;
  std::vector<std::int64_t> buf;
  for (hsize_t start = 0; start < rows; start += kReadBlock) {
    const hsize_t count = std::min(kReadBlock, rows - start);
    buf.resize(count);
    ARROW_ASSIGN_OR_RAISE(Hid fspace, CheckHid(H5Dget_space(dset.get()), H5Sclose, path,
                                               "H5Dget_space(" + where + ")"));
    ARROW_RETURN_NOT_OK(CheckHerr(
        H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr), path,
        "H5Sselect_hyperslab(" + where + ")"));
    ARROW_ASSIGN_OR_RAISE(Hid mspace, CheckHid(H5Screate_simple(1, &count, nullptr), H5Sclose, path,
                                               "H5Screate_simple"));
    ARROW_RETURN_NOT_OK(CheckHerr(
        H5Dread(dset.get(), H5T_NATIVE_INT64, mspace.get(), fspace.get(), H5P_DEFAULT, buf.data()),
        path, "H5Dread(" + where + ")"));
    stats.Add(buf.data(), static_cast<std::int64_t>(count));
  }
  stats.Finish(out);
  return Status::OK();
}

Result<InspectReport> InspectHdf5(const std::string& path) {
  internal::SilenceHdf5Errors();
  InspectReport report;
  report.path = path;
  report.format = "hdf5";
  ARROW_ASSIGN_OR_RAISE(
      Hid fapl, CheckHid(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "H5Pcreate(file access)"));
  ARROW_RETURN_NOT_OK(
      CheckHerr(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path,
                "H5Pset_libver_bounds"));
  // A plain open first: it fails fast on damaged files. Files still being written, or left
  // by a killed writer, refuse it (their superblock says SWMR writing) and take the SWMR-read
  // open, with few metadata read attempts: HDF5's default (100, with a doubling sleep per
  // damaged object) turns a corrupt file into a hang of minutes.
  Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) {
    H5Eclear2(H5E_DEFAULT);
    ARROW_RETURN_NOT_OK(CheckHerr(H5Pset_metadata_read_attempts(fapl.get(), 3), path,
                                  "H5Pset_metadata_read_attempts"));
    ARROW_ASSIGN_OR_RAISE(
        file, CheckHid(H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get()),
                       H5Fclose, path, "H5Fopen"));
  }
  auto version = internal::ReadStringAttribute(file.get(), "format_version", path);
  if (!version.ok()) {
    return Status::Invalid(path,
                           ": an HDF5 file but not an arrowdaq run (no format_version "
                           "attribute on the root group)");
  }
  report.format_version = *version;
  for (const char* key : {"run_id", "arrowdaq_version", "host", "start_time", "stop_time"}) {
    auto value = internal::ReadStringAttribute(file.get(), key, path);
    H5Eclear2(H5E_DEFAULT);
    if (value.ok()) report.attributes.emplace_back(key, *value);
    if (std::string(key) == "stop_time" && (!value.ok() || value->empty())) {
      report.warnings.push_back(
          "stop_time is empty: the run was not closed (still running or "
          "killed); data up to its last flush is present");
    }
  }
  ARROW_ASSIGN_OR_RAISE(std::vector<std::string> links, LinkNames(file.get(), path));
  for (const auto& link : links) {
    ARROW_ASSIGN_OR_RAISE(Hid obj, CheckHid(H5Oopen(file.get(), link.c_str(), H5P_DEFAULT),
                                            H5Oclose, path, "H5Oopen(/" + link + ")"));
    const H5I_type_t type = H5Iget_type(obj.get());
    if (type == H5I_DATASET && link == "events") {
      Status st = ReadEvents(obj.get(), path, &report);
      if (!st.ok()) report.warnings.push_back("events unreadable: " + st.message());
    } else if (type == H5I_GROUP) {
      // Format 2's NeXus entry holds links to the stream groups, which are listed once, here.
      auto nx_class = internal::ReadStringAttribute(obj.get(), "NX_class", path);
      H5Eclear2(H5E_DEFAULT);
      if (nx_class.ok() && *nx_class == "NXentry") continue;
      StreamReport stream;
      Status st = InspectHdf5Stream(obj.get(), link, path, &stream);
      if (!st.ok()) {
        report.warnings.push_back("stream '" + link + "' unreadable: " + st.message());
        continue;
      }
      report.streams.push_back(std::move(stream));
    }
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Arrow IPC and Parquet

Status CheckOurSchema(const arrow::Schema& schema, const std::string& path, std::string* version) {
  const auto& md = schema.metadata();
  auto v = md ? md->Get(kFormatVersionKey) : Result<std::string>(Status::KeyError(""));
  if (!v.ok()) {
    return Status::Invalid(path, ": not written by arrowdaq (no '", kFormatVersionKey,
                           "' in the schema metadata)");
  }
  *version = *v;
  Status st = ValidateStreamSchema(schema);
  if (!st.ok()) return Status::Invalid(path, ": ", st.message());
  return Status::OK();
}

std::vector<std::string> ChannelLabels(const arrow::Schema& schema) {
  std::vector<std::string> out;
  for (int i = 1; i < schema.num_fields(); ++i) {
    out.push_back(ChannelLabel(schema.field(i)->name(), FieldUnit(*schema.field(i))));
  }
  return out;
}

std::vector<ArrayColumnReport> ArrayColumns(const arrow::Schema& schema) {
  std::vector<ArrayColumnReport> out;
  for (int i = 1; i < schema.num_fields(); ++i) {
    auto array = internal::ArrayColumnShape(*schema.field(i)->type());
    if (!array.ok() || !*array) continue;
    out.push_back({schema.field(i)->name(), (*array)->value_type->ToString(), (*array)->shape});
  }
  return out;
}

// A stream's facts live in its schema's metadata: each stream of a directory has its own.
void AddSchemaAttributes(const arrow::Schema& schema, StreamReport* stream) {
  if (!schema.metadata() || !stream->attributes.empty()) return;
  const auto& md = *schema.metadata();
  for (int64_t i = 0; i < md.size(); ++i) {
    if (md.key(i) == kFormatVersionKey || md.key(i) == "ARROW:schema") continue;
    stream->attributes.emplace_back(md.key(i), md.value(i));
  }
}

std::string StemOf(const std::string& path, const std::string& ext) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
    name.resize(name.size() - ext.size());
  }
  return name;
}

// How an Arrow IPC file is laid out: the stream format (format 1's `.arrows`), the file format
// with a footer (`.arrow`), or a file-format file whose writer never wrote the footer
// (`.arrow.partial`): its bytes after the 8-byte magic are a stream.
enum class IpcLayout { kStream, kFile, kUnfinishedFile };

constexpr std::int64_t kIpcFileMagicBytes = 8;  // "ARROW1" and two bytes of padding

Result<InspectReport> InspectIpc(const std::string& path, IpcLayout layout) {
  InspectReport report;
  report.path = path;
  report.format = "arrow-ipc";
  auto file = internal::OpenForRead(path);
  if (!file.ok()) return internal::WithPath(file.status(), path);
  std::shared_ptr<arrow::Schema> schema;
  // Either a file reader (random access through the footer) or a stream reader.
  std::shared_ptr<arrow::ipc::RecordBatchFileReader> file_reader;
  std::shared_ptr<arrow::ipc::RecordBatchStreamReader> stream_reader;
  if (layout == IpcLayout::kFile) {
    auto reader = arrow::ipc::RecordBatchFileReader::Open(*file, internal::SingleThreadIpcOptions());
    if (!reader.ok()) {
      return Status::Invalid(path, ": not an Arrow IPC file (", reader.status().message(), ")");
    }
    file_reader = *reader;
    schema = file_reader->schema();
  } else {
    std::shared_ptr<arrow::io::InputStream> input = *file;
    if (layout == IpcLayout::kUnfinishedFile) {
      auto size = (*file)->GetSize();
      if (!size.ok()) return internal::WithPath(size.status(), path);
      if (*size < kIpcFileMagicBytes) return Status::Invalid(path, ": too short for Arrow IPC");
      auto sub = arrow::io::RandomAccessFile::GetStream(*file, kIpcFileMagicBytes,
                                                        *size - kIpcFileMagicBytes);
      if (!sub.ok()) return internal::WithPath(sub.status(), path);
      input = *sub;
      report.warnings.push_back(
          "unfinished Arrow IPC file (no footer: the writer did not close it); its complete "
          "batches are read as a stream after the 8-byte magic");
    }
    auto reader = arrow::ipc::RecordBatchStreamReader::Open(input, internal::SingleThreadIpcOptions());
    if (!reader.ok()) {
      return Status::Invalid(path, ": not an Arrow IPC stream (", reader.status().message(), ")");
    }
    stream_reader = *reader;
    schema = stream_reader->schema();
  }
  ARROW_RETURN_NOT_OK(CheckOurSchema(*schema, path, &report.format_version));
  StreamReport stream;
  AddSchemaAttributes(*schema, &stream);
  stream.name = std::filesystem::path(path).filename().string();
  for (const char* ext : {".arrow.partial", ".arrows", ".arrow"}) {
    if (stream.name.ends_with(ext) && stream.name.size() > std::strlen(ext)) {
      stream.name = StemOf(path, ext);
      break;
    }
  }
  stream.channels = ChannelLabels(*schema);
  stream.arrays = ArrayColumns(*schema);
  TimestampStats stats;
  std::int64_t batches = 0;
  const int file_batches = file_reader ? file_reader->num_record_batches() : 0;
  while (true) {
    Result<std::shared_ptr<arrow::RecordBatch>> next;
    if (file_reader) {
      if (batches >= file_batches) break;
      next = file_reader->ReadRecordBatch(static_cast<int>(batches));
    } else {
      next = stream_reader->Next();
    }
    if (!next.ok()) {
      report.warnings.push_back("stream ends damaged after " + std::to_string(batches) +
                                " complete batches (" + next.status().message() + ")");
      break;
    }
    const std::shared_ptr<arrow::RecordBatch>& batch = *next;
    if (batch == nullptr) break;
    Status valid = batch->ValidateFull();
    if (!valid.ok()) {
      report.warnings.push_back("batch " + std::to_string(batches) +
                                " is invalid: " + valid.message());
      break;
    }
    ++batches;
    stats.Add(internal::TimestampValues(*batch), batch->num_rows());
  }
  stats.Finish(&stream);
  report.streams.push_back(std::move(stream));
  return report;
}

// Read one Parquet segment's timestamps into `stats`; returns its schema.
Result<std::shared_ptr<arrow::Schema>> ReadParquetSegment(const std::string& path,
                                                          TimestampStats* stats,
                                                          std::string* version) {
  try {
    auto file = internal::OpenForRead(path);
    if (!file.ok()) return internal::WithPath(file.status(), path);
    auto reader = internal::OpenParquet(*file);
    if (!reader.ok()) {
      return Status::Invalid(path, ": not a Parquet file (", reader.status().message(), ")");
    }
    std::shared_ptr<arrow::Schema> schema;
    ARROW_RETURN_NOT_OK(internal::WithPath((*reader)->GetSchema(&schema), path));
    ARROW_RETURN_NOT_OK(CheckOurSchema(*schema, path, version));
    std::shared_ptr<arrow::ChunkedArray> ts;
    ARROW_RETURN_NOT_OK(internal::WithPath((*reader)->ReadColumn(0, &ts), path));
    for (const auto& chunk : ts->chunks()) {
      ARROW_RETURN_NOT_OK(internal::WithPath(chunk->ValidateFull(), path));
      stats->Add(chunk->data()->GetValues<std::int64_t>(1), chunk->length());
    }
    return schema;
  } catch (const std::exception& e) {
    return Status::IOError(path, ": cannot read Parquet file: ", e.what());
  }
}

Result<InspectReport> InspectParquet(const std::string& path) {
  InspectReport report;
  report.path = path;
  report.format = "parquet";
  // stream name -> its segment files in order
  std::map<std::string, std::vector<std::string>> segments;
  std::error_code ec;
  // Format 2: <stream>/part-NNNNN.parquet, the stream named by the directory. Format 1:
  // <stream>.NNNNN.parquet beside the other files.
  auto stream_of = [](const std::filesystem::path& file) {
    std::string stem = StemOf(file.filename().string(), ".parquet");
    if (stem.starts_with("part-")) {
      const std::string dir = file.parent_path().filename().string();
      return dir.empty() ? stem : dir;
    }
    const auto dot = stem.rfind('.');
    if (dot != std::string::npos && stem.size() - dot == 6 &&
        std::all_of(stem.begin() + static_cast<std::ptrdiff_t>(dot) + 1, stem.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      stem.resize(dot);
    }
    return stem;
  };
  if (std::filesystem::is_directory(path, ec)) {
    // The directory's own parts, and (a run directory) those of each stream directory in it.
    std::vector<std::filesystem::path> dirs{path};
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_directory(ec)) dirs.push_back(entry.path());
    }
    for (const auto& dir : dirs) {
      for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".parquet.partial")) {
          report.warnings.push_back("unfinished segment " + name +
                                    " (the writer did not close it) is skipped");
          continue;
        }
        if (!name.ends_with(".parquet")) continue;
        segments[stream_of(entry.path())].push_back(entry.path().string());
      }
    }
    if (ec) return Status::IOError(path, ": cannot list directory: ", ec.message());
    if (segments.empty()) {
      return Status::Invalid(path, ": directory holds no .parquet files");
    }
  } else {
    segments[stream_of(std::filesystem::path(path))].push_back(path);
  }
  for (auto& [name, files] : segments) {
    std::sort(files.begin(), files.end());
    StreamReport stream;
    stream.name = name;
    TimestampStats stats;
    for (const auto& file : files) {
      auto schema = ReadParquetSegment(file, &stats, &report.format_version);
      if (!schema.ok()) {
        if (segments.size() == 1 && files.size() == 1) return schema.status();
        report.warnings.push_back(schema.status().message());
        continue;
      }
      if (stream.channels.empty()) {
        stream.channels = ChannelLabels(**schema);
        stream.arrays = ArrayColumns(**schema);
      }
      AddSchemaAttributes(**schema, &stream);
      ++stream.segments;
    }
    stats.Finish(&stream);
    report.streams.push_back(std::move(stream));
  }
  if (report.format_version.empty()) {
    return Status::Invalid(path, ": no readable arrowdaq Parquet segment");
  }
  return report;
}

// A CSV file of one stream (csv_writer.cc): a header `timestamp,<channel> [<unit>],...`, then
// ISO 8601 UTC timestamps and numbers. Arrow's streaming CSV reader parses it block by block
// (the file is never held whole); a torn last line is reported as damage, not an error.
// Read a small two-or-more-column CSV sidecar (`<stream>.units.csv`, `<stream>.metadata.csv`)
// as rows of strings; an empty result when it is absent or unreadable (a warning then).
std::vector<std::vector<std::string>> ReadSidecar(const std::string& path,
                                                  std::vector<std::string>* warnings) {
  std::vector<std::vector<std::string>> rows;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return rows;
  auto file = internal::OpenForRead(path);
  if (!file.ok()) {
    warnings->push_back(path + ": " + file.status().message());
    return rows;
  }
  auto convert = arrow::csv::ConvertOptions::Defaults();
  convert.strings_can_be_null = false;
  auto table = [&]() -> Result<std::shared_ptr<arrow::Table>> {
    auto read = arrow::csv::ReadOptions::Defaults();
    read.use_threads = false;
    ARROW_ASSIGN_OR_RAISE(
        auto reader, arrow::csv::TableReader::Make(arrow::io::IOContext(), *file, read,
                                                   arrow::csv::ParseOptions::Defaults(), convert));
    ARROW_ASSIGN_OR_RAISE(auto t, reader->Read());
    return t->CombineChunks();
  }();
  if (!table.ok()) {
    warnings->push_back(path + ": cannot read (" + table.status().message() + ")");
    return rows;
  }
  const auto& t = **table;
  for (std::int64_t r = 0; r < t.num_rows(); ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < t.num_columns(); ++c) {
      auto scalar = t.column(c)->GetScalar(r);
      row.push_back(scalar.ok() && (*scalar)->is_valid ? (*scalar)->ToString() : "");
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<InspectReport> InspectCsv(const std::string& path) {
  InspectReport report;
  report.path = path;
  report.format = "csv";
  report.format_version = "none (CSV holds no metadata)";
  auto file = internal::OpenForRead(path);
  if (!file.ok()) return internal::WithPath(file.status(), path);
  auto read = arrow::csv::ReadOptions::Defaults();
  auto convert = arrow::csv::ConvertOptions::Defaults();
  convert.column_types[kTimestampColumn] = TimestampType();
  // A row with the wrong number of fields (a torn last line after a crash or a full disk) is
  // skipped and reported, so the rows before it still count.
  auto parse = arrow::csv::ParseOptions::Defaults();
  auto invalid = std::make_shared<std::pair<std::int64_t, std::string>>(0, "");
  parse.invalid_row_handler = [invalid](const arrow::csv::InvalidRow& row) {
    if (invalid->first++ == 0) {
      invalid->second = (row.number >= 0 ? "line " + std::to_string(row.number) + ": " : "") +
                        "expected " + std::to_string(row.expected_columns) + " fields, got " +
                        std::to_string(row.actual_columns);
    }
    return arrow::csv::InvalidRowResult::Skip;
  };
  read.use_threads = false;  // no read-ahead on Arrow's IO pool (see internal::OpenForRead)
  auto reader = arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), *file, read,
                                                  parse, convert);
  const std::string not_ours =
      ": not a CSV file arrowdaq writes (expected a header starting with \"timestamp\", then "
      "ISO 8601 UTC timestamps)";
  if (!reader.ok()) return Status::Invalid(path, not_ours, " (", reader.status().message(), ")");
  const auto schema = (*reader)->schema();
  if (schema->num_fields() < 2 || schema->field(0)->name() != kTimestampColumn) {
    return Status::Invalid(path, not_ours);
  }
  StreamReport stream;
  stream.name = StemOf(path, ".csv");
  // Format 2 keeps units in <stream>.units.csv and the run's facts in <stream>.metadata.csv.
  const std::string stem_path = path.substr(0, path.size() - std::strlen(".csv"));
  std::map<std::string, std::string> units;
  if (path.ends_with(".csv")) {
    for (const auto& row : ReadSidecar(stem_path + ".units.csv", &report.warnings)) {
      if (row.size() >= 2) units[row[0]] = row[1];
    }
    for (const auto& row : ReadSidecar(stem_path + ".metadata.csv", &report.warnings)) {
      if (row.size() >= 2 && row[0] == "format_version") report.format_version = row[1];
    }
  }
  for (int i = 1; i < schema->num_fields(); ++i) {
    const std::string& name = schema->field(i)->name();
    const auto unit = units.find(name);
    stream.channels.push_back(
        ChannelLabel(name, unit == units.end() ? std::string() : unit->second));
  }
  TimestampStats stats;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    const Status st = (*reader)->ReadNext(&batch);
    if (!st.ok()) {
      report.warnings.push_back("damaged after " + std::to_string(stats.rows()) +
                                " rows (" + st.message() + ")");
      break;
    }
    if (batch == nullptr) break;
    const auto& ts = batch->column(0);
    if (ts->null_count() > 0) {
      report.warnings.push_back("a row without a timestamp after " +
                                std::to_string(stats.rows()) + " rows");
      break;
    }
    stats.Add(ts->data()->GetValues<std::int64_t>(1), ts->length());
  }
  if (invalid->first > 0) {
    report.warnings.push_back(std::to_string(invalid->first) + " malformed row(s) skipped (" +
                              invalid->second + "; a torn last line?)");
  }
  stats.Finish(&stream);
  report.streams.push_back(std::move(stream));
  return report;
}

// Return the format the first bytes announce ("" when none we know).
std::string SniffFormat(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof(head));
  const auto got = in.gcount();
  if (got >= 8 && std::memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) return "hdf5";
  if (got >= 4 && std::memcmp(head, "PAR1", 4) == 0) return "parquet";
  if (got >= 4 && std::memcmp(head, "\xff\xff\xff\xff", 4) == 0) return "arrow-ipc-stream";
  if (got >= 6 && std::memcmp(head, "ARROW1", 6) == 0) return "arrow-ipc-file";
  if (got >= 8 && std::memcmp(head, "timestam", 8) == 0) return "csv";
  return "";
}

}  // namespace

Result<InspectReport> InspectFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Status::IOError(path, ": no such file or directory");
  }
  if (std::filesystem::is_directory(path, ec)) return InspectParquet(path);
  const std::filesystem::path p(path);
  const std::string ext = p.extension().string();
  if (ext == ".h5" || ext == ".hdf5") return InspectHdf5(path);
  const std::string name = p.filename().string();
  if (ext == ".arrows") return InspectIpc(path, IpcLayout::kStream);
  if (ext == ".arrow") return InspectIpc(path, IpcLayout::kFile);
  if (name.ends_with(".arrow.partial")) return InspectIpc(path, IpcLayout::kUnfinishedFile);
  if (ext == ".parquet") return InspectParquet(path);
  if (ext == ".csv") return InspectCsv(path);
  const std::string sniffed = SniffFormat(path);
  if (sniffed == "hdf5") return InspectHdf5(path);
  if (sniffed == "parquet") return InspectParquet(path);
  if (sniffed == "arrow-ipc-stream") return InspectIpc(path, IpcLayout::kStream);
  if (sniffed == "arrow-ipc-file") return InspectIpc(path, IpcLayout::kFile);
  if (sniffed == "csv") return InspectCsv(path);
  return Status::Invalid(path,
                         ": not a file arrowdaq writes (expected run.h5, <stream>.arrow, "
                         "<stream>.arrows, <stream>/part-NNNNN.parquet, a directory of "
                         "Parquet parts or <stream>.csv)");
}

std::string FormatReport(const InspectReport& report) {
  std::ostringstream out;
  out << report.path << " (" << report.format << ", format_version " << report.format_version
      << ")\n";
  for (const auto& [key, value] : report.attributes) out << "  " << key << ": " << value << "\n";
  for (const auto& s : report.streams) {
    out << "stream " << s.name << ": " << s.rows << " rows";
    if (s.segments > 0) out << " in " << s.segments << " segment(s)";
    out << "\n";
    for (const auto& [key, value] : s.attributes) out << "  " << key << ": " << value << "\n";
    if (!s.channels.empty()) {
      out << "  channels:";
      for (const auto& c : s.channels) out << " " << c;
      out << "\n";
    }
    if (s.rows > 0) {
      char rate[64];
      std::snprintf(rate, sizeof(rate), "%.6g", s.rate_hz);
      out << "  first " << internal::FormatIsoTime(s.first_ns) << "  last "
          << internal::FormatIsoTime(s.last_ns) << "\n";
      out << "  rate " << rate << " Hz, median period " << s.median_period_ns << " ns, gaps "
          << s.gaps << "\n";
    }
    for (const auto& a : s.arrays) {
      char rate[64];
      std::snprintf(rate, sizeof(rate), "%.6g", s.rate_hz);
      out << "  frames " << a.name << ": " << s.rows << " x " << internal::FormatShape(a.shape)
          << " " << a.value_type << " at " << rate << " Hz\n";
    }
  }
  if (report.format == "hdf5") {
    out << "events: " << report.events.size() << "\n";
    for (const auto& e : report.events) {
      out << "  " << internal::FormatIsoTime(e.time_ns) << " " << e.kind << " "
          << (e.stream.empty() ? "-" : e.stream) << ": " << e.message << "\n";
    }
  }
  for (const auto& w : report.warnings) out << "warning: " << w << "\n";
  return out.str();
}

}  // namespace arrowdaq::storage
