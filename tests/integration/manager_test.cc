// The manager end to end with a mocked instrument: registration, connect, commands,
// acquisition and fan-out, through real actors, threads and subscriptions.
#include "arrowdaq/pipeline/instrument_manager.h"

#include <arrow/array.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/float64_block.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/mock_hardware.h"

namespace arrowdaq::pipeline {
namespace {

using namespace std::chrono_literals;
using testing::Float64Block;
using testing::MockHardware;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

// A registration whose hardware answers *IDN? and returns `reads` blocks of 4 samples
// (values 0, 1, 2, ... across blocks), then reports that it has no more data.
InstrumentRegistration MockInstrument(const std::string& name, int reads) {
  InstrumentRegistration reg;
  reg.name = name;
  reg.driver = "mock";
  reg.resource = "mock_address";
  reg.reconnect_attempts = 0;  // the mock answers Connect once
  reg.make_driver = [reads]() -> Result<std::unique_ptr<instruments::InstrumentDriver>> {
    auto hw = std::make_unique<::testing::NiceMock<MockHardware>>();
    EXPECT_CALL(*hw, Connect("mock_address", _)).Times(1).WillOnce(Return(Status::OK()));
    ON_CALL(*hw, Disconnect()).WillByDefault(Return(Status::OK()));
    ON_CALL(*hw, SendCommand("*IDN?", _)).WillByDefault(Return(std::string("MOCK_INSTRUMENT")));
    auto& expect = EXPECT_CALL(*hw, ReadRawData(_));
    for (int i = 0; i < reads; ++i) {
      expect.WillOnce(Return(Float64Block({4.0 * i, 4.0 * i + 1, 4.0 * i + 2, 4.0 * i + 3})));
    }
    expect.WillRepeatedly(Return(Status::IOError("no more data")));
    ARROW_ASSIGN_OR_RAISE(auto driver,
                          instruments::Float64BlockDriver::Make(std::move(hw), 1, 1000.0, "V"));
    return std::unique_ptr<instruments::InstrumentDriver>(std::move(driver));
  };
  return reg;
}

TEST(InstrumentManager, MockedInstrumentDeliversEveryBatchToASubscriber) {
  runtime::ActorSystem system({.threads = 2});
  std::promise<Status> fault;
  InstrumentManager manager(system, {.on_fault = [&](const std::string&, const Status& st) {
                                       fault.set_value(st);
                                     }});
  ASSERT_OK(manager.RegisterInstrument(MockInstrument("mock", 3)));
  ASSERT_OK_AND_ASSIGN(auto sub, manager.AddDataSubscriber({.name = "consumer",
                                                            .streams = {"mock"},
                                                            .capacity = 8,
                                                            .policy = OverflowPolicy::kBlock}));
  ASSERT_OK(manager.ConnectInstrument("mock"));
  ASSERT_OK_AND_ASSIGN(auto idn, manager.SendCommand("mock", "*IDN?"));
  EXPECT_EQ(idn, "MOCK_INSTRUMENT");
  ASSERT_OK(manager.StartAcquisition("mock"));

  std::vector<DataPacket> got;
  while (got.size() < 3) {
    auto p = sub->Next(std::chrono::steady_clock::now() + 5s);
    ASSERT_TRUE(p) << "only " << got.size() << " batches arrived";
    got.push_back(std::move(*p));
  }
  auto f = fault.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_THAT(f.get().message(), HasSubstr("no more data"));
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].sequence, i);
    EXPECT_EQ(got[i].stream_name(), "mock");
    const auto& v = static_cast<const arrow::DoubleArray&>(*got[i].batch->column(1));
    for (int64_t j = 0; j < v.length(); ++j) EXPECT_EQ(v.Value(j), 4.0 * i + j);
  }
  auto list = manager.GetInstrumentList();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].connected);
  EXPECT_FALSE(list[0].acquiring);
  EXPECT_EQ(list[0].batches, 3u);
  EXPECT_THAT(list[0].last_error, HasSubstr("no more data"));
  EXPECT_FALSE(sub->TryNext());  // nothing beyond the three batches
}

