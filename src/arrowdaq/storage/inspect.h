// Inspector: summarize a file written by the storage writers (run.h5, <stream>.arrow or the
// .arrow.partial a crash left, a format-1 <stream>.arrows, a Parquet part, a stream's Parquet
// directory, <stream>.csv or a run directory) for the `arrowdaq inspect` CLI and for tests.
// Reads only; never crashes on foreign or damaged input (it returns an error or a report with
// warnings). Pure function of the file; call HDF5 files from one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Describe one array column (camera frames, waveforms): each row holds an array.
struct ArrayColumnReport {
  std::string name;
  /// Element type: "uint16", "float64", ...
  std::string value_type;
  /// Shape of one row's array: [height, width] for frames.
  std::vector<std::int64_t> shape;
};

/// Summarize one stream.
struct StreamReport {
  std::string name;
  std::int64_t rows = 0;
  /// Column names after the timestamp, with " [unit]" when the column has a unit.
  std::vector<std::string> channels;
  /// First and last timestamp, ns since the Unix epoch (0 when rows == 0).
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  /// Mean rate (rows - 1) / (last - first), Hz; 0 with fewer than two rows.
  double rate_hz = 0;
  /// Median interval between consecutive timestamps, ns (from the first 2^20 intervals).
  std::int64_t median_period_ns = 0;
  /// Intervals longer than 1.5 x the median period.
  std::int64_t gaps = 0;
  /// Parquet only: number of segment files.
  int segments = 0;
  /// Array columns among `channels` (one array per row: a frame count is `rows`).
  std::vector<ArrayColumnReport> arrays;
  /// The stream's own facts from its schema metadata (driver, resource, rate_hz, a processor's
  /// provenance), for formats that keep them per stream (.arrows, .parquet).
  std::vector<std::pair<std::string, std::string>> attributes;
};

/// Summarize one file (or directory of Parquet segments).
struct InspectReport {
  std::string path;
  /// "hdf5", "arrow-ipc", "parquet" or "csv".
  std::string format;
  std::string format_version;
  /// Run-level attributes (HDF5 root attributes except config); per-stream facts are in
  /// StreamReport::attributes.
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<StreamReport> streams;
  std::vector<RunEvent> events;
  /// Damage found while reading (truncated stream, unfinished segment, ...).
  std::vector<std::string> warnings;
};

/// Inspect `path`: the format is chosen by extension (.h5/.hdf5, .arrow, .arrow.partial,
/// .arrows, .parquet, .csv, or a
/// directory holding *.parquet). Fails with a message naming the path when the file is not
/// that format, or not ours (no format_version; for CSV, which has no metadata: a first column
/// that is not a `timestamp` column).
Result<InspectReport> InspectFile(const std::string& path);

/// Render a report as human-readable text for the CLI.
std::string FormatReport(const InspectReport& report);

}  // namespace arrowdaq::storage
