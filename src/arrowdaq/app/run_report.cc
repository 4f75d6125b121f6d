#include "arrowdaq/app/run_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "arrowdaq/app/rate_watch.h"
#include "arrowdaq/core/clock.h"
#include "arrowdaq/telemetry/memory.h"

namespace arrowdaq::app {

namespace {

void AddInstrumentFigures(const std::vector<instruments::InstrumentStatus>& statuses,
                          StreamSummary& out) {
  for (const auto& is : statuses) {
    if (is.name != out.name) continue;
    out.driver = is.driver;
    out.read_errors = is.read_errors;
    out.overruns = is.overrun_samples;
    out.reconnects = is.reconnects;
    out.failed = is.failed;
  }
}

std::string Number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  return buf;
}

// Each way a stream's data falls short of what was asked: a reason for "degraded".
void AddDegradedReasons(const StreamSummary& s, std::vector<std::string>& reasons) {
  const std::string who = s.name + ": ";
  if (s.failed) reasons.push_back(who + "the instrument failed");
  if (s.overruns > 0) {
    reasons.push_back(who + std::to_string(s.overruns) + " sample(s) lost to overruns");
  }
  if (s.read_errors > 0) {
    reasons.push_back(who + std::to_string(s.read_errors) + " read error(s) (gaps in the data)");
  }
  if (s.missing > 0) {
    reasons.push_back(who + std::to_string(s.missing) + " packet(s) missing by sequence number");
  }
  if (s.rate_shortfall) {
    reasons.push_back(who + Number(s.rate_rows_per_s) + " rows/s against the requested " +
                      Number(s.requested_rate_hz) + " (below " +
                      Number(kRateShortfallFraction * 100) + "%)");
  }
}

}  // namespace

