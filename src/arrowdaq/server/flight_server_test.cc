// The Flight server in one process with a C++ Flight client: flights and schemas, a live DoGet
// whose values are the ramp formula with every sequence number present, refusals with the
// right codes, the token on every RPC, and a shutdown that does not wait for a stalled client.
// (tests/python/test_flight_server.py checks the same and more with pyarrow as the client.)
#include "arrowdaq/server/flight_server.h"

#include <fstream>
#include <thread>

#include <arrow/array.h>
#include <arrow/flight/api.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "arrowdaq/config/config.h"
#include "arrowdaq/server/test_engine.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/temp_dir.h"

namespace arrowdaq::server {
namespace {

namespace fl = arrow::flight;
using Json = nlohmann::json;

constexpr char kConfig[] = R"(
[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 20000.0, batch_size = 100 }

[instruments.sine]
driver = "sim.sine"
options = { rate_hz = 1000.0, batch_size = 50, channels = 2 }
)";
constexpr char kToken[] = "test-token-0123456789";

class FlightServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(engine_, TestEngine::Make(kConfig, dir_.Sub("runs")));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (engine_) engine_->Shutdown();
  }

  void StartServer(ServerOptions options = {}) {
    options.listen = "grpc://127.0.0.1:0";
    ASSERT_OK_AND_ASSIGN(server_, FlightServer::Start(engine_->port(), options));
    ASSERT_OK_AND_ASSIGN(auto location, fl::Location::Parse(server_->uri()));
    ASSERT_OK_AND_ASSIGN(client_, fl::FlightClient::Connect(location));
  }

  std::string WriteToken() {
    const auto path = dir_.Sub("token");
    std::ofstream(path) << kToken << "\n";
    return path;
  }

  Result<Json> Action(const std::string& type, const std::string& body,
                      const fl::FlightCallOptions& options = {}) {
    ARROW_ASSIGN_OR_RAISE(auto results,
                          client_->DoAction(options, {type, arrow::Buffer::FromString(body)}));
    ARROW_ASSIGN_OR_RAISE(auto result, results->Next());
    if (!result) return Status::Invalid("no result");
    return Json::parse(result->body->ToString());
  }

  testing::TempDir dir_{"flight-server"};
  std::unique_ptr<TestEngine> engine_;
  std::unique_ptr<FlightServer> server_;
  std::unique_ptr<fl::FlightClient> client_;
};

TEST_F(FlightServerTest, OneFlightPerStreamWithItsSchemaAndDescription) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(auto listing, client_->ListFlights());
  std::vector<std::string> names;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto info, listing->Next());
    if (!info) break;
    ASSERT_EQ(info->descriptor().path.size(), 1u);
    const std::string name = info->descriptor().path[0];
    names.push_back(name);
    arrow::ipc::DictionaryMemo memo;
    ASSERT_OK_AND_ASSIGN(auto schema, info->GetSchema(&memo));
    ASSERT_OK_AND_ASSIGN(auto expected, engine_->router().FindStream(name));
    EXPECT_TRUE(schema->Equals(*expected->schema, /*check_metadata=*/true)) << name;
    auto meta = Json::parse(info->app_metadata());
    EXPECT_EQ(meta["name"], name);
    EXPECT_EQ(meta["driver"], name == "ramp" ? "sim.ramp" : "sim.sine");
    EXPECT_EQ(meta["state"], "acquiring");
    ASSERT_EQ(info->endpoints().size(), 1u);
    EXPECT_EQ(Json::parse(info->endpoints()[0].ticket.ticket), Json({{"stream", name}}));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ramp", "sine"}));

  ASSERT_OK_AND_ASSIGN(auto one, client_->GetFlightInfo(fl::FlightDescriptor::Path({"sine"})));
  EXPECT_EQ(one->descriptor().path[0], "sine");
  auto missing = client_->GetFlightInfo(fl::FlightDescriptor::Path({"nope"}));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsKeyError()) << missing.status().ToString();  // NOT_FOUND
  EXPECT_NE(missing.status().message().find("streams: ramp, sine"), std::string::npos)
      << missing.status().message();
}

TEST_F(FlightServerTest, LiveDoGetHasEverySequenceAndTheRampValues) {
  StartServer();
  // gRPC hands the client unaligned buffers; ask for aligned ones to read doubles.
  fl::FlightCallOptions aligned;
  aligned.read_options.ensure_alignment = arrow::ipc::Alignment::kDataTypeSpecificAlignment;
  ASSERT_OK_AND_ASSIGN(auto reader, client_->DoGet(aligned, fl::Ticket{R"({"stream": "ramp"})"}));
  std::optional<std::uint64_t> first;
  std::uint64_t expected = 0;
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK_AND_ASSIGN(auto chunk, reader->Next());
    ASSERT_NE(chunk.data, nullptr);
    ASSERT_NE(chunk.app_metadata, nullptr);
    auto meta = Json::parse(chunk.app_metadata->ToString());
    const std::uint64_t seq = meta["sequence"];
    if (!first) expected = *(first = seq);
    EXPECT_EQ(seq, expected++);
    EXPECT_EQ(meta["stream"], "ramp");
    EXPECT_EQ(meta["dropped"], 0);
    // Ramp: x[n] = n, and packet `seq` holds samples seq*100 .. seq*100+99.
    const auto& values = static_cast<const arrow::DoubleArray&>(*chunk.data->column(1));
    ASSERT_EQ(values.length(), 100);
    for (int64_t r = 0; r < values.length(); ++r) {
      ASSERT_EQ(values.Value(r), static_cast<double>(seq * 100 + static_cast<uint64_t>(r)));
    }
  }
  reader->Cancel();
}

