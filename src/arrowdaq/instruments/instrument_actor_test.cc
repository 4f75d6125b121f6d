#include "arrowdaq/instruments/instrument_actor.h"

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <vector>
#include <thread>

#include <arrow/array.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arrowdaq/instruments/float64_block.h"
#include "arrowdaq/instruments/sim_driver.h"
#include "arrowdaq/runtime/paced_pool.h"
#include "arrowdaq/instruments/sim_motor_driver.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/mock_hardware.h"

namespace arrowdaq::instruments {
namespace {

using namespace std::chrono_literals;
using runtime::Ack;
using runtime::Reply;
using testing::Float64Block;
using testing::MockHardware;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

struct Harness {
  runtime::ActorSystem system{{.threads = 2}};
  std::vector<DataPacket> published;
  std::mutex mutex;
  std::promise<Status> fault;
  InstrumentRef ref;

  std::vector<RunEvent> events;

  // Spawn an actor around a Float64BlockDriver over `hw` (one channel at 1 kHz).
  explicit Harness(std::unique_ptr<MockHardware> hw, int reconnect_attempts = 0) {
    auto driver = Float64BlockDriver::Make(std::move(hw), 1, 1000.0, "V").ValueOrDie();
    auto spec = std::make_shared<InstrumentSpec>();
    spec->name = "mock";
    spec->driver = "mock";
    spec->resource = "mock_address";
    spec->make_driver = [] { return Status::NotImplemented("no restart in this test"); };
    spec->reconnect_attempts = reconnect_attempts;
    spec->reconnect_backoff = 1ms;
    spec->on_event = [this](RunEvent e) {
      std::lock_guard lock(mutex);
      events.push_back(std::move(e));
    };
    auto stream = std::make_shared<StreamInfo>(StreamInfo{"mock", driver->schema()});
    spec->publish = [this, stream](std::shared_ptr<arrow::RecordBatch> batch) -> Result<DataPacket> {
      std::lock_guard lock(mutex);
      DataPacket p{stream, published.size(), std::move(batch)};
      published.push_back(p);
      return p;
    };
    spec->on_fault = [this](const std::string&, const Status& st) { fault.set_value(st); };
    ref = SpawnInstrument(system, spec, std::move(driver), {.name = "mock"});
  }
  ~Harness() {
    ref.Stop();
    ref.Join();
  }
  template <typename M>
  Status Ack(std::chrono::milliseconds t = 2s) {
    return ref.AskBlocking<runtime::Ack>([](Reply<runtime::Ack> r) { return M{std::move(r)}; }, t)
        .status();
  }
  Result<std::string> Command(const std::string& cmd) {
    return ref.AskBlocking<std::string>(
        [&](Reply<std::string> r) { return msg::SendCommand{cmd, std::move(r)}; }, 2s);
  }
};

TEST(InstrumentActor, ConnectsOnceAndAnswersIdentify) {
  auto hw = std::make_unique<MockHardware>();
  EXPECT_CALL(*hw, Connect("mock_address", _)).Times(1).WillOnce(Return(Status::OK()));
  EXPECT_CALL(*hw, SendCommand("*IDN?", _)).WillOnce(Return(std::string("MOCK_INSTRUMENT")));
  EXPECT_CALL(*hw, Disconnect()).WillOnce(Return(Status::OK()));
  Harness h(std::move(hw));
  ASSERT_OK(h.Ack<msg::Connect>());
  ASSERT_OK(h.Ack<msg::Connect>());  // already connected: no second Connect on the hardware
  ASSERT_OK_AND_ASSIGN(auto idn, h.Command("*IDN?"));
  EXPECT_EQ(idn, "MOCK_INSTRUMENT");
}

TEST(InstrumentActor, HardwareErrorsComeBackAsStatus) {
  auto hw = std::make_unique<MockHardware>();
  EXPECT_CALL(*hw, Connect(_, _)).WillOnce(Return(Status::IOError("connection refused")));
  Harness h(std::move(hw));
  Status st = h.Ack<msg::Connect>();
  ASSERT_TRUE(st.IsIOError()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("instrument 'mock': connection refused"));
  // Not connected: commands are refused with a clear message, and the actor is still alive.
  auto r = h.Command("*IDN?");
  EXPECT_THAT(r.status().message(), HasSubstr("not connected"));
  auto status = h.ref.AskBlocking<InstrumentStatus>(
      [](Reply<InstrumentStatus> rep) { return msg::GetStatus{std::move(rep)}; }, 2s);
  ASSERT_OK(status.status());
  EXPECT_FALSE(status->connected);
}

TEST(InstrumentActor, AcquiresUntilTheHardwareFailsAndReportsTheFault) {
  auto hw = std::make_unique<MockHardware>();
  EXPECT_CALL(*hw, Connect(_, _)).WillOnce(Return(Status::OK()));
  EXPECT_CALL(*hw, Disconnect()).WillRepeatedly(Return(Status::OK()));
  EXPECT_CALL(*hw, ReadRawData(_))
      .WillOnce(Return(Float64Block({1, 2, 3})))
      .WillOnce(Return(Float64Block({4, 5})))
      .WillOnce(Return(Float64Block({6})))
      .WillOnce(Return(Status::IOError("read timed out")));
  Harness h(std::move(hw));
  ASSERT_OK(h.Ack<msg::Connect>());
  ASSERT_OK(h.Ack<msg::StartAcquisition>());
  auto fault = h.fault.get_future();
  ASSERT_EQ(fault.wait_for(5s), std::future_status::ready);
  EXPECT_THAT(fault.get().message(), HasSubstr("read timed out"));
  auto status = h.ref.AskBlocking<InstrumentStatus>(
      [](Reply<InstrumentStatus> rep) { return msg::GetStatus{std::move(rep)}; }, 2s);
  ASSERT_OK(status.status());
  EXPECT_FALSE(status->acquiring);
  EXPECT_EQ(status->batches, 3u);
  EXPECT_EQ(status->rows, 6u);
  EXPECT_EQ(status->read_errors, 1u);
  std::lock_guard lock(h.mutex);
  ASSERT_EQ(h.published.size(), 3u);
  double expected = 1;
  for (const auto& p : h.published) {
    const auto& col = static_cast<const arrow::DoubleArray&>(*p.batch->column(1));
    for (int64_t i = 0; i < col.length(); ++i) EXPECT_EQ(col.Value(i), expected++);
  }
}

// A device that connects and configures every time but never delivers a batch (it answers
// *IDN? but not READ?, or a batch that cannot be allocated) must use up its reconnect attempts
// and fail: a successful reconnect is not progress, only data is.
TEST(InstrumentActor, ReconnectsWithoutABatchUseUpTheAttempts) {
  auto hw = std::make_unique<MockHardware>();
  EXPECT_CALL(*hw, Connect(_, _)).Times(3).WillRepeatedly(Return(Status::OK()));
  EXPECT_CALL(*hw, Disconnect()).WillRepeatedly(Return(Status::OK()));
  EXPECT_CALL(*hw, ReadRawData(_))
      .Times(3)
      .WillRepeatedly(Return(Status::OutOfMemory("malloc of size 85899345920 failed")));
  Harness h(std::move(hw), /*reconnect_attempts=*/2);
  ASSERT_OK(h.Ack<msg::Connect>());
  ASSERT_OK(h.Ack<msg::StartAcquisition>());
  auto fault = h.fault.get_future();
  ASSERT_EQ(fault.wait_for(10s), std::future_status::ready);
  const Status st = fault.get();
  EXPECT_TRUE(st.IsOutOfMemory()) << st;
  EXPECT_THAT(st.message(), HasSubstr("instrument 'mock': malloc of size 85899345920 failed; gave "
                                      "up after 2 reconnect attempt(s) without a batch in "
                                      "between"));
  auto status = h.ref.AskBlocking<InstrumentStatus>(
      [](Reply<InstrumentStatus> rep) { return msg::GetStatus{std::move(rep)}; }, 2s);
  ASSERT_OK(status.status());
  EXPECT_TRUE(status->failed);
  EXPECT_EQ(status->reconnects, 2u);
  EXPECT_EQ(status->batches, 0u);
  std::lock_guard lock(h.mutex);
  int gaps = 0;
  for (const auto& e : h.events) gaps += e.kind == "gap";
  EXPECT_EQ(gaps, 2);
}

// Data in between gives the attempts back: a device that fails now and then is reconnected as
// often as it needs, as long as it delivers between the failures.
TEST(InstrumentActor, ABatchBetweenFailuresGivesTheAttemptsBack) {
  auto hw = std::make_unique<MockHardware>();
  EXPECT_CALL(*hw, Connect(_, _)).WillRepeatedly(Return(Status::OK()));
  EXPECT_CALL(*hw, Disconnect()).WillRepeatedly(Return(Status::OK()));
  ::testing::Sequence seq;
  for (int i = 0; i < 4; ++i) {
    EXPECT_CALL(*hw, ReadRawData(_))
        .InSequence(seq)
        .WillOnce(Return(Status::IOError("read timed out")))
        .WillOnce(Return(Float64Block({1.0 * i})));
  }
  EXPECT_CALL(*hw, ReadRawData(_))
      .InSequence(seq)
      .WillRepeatedly(Return(Status::IOError("gone for good")));
  Harness h(std::move(hw), /*reconnect_attempts=*/1);
  ASSERT_OK(h.Ack<msg::Connect>());
  ASSERT_OK(h.Ack<msg::StartAcquisition>());
  auto fault = h.fault.get_future();
  ASSERT_EQ(fault.wait_for(10s), std::future_status::ready);
  EXPECT_THAT(fault.get().message(), HasSubstr("gone for good; gave up after 1 reconnect"));
  std::lock_guard lock(h.mutex);
  EXPECT_EQ(h.published.size(), 4u);  // four failures survived, one batch after each
}

TEST(InstrumentActor, ADriverThatThrowsIsContained) {
  auto hw = std::make_unique<MockHardware>();
  EXPECT_CALL(*hw, Connect(_, _)).WillOnce(Return(Status::OK()));
  EXPECT_CALL(*hw, SendCommand("BOOM", _))
      .WillOnce([](const std::string&, hardware::Timeout) -> Result<std::string> {
        throw std::runtime_error("vendor SDK exploded");
      });
  EXPECT_CALL(*hw, SendCommand("*IDN?", _)).WillOnce(Return(std::string("STILL_HERE")));
  EXPECT_CALL(*hw, Disconnect()).WillRepeatedly(Return(Status::OK()));
  Harness h(std::move(hw));
  ASSERT_OK(h.Ack<msg::Connect>());
  auto r = h.Command("BOOM");
  EXPECT_THAT(r.status().message(), HasSubstr("vendor SDK exploded"));
  ASSERT_OK_AND_ASSIGN(auto idn, h.Command("*IDN?"));
  EXPECT_EQ(idn, "STILL_HERE");
}


int ThreadsOfThisProcess() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Paced instruments (simulated sources) on a PacedPool of one thread: many acquire at once,
// each publishes every sample exactly once and in order (the ramp's values are the sample
// index), stop together, answer a single read from the pool, and none of them holds a thread.
TEST(InstrumentActor, PacedInstrumentsShareOnePoolThreadAndLoseNothing) {
  constexpr int kInstruments = 40;
  constexpr std::size_t kBatches = 20;
  runtime::ActorSystem system{{.threads = 2}};
  runtime::PacedPool pool({.threads = 1});
  struct Stream {
    std::mutex mutex;
    std::vector<double> values;  // ch0 of every batch published, in order
    std::size_t batches = 0;
  };
  std::vector<std::unique_ptr<Stream>> streams;
  std::vector<InstrumentRef> refs;
  std::mutex progress_mutex;
  std::condition_variable progress;
  const int threads_before = ThreadsOfThisProcess();
  for (int i = 0; i < kInstruments; ++i) {
    hardware::SimSourceOptions o;
    o.waveform = hardware::Waveform::kRamp;
    o.rate_hz = 2000.0;
    o.batch_size = 20;  // a batch every 10 ms
    ASSERT_OK_AND_ASSIGN(auto driver, SimDriver::Make(o, "V"));
    ASSERT_TRUE(driver->paced());
    streams.push_back(std::make_unique<Stream>());
    Stream* st = streams.back().get();
    auto spec = std::make_shared<InstrumentSpec>();
    spec->name = "ramp" + std::to_string(i);
    spec->driver = "sim.ramp";
    spec->resource = "SIM::ramp";
    spec->make_driver = [] { return Status::NotImplemented("no restart in this test"); };
    spec->paced_pool = &pool;
    auto info = std::make_shared<StreamInfo>(StreamInfo{spec->name, driver->schema()});
    spec->publish = [st, info, &progress_mutex,
                     &progress](std::shared_ptr<arrow::RecordBatch> batch) -> Result<DataPacket> {
      DataPacket p;
      {
        std::lock_guard lock(st->mutex);
        auto ch0 = std::static_pointer_cast<arrow::DoubleArray>(batch->column(1));
        for (int64_t r = 0; r < ch0->length(); ++r) st->values.push_back(ch0->Value(r));
        p = DataPacket{info, st->batches++, std::move(batch)};
      }
      { std::lock_guard lock(progress_mutex); }
      progress.notify_all();
      return p;
    };
    refs.push_back(SpawnInstrument(system, spec, std::move(driver), {.name = spec->name}));
  }
  auto ack = [](const InstrumentRef& ref, auto make) {
    return ref.AskBlocking<runtime::Ack>(make, 30s).status();
  };
  for (auto& r : refs) ASSERT_OK(ack(r, [](Reply<runtime::Ack> x) { return msg::Connect{std::move(x)}; }));
  for (auto& r : refs) {
    ASSERT_OK(ack(r, [](Reply<runtime::Ack> x) { return msg::StartAcquisition{std::move(x)}; }));
  }
  {
    std::unique_lock lock(progress_mutex);
    const bool all = progress.wait_for(lock, 120s, [&] {
      for (auto& st : streams) {
        std::lock_guard l(st->mutex);
        if (st->batches < kBatches) return false;
      }
      return true;
    });
    ASSERT_TRUE(all) << "not every paced instrument delivered " << kBatches << " batches";
  }
  const int threads_acquiring = ThreadsOfThisProcess();
  EXPECT_LT(threads_acquiring - threads_before, 8)
      << kInstruments << " paced instruments must not hold a thread each";
  for (auto& r : refs) {
    ASSERT_OK(ack(r, [](Reply<runtime::Ack> x) { return msg::StopAcquisition{std::move(x)}; }));
  }
  // A single read on the pool continues the same sample sequence.
  ASSERT_OK_AND_ASSIGN(auto single, refs[0].AskBlocking<DataPacket>(
                                        [](Reply<DataPacket> x) { return msg::ReadData{std::move(x)}; },
                                        30s));
  EXPECT_EQ(single.num_rows(), 20);
  for (int i = 0; i < kInstruments; ++i) {
    std::lock_guard lock(streams[i]->mutex);
    const auto& v = streams[i]->values;
    ASSERT_GE(v.size(), kBatches * 20);
    for (std::size_t k = 0; k < v.size(); ++k) {
      ASSERT_EQ(v[k], static_cast<double>(k)) << "instrument " << i << ", sample " << k;
    }
  }
  for (auto& r : refs) r.Stop();
  for (auto& r : refs) r.Join();
  pool.Shutdown();  // returns: every worker was shut down by its actor
}

// Motion messages run on the instrument's thread while its stream keeps being acquired.
TEST(InstrumentActorMotion, MovesWhileTheStreamGoesOn) {
  runtime::ActorSystem system{{.threads = 2}};
  std::mutex mutex;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  SimMotorOptions o;
  o.axes = {"x", "y"};
  o.rate_hz = 200;
  ASSERT_OK_AND_ASSIGN(auto driver, SimMotorDriver::Make(o));
  auto spec = std::make_shared<InstrumentSpec>();
  spec->name = "stage";
  spec->driver = "sim.motor";
  spec->resource = "SIM::motor";
  spec->make_driver = [] { return Status::NotImplemented("no restart in this test"); };
  auto stream = std::make_shared<StreamInfo>(StreamInfo{"stage", driver->schema()});
  spec->publish = [&](std::shared_ptr<arrow::RecordBatch> batch) -> Result<DataPacket> {
    std::lock_guard lock(mutex);
    batches.push_back(batch);
    return DataPacket{stream, batches.size() - 1, std::move(batch)};
  };
  InstrumentRef ref = SpawnInstrument(system, spec, std::move(driver), {.name = "stage"});
  auto ack = [&](auto make) { return ref.AskBlocking<runtime::Ack>(make, 2s).status(); };
  // Not connected yet: motion is refused, the axes are known.
  EXPECT_FALSE(ack([](Reply<runtime::Ack> r) { return msg::MoveTo{0, 1.0, std::move(r)}; }).ok());
  auto axes = ref.AskBlocking<std::vector<AxisInfo>>(
      [](Reply<std::vector<AxisInfo>> r) { return msg::GetAxes{std::move(r)}; }, 2s);
  ASSERT_OK(axes.status());
  ASSERT_EQ(axes->size(), 2u);
  EXPECT_EQ((*axes)[1].name, "y");
  ASSERT_OK(ack([](Reply<runtime::Ack> r) { return msg::Connect{std::move(r)}; }));
  ASSERT_OK(ack([](Reply<runtime::Ack> r) { return msg::StartAcquisition{std::move(r)}; }));
  // Outside the limits: refused as Invalid, nothing moves.
  Status refused = ack([](Reply<runtime::Ack> r) { return msg::MoveTo{1, 1000, std::move(r)}; });
  EXPECT_TRUE(refused.IsInvalid()) << refused.ToString();
  ASSERT_OK(ack([](Reply<runtime::Ack> r) { return msg::MoveTo{1, 2.0, std::move(r)}; }));
  std::size_t batches_at_start;
  {
    std::lock_guard lock(mutex);
    batches_at_start = batches.size();
  }
  // 2 units at v = 10, a = 100: 0.3 s. Poll until it stops (bounded: 10 s).
  bool moving = true;
  int polls = 0;
  for (; moving && polls < 10000; ++polls) {
    auto m = ref.AskBlocking<bool>([](Reply<bool> r) { return msg::IsMoving{1, std::move(r)}; },
                                   2s);
    ASSERT_OK(m.status());
    moving = *m;
    if (moving) std::this_thread::sleep_for(1ms);
  }
  EXPECT_FALSE(moving);
  auto pos = ref.AskBlocking<double>(
      [](Reply<double> r) { return msg::GetPosition{1, std::move(r)}; }, 2s);
  ASSERT_OK(pos.status());
  EXPECT_EQ(*pos, 2.0);
  ASSERT_OK(ack([](Reply<runtime::Ack> r) { return msg::StopMotion{1, std::move(r)}; }));
  ASSERT_OK(ack([](Reply<runtime::Ack> r) { return msg::StopAcquisition{std::move(r)}; }));
  {
    std::lock_guard lock(mutex);
    // The stream went on during the move (0.3 s at 200 rows/s: dozens of rows), and it saw
    // the axis between its ends.
    EXPECT_GT(batches.size(), batches_at_start + 5);
    bool between = false;
    for (const auto& b : batches) {
      const double y = std::static_pointer_cast<arrow::DoubleArray>(b->column(2))->Value(0);
      between = between || (y > 0.1 && y < 1.9);
    }
    EXPECT_TRUE(between);
  }
  ref.Stop();
  ref.Join();
}

TEST(InstrumentActorMotion, ADriverWithoutMotionSaysSo) {
  auto hw = std::make_unique<MockHardware>();
  EXPECT_CALL(*hw, Connect(_, _)).WillRepeatedly(Return(Status::OK()));
  EXPECT_CALL(*hw, Disconnect()).WillRepeatedly(Return(Status::OK()));
  Harness h(std::move(hw));
  ASSERT_OK(h.Ack<msg::Connect>());
  auto st = h.ref.AskBlocking<runtime::Ack>(
      [](Reply<runtime::Ack> r) { return msg::MoveTo{0, 1.0, std::move(r)}; }, 2s);
  EXPECT_TRUE(st.status().IsNotImplemented()) << st.status().ToString();
  auto axes = h.ref.AskBlocking<std::vector<AxisInfo>>(
      [](Reply<std::vector<AxisInfo>> r) { return msg::GetAxes{std::move(r)}; }, 2s);
  EXPECT_TRUE(axes.status().IsNotImplemented());
}

// A sim.motor instrument (axes x and y) connected and acquiring, on its own thread or on a
// paced pool, for the MoveAndWait tests.
struct MotorHarness {
  // The batches outlive the actor system (declared first, destroyed last): the system's
  // threads drop the spec (and its stream's schema, shared with the batches) after Join, and
  // the schema's count is inside Arrow, which TSan cannot see (tests/tsan.supp).
  std::mutex mutex;
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  runtime::ActorSystem system{{.threads = 2}};
  std::unique_ptr<runtime::PacedPool> pool;
  InstrumentRef ref;

