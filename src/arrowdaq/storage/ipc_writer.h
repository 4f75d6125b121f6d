// Arrow IPC writer: one Arrow IPC *stream* file `<stream>.arrows` per stream, readable with
// pyarrow.ipc.open_stream. Every batch goes to the OS as it is written, so after a crash a
// reader gets every batch up to the last complete one. Owns its files; one thread.
#pragma once

#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Write into `directory` (created if missing; must be writable, checked here). Each
/// AddStream creates `<directory>/<stream>.arrows`, which must not exist yet. The schema
/// metadata gains `arrowdaq.format_version` when it lacks it.
Result<std::unique_ptr<StorageWriter>> MakeIpcWriter(const std::string& directory);

}  // namespace arrowdaq::storage
