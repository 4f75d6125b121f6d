#include "arrowdaq/app/run_summary.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "arrowdaq/app/json_writer.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/core/clock.h"

namespace arrowdaq::app {

std::string IsoTime(std::int64_t ns) {
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf,
                static_cast<int>((ns / 1'000'000) % 1000));
  return out;
}

std::string FormatRate(double rows_per_s) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(rows_per_s >= 100 ? 0 : 1) << rows_per_s;
  return out.str();
}


Status WriteSummaryJson(const RunSummary& summary, const std::string& path) {
  JsonWriter w;
  w.BeginObject();
  w.Key("format_version").String("1");
  w.Key("run_id").String(summary.run_id);
  w.Key("start_time").String(summary.start_time);
  w.Key("stop_time").String(summary.stop_time);
  w.Key("acquisition_start");
  summary.acquisition_start.empty() ? w.Null() : w.String(summary.acquisition_start);
  w.Key("acquisition_end");
  summary.acquisition_end.empty() ? w.Null() : w.String(summary.acquisition_end);
  w.Key("duration_s").Double(summary.duration_s);
  w.Key("outcome").String(summary.outcome);
  if (!summary.stop_reason.empty()) w.Key("stop_reason").String(summary.stop_reason);
  w.Key("metadata").BeginObject();
  for (const auto& [key, value] : summary.metadata) w.Key(key).String(value);
  w.EndObject();
  w.Key("overrides").BeginArray();
  for (const auto& arg : summary.override_args) w.String(arg);
  w.EndArray();
  if (!summary.error.empty()) w.Key("error").String(summary.error);
  w.Key("degraded_reasons").BeginArray();
  for (const auto& reason : summary.degraded_reasons) w.String(reason);
  w.EndArray();
  w.Key("streams").BeginArray();
  for (const auto& s : summary.streams) {
    w.BeginObject();
    w.Key("name").String(s.name);
    w.Key("driver").String(s.driver);
    w.Key("packets").UInt(s.packets);
    w.Key("rows").UInt(s.rows);
    w.Key("bytes").UInt(s.bytes);
    w.Key("first_sequence");
    s.first_sequence < 0 ? w.Null() : w.Int(s.first_sequence);
    w.Key("last_sequence");
    s.last_sequence < 0 ? w.Null() : w.Int(s.last_sequence);
    w.Key("drops").UInt(s.drops);
    w.Key("overruns").UInt(s.overruns);
    w.Key("read_errors").UInt(s.read_errors);
    w.Key("reconnects").UInt(s.reconnects);
    w.Key("failed").Bool(s.failed);
    w.Key("rate_rows_per_s").Double(s.rate_rows_per_s);
    w.Key("requested_rate_hz");
    s.requested_rate_hz > 0 ? w.Double(s.requested_rate_hz) : w.Null();
    w.Key("rate_shortfall").Bool(s.rate_shortfall);
    w.Key("recorded").Bool(s.recorded);
    w.Key("missing_sequences").UInt(s.missing);
    w.Key("first_timestamp");
    s.rows == 0 ? w.Null() : w.String(FormatIsoTime(s.first_timestamp_ns));
    w.Key("last_timestamp");
    s.rows == 0 ? w.Null() : w.String(FormatIsoTime(s.last_timestamp_ns));
    w.Key("time_span_s").Double(
        s.rows == 0 ? 0.0 : static_cast<double>(s.last_timestamp_ns - s.first_timestamp_ns) / 1e9);
    w.EndObject();
  }
  w.EndArray();
  w.Key("subscriptions").BeginArray();
  for (const auto& s : summary.subscriptions) {
    w.BeginObject();
    w.Key("name").String(s.name);
    w.Key("policy").String(s.policy);
    w.Key("offered").UInt(s.offered);
    w.Key("delivered").UInt(s.delivered);
    w.Key("dropped").UInt(s.dropped);
    w.Key("missed_by_sequence").UInt(s.missed_by_sequence);
    w.EndObject();
  }
  w.EndArray();
  w.Key("sinks").BeginArray();
  for (const auto& s : summary.sinks) {
    w.BeginObject();
    w.Key("name").String(s.name);
    w.Key("kind").String(s.kind);
    w.Key("policy").String(s.policy);
    w.Key("offered").UInt(s.offered);
    w.Key("dropped").UInt(s.dropped);
    w.Key("taken").UInt(s.taken);
    w.Key("topics").BeginArray();
    for (const auto& t : s.topics) {
      w.BeginObject();
      w.Key("topic").String(t.topic);
      w.Key("produced").UInt(t.produced);
      w.Key("delivered").UInt(t.delivered);
      w.Key("failed").UInt(t.failed);
      w.Key("rows_delivered").UInt(t.rows_delivered);
      w.Key("bytes_delivered").UInt(t.bytes_delivered);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("storage").BeginObject();
  w.Key("packets").UInt(summary.stored_packets);
  w.Key("rows").UInt(summary.stored_rows);
  w.Key("not_stored_packets").UInt(summary.not_stored_packets);
  w.Key("formats").BeginObject();
  for (const auto& f : summary.formats) {
    w.Key(f.format).BeginObject();
    std::int64_t stored = 0;
    std::int64_t not_stored = 0;
    for (const auto& [name, n] : f.stored_rows) stored += n;
    for (const auto& [name, n] : f.not_stored_rows) not_stored += n;
    w.Key("stored_rows").Int(stored);
    w.Key("not_stored_rows").Int(not_stored);
    w.Key("streams").BeginObject();
    for (size_t i = 0; i < f.stored_rows.size(); ++i) {
      w.Key(f.stored_rows[i].first).BeginObject();
      w.Key("stored_rows").Int(f.stored_rows[i].second);
      w.Key("not_stored_rows").Int(i < f.not_stored_rows.size() ? f.not_stored_rows[i].second : 0);
      w.EndObject();
    }
    w.EndObject();
    if (!f.error.empty()) w.Key("error").String(f.error);
    w.EndObject();
  }
  w.EndObject();
  w.Key("files").BeginArray();
  for (const auto& f : summary.files) w.String(f);
  w.EndArray();
  w.EndObject();
  w.Key("events").BeginArray();
  for (const auto& e : summary.events) {
    w.BeginObject();
    w.Key("time").String(IsoTime(e.time_ns));
    w.Key("stream").String(e.stream);
    w.Key("kind").String(e.kind);
    w.Key("message").String(e.message);
    w.Key("repeat").UInt(e.repeat);
    w.Key("samples").UInt(e.samples);
    w.EndObject();
  }
  w.EndArray();
  w.Key("event_totals").BeginArray();
  for (const auto& t : summary.event_totals) {
    w.BeginObject();
    w.Key("stream").String(t.stream);
    w.Key("kind").String(t.kind);
    w.Key("count").UInt(t.count);
    w.EndObject();
  }
  w.EndArray();
  w.Key("memory").BeginObject();
  w.Key("peak_rss_bytes").Int(summary.memory.peak_rss_bytes);
  w.Key("arrow_pool_bytes").Int(summary.memory.arrow_pool_bytes);
  w.Key("arrow_pool_peak_bytes").Int(summary.memory.arrow_pool_peak_bytes);
  w.Key("arrow_pool_backend").String(summary.memory.arrow_pool_backend);
  w.Key("allocations");
  summary.memory.allocations < 0 ? w.Null() : w.Int(summary.memory.allocations);
  w.Key("pools").BeginArray();
  for (const auto& p : summary.pools) {
    const auto& s = p.pool;
    const std::int64_t takes = s.hits + s.misses;
    w.BeginObject();
    w.Key("stream").String(p.stream);
    w.Key("policy").String(s.policy);
    w.Key("block_bytes").Int(s.block_bytes);
    w.Key("max_batches").Int(s.max_batches);
    w.Key("batches").Int(s.batches);
    w.Key("bytes").Int(s.batches * s.block_bytes);
    w.Key("takes").Int(takes);
    w.Key("hits").Int(s.hits);
    w.Key("misses").Int(s.misses);
    w.Key("overflows").Int(s.overflows);
    w.Key("waits").Int(s.waits);
    w.Key("hit_rate").Double(takes > 0 ? static_cast<double>(s.hits) / static_cast<double>(takes)
                                       : 0.0);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return WriteFileAtomically(path, w.str() + "\n");
}

Status WriteFileAtomically(const std::string& path, const std::string& text) {
  // Write a temporary file beside the target, make it durable, then rename it over the target:
  // a reader sees the old file or the whole new one, never a partial one, and a full disk
  // fails here with the reason instead of leaving an empty summary.json.
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot write '", tmp, "': ", std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IOError("cannot write '", path, "': ", std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write '", path, "': ", std::strerror(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot rename '", tmp, "' to '", path, "': ", std::strerror(err));
  }
  return Status::OK();
}

Status ReserveSpace(const std::string& path, std::int64_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("cannot create '", path, "': ", std::strerror(errno));
  const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  ::close(fd);
  if (rc != 0) {
    ::unlink(path.c_str());
    return Status::IOError("cannot reserve ", bytes, " bytes for summary.json in '", path,
                           "': ", std::strerror(rc));
  }
  return Status::OK();
}

void ReleaseSpace(const std::string& path) { ::unlink(path.c_str()); }

std::string FormatSummary(const RunSummary& summary) {
  std::ostringstream out;
  out << "run " << summary.run_id << ": " << summary.outcome << " after " << std::fixed
      << std::setprecision(1) << summary.duration_s << " s\n";
  out << std::left << std::setw(16) << "stream" << std::right << std::setw(10) << "packets"
      << std::setw(12) << "rows" << std::setw(12) << "rows/s" << std::setw(8) << "drops"
      << std::setw(10) << "overruns" << '\n';
  for (const auto& s : summary.streams) {
    out << std::left << std::setw(16) << s.name << std::right << std::setw(10) << s.packets
        << std::setw(12) << s.rows << std::setw(12) << FormatRate(s.rate_rows_per_s)
        << std::setw(8) << s.drops << std::setw(10) << s.overruns << '\n';
  }
  for (const auto& s : summary.subscriptions) {
    out << "subscription " << s.name << " (" << s.policy << "): delivered " << s.delivered
        << ", dropped " << s.dropped << ", missed by sequence " << s.missed_by_sequence << '\n';
  }
  for (const auto& f : summary.formats) {
    std::int64_t stored = 0;
    std::int64_t not_stored = 0;
    for (const auto& [name, n] : f.stored_rows) stored += n;
    for (const auto& [name, n] : f.not_stored_rows) not_stored += n;
    out << "stored " << f.format << ": " << stored << " rows";
    if (not_stored > 0) out << ", NOT stored: " << not_stored << " rows";
    out << '\n';
  }
  for (const auto& s : summary.sinks) {
    out << "sink " << s.name << " (" << s.kind << ", " << s.policy << "): taken " << s.taken
        << ", dropped " << s.dropped << '\n';
    for (const auto& t : s.topics) {
      out << "  topic " << t.topic << ": produced " << t.produced << ", delivered "
          << t.delivered << ", failed " << t.failed << '\n';
    }
  }
  if (!summary.files.empty()) {
    out << "the run directory holds";
    for (const auto& f : summary.files) out << ' ' << f;
    out << '\n';
  }
  if (summary.not_stored_packets > 0) {
    out << "NOT stored after a storage error: " << summary.not_stored_packets << " packets\n";
  }
  if (!summary.events.empty()) out << summary.events.size() << " event(s), see summary.json\n";
  // Bytes in binary units with decimals: a 692,352-byte Arrow pool peak is "676 KiB", not "0 MiB".
  const auto& memory = summary.memory;
  std::string figures;
  const auto add = [&figures](const std::string& text) {
    figures += (figures.empty() ? "" : ", ") + text;
  };
  if (memory.peak_rss_bytes >= 0) {
    add("peak RSS " + config::FormatByteSize(static_cast<double>(memory.peak_rss_bytes)));
  }
  if (memory.arrow_pool_peak_bytes >= 0) {
    add("Arrow pool peak " +
        config::FormatByteSize(static_cast<double>(memory.arrow_pool_peak_bytes)) + " (" +
        memory.arrow_pool_backend + ")");
  }
  if (memory.allocations >= 0) add(std::to_string(memory.allocations) + " allocations");
  std::int64_t takes = 0, hits = 0, overflows = 0;
  for (const auto& p : summary.pools) {
    takes += p.pool.hits + p.pool.misses;
    hits += p.pool.hits;
    overflows += p.pool.overflows;
  }
  if (takes > 0) {
    char pct[32];
    std::snprintf(pct, sizeof(pct), "%.1f%%",
                  100.0 * static_cast<double>(hits) / static_cast<double>(takes));
    add(std::string("batches recycled ") + pct + " (" + std::to_string(overflows) +
        " beyond the pool bounds)");
  }
  if (!figures.empty()) out << figures << '\n';
  for (const auto& reason : summary.degraded_reasons) out << "degraded: " << reason << '\n';
  if (!summary.stop_reason.empty()) out << "stopped: " << summary.stop_reason << '\n';
  // A failure's message is not repeated here: `arrowdaq run` prints it once, on stderr, and
  // summary.json keeps it.
  if (!summary.run_directory.empty()) out << "files: " << summary.run_directory << '\n';
  return out.str();
}

}  // namespace arrowdaq::app