  explicit MotorHarness(SimMotorOptions o, bool paced) {
    o.axes = {"x", "y"};
    if (paced) pool = std::make_unique<runtime::PacedPool>(runtime::PacedPoolOptions{.threads = 1});
    auto driver = SimMotorDriver::Make(o).ValueOrDie();
    auto spec = std::make_shared<InstrumentSpec>();
    spec->name = "stage";
    spec->driver = "sim.motor";
    spec->resource = "SIM::motor";
    spec->make_driver = [] { return Status::NotImplemented("no restart in this test"); };
    spec->paced_pool = pool.get();
    auto stream = std::make_shared<StreamInfo>(StreamInfo{"stage", driver->schema()});
    spec->publish = [this, stream](std::shared_ptr<arrow::RecordBatch> b) -> Result<DataPacket> {
      std::lock_guard lock(mutex);
      batches.push_back(b);
      return DataPacket{stream, batches.size() - 1, std::move(b)};
    };
    ref = SpawnInstrument(system, spec, std::move(driver), {.name = "stage"});
  }
  ~MotorHarness() {
    ref.Stop();
    ref.Join();
    if (pool) pool->Shutdown();
  }
  Status Ack(std::function<InstrumentMessage(Reply<runtime::Ack>)> make) {
    return ref.AskBlocking<runtime::Ack>(std::move(make), 5s).status();
  }
  Status Start() {
    ARROW_RETURN_NOT_OK(Ack([](Reply<runtime::Ack> r) { return msg::Connect{std::move(r)}; }));
    return Ack([](Reply<runtime::Ack> r) { return msg::StartAcquisition{std::move(r)}; });
  }
  runtime::PendingAsk<double> MoveAndWait(int axis, double position) {
    return ref.AskLater<double>(
        [&](Reply<double> r) { return msg::MoveAndWait{axis, position, std::move(r)}; }, 60s);
  }
  Result<double> Position(int axis) {
    return ref.AskBlocking<double>(
        [&](Reply<double> r) { return msg::GetPosition{axis, std::move(r)}; }, 5s);
  }
  std::size_t Batches() {
    std::lock_guard lock(mutex);
    return batches.size();
  }
};

class MoveAndWaitTest : public ::testing::TestWithParam<bool> {};

// The answer comes once the axis has stopped, with the position read back then; the stream
// goes on during the move; refusals and preconditions come back as errors.
TEST_P(MoveAndWaitTest, AnswersWithTheReadbackOnceTheAxisStopped) {
  SimMotorOptions o;
  o.rate_hz = 200;
  MotorHarness h(o, GetParam());
  auto not_connected = h.MoveAndWait(0, 1.0).Wait();
  EXPECT_TRUE(not_connected.status().IsInvalid()) << not_connected.status().ToString();
  ASSERT_OK(h.Start());
  auto refused = h.MoveAndWait(1, 1000).Wait();
  EXPECT_TRUE(refused.status().IsInvalid()) << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr("soft limits"));
  // 2 units at v = 10, a = 100: 0.3 s of motion, followed by the instrument itself.
  const std::size_t before = h.Batches();
  ASSERT_OK_AND_ASSIGN(double y, h.MoveAndWait(1, 2.0).Wait());
  EXPECT_EQ(y, 2.0);
  auto moving = h.ref.AskBlocking<bool>(
      [](Reply<bool> r) { return msg::IsMoving{1, std::move(r)}; }, 5s);
  ASSERT_OK(moving.status());
  EXPECT_FALSE(*moving);
  EXPECT_GT(h.Batches(), before + 5);  // 0.3 s at 200 rows/s went on being published
  // Both axes at once (the second message is taken while the first axis is followed), and a
  // move to where the axis already is (answered from the first look).
  auto x = h.MoveAndWait(0, -1.5);
  auto y2 = h.MoveAndWait(1, 2.0);
  ASSERT_OK_AND_ASSIGN(double xv, x.Wait());
  ASSERT_OK_AND_ASSIGN(double yv, y2.Wait());
  EXPECT_EQ(xv, -1.5);
  EXPECT_EQ(yv, 2.0);
}

// A fault during the move ends the wait with the device's error.
TEST_P(MoveAndWaitTest, AFaultDuringTheMoveComesBackAsAnError) {
  SimMotorOptions o;
  o.velocity = 1;
  o.acceleration = 10;
  o.fault_at_move = 1;
  MotorHarness h(o, GetParam());
  ASSERT_OK(h.Start());
  // 1 unit at v = 1: about 1.1 s, faulting halfway.
  auto r = h.MoveAndWait(0, 1.0).Wait();
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("following error at move 1"));
  EXPECT_THAT(r.status().message(), HasSubstr("instrument 'stage'"));
}

