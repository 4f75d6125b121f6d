#include "arrowdaq/app/scan_run.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/type_traits.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <ostream>
#include <random>
#include <sstream>
#include <tuple>

#include "arrowdaq/app/json_writer.h"
#include "arrowdaq/app/scan_plan.h"
#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/schema.h"

namespace arrowdaq::app {

namespace {

using Clock = std::chrono::steady_clock;

std::string NewUid() {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::lock_guard lock(mutex);
  const std::uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx",
                static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
                static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

double Seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

// Read column `index` of `batch` as doubles (any integer or floating type); nulls are NaN.
std::vector<double> ColumnAsDoubles(const arrow::Array& array) {
  std::vector<double> out(static_cast<std::size_t>(array.length()));
  auto fill = [&](auto* typed) {
    for (std::int64_t i = 0; i < array.length(); ++i) {
      out[static_cast<std::size_t>(i)] =
          array.IsNull(i) ? std::nan("") : static_cast<double>(typed->Value(i));
    }
  };
  switch (array.type_id()) {
    case arrow::Type::DOUBLE: fill(static_cast<const arrow::DoubleArray*>(&array)); break;
    case arrow::Type::FLOAT: fill(static_cast<const arrow::FloatArray*>(&array)); break;
    case arrow::Type::INT8: fill(static_cast<const arrow::Int8Array*>(&array)); break;
    case arrow::Type::INT16: fill(static_cast<const arrow::Int16Array*>(&array)); break;
    case arrow::Type::INT32: fill(static_cast<const arrow::Int32Array*>(&array)); break;
    case arrow::Type::INT64: fill(static_cast<const arrow::Int64Array*>(&array)); break;
    case arrow::Type::UINT8: fill(static_cast<const arrow::UInt8Array*>(&array)); break;
    case arrow::Type::UINT16: fill(static_cast<const arrow::UInt16Array*>(&array)); break;
    case arrow::Type::UINT32: fill(static_cast<const arrow::UInt32Array*>(&array)); break;
    case arrow::Type::UINT64: fill(static_cast<const arrow::UInt64Array*>(&array)); break;
    default: std::fill(out.begin(), out.end(), std::nan("")); break;
  }
  return out;
}

// A polled detector's reply as a number: the whole reply (spaces around allowed).
Result<double> ParseReply(const std::string& reply) {
  const char* begin = reply.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  while (end != nullptr && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) ++end;
  if (end == begin || end == nullptr || *end != '\0' || errno == ERANGE) {
    return Status::Invalid("reply '", reply, "' is not a number");
  }
  return v;
}

struct AxisRef {
  std::string motor;
  int index = 0;
  instruments::AxisInfo info;
  std::string key;  // data key of the readback: <motor>_<axis>
};

struct DetectorRef {
  config::PlanDetectorConfig config;
  std::string column;  // stream detectors
  Reduction reduction = Reduction::kMean;
  std::string unit;
};

struct Sample {
  std::int64_t ts;
  double value;
};

// What the collector keeps of one detector stream.
struct StreamBuffer {
  std::vector<std::size_t> detectors;  // indices into detectors_
  std::vector<std::deque<Sample>> samples;  // per detector of this stream
  std::int64_t latest_ts = 0;
  std::int64_t last_sequence = -1;
  std::int64_t last_packet_ts = 0;
  // (last sample before, first sample after, flag bit) of a hole: a sequence gap (packets
  // the subscription lost) or samples the stream lost (its overrun/gap event, told before the
  // batch after the hole is published).
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> holes;
  bool loss_told = false;            // an overrun/gap event not yet located
  double period_ns = 0;              // 1e9 / the stream's rate_hz (0: none declared)
  std::vector<std::int64_t> events;  // times of fault events
};

}  // namespace

std::string_view ToString(ScanExit exit) {
  switch (exit) {
    case ScanExit::kSuccess: return "success";
    case ScanExit::kAbort: return "abort";
    case ScanExit::kFail: return "fail";
  }
  return "fail";
}

struct ScanExecutor::Impl {
  Engine* engine = nullptr;
  config::PlanConfig plan;
  ScanOptions options;
  std::filesystem::path run_dir;
  PlanPointList points;  // computed point by point (a large grid is millions of points)
  std::vector<AxisRef> axes;
  std::vector<DetectorRef> detectors;
  std::shared_ptr<pipeline::Subscription> subscription;
  std::string subscription_name;
  int listener = -1;
  std::ofstream documents;
  std::shared_ptr<pipeline::StreamHandle> stream;  // "scan"

  std::mutex mutex;  // guards buffers
  std::condition_variable arrived;
  std::map<std::string, StreamBuffer> buffers;

  std::atomic<int> interrupts{0};  // since the last resume
  std::atomic<bool> abort{false};
  std::atomic<bool> resume{false};
  std::atomic<bool> paused{false};
  std::atomic<std::int64_t> done_points{0};
  std::atomic<bool> finished{false};

  std::thread loop;
  std::thread collector;
  std::function<void()> on_done;

  ScanExit exit = ScanExit::kSuccess;
  std::string reason;
  std::int64_t taken = 0;
  std::string start_uid, descriptor_uid;

