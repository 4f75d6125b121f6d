// Supervision of real instrument I/O through the manager: a DMM on a TCP simulator that is
// killed mid-run and restarted reconnects with backoff, its outage is recorded as a gap event
// with its cause, its packets keep consecutive sequence numbers with no duplicate timestamps,
// and a simulated instrument in the same run keeps delivering while the DMM is down. A device
// that never comes back ends in the failed state; garbage is an error naming the instrument,
// the command and the bytes, never a crash. No test sleeps for ordering or measures a rate:
// each waits (with a generous limit) for the state it needs.
#include <arrow/array.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/pipeline/instrument_manager.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/sim_process.h"

namespace arrowdaq::pipeline {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::SimProcess;

struct Events {
  std::mutex mutex;
  std::vector<RunEvent> list;
  std::vector<std::string> faults;
  int Count(const std::string& kind) {
    std::lock_guard lock(mutex);
    int n = 0;
    for (const auto& e : list) n += e.kind == kind;
    return n;
  }
};

struct Rig {
  Events events;
  runtime::ActorSystem system{{.threads = 2}};
  std::unique_ptr<InstrumentManager> manager;

  Rig() {
    ManagerOptions mo;
    mo.on_event = [this](RunEvent e) {
      std::lock_guard lock(events.mutex);
      events.list.push_back(std::move(e));
    };
    mo.on_fault = [this](const std::string& name, const Status& st) {
      std::lock_guard lock(events.mutex);
      events.faults.push_back(name + ": " + st.ToString());
    };
    manager = std::make_unique<InstrumentManager>(system, mo);
  }
  ~Rig() { manager->Shutdown(); }

