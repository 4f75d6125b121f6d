#include "arrowdaq/storage/hdf5_internal.h"

#include "arrowdaq/storage/hdf5_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

namespace arrowdaq::storage::internal {

namespace {

struct ErrorWalk {
  std::vector<std::string> messages;
};

herr_t CollectError(unsigned n, const H5E_error2_t* err, void* client) {
  auto* walk = static_cast<ErrorWalk*>(client);
  // Walking upward starts at the most specific frame; two frames say enough.
  if (n < 2 && err != nullptr && err->desc != nullptr && err->desc[0] != '\0') {
    walk->messages.emplace_back(std::string(err->func_name ? err->func_name : "?") + ": " +
                                err->desc);
  }
  return 0;
}

}  // namespace

void SilenceHdf5Errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Status Hdf5Error(std::string_view path, std::string_view call) {
  ErrorWalk walk;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, CollectError, &walk);
  H5Eclear2(H5E_DEFAULT);
  std::string detail;
  for (const auto& m : walk.messages) {
    if (!detail.empty()) detail += "; ";
    detail += m;
  }
  if (detail.empty()) detail = "no HDF5 error detail";
  for (char& c : detail) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return Status::IOError(path, ": ", call, " failed: ", detail);
}

Result<Hid> CheckHid(hid_t id, Hid::Closer closer, std::string_view path, std::string_view call) {
  if (id < 0) return Hdf5Error(path, call);
  return Hid(id, closer);
}

Status CheckHerr(herr_t rc, std::string_view path, std::string_view call) {
  if (rc < 0) return Hdf5Error(path, call);
  return Status::OK();
}

Status WriteStringAttribute(hid_t obj, const std::string& name, std::string_view value,
                            std::string_view path) {
  ARROW_ASSIGN_OR_RAISE(Hid type, CheckHid(H5Tcopy(H5T_C_S1), H5Tclose, path, "H5Tcopy"));
  ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_size(type.get(), H5T_VARIABLE), path, "H5Tset_size"));
  ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_cset(type.get(), H5T_CSET_UTF8), path, "H5Tset_cset"));
  ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate(H5S_SCALAR), H5Sclose, path, "H5Screate"));
  const std::string call = "H5Acreate2(" + name + ")";
  ARROW_ASSIGN_OR_RAISE(Hid attr, CheckHid(H5Acreate2(obj, name.c_str(), type.get(), space.get(),
                                                      H5P_DEFAULT, H5P_DEFAULT),
                                           H5Aclose, path, call));
  const std::string copy(value);
  const char* ptr = copy.c_str();
  return CheckHerr(H5Awrite(attr.get(), type.get(), &ptr), path, "H5Awrite(" + name + ")");
}

Status WriteFixedStringAttribute(hid_t obj, const std::string& name, std::string_view value,
                                 size_t size, std::string_view path) {
  ARROW_ASSIGN_OR_RAISE(Hid type, CheckHid(H5Tcopy(H5T_C_S1), H5Tclose, path, "H5Tcopy"));
  ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_size(type.get(), size), path, "H5Tset_size"));
  ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), path, "H5Tset_strpad"));
  std::vector<char> buf(size, '\0');
  std::memcpy(buf.data(), value.data(), std::min(size, value.size()));
  Hid attr;
  const htri_t exists = H5Aexists(obj, name.c_str());
  if (exists < 0) return Hdf5Error(path, "H5Aexists(" + name + ")");
  if (exists > 0) {
    ARROW_ASSIGN_OR_RAISE(attr, CheckHid(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, path,
                                         "H5Aopen(" + name + ")"));
  } else {
    ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate(H5S_SCALAR), H5Sclose, path, "H5Screate"));
    ARROW_ASSIGN_OR_RAISE(attr, CheckHid(H5Acreate2(obj, name.c_str(), type.get(), space.get(),
                                                    H5P_DEFAULT, H5P_DEFAULT),
                                         H5Aclose, path, "H5Acreate2(" + name + ")"));
  }
  return CheckHerr(H5Awrite(attr.get(), type.get(), buf.data()), path, "H5Awrite(" + name + ")");
}

Status WriteInt64ArrayAttribute(hid_t obj, const std::string& name,
                                const std::vector<std::int64_t>& values, std::string_view path) {
  const hsize_t n = values.size();
  ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(1, &n, nullptr), H5Sclose, path,
                                            "H5Screate_simple"));
  ARROW_ASSIGN_OR_RAISE(
      Hid attr, CheckHid(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                                    H5P_DEFAULT),
                         H5Aclose, path, "H5Acreate2(" + name + ")"));
  return CheckHerr(H5Awrite(attr.get(), H5T_NATIVE_INT64, values.data()), path,
                   "H5Awrite(" + name + ")");
}

