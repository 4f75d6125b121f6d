// The CLI client commands against a real Flight server over the real engine (sim instruments):
// what they print, their exit codes, the token from a file or the environment, and an
// unreachable server.
#include "arrowdaq/server/client_commands.h"

#include <stdlib.h>

#include <fstream>
#include <regex>
#include <sstream>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include "arrowdaq/config/config.h"
#include "arrowdaq/server/test_engine.h"
#include "arrowdaq/server/flight_server.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/temp_dir.h"

namespace arrowdaq::server {
namespace {

constexpr char kConfig[] = R"(
[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 10000.0, batch_size = 100, unit = "mV" }
)";
constexpr char kToken[] = "client-test-token-42";

class ClientCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("ARROWDAQ_TOKEN");
    ASSERT_OK_AND_ASSIGN(engine_, TestEngine::Make(kConfig, dir_.Sub("runs")));
  }
  void TearDown() override {
    unsetenv("ARROWDAQ_TOKEN");
    if (server_) server_->Shutdown();
    if (engine_) engine_->Shutdown();
  }
  void Start(ServerOptions options = {}) {
    options.listen = "grpc://127.0.0.1:0";
    ASSERT_OK_AND_ASSIGN(server_, FlightServer::Start(engine_->port(), options));
    client_.connect = server_->uri();
  }
  std::string TokenFile(const std::string& token) {
    const auto path = dir_.Sub("token");
    std::ofstream(path) << token << "\n";
    return path;
  }

  testing::TempDir dir_{"client-commands"};
  std::unique_ptr<TestEngine> engine_;
  std::unique_ptr<FlightServer> server_;
  ClientOptions client_;
  std::ostringstream out_, err_;
};

TEST_F(ClientCommandsTest, StatusListsInstrumentsStreamsAndRecordings) {
  Start();
  ASSERT_EQ(CmdStatus(client_, false, out_, err_), 0) << err_.str();
  const std::string text = out_.str();
  EXPECT_NE(text.find("server " + server_->uri()), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(\n  ramp +sim\.ramp +acquiring +rows \d+)")))
      << text;
  EXPECT_NE(text.find("recordings:\n  (none)"), std::string::npos) << text;
  std::ostringstream json;
  ASSERT_EQ(CmdStatus(client_, true, json, err_), 0);
  EXPECT_NE(json.str().find("\"instruments\""), std::string::npos);
}

TEST_F(ClientCommandsTest, SendPrintsTheReplyAndUnknownInstrumentsAreUsageErrors) {
  Start();
  ASSERT_EQ(CmdSend(client_, "ramp", "*IDN?", out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("arrowdaq,SIM-RAMP,0,", 0), 0u) << out_.str();
  EXPECT_EQ(CmdSend(client_, "dmm", "*IDN?", out_, err_), 2);
  EXPECT_NE(err_.str().find(": no instrument named 'dmm'"), std::string::npos) << err_.str();
  EXPECT_EQ(err_.str().find("Flight returned"), std::string::npos) << err_.str();
}

TEST_F(ClientCommandsTest, RecordStartAndStop) {
  Start();
  EXPECT_EQ(CmdRecordStart(client_, {.name = "../x"}, out_, err_), 2);
  EXPECT_NE(err_.str().find("record start: recording name '../x' must start with a letter or digit"),
            std::string::npos)
      << err_.str();
  ASSERT_EQ(CmdRecordStart(client_, {.name = "scan1", .streams = {"ramp"}}, out_, err_), 0)
      << err_.str();
  std::smatch m;
  const std::string started = out_.str();
  ASSERT_TRUE(std::regex_search(started, m, std::regex(R"(recording (scan1-\S+) started: (\S+))")))
      << started;
  EXPECT_EQ(CmdRecordStop(client_, m[1], out_, err_), 0) << err_.str();
  EXPECT_NE(out_.str().find("recording " + m[1].str() + " stopped"), std::string::npos);
  EXPECT_EQ(CmdRecordStop(client_, m[1], out_, err_), 2);
  EXPECT_NE(err_.str().find("is already stopped"), std::string::npos) << err_.str();
}

TEST_F(ClientCommandsTest, WatchPrintsRatesDropsAndTheLatestValuesWithUnits) {
  Start();
  ASSERT_EQ(CmdWatch(client_, {.stream = "ramp", .interval = std::chrono::milliseconds(50),
                               .max_batches = 20},
                     out_, err_),
            0)
      << err_.str();
  const std::string text = out_.str();
  // Ramp: the latest value of ch0 is the last sample index of the batch, the sequence's.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      text, m,
      std::regex(R"(ramp: [0-9.]+ rows/s, 0 dropped \(0 in total\), sequence (\d+), latest ch0=(\d+) mV\n$)")))
      << text;
  EXPECT_EQ(std::stoull(m[2]), std::stoull(m[1]) * 100 + 99);
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(CmdWatch(client_, {.stream = "nope", .max_batches = 1}, out_, err_), 2);
  EXPECT_NE(err_.str().find("no stream named 'nope'"), std::string::npos) << err_.str();
}

TEST_F(ClientCommandsTest, TheTokenComesFromTheFileOrTheEnvironment) {
  Start({.token_file = TokenFile(kToken)});
  EXPECT_EQ(CmdStatus(client_, false, out_, err_), 2);
  EXPECT_NE(err_.str().find("refused the call"), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("--token-file or ARROWDAQ_TOKEN"), std::string::npos);
  setenv("ARROWDAQ_TOKEN", kToken, 1);
  EXPECT_EQ(CmdStatus(client_, false, out_, err_), 0) << err_.str();
  setenv("ARROWDAQ_TOKEN", "client-test-token-43", 1);
  EXPECT_EQ(CmdSend(client_, "ramp", "*IDN?", out_, err_), 2);
  ClientOptions with_file = client_;
  with_file.token_file = TokenFile(kToken);  // the file wins over the environment
  EXPECT_EQ(CmdSend(with_file, "ramp", "*IDN?", out_, err_), 0) << err_.str();
}

TEST_F(ClientCommandsTest, AnUnreachableServerFailsWithinTheTimeout) {
  client_.connect = "grpc://127.0.0.1:1";
  client_.timeout = std::chrono::milliseconds(2000);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(CmdStatus(client_, false, out_, err_), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));  // sanity bound
  EXPECT_NE(err_.str().find("grpc://127.0.0.1:1"), std::string::npos) << err_.str();
  EXPECT_EQ(CmdStatus({.connect = "http//nowhere"}, false, out_, err_), 2);
}

TEST_F(ClientCommandsTest, TheCliRegistrationRunsTheChosenCommand) {
  Start();
  CLI::App app;
  auto cli = ClientCli::Add(app);
  const std::string uri = server_->uri();
  std::vector<const char*> argv = {"arrowdaq", "send", "ramp", "*IDN?", "--connect", uri.c_str()};
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  auto code = cli->Run(out_, err_);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << err_.str();
  EXPECT_EQ(out_.str().rfind("arrowdaq,SIM-RAMP", 0), 0u);
  CLI::App other;
  auto none = ClientCli::Add(other);
  other.add_subcommand("run");
  std::vector<const char*> run = {"arrowdaq", "run"};
  other.parse(2, const_cast<char**>(run.data()));
  EXPECT_FALSE(none->Run(out_, err_));
}

}  // namespace
}  // namespace arrowdaq::server