  void AddDmm(const std::string& port, int attempts, double rate_hz = 50.0) {
    InstrumentRegistration reg;
    reg.name = "dmm";
    reg.driver = "keysight.34461a";
    reg.resource = "TCPIP::127.0.0.1::" + port + "::SOCKET";
    reg.connect_timeout = hardware::Timeout{1000};
    reg.reconnect_attempts = attempts;
    reg.reconnect_backoff = 100ms;
    reg.make_driver = [rate_hz] {
      return instruments::DriverRegistry::Default().Create(
          "keysight.34461a",
          {{"rate_hz", rate_hz}, {"nplc", 0.02}, {"batch_size", std::int64_t{5}}});
    };
    ASSERT_OK(manager->RegisterInstrument(std::move(reg)));
  }
  void AddRamp() {
    InstrumentRegistration reg;
    reg.name = "ramp";
    reg.driver = "sim.ramp";
    reg.resource = "SIM::ramp";
    reg.make_driver = [] {
      return instruments::DriverRegistry::Default().Create(
          "sim.ramp", {{"rate_hz", 1000.0}, {"batch_size", std::int64_t{50}}});
    };
    ASSERT_OK(manager->RegisterInstrument(std::move(reg)));
  }
  uint64_t Rows(const std::string& stream) {
    for (const auto& s : manager->router().Stats()) {
      if (s.name == stream) return s.rows;
    }
    return 0;
  }
  instruments::InstrumentStatus StatusOf(const std::string& name) {
    auto status = manager->GetStatus(name);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? *status : instruments::InstrumentStatus{};
  }
  // Wait until `done` holds; false after `limit` (a generous sanity bound, never a rate).
  template <typename F>
  bool WaitFor(F done, std::chrono::seconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
};

TEST(Reconnect, KilledSimulatorIsReconnectedAndTheGapRecordedWhileOthersKeepGoing) {
  auto sim = std::make_unique<SimProcess>("scpi_server.py", std::vector<std::string>{"--model", "34461a"});
  ASSERT_TRUE(sim->ready());
  const std::string port = sim->first_line();
  Rig rig;
  rig.AddDmm(port, /*attempts=*/20);
  rig.AddRamp();
  ASSERT_OK_AND_ASSIGN(auto sub, rig.manager->AddDataSubscriber({.name = "all",
                                                                 .streams = {"*"},
                                                                 .capacity = 1024,
                                                                 .policy = OverflowPolicy::kBlock}));
  for (const char* n : {"dmm", "ramp"}) ASSERT_OK(rig.manager->ConnectInstrument(n));
  for (const char* n : {"dmm", "ramp"}) ASSERT_OK(rig.manager->StartAcquisition(n));

  ASSERT_TRUE(rig.WaitFor([&] { return rig.Rows("dmm") >= 10; })) << "the DMM never delivered";
  sim->Kill();  // the device drops off the network
  // Synchronise on the outage itself: the DMM has failed a read (and is reconnecting).
  ASSERT_TRUE(rig.WaitFor([&] { return rig.StatusOf("dmm").read_errors >= 1; }));
  const uint64_t dmm_down = rig.Rows("dmm");
  const uint64_t ramp_at_outage = rig.Rows("ramp");
  // The other instrument never stalls: it delivers 1000 more rows while the DMM is down (a
  // count, on its own thread; the limit is only a sanity bound for a loaded machine).
  ASSERT_TRUE(rig.WaitFor([&] { return rig.Rows("ramp") >= ramp_at_outage + 1000; }))
      << "the ramp stalled while the DMM was down";
  EXPECT_EQ(rig.Rows("dmm"), dmm_down) << "the DMM delivered while its simulator was dead";
  EXPECT_EQ(rig.StatusOf("dmm").reconnects, 0u);
  sim = std::make_unique<SimProcess>("scpi_server.py",
                                     std::vector<std::string>{"--model", "34461a", "--port", port});
  ASSERT_TRUE(sim->ready());
  // Data flows again after the reconnect.
  EXPECT_TRUE(rig.WaitFor([&] { return rig.Rows("dmm") >= dmm_down + 20; }))
      << "no data after the simulator came back";
  for (const char* n : {"dmm", "ramp"}) ASSERT_OK(rig.manager->StopAcquisition(n));
  rig.manager->router().CloseAll();

  // Consecutive sequence numbers, strictly increasing timestamps, no duplicate packet.
  std::map<std::string, uint64_t> next_seq;
  std::map<std::string, int64_t> last_ts;
  while (auto p = sub->Next(std::chrono::steady_clock::now() + 1s)) {
    auto& seq = next_seq[p->stream_name()];
    ASSERT_EQ(p->sequence, seq) << p->stream_name();
    ++seq;
    const auto& ts = static_cast<const arrow::TimestampArray&>(*p->batch->column(0));
    for (int64_t i = 0; i < ts.length(); ++i) {
      ASSERT_GT(ts.Value(i), last_ts[p->stream_name()]) << p->stream_name();
      last_ts[p->stream_name()] = ts.Value(i);
    }
  }
  EXPECT_EQ(rig.events.Count("gap"), 1);
  {
    std::lock_guard lock(rig.events.mutex);
    for (const auto& e : rig.events.list) {
      if (e.kind != "gap") continue;
      EXPECT_EQ(e.stream, "dmm");
      EXPECT_THAT(e.message, HasSubstr("reconnected after"));
      EXPECT_THAT(e.message, HasSubstr(port));  // the cause names the resource
    }
    EXPECT_TRUE(rig.events.faults.empty());
  }
  auto status = rig.manager->GetStatus("dmm");
  ASSERT_OK(status.status());
  EXPECT_EQ(status->reconnects, 1u);
  EXPECT_FALSE(status->failed);
}

TEST(Reconnect, ADeviceThatNeverComesBackEndsFailed) {
  auto sim = std::make_unique<SimProcess>("scpi_server.py",
                                          std::vector<std::string>{"--model", "34461a", "--hang-after", "12"});
  ASSERT_TRUE(sim->ready());
  Rig rig;
  rig.AddDmm(sim->first_line(), /*attempts=*/2, /*rate_hz=*/100.0);
  ASSERT_OK(rig.manager->ConnectInstrument("dmm"));
  ASSERT_OK(rig.manager->StartAcquisition("dmm"));
  sim->Kill();
  ASSERT_TRUE(rig.WaitFor([&] {
    std::lock_guard lock(rig.events.mutex);
    return !rig.events.faults.empty();
  })) << "the instrument never gave up";
  std::lock_guard lock(rig.events.mutex);
  ASSERT_EQ(rig.events.faults.size(), 1u);
  EXPECT_THAT(rig.events.faults[0], HasSubstr("gave up after 2 reconnect attempt(s)"));
  auto status = rig.manager->GetStatus("dmm");
  ASSERT_OK(status.status());
  EXPECT_TRUE(status->failed);
  EXPECT_FALSE(status->acquiring);
}

// Garbage instead of replies: each is an error that names the instrument, the command and the
// bytes received; the reading taken before the garbage is kept (a short batch), and with one
// reconnect attempt that meets garbage again the instrument ends failed -- no crash, no hang.
TEST(Reconnect, GarbageRepliesAreCountedAndNamedNeverACrash) {
  // Replies: *IDN?, six SYST:ERR? and the first READ? (8) are fine; garbage from then on.
  auto sim = std::make_unique<SimProcess>(
      "scpi_server.py", std::vector<std::string>{"--model", "34461a", "--garbage-after", "8"});
  ASSERT_TRUE(sim->ready());
  Rig rig;
  rig.AddDmm(sim->first_line(), /*attempts=*/1, /*rate_hz=*/200.0);
  ASSERT_OK(rig.manager->ConnectInstrument("dmm"));
  ASSERT_OK(rig.manager->StartAcquisition("dmm"));
  ASSERT_TRUE(rig.WaitFor([&] {
    std::lock_guard lock(rig.events.mutex);
    return !rig.events.faults.empty();
  })) << "the instrument never gave up";
  const auto status = rig.StatusOf("dmm");
  EXPECT_TRUE(status.failed);
  EXPECT_EQ(status.rows, 1u) << "the reading before the garbage is kept";
  EXPECT_EQ(status.read_errors, 2u);  // the READ? that got garbage, then the failed reconnect
  // The garbage as received, escaped, with the instrument and the command it answered.
  EXPECT_THAT(status.last_error, HasSubstr("instrument 'dmm': "));
  EXPECT_THAT(status.last_error, HasSubstr("reply to '*IDN?'"));
  EXPECT_THAT(status.last_error, HasSubstr("\\x00\\xFF#9zz\\x07garbage\\x1B[2J"));
  std::lock_guard lock(rig.events.mutex);
  ASSERT_EQ(rig.events.faults.size(), 1u);
  EXPECT_THAT(rig.events.faults[0], HasSubstr("instrument 'dmm': "));
  EXPECT_THAT(rig.events.faults[0], HasSubstr("reply to 'READ?'"));
  EXPECT_THAT(rig.events.faults[0], HasSubstr("\\x00\\xFF#9zz\\x07garbage\\x1B[2J"));
  EXPECT_THAT(rig.events.faults[0], HasSubstr("gave up after 1 reconnect attempt(s)"));
}

}  // namespace
}  // namespace arrowdaq::pipeline