  ~Impl() {
    abort.store(true);
    if (loop.joinable()) loop.join();
    Close();
  }

  void Close() {
    if (listener >= 0) {
      engine->events().RemoveListener(listener);
      listener = -1;
    }
    if (subscription) {
      (void)engine->router().Unsubscribe(subscription_name);
      subscription->Close();
    }
    if (collector.joinable()) collector.join();
    subscription.reset();
  }

  // ----- collector

  void Collect() {
    while (auto packet = subscription->Next()) {
      if (!packet->batch) continue;
      const std::string& name = packet->stream_name();
      std::lock_guard lock(mutex);
      auto it = buffers.find(name);
      if (it == buffers.end()) continue;
      StreamBuffer& buf = it->second;
      const auto ts = std::static_pointer_cast<arrow::TimestampArray>(packet->batch->column(0));
      const std::int64_t rows = packet->batch->num_rows();
      if (rows == 0) continue;
      const std::int64_t first_ts = ts->Value(0);
      const auto seq = static_cast<std::int64_t>(packet->sequence);
      if (buf.last_sequence >= 0 && seq != buf.last_sequence + 1) {
        buf.holes.emplace_back(buf.last_packet_ts, first_ts, kFlagGap);
      }
      // Samples the stream lost (its overrun/gap event is told before the batch after the
      // hole is published, possibly while earlier batches are still queued here): the hole
      // is the first step between packets longer than 1.5 sample periods (any step when the
      // stream declares no rate).
      if (buf.loss_told &&
          (buf.period_ns <= 0 || buf.last_sequence < 0 ||
           static_cast<double>(first_ts - buf.last_packet_ts) > 1.5 * buf.period_ns)) {
        buf.holes.emplace_back(buf.last_packet_ts, first_ts, kFlagEvent);
        buf.loss_told = false;
      }
      buf.last_sequence = seq;
      for (std::size_t k = 0; k < buf.detectors.size(); ++k) {
        const DetectorRef& d = detectors[buf.detectors[k]];
        const int col = packet->batch->schema()->GetFieldIndex(d.column);
        if (col < 0) continue;
        const std::vector<double> values = ColumnAsDoubles(*packet->batch->column(col));
        for (std::int64_t r = 0; r < rows; ++r) {
          buf.samples[k].push_back({ts->Value(r), values[static_cast<std::size_t>(r)]});
        }
      }
      buf.last_packet_ts = ts->Value(rows - 1);
      buf.latest_ts = std::max(buf.latest_ts, buf.last_packet_ts);
      arrived.notify_all();
    }
    std::lock_guard lock(mutex);
    arrived.notify_all();
  }

  // ----- documents

  void WriteDocument(const std::string& name, const std::string& json) {
    // One line per document: collapse the writer's indentation.
    std::string line;
    line.reserve(json.size());
    bool in_string = false, escaped = false;
    for (char c : json) {
      if (in_string) {
        line += c;
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '"') in_string = true;
      if (c == '\n') continue;
      if (c == ' ' && !line.empty() && (line.back() == ' ' || line.back() == '{' ||
                                        line.back() == '[' || line.back() == ',')) {
        continue;
      }
      line += c;
    }
    documents << "[\"" << name << "\", " << line << "]\n" << std::flush;
    if (options.documents) PublishDocument(name, line);
  }

  // One row of the stream `scan_documents`: the document exactly as documents.jsonl has it.
  // Best effort: a live feed; documents.jsonl is the record.
  void PublishDocument(const std::string& name, const std::string& line) {
    static std::atomic<std::int64_t> next_seq{1};
    std::int64_t seq = next_seq.fetch_add(1);
    // Plain heap buffers, as in Publish (ThreadSanitizer and Arrow's pool, tests/tsan.supp).
    auto text = [](const std::string& value) {
      return arrow::ArrayData::Make(
          arrow::utf8(), 1,
          {nullptr,
           arrow::Buffer::FromVector(
               std::vector<std::int32_t>{0, static_cast<std::int32_t>(value.size())}),
           arrow::Buffer::FromVector(std::vector<char>(value.begin(), value.end()))},
          0);
    };
    std::vector<std::shared_ptr<arrow::ArrayData>> columns{
        arrow::ArrayData::Make(
            TimestampType(), 1,
            {nullptr, arrow::Buffer::FromVector(std::vector<std::int64_t>{WallClockNanos()})}, 0),
        arrow::ArrayData::Make(arrow::int64(), 1,
                               {nullptr, arrow::Buffer::FromVector(std::vector<std::int64_t>{seq})},
                               0),
        text(name), text(line)};
    auto batch = arrow::RecordBatch::Make(options.documents->info()->schema, 1, std::move(columns));
    (void)engine->router().Publish(*options.documents, std::move(batch));
  }

  std::string DetectorSource(const DetectorRef& d) const { return DetectorSourceOf(d); }
  static std::string DetectorSourceOf(const DetectorRef& d) {
    return d.config.stream.empty() ? "query:" + d.config.instrument + ":" + d.config.query
                                   : "stream:" + d.config.stream + "." + d.column + ":" +
                                         std::string(ToString(d.reduction));
  }

