// Run report: the summary of one recording on an engine (summary.json and the end-of-run
// table). Per stream it states what the recording received (the sequence numbers and
// timestamps it saw, not what was published), next to the instrument's figures, the live
// subscriptions' drops, the events of the recording's time (coalesced, with exact totals),
// storage totals and the files the run directory holds.
//
// Threading: call from a plain thread, after the recording stopped for final figures (the
// engine is asked for instrument statuses unless it has stopped, then its final ones are used).
#pragma once

#include "arrowdaq/app/engine.h"
#include "arrowdaq/app/recording.h"
#include "arrowdaq/app/run_summary.h"

namespace arrowdaq::app {

/// Build the summary of `recording`; `duration_s` is the acquisition time it covers.
[[nodiscard]] RunSummary SummarizeRecording(Engine& engine, const Recording& recording,
                                            double duration_s);

}  // namespace arrowdaq::app
