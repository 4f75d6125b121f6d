#include "arrowdaq/pipeline/processor.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/util/key_value_metadata.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <sstream>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/dsp/fir_design.h"
#include "arrowdaq/dsp/fir_filter.h"
#include "arrowdaq/pipeline/processor_actor.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::pipeline {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::shared_ptr<const StreamInfo> Input(double rate = 1000.0, int channels = 2) {
  std::vector<ChannelSpec> ch;
  for (int c = 0; c < channels; ++c) ch.push_back({"ch" + std::to_string(c), "V", ""});
  auto schema = MakeStreamSchema(ch, {{kRateKey, FormatRate(rate)}}).ValueOrDie();
  return std::make_shared<StreamInfo>(StreamInfo{"daq", schema});
}

// Batch of rows [first, first + n) of x[c][i] = signal(c, i), timestamps 1 ms apart.
std::shared_ptr<arrow::RecordBatch> Batch(const StreamInfo& s, const std::vector<std::vector<double>>& x,
                                          int64_t first, int64_t n) {
  arrow::TimestampBuilder ts(TimestampType(), arrow::default_memory_pool());
  arrow::ArrayVector cols;
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(ts.Append((first + i) * 1'000'000).ok());
  cols.push_back(ts.Finish().ValueOrDie());
  for (const auto& channel : x) {
    arrow::DoubleBuilder b;
    EXPECT_TRUE(b.AppendValues(channel.data() + first, n).ok());
    cols.push_back(b.Finish().ValueOrDie());
  }
  return arrow::RecordBatch::Make(s.schema, n, cols);
}

std::vector<std::vector<double>> Signal(int channels, int n) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> d;
  std::vector<std::vector<double>> x(channels, std::vector<double>(n));
  for (auto& ch : x) for (auto& v : ch) v = d(rng);
  return x;
}

std::vector<double> ParseCoefficients(const arrow::Schema& schema) {
  std::vector<double> out;
  std::stringstream ss(schema.metadata()->Get(kProcessorCoefficientsKey).ValueOrDie());
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stod(item));
  return out;
}

TEST(Processor, FirOutputIsIndependentOfBatchingAndRecordsItsCoefficients) {
  auto in = Input();
  ProcessorSpec spec{"fir", "daq.lowpass", in,
                     {{"cutoff_hz", 50.0}, {"taps", int64_t{31}}, {"window", std::string("hann")}}};
  ASSERT_OK_AND_ASSIGN(auto p, MakeProcessor(spec));
  const auto& md = *p->output_schema()->metadata();
  EXPECT_EQ(md.Get(kProcessorKindKey).ValueOrDie(), "fir");
  EXPECT_EQ(md.Get(kProcessorInputKey).ValueOrDie(), "daq");
  EXPECT_THAT(md.Get(kProcessorParametersKey).ValueOrDie(), HasSubstr("cutoff_hz=50"));
  auto coeffs = ParseCoefficients(*p->output_schema());
  ASSERT_OK_AND_ASSIGN(auto expect, dsp::Firwin(31, {50.0}, 1000.0, dsp::PassKind::kLowpass,
                                                dsp::Window::Hann()));
  EXPECT_EQ(coeffs, expect);  // exact: printed with 17 significant digits
  EXPECT_EQ(FieldUnit(*p->output_schema()->field(1)), "V");
  EXPECT_EQ(md.Get(kGroupDelaySamplesKey).ValueOrDie(), "15");
  EXPECT_EQ(md.Get(kGroupDelayNsKey).ValueOrDie(), "15000000");
  EXPECT_EQ(md.Get(kTimestampShiftKey).ValueOrDie(), "group_delay");

  auto x = Signal(2, 500);
  ASSERT_OK_AND_ASSIGN(auto reference, dsp::FirFilter<double>::Make(expect));
  std::vector<double> ref(500);
  reference.Process(x[1], ref);
  int64_t at = 0;
  for (int64_t n : {1, 7, 30, 2, 200, 260}) {
    auto batch = Batch(*in, x, at, n);
    ASSERT_OK_AND_ASSIGN(auto out, p->Process(*batch));
    ASSERT_EQ(out->num_rows(), n);
    // Linear phase: the output lags by (31 - 1) / 2 = 15 samples (15 ms at 1 kHz); its
    // timestamps are the input's minus that delay.
    const auto& t_in = static_cast<const arrow::TimestampArray&>(*batch->column(0));
    const auto& t_out = static_cast<const arrow::TimestampArray&>(*out->column(0));
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(t_out.Value(i), t_in.Value(i) - 15'000'000);
    const auto& y = static_cast<const arrow::DoubleArray&>(*out->column(2));
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y.Value(i), ref[at + i], 1e-12);
    at += n;
  }
}

