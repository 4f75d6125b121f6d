// HDF5 plumbing shared by the HDF5 writer and the inspector: an owning handle for hid_t, the
// conversion of the HDF5 error stack into a Status that names the file and the failing call,
// and attribute helpers. Not installed. Call from one thread at a time (see storage_writer.h).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::storage::internal {

/// Own one HDF5 identifier and close it with the matching H5?close on destruction.
class Hid {
 public:
  using Closer = herr_t (*)(hid_t);

  Hid() = default;
  Hid(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& other) noexcept
      : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      Reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  ~Hid() { Reset(); }

  /// Return the identifier (still owned).
  hid_t get() const { return id_; }
  /// Return true when an identifier is held.
  bool valid() const { return id_ >= 0; }
  /// Close the identifier now; return the closer's result (0 when nothing was held).
  herr_t Reset() {
    herr_t rc = 0;
    if (id_ >= 0 && closer_ != nullptr) rc = closer_(id_);
    id_ = H5I_INVALID_HID;
    return rc;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

/// Turn off HDF5's automatic printing of error stacks for the calling thread; our errors
/// travel as Status instead.
void SilenceHdf5Errors();

/// Build an IOError "<path>: <call> failed: <innermost HDF5 messages>" from the calling
/// thread's HDF5 error stack, and clear the stack.
Status Hdf5Error(std::string_view path, std::string_view call);

/// Wrap `id` as an owned handle, or return Hdf5Error(path, call) when `id` is negative.
Result<Hid> CheckHid(hid_t id, Hid::Closer closer, std::string_view path, std::string_view call);

/// Return OK, or Hdf5Error(path, call) when `rc` is negative.
Status CheckHerr(herr_t rc, std::string_view path, std::string_view call);

/// Create attribute `name` on `obj` holding a variable-length UTF-8 string.
Status WriteStringAttribute(hid_t obj, const std::string& name, std::string_view value,
                            std::string_view path);

/// Create attribute `name` on `obj` as a fixed-length (`size` bytes, NUL-padded) string.
Status WriteFixedStringAttribute(hid_t obj, const std::string& name, std::string_view value,
                                 size_t size, std::string_view path);

/// Create attribute `name` on `obj` holding a 1-D int64 array (e.g. a frame's shape).
Status WriteInt64ArrayAttribute(hid_t obj, const std::string& name,
                                const std::vector<std::int64_t>& values, std::string_view path);

/// Create attribute `name` on `obj` holding a 1-D array of variable-length UTF-8 strings.
Status WriteStringArrayAttribute(hid_t obj, const std::string& name,
                                 const std::vector<std::string>& values, std::string_view path);

/// Create attribute `name` on `obj` holding one int64.
Status WriteInt64Attribute(hid_t obj, const std::string& name, std::int64_t value,
                           std::string_view path);

/// Create attribute `name` on `obj` holding one float64.
Status WriteDoubleAttribute(hid_t obj, const std::string& name, double value,
                            std::string_view path);

/// Create attribute `name` on `obj` from a metadata value: a number when `value` is one
/// (int64 for an integer such as "633", float64 for "0.5", "1e+06"; float64 always when
/// `always_float`, for keys such as rate_hz), a string otherwise. Text that only looks numeric
/// ("007", "+5", "nan", "") stays a string.
Status WriteMetadataAttribute(hid_t obj, const std::string& name, const std::string& value,
                              std::string_view path, bool always_float = false);

/// One part of a rolled run.h5: its file name (relative to the index file) and rows per stream.
struct Hdf5Part {
  std::string file;
  std::map<std::string, std::int64_t> rows;
};

/// Read the rows of the `/events` table `dset` (at most `max_events`; `truncated` tells
/// whether there were more).
Result<std::vector<RunEvent>> ReadEventTable(hid_t dset, const std::string& path,
                                             size_t max_events, bool* truncated);

/// Open an HDF5 file read-only: a plain open, or (a file still being written or left by a
/// killed writer) a SWMR-read open with few metadata retries, as the inspector does.
Result<Hid> OpenHdf5ForReading(const std::string& path);

/// Read a string attribute (variable or fixed length) of `obj`; NotFound when absent.
Result<std::string> ReadStringAttribute(hid_t obj, const std::string& name, std::string_view path);

}  // namespace arrowdaq::storage::internal