  void WriteStart(std::int64_t now_ns) {
    start_uid = NewUid();
    JsonWriter w;
    w.BeginObject();
    w.Key("uid").String(start_uid);
    w.Key("time").Double(Seconds(now_ns));
    w.Key("scan_id").Int(options.scan_id);
    w.Key("plan_name").String(plan.name);
    w.Key("plan_type").String(plan.kind);
    w.Key("plan_args").BeginObject();
    w.Key("kind").String(plan.kind);
    if (plan.kind == "count") w.Key("num").Int(plan.num);
    if (plan.kind == "grid") w.Key("snake").Bool(plan.snake);
    w.Key("settle").Double(std::chrono::duration<double>(plan.settle).count());
    w.Key("dwell").Double(std::chrono::duration<double>(plan.dwell).count());
    w.Key("axes").BeginArray();
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const auto& a = plan.axes[i];
      w.BeginObject();
      w.Key("motor").String(a.motor);
      w.Key("axis").String(axes[i].info.name);
      if (plan.kind == "list") {
        w.Key("positions").BeginArray();
        for (double p : a.positions) w.Double(p);
        w.EndArray();
      } else {
        w.Key("start").Double(a.start).Key("stop").Double(a.stop).Key("num").Int(a.num);
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    w.Key("motors").BeginArray();
    for (const auto& a : axes) w.String(a.key);
    w.EndArray();
    w.Key("detectors").BeginArray();
    for (const auto& d : detectors) w.String(d.config.name);
    w.EndArray();
    w.Key("num_points").Int(static_cast<std::int64_t>(points.size()));
    w.Key("num_intervals").Int(static_cast<std::int64_t>(points.size()) - 1);
    if (plan.kind == "grid") {
      w.Key("shape").BeginArray();
      for (const auto& a : plan.axes) w.Int(a.num);
      w.EndArray();
      w.Key("extents").BeginArray();
      for (const auto& a : plan.axes) w.BeginArray().Double(a.start).Double(a.stop).EndArray();
      w.EndArray();
      w.Key("snaking").BeginArray();
      for (std::size_t i = 0; i < plan.axes.size(); ++i) w.Bool(plan.snake && i > 0);
      w.EndArray();
    }
    w.Key("hints").BeginObject();
    w.Key("dimensions").BeginArray();
    if (axes.empty()) {
      w.BeginArray().BeginArray().String("time").EndArray().String("primary").EndArray();
    } else {
      for (const auto& a : axes) {
        w.BeginArray().BeginArray().String(a.key).EndArray().String("primary").EndArray();
      }
    }
    w.EndArray();
    w.EndObject();
    w.Key("run_dir").String(run_dir.string());
    w.EndObject();
    WriteDocument("start", w.str());
  }

  void WriteDescriptor(std::int64_t now_ns) {
    descriptor_uid = NewUid();
    JsonWriter w;
    w.BeginObject();
    w.Key("uid").String(descriptor_uid);
    w.Key("time").Double(Seconds(now_ns));
    w.Key("run_start").String(start_uid);
    w.Key("name").String("primary");
    w.Key("data_keys").BeginObject();
    for (const auto& a : axes) {
      for (const bool setpoint : {false, true}) {
        w.Key(a.key + (setpoint ? "_setpoint" : "")).BeginObject();
        w.Key("dtype").String("number");
        w.Key("shape").BeginArray().EndArray();
        w.Key("source").String((setpoint ? "setpoint:" : "readback:") + a.motor + "." +
                               a.info.name);
        w.Key("units").String(a.info.unit);
        w.Key("object_name").String(a.motor);
        w.EndObject();
      }
    }
    for (const auto& d : detectors) {
      w.Key(d.config.name).BeginObject();
      w.Key("dtype").String(d.reduction == Reduction::kCount && !d.config.stream.empty()
                                ? "integer"
                                : "number");
      w.Key("shape").BeginArray().EndArray();
      w.Key("source").String(DetectorSource(d));
      if (!d.unit.empty()) w.Key("units").String(d.unit);
      w.Key("object_name").String(d.config.stream.empty() ? d.config.instrument : d.config.stream);
      w.EndObject();
    }
    w.Key("flags").BeginObject();
    w.Key("dtype").String("integer");
    w.Key("shape").BeginArray().EndArray();
    w.Key("source").String("arrowdaq:window flags (1 gap, 2 stream event, 4 incomplete)");
    w.EndObject();
    w.Key("t0").BeginObject();
    w.Key("dtype").String("integer").Key("shape").BeginArray().EndArray();
    w.Key("source").String("arrowdaq:window start, ns since the Unix epoch").Key("units").String("ns");
    w.EndObject();
    w.Key("t1").BeginObject();
    w.Key("dtype").String("integer").Key("shape").BeginArray().EndArray();
    w.Key("source").String("arrowdaq:window end, ns since the Unix epoch").Key("units").String("ns");
    w.EndObject();
    w.EndObject();
    w.Key("hints").BeginObject();
    for (const auto& d : detectors) {
      w.Key(d.config.stream.empty() ? d.config.instrument : d.config.stream).BeginObject();
      w.Key("fields").BeginArray().String(d.config.name).EndArray();
      w.EndObject();
    }
    w.EndObject();
    w.Key("object_keys").BeginObject();
    std::map<std::string, std::vector<std::string>> objects;
    for (const auto& a : axes) {
      objects[a.motor].push_back(a.key);
      objects[a.motor].push_back(a.key + "_setpoint");
    }
    for (const auto& d : detectors) {
      objects[d.config.stream.empty() ? d.config.instrument : d.config.stream].push_back(
          d.config.name);
    }
    for (const auto& [object, keys] : objects) {
      w.Key(object).BeginArray();
      for (const auto& k : keys) w.String(k);
      w.EndArray();
    }
    w.EndObject();
    w.EndObject();
    WriteDocument("descriptor", w.str());
  }

  void WriteStop() {
    JsonWriter w;
    w.BeginObject();
    w.Key("uid").String(NewUid());
    w.Key("time").Double(Seconds(WallClockNanos()));
    w.Key("run_start").String(start_uid);
    w.Key("exit_status").String(std::string(ToString(exit)));
    w.Key("reason").String(reason);
    w.Key("num_events").BeginObject().Key("primary").Int(taken).EndObject();
    w.EndObject();
    WriteDocument("stop", w.str());
  }

  // ----- progress

  void Progress(const std::string& text, bool line) {
    if (options.progress == nullptr) return;
    if (options.interactive && !line) {
      *options.progress << "\r\x1b[K" << text << std::flush;
    } else {
      *options.progress << (options.interactive ? "\r\x1b[K" : "") << text << '\n' << std::flush;
    }
  }

  void PointProgress(std::int64_t done, Clock::time_point started) {
    const std::int64_t total = static_cast<std::int64_t>(points.size());
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    const double eta = done > 0 ? elapsed / static_cast<double>(done) *
                                      static_cast<double>(total - done)
                                : 0;
    char eta_text[32];
    std::snprintf(eta_text, sizeof(eta_text), "%.1f s", eta);
    if (options.interactive) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(kWidth * done / std::max<std::int64_t>(1, total));
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(kWidth, '.');
      Progress("scan " + plan.name + " [" + bar + "] " + std::to_string(done) + "/" +
                   std::to_string(total) + " points, ETA " + eta_text,
               false);
    } else {
      Progress("scan: point " + std::to_string(done) + "/" + std::to_string(total) +
                   " done, ETA " + eta_text,
               true);
    }
  }

