// CSV writer: one `<stream>.csv` per stream for spreadsheets and quick looks. One header line
// `timestamp,<channel>,...` (the column names of every other format), then one line per row:
// the timestamp as ISO 8601 UTC with nanoseconds (2024-01-01T00:00:00.000000000Z) and numbers
// in their shortest round-trip form. Units and descriptions go to a sidecar
// `<stream>.units.csv` (`column,units,description`), the run's facts to `<stream>.metadata.csv`
// (`key,value`). Each batch reaches the OS when written.
// Owns its files; one thread.
#pragma once

#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Write into `directory` (created if missing; must be writable, checked here). Each
/// AddStream creates `<directory>/<stream>.csv`, `<stream>.units.csv` and
/// `<stream>.metadata.csv` (the run's facts: key,value), which must not exist yet; a stream
/// name ending in `.units` or `.metadata` is refused. Only fixed-width numeric channels are
/// supported; nulls become empty fields.
Result<std::unique_ptr<StorageWriter>> MakeCsvWriter(const std::string& directory,
                                                     const RunInfo& run = {});

}  // namespace arrowdaq::storage