Status WriteStringArrayAttribute(hid_t obj, const std::string& name,
                                 const std::vector<std::string>& values, std::string_view path) {
  ARROW_ASSIGN_OR_RAISE(Hid type, CheckHid(H5Tcopy(H5T_C_S1), H5Tclose, path, "H5Tcopy"));
  ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_size(type.get(), H5T_VARIABLE), path, "H5Tset_size"));
  ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_cset(type.get(), H5T_CSET_UTF8), path, "H5Tset_cset"));
  const hsize_t n = values.size();
  ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate_simple(1, &n, nullptr), H5Sclose, path,
                                            "H5Screate_simple"));
  ARROW_ASSIGN_OR_RAISE(Hid attr, CheckHid(H5Acreate2(obj, name.c_str(), type.get(), space.get(),
                                                      H5P_DEFAULT, H5P_DEFAULT),
                                           H5Aclose, path, "H5Acreate2(" + name + ")"));
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  return CheckHerr(H5Awrite(attr.get(), type.get(), ptrs.data()), path, "H5Awrite(" + name + ")");
}

namespace {

Status WriteScalarAttribute(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type,
                            const void* value, std::string_view path) {
  ARROW_ASSIGN_OR_RAISE(Hid space, CheckHid(H5Screate(H5S_SCALAR), H5Sclose, path, "H5Screate"));
  ARROW_ASSIGN_OR_RAISE(Hid attr, CheckHid(H5Acreate2(obj, name.c_str(), file_type, space.get(),
                                                      H5P_DEFAULT, H5P_DEFAULT),
                                           H5Aclose, path, "H5Acreate2(" + name + ")"));
  return CheckHerr(H5Awrite(attr.get(), mem_type, value), path, "H5Awrite(" + name + ")");
}

}  // namespace

Status WriteInt64Attribute(hid_t obj, const std::string& name, std::int64_t value,
                           std::string_view path) {
  return WriteScalarAttribute(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, path);
}

Status WriteDoubleAttribute(hid_t obj, const std::string& name, double value,
                            std::string_view path) {
  return WriteScalarAttribute(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value, path);
}

Status WriteMetadataAttribute(hid_t obj, const std::string& name, const std::string& value,
                              std::string_view path, bool always_float) {
  const char* first = value.data();
  const char* last = value.data() + value.size();
  // A leading zero before more digits ("007", "-01.5") reads as an identifier, not a number.
  const size_t digits = (!value.empty() && (value[0] == '-' || value[0] == '+')) ? 1 : 0;
  const bool leading_zero = value.size() > digits + 1 && value[digits] == '0' &&
                            value[digits + 1] >= '0' && value[digits + 1] <= '9';
  if (value.empty() || leading_zero || value[0] == '+') {
    return WriteStringAttribute(obj, name, value, path);
  }
  std::int64_t i = 0;
  if (auto r = std::from_chars(first, last, i);
      !always_float && r.ec == std::errc() && r.ptr == last) {
    return WriteInt64Attribute(obj, name, i, path);
  }
  double d = 0;
  if (auto r = std::from_chars(first, last, d);
      r.ec == std::errc() && r.ptr == last && std::isfinite(d)) {
    return WriteDoubleAttribute(obj, name, d, path);
  }
  return WriteStringAttribute(obj, name, value, path);
}

namespace {

struct EventRow {
  std::int64_t time;
  char stream[kEventStreamBytes];
  char kind[kEventKindBytes];
  char message[kEventMessageBytes];
};

std::string FixedText(const char* data, size_t size) {
  return std::string(data, strnlen(data, size));
}

Result<Hid> EventMemoryType(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(
      Hid type, CheckHid(H5Tcreate(H5T_COMPOUND, sizeof(EventRow)), H5Tclose, path, "H5Tcreate"));
  ARROW_RETURN_NOT_OK(
      CheckHerr(H5Tinsert(type.get(), "time", offsetof(EventRow, time), H5T_NATIVE_INT64), path,
                "H5Tinsert"));
  auto add = [&](const char* name, size_t offset, size_t size) -> Status {
    ARROW_ASSIGN_OR_RAISE(Hid str, CheckHid(H5Tcopy(H5T_C_S1), H5Tclose, path, "H5Tcopy"));
    ARROW_RETURN_NOT_OK(CheckHerr(H5Tset_size(str.get(), size), path, "H5Tset_size"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Tset_strpad(str.get(), H5T_STR_NULLPAD), path, "H5Tset_strpad"));
    return CheckHerr(H5Tinsert(type.get(), name, offset, str.get()), path, "H5Tinsert");
  };
  ARROW_RETURN_NOT_OK(add("stream", offsetof(EventRow, stream), sizeof(EventRow::stream)));
  ARROW_RETURN_NOT_OK(add("kind", offsetof(EventRow, kind), sizeof(EventRow::kind)));
  ARROW_RETURN_NOT_OK(add("message", offsetof(EventRow, message), sizeof(EventRow::message)));
  return type;
}

}  // namespace