  // ----- the point loop

  bool Aborted() const { return abort.load(); }

  Status StopMotors() {
    Status first;
    for (const auto& a : axes) {
      Status st = engine->manager().StopMotion(a.motor, a.index);
      if (first.ok() && !st.ok()) first = st;
    }
    return first;
  }

  // Wait while paused; returns false when the scan is to abort.
  bool PauseIfAsked(std::int64_t next_point) {
    if (interrupts.load() == 0) return !Aborted();
    (void)StopMotors();
    paused.store(true);
    Progress("scan: paused before point " + std::to_string(next_point + 1) + "/" +
                 std::to_string(points.size()) +
                 " (motors stopped); type r and Enter to resume, a to abort (or Ctrl-C again)",
             true);
    std::string pending;
    bool input_open = options.input_fd >= 0;
    while (!Aborted() && !resume.load()) {
      if (!input_open) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      pollfd p{options.input_fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 50);
      if (ready <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(options.input_fd, buf, sizeof(buf));
      if (n <= 0) {
        input_open = false;  // EOF: only signals can end the pause now
        continue;
      }
      pending.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
        std::string word = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        while (!word.empty() && (word.back() == '\r' || word.back() == ' ')) word.pop_back();
        if (word == "r" || word == "resume") {
          resume.store(true);
        } else if (word == "a" || word == "abort") {
          abort.store(true);
        } else if (!word.empty()) {
          Progress("scan: answer r (resume) or a (abort), not '" + word + "'", true);
        }
      }
    }
    if (Aborted()) {
      paused.store(false);
      return false;
    }
    resume.store(false);
    interrupts.store(0);
    paused.store(false);
    Progress("scan: resumed at point " + std::to_string(next_point + 1) + "/" +
                 std::to_string(points.size()),
             true);
    return true;
  }

  // Move every axis to the point and wait until all have stopped: one MoveAndWait per axis,
  // all at once; each instrument follows its axes itself and answers with the readback. An
  // abort stops the axes at once (Cancelled).
  Status Move(const ScanPoint& p, std::vector<double>* readback, std::int64_t* readback_ns) {
    std::vector<pipeline::AxisTarget> targets;
    targets.reserve(axes.size());
    for (std::size_t i = 0; i < axes.size(); ++i) {
      targets.push_back({axes[i].motor, axes[i].index, p.positions[i],
                         axes[i].motor + "." + axes[i].info.name});
    }
    auto moved = engine->manager().MoveAndWait(targets, [this] { return Aborted(); },
                                               std::chrono::milliseconds(10), plan.move_timeout);
    if (moved.status().IsCancelled()) return Status::Cancelled("aborted while moving");
    ARROW_ASSIGN_OR_RAISE(*readback, std::move(moved));
    *readback_ns = WallClockNanos();
    return Status::OK();
  }

