// libFuzzer targets: InspectFile on arbitrary bytes written to a file. The first input byte picks
// the extension (0: .h5, 1: .arrows, 2: .parquet, 3: .arrow, 4: .arrow.partial, 5: .csv,
// modulo 6) and the rest is the file's content,
// so each reader sees damaged and foreign files. InspectFile promises never to crash on such
// input: it returns an error or a report with warnings. FormatReport must then render whatever
// report came back. The file lives in a private directory made once per process, so parallel
// jobs (-jobs=N) do not collide.
//
// Built twice (fuzz/CMakeLists.txt): inspect_file_fuzz takes the Arrow, Parquet and CSV inputs
// (Arrow's readers), inspect_hdf5_fuzz the .h5 ones (ARROWDAQ_INSPECT_FUZZ_HDF5=1). They are
// apart because the HDF5 1.10 library itself crashes and spins on some damaged files
// (fuzz/findings/README.md): `arrowdaq inspect` contains that with a child process, and
// `make test` cannot explore HDF5 without drawing such third-party findings at random.
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "arrowdaq/storage/inspect.h"

namespace {

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "inspect_file_fuzz: %s\n", what.c_str());
  std::abort();
}

const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                          "/arrowdaq_inspect_fuzz.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Finding("mkdtemp failed");
    return pattern;
  }();
  return dir;
}

bool WriteAll(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* const kNames[] = {"run.h5", "stream.arrows", "stream.00000.parquet",
                                       "stream.arrow", "stream.arrow.partial", "stream.csv"};
  const int format = data[0] % 6;
  // -1: not this target's format; libFuzzer keeps such inputs out of the corpus.
  if ((format == 0) != (ARROWDAQ_INSPECT_FUZZ_HDF5 != 0)) return -1;
  const std::string path = ScratchDir() + "/" + kNames[format];
  if (!WriteAll(path, data + 1, size - 1)) Finding("cannot write " + path);
  try {
    auto report = arrowdaq::storage::InspectFile(path);
    if (report.ok()) {
      for (const auto& stream : report->streams) {
        if (stream.rows < 0 || stream.gaps < 0) Finding("negative rows or gaps in a report");
      }
      (void)arrowdaq::storage::FormatReport(*report);
    } else if (report.status().message().find(path) == std::string::npos) {
      Finding("error does not name the path: " + report.status().ToString());
    }
  } catch (const std::exception& e) {
    Finding(std::string("InspectFile threw: ") + e.what());
  } catch (...) {
    Finding("InspectFile threw a non-std exception");
  }
  std::remove(path.c_str());
  return 0;
}