TEST(Processor, DecimateKeepsEveryQthSampleAcrossBatches) {
  auto in = Input(1000.0, 1);
  ASSERT_OK_AND_ASSIGN(auto p, MakeProcessor({"decimate", "d", in, {{"factor", int64_t{3}}}}));
  EXPECT_EQ(StreamRate(*p->output_schema()).ValueOrDie(), 1000.0 / 3);
  auto x = Signal(1, 100);
  std::vector<int64_t> ts;
  int64_t at = 0;
  for (int64_t n : {1, 2, 4, 10, 83}) {
    ASSERT_OK_AND_ASSIGN(auto out, p->Process(*Batch(*in, x, at, n)));
    const auto& t = static_cast<const arrow::TimestampArray&>(*out->column(0));
    for (int64_t i = 0; i < t.length(); ++i) ts.push_back(t.Value(i));
    at += n;
  }
  ASSERT_EQ(ts.size(), 34u);  // indices 0, 3, ..., 99
  // Shifted by the anti-alias FIR's group delay: 61 taps for q = 3, 30 input samples.
  EXPECT_EQ(p->output_schema()->metadata()->Get(kGroupDelaySamplesKey).ValueOrDie(), "30");
  for (size_t k = 0; k < ts.size(); ++k) {
    EXPECT_EQ(ts[k], static_cast<int64_t>(3 * k) * 1'000'000 - 30'000'000);
  }
}

TEST(Processor, MovingAverageIsCenteredAndEvenLengthsShiftByHalfASample) {
  auto in = Input(1000.0, 1);
  ASSERT_OK_AND_ASSIGN(auto p, MakeProcessor({"moving_average", "m", in, {{"window", int64_t{4}}}}));
  EXPECT_EQ(p->output_schema()->metadata()->Get(kGroupDelaySamplesKey).ValueOrDie(), "1.5");
  auto x = Signal(1, 10);
  auto batch = Batch(*in, x, 0, 10);
  ASSERT_OK_AND_ASSIGN(auto out, p->Process(*batch));
  const auto& t = static_cast<const arrow::TimestampArray&>(*out->column(0));
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(t.Value(i), i * 1'000'000 - 1'500'000);
  // Without a rate the timestamps stay, and the metadata says so.
  auto no_rate = std::make_shared<StreamInfo>(
      StreamInfo{"x", MakeStreamSchema({{"ch0", "V", ""}}).ValueOrDie()});
  ASSERT_OK_AND_ASSIGN(auto q, MakeProcessor({"moving_average", "m", no_rate, {{"window", int64_t{4}}}}));
  EXPECT_EQ(q->output_schema()->metadata()->Get(kTimestampShiftKey).ValueOrDie(), "none");
  auto nb = arrow::RecordBatch::Make(no_rate->schema, 10, batch->columns());
  ASSERT_OK_AND_ASSIGN(auto same, q->Process(*nb));
  EXPECT_EQ(same->column(0).get(), batch->column(0).get());
}