TEST_F(FlightServerTest, RefusalsCarryTheRightCodeAndNameTheField) {
  StartServer();
  auto read_error = [&](const std::string& ticket) -> Status {
    auto reader = client_->DoGet(fl::Ticket{ticket});
    if (!reader.ok()) return reader.status();
    return (*reader)->Next().status();
  };
  Status bad = read_error(R"({"stream": "ramp", "start": "later"})");
  EXPECT_TRUE(bad.IsInvalid()) << bad.ToString();
  EXPECT_NE(bad.message().find("ticket: field 'start': expected one of live, replay, since"),
            std::string::npos)
      << bad.message();
  Status unknown = read_error(R"({"stream": "nope"})");
  EXPECT_TRUE(unknown.IsKeyError()) << unknown.ToString();
  Status mixed = read_error(R"({"streams": ["ramp", "sine"]})");
  EXPECT_TRUE(mixed.IsInvalid()) << mixed.ToString();
  EXPECT_NE(mixed.message().find("'sine' has another schema than 'ramp'"), std::string::npos);

  auto action = Action("reboot", "");
  EXPECT_TRUE(action.status().IsInvalid()) << action.status().ToString();
  auto body = Action("send_command", "\x01\x02garbage");
  EXPECT_TRUE(body.status().IsInvalid()) << body.status().ToString();
  EXPECT_NE(body.status().message().find("send_command: not valid JSON"), std::string::npos);
  auto no_instrument = Action("send_command", R"({"instrument": "dmm", "command": "*IDN?"})");
  EXPECT_TRUE(no_instrument.status().IsKeyError()) << no_instrument.status().ToString();

  // Still serving.
  ASSERT_OK_AND_ASSIGN(auto idn, Action("send_command", R"({"instrument": "sine", "command": "*IDN?"})"));
  EXPECT_EQ(idn["reply"].get<std::string>().rfind("arrowdaq,SIM-SINE,0,", 0), 0u) << idn.dump();
}

TEST_F(FlightServerTest, WithATokenEveryRpcNeedsIt) {
  StartServer({.token_file = WriteToken()});
  auto is_unauthenticated = [](const Status& st) {
    auto detail = fl::FlightStatusDetail::UnwrapStatus(st);
    return detail && detail->code() == fl::FlightStatusCode::Unauthenticated;
  };
  fl::FlightCallOptions none;
  fl::FlightCallOptions wrong;
  wrong.headers.emplace_back("authorization", "Bearer test-token-0123456788");
  fl::FlightCallOptions right;
  right.headers.emplace_back("authorization", std::string("Bearer ") + kToken);
  for (const auto* options : {&none, &wrong}) {
    EXPECT_TRUE(is_unauthenticated(client_->ListFlights(*options, {}).status()));
    EXPECT_TRUE(is_unauthenticated(
        client_->GetFlightInfo(*options, fl::FlightDescriptor::Path({"ramp"})).status()));
    EXPECT_TRUE(is_unauthenticated(client_->ListActions(*options).status()));
    EXPECT_TRUE(is_unauthenticated(Action("status", "", *options).status()));
    auto reader = client_->DoGet(*options, fl::Ticket{"ramp"});
    Status get = reader.ok() ? (*reader)->Next().status() : reader.status();
    EXPECT_TRUE(is_unauthenticated(get)) << get.ToString();
  }
  ASSERT_OK(client_->ListFlights(right, {}));
  ASSERT_OK_AND_ASSIGN(auto status, Action("status", "", right));
  EXPECT_EQ(status["server"]["token_required"], true);
  EXPECT_EQ(status["server"]["unauthenticated"], 10);
}

TEST_F(FlightServerTest, WithoutATokenOnlyLoopbackAndBadFilesAreUsageErrors) {
  auto refused = FlightServer::Start(engine_->port(), {.listen = "grpc://0.0.0.0:0"});
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsInvalid());
  EXPECT_NE(refused.status().message().find("needs a token"), std::string::npos);
  auto no_file = FlightServer::Start(
      engine_->port(), {.listen = "grpc://127.0.0.1:0", .token_file = dir_.Sub("missing")});
  EXPECT_TRUE(no_file.status().IsInvalid()) << no_file.status().ToString();
  auto half_tls = FlightServer::Start(
      engine_->port(), {.listen = "grpc://127.0.0.1:0", .tls_cert_file = dir_.Sub("cert.pem")});
  EXPECT_TRUE(half_tls.status().IsInvalid()) << half_tls.status().ToString();
  ASSERT_OK_AND_ASSIGN(auto open, FlightServer::Start(engine_->port(), {.listen = "grpc://0.0.0.0:0",
                                                                  .token_file = WriteToken()}));
  EXPECT_GT(open->port(), 0);
}

TEST_F(FlightServerTest, ShutdownEndsLiveStreamsEvenOfAClientThatStoppedReading) {
  StartServer();
  ASSERT_OK_AND_ASSIGN(auto stalled, client_->DoGet(fl::Ticket{"ramp"}));
  ASSERT_OK_AND_ASSIGN(auto reading, client_->DoGet(fl::Ticket{"sine"}));
  ASSERT_OK(stalled->Next().status());  // then never read again
  std::thread reader([&] {
    while (true) {
      auto chunk = reading->Next();
      if (!chunk.ok() || chunk->data == nullptr) return;  // the server ended the stream
    }
  });
  server_->Shutdown();  // returns: live streams end, the stalled one is cancelled
  reader.join();
  server_->Wait();
}

}  // namespace
}  // namespace arrowdaq::server