  struct Reading {
    double value = std::nan("");
    std::int64_t ts = 0;
  };

  // Take the window over every stream detector and query the polled ones.
  Status Measure(std::int64_t t0, std::int64_t t1, std::vector<Reading>* out,
                 std::int64_t* flags) {
    out->assign(detectors.size(), Reading{});
    const bool one_sample = t1 == t0;
    // How long a stream may take to deliver its sample after t1 before the point is flagged.
    const auto grace = std::chrono::seconds(5) + plan.dwell * 4;
    const auto deadline = Clock::now() + grace;
    std::unique_lock lock(mutex);
    for (auto& [name, buf] : buffers) {
      const bool reached = arrived.wait_until(lock, deadline, [&] {
        if (Aborted() || (subscription && subscription->closed())) return true;
        if (one_sample) return buf.latest_ts >= t0;
        return buf.latest_ts >= t1;
      });
      if (!reached || (one_sample ? buf.latest_ts < t0 : buf.latest_ts < t1)) {
        *flags |= kFlagIncomplete;
      }
      for (const auto& [before, after, bit] : buf.holes) {
        if (after >= t0 && before <= t1) *flags |= bit;
      }
      for (std::int64_t e : buf.events) {
        if (e >= t0) *flags |= kFlagEvent;
      }
      for (std::size_t k = 0; k < buf.detectors.size(); ++k) {
        auto& samples = buf.samples[k];
        std::vector<double> values;
        std::int64_t last_ts = t1;
        for (const Sample& s : samples) {
          if (s.ts < t0) continue;
          if (one_sample) {
            values.push_back(s.value);
            last_ts = s.ts;
            break;
          }
          if (s.ts > t1) break;
          values.push_back(s.value);
        }
        const DetectorRef& d = detectors[buf.detectors[k]];
        (*out)[buf.detectors[k]] = {Reduce(d.reduction, values.data(), values.size()), last_ts};
        // Samples before the window's end are not needed again.
        while (!samples.empty() && samples.front().ts <= t1) samples.pop_front();
      }
      buf.holes.clear();
      buf.events.clear();
    }
    lock.unlock();
    // The polled detectors, queried all at once (different instruments answer concurrently).
    std::vector<std::pair<std::string, std::string>> queries;
    std::vector<std::size_t> polled;
    for (std::size_t i = 0; i < detectors.size(); ++i) {
      if (!detectors[i].config.stream.empty()) continue;
      queries.emplace_back(detectors[i].config.instrument, detectors[i].config.query);
      polled.push_back(i);
    }
    if (queries.empty()) return Status::OK();
    auto replies = engine->manager().SendCommandMany(queries);
    for (std::size_t k = 0; k < polled.size(); ++k) {
      const std::size_t i = polled[k];
      const DetectorRef& d = detectors[i];
      ARROW_ASSIGN_OR_RAISE(std::string reply, std::move(replies[k]));
      auto value = ParseReply(reply);
      if (!value.ok()) {
        return Status::IOError("detector ", d.config.name, ": instrument ", d.config.instrument,
                               " answered '", d.config.query, "' with ",
                               value.status().message());
      }
      (*out)[i] = {*value, WallClockNanos()};
    }
    return Status::OK();
  }

  // One row of the stream `scan` per point (schema: MakeStreamSchemaFor).
  Status Publish(std::int64_t seq, const ScanPoint& p, const std::vector<double>& readback,
                 const std::vector<Reading>& readings, std::int64_t flags, std::int64_t t0,
                 std::int64_t t1) {
    if (!stream) return Status::OK();
    // One value per column, in plain heap vectors (Buffer::FromVector) rather than Arrow's
    // pool, whose reuse of memory across threads ThreadSanitizer cannot see (tests/tsan.supp).
    std::vector<std::shared_ptr<arrow::ArrayData>> columns;
    auto add_double = [&](double v) -> Status {
      columns.push_back(arrow::ArrayData::Make(
          arrow::float64(), 1, {nullptr, arrow::Buffer::FromVector(std::vector<double>{v})}, 0));
      return Status::OK();
    };
    auto add_int = [&](std::int64_t v) -> Status {
      columns.push_back(arrow::ArrayData::Make(
          arrow::int64(), 1, {nullptr, arrow::Buffer::FromVector(std::vector<std::int64_t>{v})},
          0));
      return Status::OK();
    };
    columns.push_back(arrow::ArrayData::Make(
        TimestampType(), 1, {nullptr, arrow::Buffer::FromVector(std::vector<std::int64_t>{t1})},
        0));
    for (std::size_t i = 0; i < detectors.size(); ++i) {
      if (IsCount(detectors[i])) {
        ARROW_RETURN_NOT_OK(add_int(static_cast<std::int64_t>(readings[i].value)));
      } else {
        ARROW_RETURN_NOT_OK(add_double(readings[i].value));
      }
    }
    for (double x : readback) ARROW_RETURN_NOT_OK(add_double(x));
    for (double x : p.positions) ARROW_RETURN_NOT_OK(add_double(x));
    ARROW_RETURN_NOT_OK(add_int(flags));
    ARROW_RETURN_NOT_OK(add_int(t0));
    ARROW_RETURN_NOT_OK(add_int(t1));
    ARROW_RETURN_NOT_OK(add_int(seq));
    if (plan.kind == "grid") {  // the pixel: row-major over the axes' positions
      std::int64_t flat = 0;
      for (std::size_t j = 0; j < p.indices.size(); ++j) {
        flat = flat * plan.axes[j].num + p.indices[j];
      }
      ARROW_RETURN_NOT_OK(add_int(flat));
    }
    auto batch = arrow::RecordBatch::Make(stream->info()->schema, 1, std::move(columns));
    return engine->router().Publish(*stream, std::move(batch)).status();
  }

