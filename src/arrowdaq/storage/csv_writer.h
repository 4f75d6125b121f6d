// CSV writer: one `<stream>.csv` per stream for spreadsheets and quick looks. One header line
// `timestamp,<channel> [<unit>],...` (the unit in brackets only when the channel has one),
// then one line per row: the timestamp as ISO 8601 UTC with nanoseconds
// (2024-01-01T00:00:00.000000000Z) and numbers in their shortest round-trip form. Each batch
// reaches the OS when written. Owns its files; one thread.
#pragma once

#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Write into `directory` (created if missing; must be writable, checked here). Each
/// AddStream creates `<directory>/<stream>.csv`, which must not exist yet. Only fixed-width
/// numeric channels are supported; nulls become empty fields.
Result<std::unique_ptr<StorageWriter>> MakeCsvWriter(const std::string& directory);

}  // namespace arrowdaq::storage