TEST(InstrumentManager, FanOutToThreeSubscribersSharesTheBuffers) {
  runtime::ActorSystem system({.threads = 2});
  InstrumentManager manager(system);
  ASSERT_OK(manager.RegisterInstrument(MockInstrument("mock", 5)));
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(auto s, manager.AddDataSubscriber({.name = "s" + std::to_string(i),
                                                            .streams = {"*"},
                                                            .capacity = 16,
                                                            .policy = OverflowPolicy::kBlock}));
    subs.push_back(s);
  }
  ASSERT_OK(manager.ConnectInstrument("mock"));
  ASSERT_OK(manager.StartAcquisition("mock"));
  std::vector<std::vector<DataPacket>> got(3);
  for (int i = 0; i < 3; ++i) {
    while (got[i].size() < 5) {
      auto p = subs[i]->Next(std::chrono::steady_clock::now() + 5s);
      ASSERT_TRUE(p);
      got[i].push_back(*p);
    }
  }
  for (int k = 0; k < 5; ++k) {
    const auto* data0 =
        static_cast<const arrow::DoubleArray&>(*got[0][k].batch->column(1)).raw_values();
    for (int i = 1; i < 3; ++i) {
      EXPECT_EQ(got[i][k].batch.get(), got[0][k].batch.get());
      EXPECT_EQ(static_cast<const arrow::DoubleArray&>(*got[i][k].batch->column(1)).raw_values(),
                data0);
    }
  }
}

TEST(InstrumentManager, ReadDataTakesSingleBatchesThatSubscribersSeeToo) {
  runtime::ActorSystem system({.threads = 2});
  InstrumentManager manager(system);
  InstrumentRegistration reg;
  reg.name = "ramp";
  reg.driver = "sim.ramp";
  reg.resource = "SIM::ramp";
  reg.make_driver = [] {
    return instruments::DriverRegistry::Default().Create(
        "sim.ramp", {{"rate_hz", 10000.0}, {"batch_size", std::int64_t{100}}});
  };
  ASSERT_OK(manager.RegisterInstrument(std::move(reg)));
  ASSERT_OK_AND_ASSIGN(auto sub, manager.AddDataSubscriber({.name = "s", .streams = {"ramp"},
                                                            .capacity = 4,
                                                            .policy = OverflowPolicy::kBlock}));
  EXPECT_THAT(manager.ReadData("ramp").status().message(), HasSubstr("not connected"));
  ASSERT_OK(manager.ConnectInstrument("ramp"));
  for (uint64_t k = 0; k < 2; ++k) {
    ASSERT_OK_AND_ASSIGN(auto packet, manager.ReadData("ramp"));
    EXPECT_EQ(packet.sequence, k);
    const auto& v = static_cast<const arrow::DoubleArray&>(*packet.batch->column(1));
    ASSERT_EQ(v.length(), 100);
    EXPECT_EQ(v.Value(0), 100.0 * k);  // the ramp continues across single reads
    auto seen = sub->TryNext();
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->batch.get(), packet.batch.get());
  }
  ASSERT_OK(manager.StartAcquisition("ramp"));
  EXPECT_THAT(manager.ReadData("ramp").status().message(), HasSubstr("is acquiring"));
  ASSERT_OK(manager.StopAcquisition("ramp"));
  manager.Shutdown();
}

TEST(InstrumentManager, BadRequestsGiveClearErrors) {
  runtime::ActorSystem system({.threads = 1});
  InstrumentManager manager(system);
  ASSERT_OK(manager.RegisterInstrument(MockInstrument("mock", 0)));
  EXPECT_TRUE(manager.RegisterInstrument(MockInstrument("mock", 0)).IsAlreadyExists());
  auto st = manager.StartAcquisition("mock");
  EXPECT_THAT(st.message(), HasSubstr("not connected"));
  st = manager.ConnectInstrument("nope");
  EXPECT_TRUE(st.IsKeyError());
  EXPECT_THAT(st.message(), HasSubstr("instruments: mock"));
  auto sub = manager.AddDataSubscriber({.name = "x", .streams = {"missing"}});
  EXPECT_THAT(sub.status().message(), HasSubstr("no stream named 'missing'"));
  ASSERT_OK(manager.ConnectInstrument("mock"));
  ASSERT_OK(manager.UnregisterInstrument("mock"));
  EXPECT_TRUE(manager.GetInstrumentList().empty());
}

}  // namespace
}  // namespace arrowdaq::pipeline
