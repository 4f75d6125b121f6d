#include "arrowdaq/storage/hdf5_internal.h"

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
