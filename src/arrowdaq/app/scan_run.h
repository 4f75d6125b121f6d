// ScanExecutor: runs one `[[plans]]` entry on a running Engine (docs/scans.md). Per point it
// moves the plan's motors (InstrumentManager motion calls, on each instrument's own thread
// while its stream goes on), waits until every axis has stopped, waits `settle`, then takes the
// dwell window [t0, t1 = t0 + dwell] (wall clock, the clock of the sample timestamps) over each
// stream detector and queries each polled detector. The samples whose timestamps fall in the
// window are reduced (mean, std, min, max, count); with dwell 0 the window is the first sample
// at or after t0. A sequence gap, or a gap/overrun/fault event of the detector's stream inside
// the window, or a window the stream never reached sets that point's `flags` (bits 1, 2, 4):
// a hole is flagged, never silently averaged over.
//
// Each point is also published as one row of the stream `scan` (timestamp = t1, then the
// detectors, the readbacks, the setpoints, flags, t0, t1, seq_num), so the run's storage records
// it (run.h5 `/scan`, an NXdata group whose signal is the first detector) and Flight clients
// see the points live.
//
// The executor writes Bluesky event-model documents to `<run dir>/documents.jsonl`, one
// `["name", {...}]` per line (start, descriptor "primary", one event per point, stop), each
// line flushed as it is written, so the points taken stay stored whatever ends the scan.
//
// Pause and abort: Interrupt() (SIGINT) asks for a pause at the next point boundary: the motors
// are stopped and no point is taken until Resume(); a second Interrupt() while paused, or
// Abort() (SIGTERM), aborts (stop document exit_status "abort"). While paused the executor
// reads `r`/`resume` or `a`/`abort` lines from `input_fd` when one is given. A motor fault, an
// unreachable position or a detector that does not answer ends the scan with exit_status
// "fail" and the reason.
//
// Threading: Make and Start from the owning thread; Interrupt, Resume and Abort from any thread
// or a signal handler (they only store to atomics); the accessors after Join. The executor
// runs two threads of its own: the point loop and the detector collector.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <thread>

#include "arrowdaq/app/engine.h"
#include "arrowdaq/app/run_plan.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::app {

/// How a scan ended (the stop document's exit_status).
enum class ScanExit { kSuccess, kAbort, kFail };
std::string_view ToString(ScanExit exit);

/// Bits of a point's `flags` data key.
inline constexpr std::int64_t kFlagGap = 1;         ///< a sequence gap inside the window
inline constexpr std::int64_t kFlagEvent = 2;       ///< a gap/overrun/fault event of the stream
inline constexpr std::int64_t kFlagIncomplete = 4;  ///< no sample at or after t1 in time

struct ScanOptions {
  /// Progress (points done/total, ETA) and the pause prompts; nullptr for none. Redrawn in
  /// place when `interactive`, one plain line per point otherwise.
  std::ostream* progress = nullptr;
  bool interactive = false;
  /// Read resume/abort answers from this descriptor while paused (-1: none).
  int input_fd = -1;
  /// The scan's number in the start document.
  std::int64_t scan_id = 1;
  /// Publish every document, as it is written to documents.jsonl, as a row of this stream
  /// (DeclareDocumentsStream); nullptr: none.
  std::shared_ptr<pipeline::StreamHandle> documents;
};

class ScanExecutor {
 public:
  /// Expand the plan, resolve its axes and detector columns, subscribe to the detector streams
  /// and declare the stream `scan` (one row per point, the event's data keys as columns) on
  /// the engine's router; call before the recording starts, so that it records `scan` too.
  [[nodiscard]] static Result<std::unique_ptr<ScanExecutor>> Make(
      Engine& engine, const RunPlan& run_plan, const config::PlanConfig& plan,
      ScanOptions options);
  /// The name of the stream of points.
  static constexpr char kStreamName[] = "scan";
  /// The name of the stream of documents (a server declares it once, for all its scans).
  static constexpr char kDocumentsStreamName[] = "scan_documents";
  /// Declare the stream of documents on `router`: columns timestamp (when the document was
  /// written), seq (1, 2, ... over the life of the stream), name ("start", "descriptor",
  /// "event", "stop") and doc (the document as one line of JSON, exactly as in
  /// documents.jsonl). Its schema metadata says arrowdaq.store = "false": a recording of
  /// every stream ("*") leaves it out (documents.jsonl is its stored form).
  [[nodiscard]] static Result<std::shared_ptr<pipeline::StreamHandle>> DeclareDocumentsStream(
      pipeline::StreamRouter& router);
  ~ScanExecutor();
  ScanExecutor(const ScanExecutor&) = delete;
  ScanExecutor& operator=(const ScanExecutor&) = delete;

  /// Open `run_dir`/documents.jsonl and start the point loop; `on_done` is called on its
  /// thread when the stop document is written.
  [[nodiscard]] Status Start(const std::filesystem::path& run_dir, std::function<void()> on_done);
  /// Pause at the next point boundary; when already paused (or pausing), abort. Signal-safe.
  void Interrupt();
  /// Pause at the next point boundary; no effect when already paused or pausing (unlike
  /// Interrupt, never aborts). Signal-safe.
  void Pause();
  /// Continue after a pause. Signal-safe.
  void Resume();
  /// Abort at the next boundary (or while moving/paused). Signal-safe.
  void Abort();
  /// Wait for the point loop (call Abort first to end it early) and the collector to end.
  void Join();

  /// Live state, from any thread: paused() is true from the moment the point loop has stopped
  /// the motors at a boundary until it resumes (no point is taken meanwhile); points_done()
  /// counts the events written so far; done() once the stop document is written.
  bool paused() const;
  std::int64_t points_done() const;
  bool done() const;

  ScanExit exit_status() const;
  const std::string& reason() const;
  std::int64_t points_taken() const;
  std::int64_t points_total() const;

 private:
  struct Impl;
  explicit ScanExecutor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arrowdaq::app