RunSummary SummarizeRecording(Engine& engine, const Recording& recording, double duration_s) {
  RunSummary summary;
  summary.run_id = recording.id();
  summary.run_directory = recording.directory().string();
  summary.start_time = IsoTime(recording.start_wall_ns());
  if (recording.stop_wall_ns() != 0) summary.stop_time = IsoTime(recording.stop_wall_ns());
  summary.duration_s = duration_s;
  if (engine.acquisition_start_wall_ns() != 0) {
    summary.acquisition_start = FormatIsoTime(engine.acquisition_start_wall_ns());
  }
  if (engine.acquisition_end_wall_ns() != 0) {
    summary.acquisition_end = FormatIsoTime(engine.acquisition_end_wall_ns());
  }

  std::vector<instruments::InstrumentStatus> statuses = engine.final_statuses();
  if (statuses.empty()) {
    for (auto& state : engine.Instruments()) statuses.push_back(std::move(state.status));
  }
  for (const auto& is : statuses) {
    if (is.pool) summary.pools.push_back({is.name, *is.pool});
  }
  const auto received = recording.received();
  const auto& recorded = recording.stream_names();
  const auto published = engine.router().Stats();
  const auto requested = engine.RequestedRates();
  for (const auto& st : published) {
    StreamSummary out;
    out.name = st.name;
    out.recorded = std::find(recorded.begin(), recorded.end(), st.name) != recorded.end();
    if (out.recorded) {
      if (auto it = received.find(st.name); it != received.end()) {
        const RecordedStream& r = it->second;
        out.packets = r.packets;
        out.rows = r.rows;
        out.bytes = r.bytes;
        out.first_sequence = r.first_sequence;
        out.last_sequence = r.last_sequence;
        out.missing = r.missing;
        out.first_timestamp_ns = r.first_timestamp_ns;
        out.last_timestamp_ns = r.last_timestamp_ns;
      }
    } else {
      // Not recorded: what the router published; the sequence numbers from its counter.
      out.packets = st.packets;
      out.rows = st.rows;
      out.bytes = st.bytes;
      if (st.next_sequence > 0) {
        out.first_sequence = 0;
        out.last_sequence = static_cast<std::int64_t>(st.next_sequence) - 1;
        out.missing = st.next_sequence - st.packets;
        out.first_timestamp_ns = st.first_timestamp_ns;
        out.last_timestamp_ns = st.last_timestamp_ns;
      }
    }
    for (const auto& m : engine.monitors()) {
      auto per = m->subscription()->Stats();
      if (auto it = per.find(st.name); it != per.end()) out.drops += it->second.dropped;
    }
    AddInstrumentFigures(statuses, out);
    for (const auto& proc : engine.config().processors) {
      if (proc.output == st.name) out.driver = "processor:" + proc.kind;
    }
    out.rate_rows_per_s = duration_s > 0 ? static_cast<double>(out.rows) / duration_s : 0;
    if (auto rate = requested.find(st.name); rate != requested.end()) {
      out.requested_rate_hz = rate->second;
      const double per_batch =
          out.packets > 0 ? static_cast<double>(out.rows) / static_cast<double>(out.packets)
                          : 1.0;
      out.rate_shortfall = ShortOfRate(out.rows, duration_s, rate->second, per_batch);
    }
    AddDegradedReasons(out, summary.degraded_reasons);
    summary.streams.push_back(std::move(out));
  }

  for (const auto& m : engine.monitors()) {
    const auto& sub = m->subscription();
    SubscriptionSummary out;
    out.name = sub->name();
    out.policy = std::string(ToString(sub->options().policy));
    const auto totals = sub->Totals();
    out.offered = totals.offered;
    out.delivered = totals.delivered;
    out.dropped = totals.dropped;
    // Gaps between packets seen, plus sequence numbers given after the last one seen, plus
    // streams it wanted and never saw at all (from the router's counter, not its packet count,
    // so a number the router skipped counts as missed too).
    const auto seen = m->Stats();
    for (const auto& st : published) {
      if (!sub->Wants(st.name) || st.next_sequence == 0) continue;
      auto it = seen.find(st.name);
      if (it == seen.end()) {
        out.missed_by_sequence += st.next_sequence;
        continue;
      }
      const std::uint64_t after = st.next_sequence > it->second.last_sequence
                                      ? st.next_sequence - 1 - it->second.last_sequence
                                      : 0;
      out.missed_by_sequence += it->second.missed + after;
    }
    summary.subscriptions.push_back(std::move(out));
  }

  for (const auto& sink : engine.sinks()) {
    const auto st = sink->Stats();
    SinkSummary out{st.name, st.kind, std::string(ToString(st.policy)), st.offered, st.dropped,
                    st.taken, {}};
    std::uint64_t failed = 0;
    for (const auto& d : st.destinations) {
      out.topics.push_back({d.name, d.produced, d.delivered, d.failed, d.rows_delivered,
                            d.bytes_delivered});
      failed += d.failed;
    }
    if (st.dropped > 0) {
      summary.degraded_reasons.push_back("sink " + st.name + ": " + std::to_string(st.dropped) +
                                         " packet(s) dropped by its " + out.policy + " policy");
    }
    if (failed > 0) {
      summary.degraded_reasons.push_back("sink " + st.name + ": " + std::to_string(failed) +
                                         " message(s) not delivered (see the fault events)");
    }
    summary.sinks.push_back(std::move(out));
  }
  summary.events = engine.events().EventsSince(recording.start_wall_ns());
  summary.event_totals = engine.events().Totals();
  const auto rs = recording.stats();
  summary.stored_packets = rs.packets;
  summary.not_stored_packets = rs.not_stored;
  // Per format: rows in the files (StorageWriter::StoredRows) and rows received but not there.
  std::int64_t least = -1;
  for (const auto& f : rs.formats) {
    StoredFormat out;
    out.format = f.format;
    out.error = f.error;
    std::int64_t total = 0;
    for (const auto& [stream, stored] : f.stored_rows) {
      const auto it = rs.received_rows.find(stream);
      const std::int64_t received = it == rs.received_rows.end() ? 0 : it->second;
      out.stored_rows.emplace_back(stream, stored);
      out.not_stored_rows.emplace_back(stream, std::max<std::int64_t>(0, received - stored));
      total += stored;
    }
    least = least < 0 ? total : std::min(least, total);
    summary.formats.push_back(std::move(out));
  }
  summary.stored_rows = static_cast<std::uint64_t>(std::max<std::int64_t>(0, least));
  if (rs.not_stored > 0) {
    summary.degraded_reasons.push_back("storage: " + std::to_string(rs.not_stored) +
                                       " packet(s) not stored after a storage error");
  }
  if (!summary.degraded_reasons.empty()) summary.outcome = "degraded";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(recording.directory(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name == kSummaryReserve) continue;  // released before summary.json is written
    summary.files.push_back(name);
  }
  std::sort(summary.files.begin(), summary.files.end());
  summary.memory = telemetry::SampleMemory();
  return summary;
}

}  // namespace arrowdaq::app