TEST(Processor, StatsGiveOneRowPerBatch) {
  auto in = Input(1000.0, 1);
  ASSERT_OK_AND_ASSIGN(auto p, MakeProcessor({"stats", "s", in, {}}));
  std::vector<std::vector<double>> x{{1, 2, 3, 4}};
  ASSERT_OK_AND_ASSIGN(auto out, p->Process(*Batch(*in, x, 0, 4)));
  ASSERT_EQ(out->num_rows(), 1);
  EXPECT_EQ(out->schema()->field(1)->name(), "ch0_min");
  EXPECT_EQ(static_cast<const arrow::DoubleArray&>(*out->column(2)).Value(0), 4.0);  // max
  EXPECT_EQ(static_cast<const arrow::DoubleArray&>(*out->column(3)).Value(0), 2.5);  // mean
}

TEST(Processor, BadParametersAreRefusedWithTheReason) {
  auto in = Input(1000.0);
  auto expect_error = [&](ProcessorSpec spec, const std::string& text) {
    auto r = MakeProcessor(spec);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_THAT(r.status().message(), HasSubstr(text));
  };
  expect_error({"fir", "o", in, {{"cutoff_hz", 500.0}}}, "Nyquist");
  expect_error({"fir", "o", in, {{"cutoff_hz", 50.0}, {"taps", int64_t{0}}}}, "taps");
  expect_error({"fir", "o", in, {{"cutoff_hz", 50.0}, {"window", std::string("hammming")}}},
               "hammming");
  expect_error({"fir", "o", in, {}}, "cutoff_hz");
  expect_error({"median", "o", in, {}}, "known: decimate, fir, moving_average, stats");
  expect_error({"decimate", "o", in, {{"factor", int64_t{1}}}}, "factor");
  auto no_rate = std::make_shared<StreamInfo>(
      StreamInfo{"x", MakeStreamSchema({{"ch0", "V", ""}}).ValueOrDie()});
  expect_error({"fir", "o", no_rate, {{"cutoff_hz", 5.0}}}, "no sample rate");
}

// A processor that fails on every batch whose first value is negative.
class Picky : public Processor {
 public:
  explicit Picky(std::shared_ptr<arrow::Schema> s) : schema_(std::move(s)) {}
  const std::shared_ptr<arrow::Schema>& output_schema() const override { return schema_; }
  Result<std::shared_ptr<arrow::RecordBatch>> Process(const arrow::RecordBatch& b) override {
    if (static_cast<const arrow::DoubleArray&>(*b.column(1)).Value(0) < 0) {
      throw std::runtime_error("negative input");
    }
    return b.ReplaceSchema(schema_);
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
};

TEST(ProcessorActor, AFailingProcessorIsRestartedAndItsGapRecorded) {
  auto in = Input(1000.0, 1);
  StreamRouter router;
  ASSERT_OK_AND_ASSIGN(auto in_handle, router.AddStream(in));
  auto out_info = std::make_shared<StreamInfo>(StreamInfo{"picky", in->schema});
  ASSERT_OK_AND_ASSIGN(auto out_handle, router.AddStream(out_info));
  ASSERT_OK_AND_ASSIGN(auto input, router.Subscribe({.name = "picky.input", .streams = {"daq"},
                                                     .capacity = 4,
                                                     .policy = OverflowPolicy::kBlock}));
  ASSERT_OK_AND_ASSIGN(auto sink, router.Subscribe({.name = "sink", .streams = {"picky"},
                                                    .capacity = 64,
                                                    .policy = OverflowPolicy::kBlock}));
  std::mutex mutex;
  std::vector<RunEvent> events;
  int built = 0;
  auto factory = [&]() -> Result<std::unique_ptr<Processor>> {
    ++built;
    return std::make_unique<Picky>(in->schema);
  };
  ProcessorActor actor("picky", factory, factory().ValueOrDie(), input, router, out_handle,
                       {.max_restarts = 2, .window = 10s, .initial_backoff = 1ms},
                       [&](RunEvent e) {
                         std::lock_guard lock(mutex);
                         events.push_back(std::move(e));
                       });
  actor.Start();
  std::vector<std::vector<double>> x{{1, -1, 2, 3, -4, -5, -6, 7}};
  for (int i = 0; i < 8; ++i) ASSERT_OK(router.Publish(*in_handle, Batch(*in, x, i, 1)).status());
  actor.CloseAndJoin();
  const auto st = actor.stats();
  EXPECT_EQ(st.packets_in, 8u);
  EXPECT_EQ(st.restarts, 2);  // after -1 and -4; -5 is the third failure: gives up
  EXPECT_TRUE(st.gave_up);
  EXPECT_EQ(built, 3);
  // Published: 1, 2, 3 (before giving up); 7 arrives after the give-up and is discarded.
  std::vector<double> seen;
  while (auto p = sink->TryNext()) {
    seen.push_back(static_cast<const arrow::DoubleArray&>(*p->batch->column(1)).Value(0));
  }
  EXPECT_EQ(seen, (std::vector<double>{1, 2, 3}));
  std::lock_guard lock(mutex);
  int gaps = 0, restarts = 0, faults = 0;
  for (const auto& e : events) {
    gaps += e.kind == "gap";
    restarts += e.kind == "restart";
    faults += e.kind == "fault";
  }
  EXPECT_EQ(gaps, 3);
  EXPECT_EQ(restarts, 2);
  EXPECT_EQ(faults, 1);
}

// The clock of a supervised processor's life: when each instance was built and when each
// failure happened (the Picky below fails on a negative first value).
struct Timeline {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::chrono::steady_clock::time_point> built, failed;
  std::vector<RunEvent> events;
  template <typename F>
  bool WaitFor(F done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 60s, done);
  }
};

