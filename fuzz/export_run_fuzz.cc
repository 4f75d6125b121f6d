// libFuzzer target: ExportRun (src/arrowdaq/storage/export.h) on a run directory holding one
// arbitrary file. The first input byte picks what the file is (0: <s>.arrow, 1: <s>.arrow.partial,
// 2: <s>/part-00000.parquet, 3: <s>.csv beside a fixed <s>.units.csv; modulo 4) and the rest is
// its content. ExportRun reads it back as an arrowdaq stream and writes it in another format
// (Arrow IPC, or Parquet for an Arrow source); it must return an error or succeed, never crash,
// hang or throw. HDF5 sources are left out for the reason inspect_hdf5_fuzz is kept apart (the
// HDF5 1.10 library itself crashes and spins on some damaged files; fuzz/findings/README.md).
// Scratch directories are made once per process.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "arrowdaq/storage/export.h"

namespace {

namespace fs = std::filesystem;

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "export_run_fuzz: %s\n", what.c_str());
  std::abort();
}

const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                          "/arrowdaq_export_fuzz.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) Finding("mkdtemp failed");
    return pattern;
  }();
  return dir;
}

void Write(const fs::path& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) Finding("cannot write " + path.string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const fs::path run = fs::path(ScratchDir()) / "run";
  const fs::path out = fs::path(ScratchDir()) / "out";
  std::error_code ec;
  fs::remove_all(run, ec);
  fs::remove_all(out, ec);
  fs::create_directories(run);
  const int kind = data[0] % 4;
  arrowdaq::storage::ExportOptions options;
  options.run_directory = run.string();
  options.output_directory = out.string();
  options.batch_rows = 1000;
  options.to = arrowdaq::storage::StorageFormat::kArrow;
  switch (kind) {
    case 0:
      Write(run / "s.arrow", data + 1, size - 1);
      options.to = arrowdaq::storage::StorageFormat::kParquet;
      break;
    case 1:
      Write(run / "s.arrow.partial", data + 1, size - 1);
      options.to = arrowdaq::storage::StorageFormat::kParquet;
      break;
    case 2:
      fs::create_directories(run / "s");
      Write(run / "s" / "part-00000.parquet", data + 1, size - 1);
      break;
    default: {
      Write(run / "s.csv", data + 1, size - 1);
      static const char kUnits[] = "column,units,description\ntimestamp,,\nch0,V,\n";
      Write(run / "s.units.csv", reinterpret_cast<const std::uint8_t*>(kUnits),
            sizeof(kUnits) - 1);
      break;
    }
  }
  try {
    auto result = arrowdaq::storage::ExportRun(options);
    if (result.ok()) {
      for (const auto& [name, rows] : result->rows) {
        if (rows < 0) Finding("negative row count for " + name);
      }
    }
  } catch (const std::exception& e) {
    Finding(std::string("ExportRun threw: ") + e.what());
  } catch (...) {
    Finding("ExportRun threw a non-std exception");
  }
  return 0;
}
