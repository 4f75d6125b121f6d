// Arrow IPC writer: one Arrow IPC *file* `<stream>.arrow` per stream (the random-access format
// with a footer: pyarrow.ipc.open_file / memory-map, polars.scan_ipc, DuckDB). While the run
// is going the file is named `<stream>.arrow.partial`; every batch goes to the OS as it is
// written; Close writes the footer and renames it to `<stream>.arrow`. So every `*.arrow` is
// complete, and a crash leaves a `.arrow.partial` whose bytes after the 8-byte magic are an
// Arrow IPC stream holding every complete batch (docs/file-format.md says how to read it).
// Owns its files; one thread.
#pragma once

#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Suffix of an Arrow IPC file still being written (or left by a crash).
inline constexpr char kPartialSuffix[] = ".partial";

/// Write into `directory` (created if missing; must be writable, checked here). Each
/// AddStream creates `<directory>/<stream>.arrow.partial`; neither it nor `<stream>.arrow` may
/// exist yet. The schema metadata gets `arrowdaq.format_version`, `arrowdaq.run_id` and the
/// run's metadata as `arrowdaq.run.<key>`.
Result<std::unique_ptr<StorageWriter>> MakeIpcWriter(const std::string& directory,
                                                     const RunInfo& run = {});

}  // namespace arrowdaq::storage