class TimedPicky : public Processor {
 public:
  TimedPicky(std::shared_ptr<arrow::Schema> s, Timeline* t) : schema_(std::move(s)), t_(t) {}
  const std::shared_ptr<arrow::Schema>& output_schema() const override { return schema_; }
  Result<std::shared_ptr<arrow::RecordBatch>> Process(const arrow::RecordBatch& b) override {
    if (static_cast<const arrow::DoubleArray&>(*b.column(1)).Value(0) < 0) {
      std::lock_guard lock(t_->mutex);
      t_->failed.push_back(std::chrono::steady_clock::now());
      return Status::IOError("negative input");
    }
    return b.ReplaceSchema(schema_);
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  Timeline* t_;
};

struct SupervisedPicky {
  explicit SupervisedPicky(runtime::SupervisionOptions supervision) : in(Input(1000.0, 1)) {
    in_handle = router.AddStream(in).ValueOrDie();
    auto out_info = std::make_shared<StreamInfo>(StreamInfo{"picky", in->schema});
    out_handle = router.AddStream(out_info).ValueOrDie();
    input = router
                .Subscribe({.name = "picky.input", .streams = {"daq"}, .capacity = 4,
                            .policy = OverflowPolicy::kBlock})
                .ValueOrDie();
    sink = router
               .Subscribe({.name = "sink", .streams = {"picky"}, .capacity = 64,
                           .policy = OverflowPolicy::kBlock})
               .ValueOrDie();
    auto factory = [this]() -> Result<std::unique_ptr<Processor>> {
      {
        std::lock_guard lock(t.mutex);
        t.built.push_back(std::chrono::steady_clock::now());
      }
      t.changed.notify_all();
      return std::make_unique<TimedPicky>(in->schema, &t);
    };
    actor = std::make_unique<ProcessorActor>("picky", factory, factory().ValueOrDie(), input,
                                             router, out_handle, supervision, [this](RunEvent e) {
                                               {
                                                 std::lock_guard lock(t.mutex);
                                                 t.events.push_back(std::move(e));
                                               }
                                               t.changed.notify_all();
                                             });
    actor->Start();
  }
  void Send(double first_value) {
    std::vector<std::vector<double>> x{{first_value}};
    ASSERT_OK(router.Publish(*in_handle, Batch(*in, x, 0, 1)).status());
  }
  std::vector<double> Published() {
    std::vector<double> seen;
    while (auto p = sink->TryNext()) {
      seen.push_back(static_cast<const arrow::DoubleArray&>(*p->batch->column(1)).Value(0));
    }
    return seen;
  }