// StopMotion is taken while a wait runs (the mailbox stays free) and ends it at once with
// Cancelled, the axis stopped short of its target; stopping the actor ends a wait too.
TEST_P(MoveAndWaitTest, StopDuringTheWaitEndsItPromptly) {
  SimMotorOptions o;
  o.velocity = 0.1;  // 2 units: about 20 s of motion
  o.acceleration = 10;
  MotorHarness h(o, GetParam());
  ASSERT_OK(h.Start());
  auto wait = h.MoveAndWait(0, 2.0);
  // The instrument answers other requests meanwhile: the axis is seen on its way.
  double x = 0;
  for (int i = 0; i < 2000 && x <= 0; ++i) {
    ASSERT_OK_AND_ASSIGN(x, h.Position(0));
    if (x <= 0) std::this_thread::sleep_for(1ms);
  }
  ASSERT_GT(x, 0.0);
  EXPECT_FALSE(wait.WaitUntil(std::chrono::steady_clock::now()));  // still moving
  const auto stop_sent = std::chrono::steady_clock::now();
  ASSERT_OK(h.Ack([](Reply<runtime::Ack> r) { return msg::StopMotion{0, std::move(r)}; }));
  // Generous bound, far below the 20 s the move would take.
  ASSERT_TRUE(wait.WaitUntil(stop_sent + 10s));
  auto r = wait.Wait();
  EXPECT_TRUE(r.status().IsCancelled()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("stopped before it reached its target"));
  ASSERT_OK_AND_ASSIGN(double stopped_at, h.Position(0));
  EXPECT_LT(stopped_at, 2.0);

  // The actor stopping mid-wait answers the wait (an error), and the actor ends.
  auto second = h.MoveAndWait(1, -2.0);
  ASSERT_FALSE(second.WaitUntil(std::chrono::steady_clock::now() + 20ms));
  const auto stop_actor = std::chrono::steady_clock::now();
  h.ref.Stop();
  ASSERT_TRUE(second.WaitUntil(stop_actor + 10s));
  EXPECT_FALSE(second.Wait().ok());
  h.ref.Join();
}

INSTANTIATE_TEST_SUITE_P(OwnThreadAndPacedPool, MoveAndWaitTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Paced" : "OwnThread"; });

}  // namespace
}  // namespace arrowdaq::instruments