  static bool IsCount(const DetectorRef& d) {
    return d.reduction == Reduction::kCount && !d.config.stream.empty();
  }

  void WriteEvent(std::int64_t seq, const ScanPoint& p, const std::vector<double>& readback,
                  std::int64_t readback_ns, const std::vector<Reading>& readings,
                  std::int64_t flags, std::int64_t t0, std::int64_t t1) {
    JsonWriter w;
    w.BeginObject();
    w.Key("uid").String(NewUid());
    w.Key("time").Double(Seconds(WallClockNanos()));
    w.Key("descriptor").String(descriptor_uid);
    w.Key("seq_num").Int(seq);
    w.Key("data").BeginObject();
    for (std::size_t i = 0; i < axes.size(); ++i) {
      w.Key(axes[i].key).Double(readback[i]);
      w.Key(axes[i].key + "_setpoint").Double(p.positions[i]);
    }
    for (std::size_t i = 0; i < detectors.size(); ++i) {
      if (detectors[i].reduction == Reduction::kCount && !detectors[i].config.stream.empty()) {
        w.Key(detectors[i].config.name).Int(static_cast<std::int64_t>(readings[i].value));
      } else {
        w.Key(detectors[i].config.name).Double(readings[i].value);
      }
    }
    w.Key("flags").Int(flags);
    w.Key("t0").Int(t0);
    w.Key("t1").Int(t1);
    w.EndObject();
    w.Key("timestamps").BeginObject();
    for (const auto& a : axes) {
      w.Key(a.key).Double(Seconds(readback_ns));
      w.Key(a.key + "_setpoint").Double(Seconds(readback_ns));
    }
    for (std::size_t i = 0; i < detectors.size(); ++i) {
      w.Key(detectors[i].config.name).Double(Seconds(readings[i].ts));
    }
    for (const char* key : {"flags", "t0", "t1"}) w.Key(key).Double(Seconds(t1));
    w.EndObject();
    w.EndObject();
    WriteDocument("event", w.str());
  }