Result<std::vector<RunEvent>> ReadEventTable(hid_t dset, const std::string& path,
                                             size_t max_events, bool* truncated) {
  ARROW_ASSIGN_OR_RAISE(Hid space,
                        CheckHid(H5Dget_space(dset), H5Sclose, path, "H5Dget_space(/events)"));
  if (H5Sget_simple_extent_ndims(space.get()) != 1) {
    return Status::Invalid(path, ": dataset /events is not one-dimensional");
  }
  hsize_t rows = 0;
  ARROW_RETURN_NOT_OK(CheckHerr(H5Sget_simple_extent_dims(space.get(), &rows, nullptr), path,
                                "H5Sget_simple_extent_dims(/events)"));
  ARROW_ASSIGN_OR_RAISE(Hid mtype, EventMemoryType(path));
  const hsize_t total = std::min<hsize_t>(rows, max_events);
  *truncated = rows > total;
  std::vector<RunEvent> out;
  std::vector<EventRow> buf;
  for (hsize_t start = 0; start < total; start += 4096) {
    const hsize_t count = std::min<hsize_t>(4096, total - start);
    buf.assign(count, EventRow{});
    ARROW_ASSIGN_OR_RAISE(Hid fspace,
                          CheckHid(H5Dget_space(dset), H5Sclose, path, "H5Dget_space(/events)"));
    ARROW_RETURN_NOT_OK(CheckHerr(
        H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr), path,
        "H5Sselect_hyperslab(/events)"));
    ARROW_ASSIGN_OR_RAISE(Hid mspace, CheckHid(H5Screate_simple(1, &count, nullptr), H5Sclose, path,
                                               "H5Screate_simple"));
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Dread(dset, mtype.get(), mspace.get(), fspace.get(), H5P_DEFAULT, buf.data()),
                  path, "H5Dread(/events)"));
    for (const auto& e : buf) {
      out.push_back(RunEvent{e.time, FixedText(e.stream, sizeof(e.stream)),
                             FixedText(e.kind, sizeof(e.kind)),
                             FixedText(e.message, sizeof(e.message))});
    }
  }
  return out;
}

Result<Hid> OpenHdf5ForReading(const std::string& path) {
  SilenceHdf5Errors();
  ARROW_ASSIGN_OR_RAISE(
      Hid fapl, CheckHid(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "H5Pcreate(file access)"));
  ARROW_RETURN_NOT_OK(
      CheckHerr(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), path,
                "H5Pset_libver_bounds"));
  Hid file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (file.valid()) return file;
  H5Eclear2(H5E_DEFAULT);
  ARROW_RETURN_NOT_OK(CheckHerr(H5Pset_metadata_read_attempts(fapl.get(), 3), path,
                                "H5Pset_metadata_read_attempts"));
  return CheckHid(H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get()),
                  H5Fclose, path, "H5Fopen");
}

Result<std::string> ReadStringAttribute(hid_t obj, const std::string& name, std::string_view path) {
  const htri_t exists = H5Aexists(obj, name.c_str());
  if (exists < 0) return Hdf5Error(path, "H5Aexists(" + name + ")");
  if (exists == 0) return Status::KeyError(path, ": no attribute '", name, "'");
  ARROW_ASSIGN_OR_RAISE(Hid attr, CheckHid(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, path,
                                           "H5Aopen(" + name + ")"));
  ARROW_ASSIGN_OR_RAISE(Hid ftype,
                        CheckHid(H5Aget_type(attr.get()), H5Tclose, path, "H5Aget_type"));
  if (H5Tget_class(ftype.get()) != H5T_STRING) {
    return Status::Invalid(path, ": attribute '", name, "' is not a string");
  }
  ARROW_ASSIGN_OR_RAISE(Hid space,
                        CheckHid(H5Aget_space(attr.get()), H5Sclose, path, "H5Aget_space"));
  if (H5Sget_simple_extent_npoints(space.get()) != 1) {
    return Status::Invalid(path, ": attribute '", name, "' is not a single string");
  }
  ARROW_ASSIGN_OR_RAISE(Hid mtype, CheckHid(H5Tcopy(ftype.get()), H5Tclose, path, "H5Tcopy"));
  if (H5Tis_variable_str(ftype.get()) > 0) {
    char* ptr = nullptr;
    ARROW_RETURN_NOT_OK(
        CheckHerr(H5Aread(attr.get(), mtype.get(), &ptr), path, "H5Aread(" + name + ")"));
    std::string out = ptr ? ptr : "";
    H5free_memory(ptr);
    return out;
  }
  const size_t size = H5Tget_size(ftype.get());
  if (size == 0 || size > (1u << 24)) {
    return Status::Invalid(path, ": attribute '", name, "' has an implausible size");
  }
  std::vector<char> buf(size + 1, '\0');
  ARROW_RETURN_NOT_OK(
      CheckHerr(H5Aread(attr.get(), mtype.get(), buf.data()), path, "H5Aread(" + name + ")"));
  return std::string(buf.data(), strnlen(buf.data(), size));
}

}  // namespace arrowdaq::storage::internal