  Timeline t;
  std::shared_ptr<const StreamInfo> in;
  StreamRouter router;
  std::shared_ptr<StreamHandle> in_handle, out_handle;
  std::shared_ptr<Subscription> input, sink;
  std::unique_ptr<ProcessorActor> actor;
};

// Backoff: a failed processor is rebuilt initial_backoff after its failure, then the wait
// grows by backoff_multiplier up to max_backoff. Lower bounds are exact (sleeps never end
// early); the cap is held with seconds of slack.
TEST(ProcessorActor, RestartsWaitAGrowingCappedBackoff) {
  SupervisedPicky p({.max_restarts = 3,
                     .window = 600s,
                     .initial_backoff = 100ms,
                     .max_backoff = 250ms,
                     .backoff_multiplier = 30.0});  // uncapped: 100 ms, 3 s
  p.Send(-1.0);
  p.Send(-2.0);
  p.Send(5.0);
  p.actor->CloseAndJoin();
  const auto st = p.actor->stats();
  EXPECT_EQ(st.restarts, 2);
  EXPECT_FALSE(st.gave_up);
  EXPECT_EQ(p.Published(), std::vector<double>{5.0});
  std::lock_guard lock(p.t.mutex);
  ASSERT_EQ(p.t.failed.size(), 2u);
  ASSERT_EQ(p.t.built.size(), 3u);  // the first instance and two rebuilt ones
  auto waited = [&](int k) { return p.t.built[k + 1] - p.t.failed[k]; };
  EXPECT_GE(waited(0), 100ms);
  EXPECT_GE(waited(1), 250ms);  // 100 ms x 30, capped
  EXPECT_LT(waited(1), 2s);     // the cap holds (uncapped it would be 3 s)
}

// The window: a failure older than `window` no longer counts, so occasional failures are
// restarted forever; max_restarts + 1 failures inside one window give up.
TEST(ProcessorActor, FailuresOlderThanTheWindowAreForgotten) {
  constexpr auto kWindow = 1500ms;
  SupervisedPicky p({.max_restarts = 1, .window = kWindow, .initial_backoff = 1ms});
  auto restarts = [&] {
    int n = 0;
    for (const auto& e : p.t.events) n += e.kind == "restart";
    return n;
  };
  p.Send(-1.0);  // failure 1: restarted
  ASSERT_TRUE(p.t.WaitFor([&] { return restarts() == 1; }));
  std::chrono::steady_clock::time_point first_failure;
  {
    std::lock_guard lock(p.t.mutex);
    first_failure = p.t.failed.at(0);
  }
  // Let the window pass (time passing is what is tested here, so the test waits for it).
  std::this_thread::sleep_until(first_failure + kWindow + 100ms);
  p.Send(-2.0);  // failure 2: failure 1 is outside the window: restarted
  ASSERT_TRUE(p.t.WaitFor([&] { return restarts() == 2; }));
  EXPECT_FALSE(p.actor->stats().gave_up);
  p.Send(3.0);   // processed by the third instance
  p.Send(-4.0);  // failure 3, right after failure 2: two inside the window, gives up
  p.Send(5.0);   // arrives after the give-up: counted as failed, not published
  p.actor->CloseAndJoin();
  const auto st = p.actor->stats();
  EXPECT_TRUE(st.gave_up);
  EXPECT_EQ(st.restarts, 2);
  EXPECT_EQ(st.packets_in, 5u);
  EXPECT_EQ(p.Published(), std::vector<double>{3.0});
  std::lock_guard lock(p.t.mutex);
  ASSERT_EQ(p.t.failed.size(), 3u);
  EXPECT_GT(p.t.failed[1] - p.t.failed[0], kWindow);
  EXPECT_LT(p.t.failed[2] - p.t.failed[1], kWindow);  // the premise of the give-up
  ASSERT_FALSE(p.t.events.empty());
  EXPECT_EQ(p.t.events.back().kind, "fault");
  EXPECT_THAT(p.t.events.back().message, HasSubstr("gave up after 2 restarts"));
}

}  // namespace
}  // namespace arrowdaq::pipeline