  void Run() {
    const auto started = Clock::now();
    WriteStart(WallClockNanos());
    WriteDescriptor(WallClockNanos());
    PointProgress(0, started);
    std::vector<double> readback;
    std::vector<Reading> readings;
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (!PauseIfAsked(static_cast<std::int64_t>(i))) {
        exit = ScanExit::kAbort;
        reason = "aborted before point " + std::to_string(i + 1) + " of " +
                 std::to_string(points.size());
        break;
      }
      std::int64_t readback_ns = 0;
      const ScanPoint point = points[i];
      Status st = Move(point, &readback, &readback_ns);
      if (st.IsCancelled()) {
        (void)StopMotors();
        exit = ScanExit::kAbort;
        reason = "aborted while moving to point " + std::to_string(i + 1);
        break;
      }
      if (!st.ok()) {
        (void)StopMotors();
        exit = ScanExit::kFail;
        reason = "point " + std::to_string(i + 1) + ": " + st.message();
        break;
      }
      if (plan.settle.count() > 0) std::this_thread::sleep_for(plan.settle);
      const std::int64_t t0 = WallClockNanos();
      const std::int64_t t1 = t0 + plan.dwell.count();
      if (plan.dwell.count() > 0) {
        std::this_thread::sleep_for(plan.dwell);
      }
      std::int64_t flags = 0;
      st = Measure(t0, t1, &readings, &flags);
      if (!st.ok()) {
        exit = ScanExit::kFail;
        reason = "point " + std::to_string(i + 1) + ": " + st.message();
        break;
      }
      if (Aborted()) {
        // Aborted during the window: the window may be cut short; the point is not stored.
        exit = ScanExit::kAbort;
        reason = "aborted at point " + std::to_string(i + 1);
        break;
      }
      ++taken;
      WriteEvent(taken, point, readback, readback_ns, readings, flags, t0, t1);
      done_points.store(taken);
      if (Status published = Publish(taken, point, readback, readings, flags, t0, t1);
          !published.ok()) {
        // The run is ending under the scan (the stream was sealed) or storage refused it.
        exit = ScanExit::kFail;
        reason = "point " + std::to_string(taken) + ": stream scan: " + published.message();
        break;
      }
      PointProgress(taken, started);
    }
    if (Aborted() && exit == ScanExit::kSuccess && taken < static_cast<std::int64_t>(points.size())) {
      exit = ScanExit::kAbort;
      reason = "aborted";
    }
    WriteStop();
    Progress("scan: " + std::string(ToString(exit)) + ", " + std::to_string(taken) + "/" +
                 std::to_string(points.size()) + " points" +
                 (reason.empty() ? "" : " (" + reason + ")"),
             true);
  }
};

ScanExecutor::ScanExecutor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::shared_ptr<pipeline::StreamHandle>> ScanExecutor::DeclareDocumentsStream(
    pipeline::StreamRouter& router) {
  ARROW_ASSIGN_OR_RAISE(
      auto schema,
      MakeStreamSchema({{"seq", "", "the document's number on this stream (1, 2, ...)",
                         arrow::int64()},
                        {"name", "", "start, descriptor, event or stop", arrow::utf8()},
                        {"doc", "", "the document, one line of JSON as in documents.jsonl",
                         arrow::utf8()}},
                       {{"driver", "arrowdaq.scan"}, {"arrowdaq.store", "false"}}));
  return router.AddStream(
      std::make_shared<StreamInfo>(StreamInfo{kDocumentsStreamName, std::move(schema)}));
}

ScanExecutor::~ScanExecutor() { Join(); }

Result<std::unique_ptr<ScanExecutor>> ScanExecutor::Make(Engine& engine, const RunPlan& run_plan,
                                                         const config::PlanConfig& plan,
                                                         ScanOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->engine = &engine;
  impl->plan = plan;
  impl->options = options;
  ARROW_ASSIGN_OR_RAISE(impl->points, PlanPointList::Make(plan));
  std::string index;
  for (std::size_t i = 0; i < engine.config().plans.size(); ++i) {
    if (engine.config().plans[i].name == plan.name) index = std::to_string(i);
  }
  const std::string path = "plans[" + index + "]";
  for (std::size_t i = 0; i < plan.axes.size(); ++i) {
    const auto& a = plan.axes[i];
    const auto it = run_plan.motor_axes.find(a.motor);
    if (it == run_plan.motor_axes.end()) {
      return Status::Invalid("plan '", plan.name, "': motor '", a.motor, "' was not planned");
    }
    ARROW_ASSIGN_OR_RAISE(const int ax,
                          PlanAxisIndex(it->second, a, path + ".axes[" + std::to_string(i) + "]"));
    AxisRef ref{a.motor, ax, it->second[static_cast<std::size_t>(ax)], ""};
    ref.key = a.motor + "_" + ref.info.name;
    impl->axes.push_back(std::move(ref));
  }
  std::vector<std::string> streams;
  for (std::size_t i = 0; i < plan.detectors.size(); ++i) {
    const auto& d = plan.detectors[i];
    DetectorRef ref;
    ref.config = d;
    if (!d.stream.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto info, engine.router().FindStream(d.stream));
      ARROW_ASSIGN_OR_RAISE(ref.column, DetectorColumn(*info->schema, d,
                                                       path + ".detectors[" + std::to_string(i) +
                                                           "]"));
      ARROW_ASSIGN_OR_RAISE(ref.reduction, ParseReduction(d.reduce));
      if (ref.reduction != Reduction::kCount) {
        ref.unit = FieldUnit(*info->schema->GetFieldByName(ref.column));
      }
      StreamBuffer& buf = impl->buffers[d.stream];
      if (auto rate = StreamRate(*info->schema); rate.ok() && *rate > 0) buf.period_ns = 1e9 / *rate;
      buf.detectors.push_back(i);
      buf.samples.emplace_back();
      if (std::find(streams.begin(), streams.end(), d.stream) == streams.end()) {
        streams.push_back(d.stream);
      }
    }
    impl->detectors.push_back(std::move(ref));
  }
  // The stream of points: timestamp (t1), detectors, readbacks, setpoints, flags, t0, t1,
  // seq_num; the first detector is the first channel, so run.h5 plots it (NXdata signal).
  {
    std::vector<ChannelSpec> channels;
    for (const auto& d : impl->detectors) {
      channels.push_back({d.config.name, d.unit, Impl::DetectorSourceOf(d),
                          Impl::IsCount(d) ? arrow::int64() : arrow::float64()});
    }
    for (const auto& a : impl->axes) {
      channels.push_back({a.key, a.info.unit, "readback of " + a.motor + "." + a.info.name});
    }
    for (const auto& a : impl->axes) {
      channels.push_back({a.key + "_setpoint", a.info.unit,
                          "target of " + a.motor + "." + a.info.name});
    }
    channels.push_back({"flags", "", "window flags: 1 gap, 2 stream event, 4 incomplete",
                        arrow::int64()});
    channels.push_back({"t0", "ns", "window start, ns since the Unix epoch", arrow::int64()});
    channels.push_back({"t1", "ns", "window end, ns since the Unix epoch", arrow::int64()});
    channels.push_back({"seq_num", "", "the event's seq_num (1, 2, ...)", arrow::int64()});
    const bool grid = plan.kind == "grid";
    if (grid) {
      channels.push_back({"grid_index", "",
                          "the point's pixel in the grid, row-major (C order), de-snaked",
                          arrow::int64()});
    }
    std::vector<std::pair<std::string, std::string>> metadata = {
        {"driver", "arrowdaq.scan"}, {"plan", plan.name}, {"plan_kind", plan.kind},
        {"nexus.default", "true"}};
    if (!impl->axes.empty()) {  // run.h5 plots the signal against the motor readbacks
      std::string axes;
      for (const auto& a : impl->axes) axes += (axes.empty() ? "" : ",") + a.key;
      metadata.emplace_back("nexus.axes", axes);
    }
    if (grid) {  // run.h5 also gets the points as an image, /scan_grid (docs/file-format.md)
      std::string shape, axes, signals;
      for (std::size_t j = 0; j < impl->axes.size(); ++j) {
        const std::vector<double> along = AxisPositions(plan.axes[j]);
        shape += (j == 0 ? "" : ",") + std::to_string(along.size());
        axes += (j == 0 ? "" : ",") + impl->axes[j].key;
        std::string values;
        for (double v : along) {
          char text[32];
          std::snprintf(text, sizeof(text), "%.17g", v);
          values += (values.empty() ? "" : ",") + std::string(text);
        }
        metadata.emplace_back("nexus.grid.axis." + impl->axes[j].key, values);
      }
      for (const auto& d : impl->detectors) signals += d.config.name + ",";
      metadata.emplace_back("nexus.grid.shape", shape);
      metadata.emplace_back("nexus.grid.axes", axes);
      metadata.emplace_back("nexus.grid.signals", signals + "flags");
      metadata.emplace_back("nexus.grid.index", "grid_index");
    }
    ARROW_ASSIGN_OR_RAISE(auto schema, MakeStreamSchema(channels, metadata));
    auto added = engine.router().AddStream(
        std::make_shared<StreamInfo>(StreamInfo{kStreamName, std::move(schema)}));
    if (!added.ok()) {
      return Status::Invalid("cannot declare the stream '", kStreamName,
                             "' of the scan's points: ", added.status().message(),
                             " (rename the instrument or processor called '", kStreamName,
                             "')");
    }
    impl->stream = *added;
  }
  if (!streams.empty()) {
    impl->subscription_name = "scan-" + plan.name;
    pipeline::SubscriptionOptions so;
    so.name = impl->subscription_name;
    so.streams = streams;
    so.capacity = 1024;
    // Lossless: the collector only appends to memory, so it keeps up; a hole in the stream
    // itself shows as a sequence gap or an event, never as a drop of ours.
    so.policy = OverflowPolicy::kBlock;
    ARROW_ASSIGN_OR_RAISE(impl->subscription, engine.router().Subscribe(std::move(so)));
    Impl* raw = impl.get();
    impl->listener = engine.events().AddRawListener([raw](const RunEvent& e) {
      if (e.kind != "gap" && e.kind != "overrun" && e.kind != "fault") return;
      std::lock_guard lock(raw->mutex);
      auto it = raw->buffers.find(e.stream);
      if (it == raw->buffers.end()) return;
      if (e.kind == "fault") {
        it->second.events.push_back(e.time_ns);
      } else {
        it->second.loss_told = true;  // located by the next packet's first timestamp
      }
    });
    impl->collector = std::thread([raw] { raw->Collect(); });
  }
  return std::unique_ptr<ScanExecutor>(new ScanExecutor(std::move(impl)));
}

