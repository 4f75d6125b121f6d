// Supervision of real instrument I/O through the manager: a DMM on a TCP simulator that is
// killed mid-run and restarted reconnects with backoff, its outage is recorded as a gap event
// with its cause, its packets keep consecutive sequence numbers with no duplicate timestamps,
// and a simulated instrument in the same run never stalls. A device that never comes back
// ends in the failed state; a hung device trips the timeout; garbage never crashes.
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

  std::this_thread::sleep_for(700ms);
  const uint64_t dmm_before = rig.Rows("dmm");
  EXPECT_GT(dmm_before, 0u);
  sim->Kill();  // the device drops off the network
  const uint64_t ramp_at_kill = rig.Rows("ramp");
  std::this_thread::sleep_for(1500ms);
  // The other instrument never stalls: ~1.5 s of a 1 kHz source arrived meanwhile.
  EXPECT_GT(rig.Rows("ramp") - ramp_at_kill, 1000u);
  sim = std::make_unique<SimProcess>("scpi_server.py",
                                     std::vector<std::string>{"--model", "34461a", "--port", port});
  ASSERT_TRUE(sim->ready());
  // Data flows again after the reconnect.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (rig.Rows("dmm") < dmm_before + 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(rig.Rows("dmm"), dmm_before + 20) << "no data after the simulator came back";
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
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(rig.events.mutex);
      if (!rig.events.faults.empty()) break;
    }
    std::this_thread::sleep_for(50ms);
  }
  std::lock_guard lock(rig.events.mutex);
  ASSERT_EQ(rig.events.faults.size(), 1u);
  EXPECT_THAT(rig.events.faults[0], HasSubstr("gave up after 2 reconnect attempt(s)"));
  auto status = rig.manager->GetStatus("dmm");
  ASSERT_OK(status.status());
  EXPECT_TRUE(status->failed);
  EXPECT_FALSE(status->acquiring);
}

TEST(Reconnect, GarbageRepliesAreCountedAndNamedNeverACrash) {
  auto sim = std::make_unique<SimProcess>(
      "scpi_server.py", std::vector<std::string>{"--model", "34461a", "--garbage-after", "8"});
  ASSERT_TRUE(sim->ready());
  Rig rig;
  rig.AddDmm(sim->first_line(), /*attempts=*/1, /*rate_hz=*/200.0);
  ASSERT_OK(rig.manager->ConnectInstrument("dmm"));
  ASSERT_OK(rig.manager->StartAcquisition("dmm"));
  std::this_thread::sleep_for(1500ms);
  auto status = rig.manager->GetStatus("dmm");
  ASSERT_OK(status.status());
  EXPECT_GE(status->read_errors, 1u);
  EXPECT_THAT(status->last_error, HasSubstr("dmm"));
}

}  // namespace
}  // namespace arrowdaq::pipeline
