// Tests of the acme.tm2 driver: its logic against the SDK's MockHardware, then the whole
// driver over TCP against the TM-2 simulator (sim/acme_tm2_sim.py) run as a real process.
#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arrowdaq/testing/gtest_util.h>
#include <arrowdaq/testing/mock_hardware.h>
#include <arrowdaq/testing/sim_process.h>

#include "acme_tm2.h"

namespace acme {
namespace {

using ::arrowdaq::testing::MockHardware;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

ad::ResolvedOptions Options(ad::OptionMap given = {}) {
  return ad::ResolvedOptions::Make(Tm2Driver::OptionSpecs(), given).ValueOrDie();
}

// Return a driver on a MockHardware, and the mock (owned by the driver).
std::pair<std::unique_ptr<Tm2Driver>, MockHardware*> OnMock(ad::OptionMap given = {}) {
  auto mock = std::make_unique<MockHardware>();
  MockHardware* raw = mock.get();
  auto driver = Tm2Driver::Make(Options(std::move(given)), std::move(mock)).ValueOrDie();
  return {std::move(driver), raw};
}

std::shared_ptr<arrow::Buffer> Text(const std::string& s) { return arrow::Buffer::FromString(s); }

TEST(Tm2Driver, ConfigureIdentifiesAndSetsTheRate) {
  auto [driver, mock] = OnMock({{"rate_hz", 50.0}});
  ::testing::InSequence order;
  EXPECT_CALL(*mock, SendCommand("*IDN?", _)).WillOnce(Return("ACME,TM-2,SN1,1.0"));
  EXPECT_CALL(*mock, SendCommand("RATE 50", _)).WillOnce(Return(""));
  EXPECT_CALL(*mock, SendCommand("RATE?", _)).WillOnce(Return("50.0"));
  ASSERT_OK(driver->Configure());
  EXPECT_EQ(driver->idn(), "ACME,TM-2,SN1,1.0");
}

TEST(Tm2Driver, ConfigureRefusesAnotherInstrument) {
  auto [driver, mock] = OnMock();
  EXPECT_CALL(*mock, SendCommand("*IDN?", _)).WillOnce(Return("KEYSIGHT,34461A,1,2"));
  const ad::Status st = driver->Configure();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_THAT(st.message(), HasSubstr("not an Acme TM-2: *IDN? answered 'KEYSIGHT,34461A,1,2'"));
}

TEST(Tm2Driver, ConfigureRefusesARateTheDeviceDidNotTake) {
  auto [driver, mock] = OnMock({{"rate_hz", 50.0}});
  EXPECT_CALL(*mock, SendCommand("*IDN?", _)).WillOnce(Return("ACME,TM-2,SN1,1.0"));
  EXPECT_CALL(*mock, SendCommand("RATE 50", _)).WillOnce(Return(""));
  EXPECT_CALL(*mock, SendCommand("RATE?", _)).WillOnce(Return("10.0"));
  EXPECT_THAT(driver->Configure().message(), HasSubstr("RATE? answered '10.0'"));
}

TEST(Tm2Driver, DecodeMakesOneRowPerSample) {
  auto [driver, mock] = OnMock({{"rate_hz", 4.0}});
  EXPECT_CALL(*mock, SendCommand("START", _)).WillOnce(Return(""));
  ASSERT_OK(driver->StartAcquisition());
  ASSERT_OK_AND_ASSIGN(auto batch, driver->Decode(Text("0,20.5,35.25,21.5,34.0")));
  ASSERT_EQ(batch->num_rows(), 2);
  ASSERT_OK(batch->ValidateFull());
  const auto& stamps = static_cast<const arrow::TimestampArray&>(*batch->column(0));
  EXPECT_EQ(stamps.Value(1) - stamps.Value(0), 250'000'000);  // 1 / 4 Hz
  const auto& inlet = static_cast<const arrow::DoubleArray&>(*batch->GetColumnByName("inlet"));
  const auto& outlet = static_cast<const arrow::DoubleArray&>(*batch->GetColumnByName("outlet"));
  EXPECT_EQ(inlet.Value(1), 21.5);
  EXPECT_EQ(outlet.Value(0), 35.25);
  EXPECT_TRUE(driver->TakeEvents().empty());
}

TEST(Tm2Driver, DecodeCountsDroppedSamplesAndRefusesGarbage) {
  auto [driver, mock] = OnMock();
  ASSERT_OK(driver->Decode(Text("0,1,2")).status());
  ASSERT_OK(driver->Decode(Text("4,1,2")).status());  // samples 1..3 never came
  const auto events = driver->TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "gap");
  EXPECT_EQ(events[0].message, "3 samples dropped by the TM-2");
  EXPECT_THAT(driver->Decode(Text("5,1,x")).status().message(),
              HasSubstr("FETCH? reply is not"));
  EXPECT_THAT(driver->Decode(Text("5,1")).status().message(), HasSubstr("1 values"));
  EXPECT_THAT(driver->Decode(Text("ERR not started")).status().message(),
              HasSubstr("FETCH? reply is not"));
}

TEST(Tm2Driver, OptionsOutOfRangeAreRefusedNamingThem) {
  auto make = [](ad::OptionMap given) {
    return Tm2Driver::Make(Options(std::move(given)), std::make_unique<MockHardware>()).status();
  };
  EXPECT_THAT(make({{"rate_hz", 0.5}}).message(), HasSubstr("option 'rate_hz' must be 1..1000"));
  EXPECT_THAT(make({{"batch_size", std::int64_t{0}}}).message(), HasSubstr("'batch_size'"));
}

// The whole driver, through the SDK's TCP transport, against the simulator.
TEST(Tm2Driver, ReadsTheSimulatorOverTcp) {
  arrowdaq::testing::SimProcess sim("acme_tm2_sim.py", {});
  ASSERT_TRUE(sim.ready()) << "simulator did not start";
  const std::string port = sim.first_line().substr(5);  // "PORT <n>"
  ASSERT_OK_AND_ASSIGN(auto driver, Tm2Driver::Make(Options({{"rate_hz", 200.0},
                                                             {"batch_size", std::int64_t{20}}})));
  ASSERT_OK(driver->hardware().Connect("TCPIP::127.0.0.1::" + port + "::SOCKET",
                                       ad::hardware::Timeout{2000}));
  ASSERT_OK(driver->Configure());
  ASSERT_OK(driver->StartAcquisition());
  std::int64_t k = 0;
  for (int batch = 0; batch < 3; ++batch) {
    ASSERT_OK_AND_ASSIGN(auto raw, driver->hardware().ReadRawData(driver->read_timeout()));
    ASSERT_OK_AND_ASSIGN(auto rb, driver->Decode(raw));
    ASSERT_EQ(rb->num_rows(), 20);
    const auto& sample = static_cast<const arrow::Int64Array&>(*rb->column(1));
    const auto& inlet = static_cast<const arrow::DoubleArray&>(*rb->column(2));
    const auto& outlet = static_cast<const arrow::DoubleArray&>(*rb->column(3));
    for (std::int64_t i = 0; i < rb->num_rows(); ++i, ++k) {
      ASSERT_EQ(sample.Value(i), k);
      ASSERT_EQ(inlet.Value(i), 20 + 0.01 * static_cast<double>(k));
      ASSERT_EQ(outlet.Value(i), 35 - 0.02 * static_cast<double>(k));
    }
  }
  EXPECT_TRUE(driver->TakeEvents().empty());
  ASSERT_OK(driver->StopAcquisition());
  ASSERT_OK(driver->hardware().Disconnect());
}

}  // namespace
}  // namespace acme
