// Helpers shared by the device driver integration tests: build a driver from the registry,
// connect/configure/arm it against a simulator process (tools/sim/), read one batch, name the
// simulator's resource, and play a scripted session (tools/sim/scripted.py with a script from
// tests/integration/sessions/). Tests only; needs ARROWDAQ_PYTHON, ARROWDAQ_SIM_DIR and
// ARROWDAQ_SESSIONS_DIR.
#pragma once

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/sim_process.h"

namespace arrowdaq::instruments::testing {

using arrowdaq::testing::SimProcess;
using hardware::Timeout;

inline std::string TcpResource(const SimProcess& sim) {
  return "TCPIP::127.0.0.1::" + sim.first_line() + "::SOCKET";
}
inline std::string SerialResource(const SimProcess& sim) {
  return "ASRL" + sim.first_line() + "::INSTR";
}

/// Start tools/sim/scripted.py on tests/integration/sessions/<name>.
inline std::unique_ptr<SimProcess> StartSession(const std::string& name) {
  return std::make_unique<SimProcess>(
      "scripted.py", std::vector<std::string>{std::string(ARROWDAQ_SESSIONS_DIR) + "/" + name});
}

inline std::unique_ptr<InstrumentDriver> Create(const std::string& name,
                                                const OptionMap& options) {
  auto driver = DriverRegistry::Default().Create(name, options);
  EXPECT_TRUE(driver.ok()) << driver.status();
  return driver.ok() ? std::move(*driver) : nullptr;
}

inline Result<std::shared_ptr<arrow::RecordBatch>> ReadBatch(InstrumentDriver& d) {
  ARROW_ASSIGN_OR_RAISE(auto raw, d.hardware().ReadRawData(d.read_timeout()));
  return d.Decode(std::move(raw));
}

inline Status Start(InstrumentDriver& d, const std::string& resource) {
  ARROW_RETURN_NOT_OK(d.hardware().Connect(resource, Timeout{2000}));
  ARROW_RETURN_NOT_OK(d.Configure());
  return d.StartAcquisition();
}

inline std::shared_ptr<arrow::DoubleArray> Column(const arrow::RecordBatch& b, int i) {
  return std::static_pointer_cast<arrow::DoubleArray>(b.column(i));
}

inline void ExpectIncreasingTimestamps(const arrow::RecordBatch& b) {
  auto ts = std::static_pointer_cast<arrow::TimestampArray>(b.column(0));
  for (int64_t i = 1; i < ts->length(); ++i) EXPECT_LT(ts->Value(i - 1), ts->Value(i));
}

/// Return the driver's pending events of `kind`.
inline std::vector<DriverEvent> EventsOf(InstrumentDriver& d, const std::string& kind) {
  std::vector<DriverEvent> out;
  for (auto& e : d.TakeEvents()) {
    if (e.kind == kind) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace arrowdaq::instruments::testing
