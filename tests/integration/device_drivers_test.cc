// scpi.generic against the instrument models in tools/sim/ (here the 34461A: a real process on a
// TCP socket) and against a scripted IEEE 488.2 session: binary blocks in the SCPI default byte
// order (big-endian, FORMat:BORDer NORMal) and in SWAPped order, and the device's error queue
// reported per set-up command. Each driver's own tests are in <driver>_test.cc beside this file.
#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/instruments/scpi_driver.h"
#include "device_test_util.h"

namespace arrowdaq::instruments {
namespace {

using namespace testing;  // NOLINT: the device test helpers

// Two readings per READ? as a little-endian REAL,64 block (FORMat:BORDer SWAPped) into two
// channels. The meter has no "FETC:BLOCK?": binary data comes from FORMat:DATA REAL.
TEST(ScpiGeneric, ReadsBinaryBlocksIntoChannels) {
  SimProcess sim("scpi_server.py", {"--model", "34461a"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("scpi.generic",
                  {{"identify", std::string("34461A")},
                   {"setup", std::string("CONF:VOLT:DC AUTO;;VOLT:DC:NPLC 0.02;;"
                                         "FORM:DATA REAL,64;;FORM:BORD SWAP;;SAMP:COUN 2")},
                   {"query", std::string("READ?")},
                   {"binary", true},
                   {"byte_order", std::string("little")},
                   {"channels", std::int64_t{2}},
                   {"check_errors", true},
                   {"rate_hz", 100.0},
                   {"batch_size", std::int64_t{4}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  ASSERT_EQ(b->num_rows(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(Column(*b, 1)->Value(i), 1.0 + 0.001 * (2 * i));
    EXPECT_DOUBLE_EQ(Column(*b, 2)->Value(i), 1.0 + 0.001 * (2 * i + 1));
  }
}

// After *RST a SCPI instrument sends binary blocks most significant byte first (FORMat:BORDer
// NORMal): that is the default, with no byte_order option.
TEST(ScpiGeneric, BinaryBlocksAreBigEndianByDefault) {
  SimProcess sim("scpi_server.py", {"--model", "34461a"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("scpi.generic", {{"setup", std::string("*RST;;CONF:VOLT:DC AUTO;;"
                                                         "VOLT:DC:NPLC 0.02;;FORM:DATA REAL,64")},
                                   {"binary", true},
                                   {"check_errors", true},
                                   {"rate_hz", 100.0},
                                   {"batch_size", std::int64_t{3}}});
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(static_cast<ScpiDriver*>(d.get())->scpi_config().big_endian);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(Column(*b, 1)->Value(i), 1.0 + 0.001 * i);
}

TEST(ScpiGeneric, ScriptedIeee488Session) {
  auto session = StartSession("scpi_generic.txt");
  ASSERT_TRUE(session->ready());
  auto d = Create("scpi.generic", {{"setup", std::string("*RST;;FORM:DATA REAL,64")},
                                   {"binary", true},
                                   {"channels", std::int64_t{2}},
                                   {"rate_hz", 100.0},
                                   {"batch_size", std::int64_t{2}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(*session)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  EXPECT_EQ(session->NextLine(), "COMPLETE");
  EXPECT_EQ(Column(*b, 1)->Value(0), 1.5);
  EXPECT_EQ(Column(*b, 2)->Value(0), -2.25);
  EXPECT_EQ(Column(*b, 1)->Value(1), -2.25);
  EXPECT_EQ(Column(*b, 2)->Value(1), 1.5);
}

TEST(ScpiGeneric, CheckErrorsReportsTheDevicesErrorQueue) {
  SimProcess sim("scpi_server.py", {"--model", "34461a"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("scpi.generic", {{"setup", std::string("NOT:A:COMMAND")}, {"check_errors", true}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(d->hardware().Connect(TcpResource(sim), Timeout{2000}));
  const Status st = d->Configure();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("device reported errors after 'NOT:A:COMMAND': "
                              "-113,\"Undefined header\""),
            std::string::npos)
      << st;
}

}  // namespace
}  // namespace arrowdaq::instruments