Status ScanExecutor::Start(const std::filesystem::path& run_dir, std::function<void()> on_done) {
  Impl* impl = impl_.get();
  impl->run_dir = run_dir;
  impl->documents.open(run_dir / "documents.jsonl", std::ios::out | std::ios::trunc);
  if (!impl->documents) {
    return Status::IOError("cannot create ", (run_dir / "documents.jsonl").string());
  }
  impl->on_done = std::move(on_done);
  impl->loop = std::thread([impl] {
    impl->Run();
    impl->finished.store(true);
    if (impl->on_done) impl->on_done();
  });
  return Status::OK();
}

void ScanExecutor::Interrupt() {
  if (impl_->interrupts.fetch_add(1) >= 1) impl_->abort.store(true);
}

void ScanExecutor::Pause() {
  int expected = 0;
  (void)impl_->interrupts.compare_exchange_strong(expected, 1);
}

bool ScanExecutor::paused() const { return impl_->paused.load(); }
std::int64_t ScanExecutor::points_done() const { return impl_->done_points.load(); }
bool ScanExecutor::done() const { return impl_->finished.load(); }

void ScanExecutor::Resume() { impl_->resume.store(true); }

void ScanExecutor::Abort() { impl_->abort.store(true); }

void ScanExecutor::Join() {
  if (!impl_) return;
  if (impl_->loop.joinable()) impl_->loop.join();
  impl_->Close();
}

ScanExit ScanExecutor::exit_status() const { return impl_->exit; }
const std::string& ScanExecutor::reason() const { return impl_->reason; }
std::int64_t ScanExecutor::points_taken() const { return impl_->taken; }
std::int64_t ScanExecutor::points_total() const {
  return static_cast<std::int64_t>(impl_->points.size());
}

}  // namespace arrowdaq::app
