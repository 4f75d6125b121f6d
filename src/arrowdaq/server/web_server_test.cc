// The dashboard's HTTP server in one process with cpp-httplib's client, over a real engine:
// the JSON API, the token, a live channel whose plot frames have the requested shape, requests
// from several threads at once (TSan), a client that never reads (dropped, the engine's
// sequence numbers unbroken) and a shutdown that does not wait for it.
// (tests/python/test_dashboard.py checks the page itself in a headless Chromium.)
#include "arrowdaq/server/web_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "arrowdaq/server/test_engine.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/temp_dir.h"

namespace arrowdaq::server {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kConfig[] = R"(
[instruments.ramp]
driver = "sim.ramp"
options = { rate_hz = 20000.0, batch_size = 100 }

[instruments.sine]
driver = "sim.sine"
options = { rate_hz = 1000.0, batch_size = 50, channels = 2, unit = "V" }
)";
constexpr char kToken[] = "web-test-token-0123456789";

class WebServerTest : public ::testing::Test {
 protected:
  virtual const char* Config() const { return kConfig; }
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(engine_, TestEngine::Make(Config(), dir_.Sub("runs")));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    if (engine_) engine_->Shutdown();
  }
  void Start(WebOptions options = {}) {
    options.listen = "http://127.0.0.1:0";
    options.required = true;
    ASSERT_OK_AND_ASSIGN(server_, WebServer::Start(engine_->port(), options));
    ASSERT_NE(server_, nullptr);
    const std::string url = server_->url();
    port_ = std::stoi(url.substr(url.rfind(':') + 1));
  }
  httplib::Client Client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(std::chrono::seconds(30));
    return c;
  }
  Json Status() {
    auto c = Client();
    auto r = c.Get("/api/status");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    return Json::parse(r->body);
  }
  template <typename F>
  void WaitFor(F predicate, const char* what) {
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (!predicate()) {
      ASSERT_LT(Clock::now(), deadline) << "timed out waiting for " << what;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<TestEngine> engine_;
  std::unique_ptr<WebServer> server_;
  int port_ = 0;
};

// Read the live channel until `frames` plot events came; return them.
std::vector<Json> ReadPlots(httplib::Client& c, const std::string& query, int frames) {
  std::vector<Json> plots;
  std::string buffer;
  auto r = c.Get(("/api/live?" + query).c_str(), [&](const char* data, std::size_t n) {
    buffer.append(data, n);
    for (auto end = buffer.find("\n\n"); end != std::string::npos; end = buffer.find("\n\n")) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("event: plot\ndata: ", 0) == 0) {
        plots.push_back(Json::parse(event.substr(event.find('\n') + 7)));
      }
    }
    return static_cast<int>(plots.size()) < frames;
  });
  return plots;
}

// Read the live channel until `count` events of `kind` came; return their data.
std::vector<Json> ReadEvents(httplib::Client& c, const std::string& query, const std::string& kind,
                             int count) {
  std::vector<Json> events;
  std::string buffer;
  const std::string prefix = "event: " + kind + "\ndata: ";
  c.Get(("/api/live?" + query).c_str(), [&](const char* data, std::size_t n) {
    buffer.append(data, n);
    for (auto end = buffer.find("\n\n"); end != std::string::npos; end = buffer.find("\n\n")) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind(prefix, 0) == 0) events.push_back(Json::parse(event.substr(prefix.size())));
    }
    return static_cast<int>(events.size()) < count;
  });
  return events;
}

TEST_F(WebServerTest, ApiAnswersAndLiveFramesHaveTheirShape) {
  Start();
  const Json status = Status();
  ASSERT_EQ(status["instruments"].size(), 2u);
  EXPECT_EQ(status["server"]["token_required"], false);
  auto c = Client();
  auto streams = c.Get("/api/streams");
  ASSERT_TRUE(streams);
  EXPECT_EQ(Json::parse(streams->body)["streams"].size(), 2u);
  EXPECT_EQ(c.Get("/api/nope")->status, 404);
  EXPECT_EQ(c.Get("/../etc/passwd")->status, 404);

  const auto plots = ReadPlots(c, "stream=sine&channels=ch1&pixels=50&window=1", 3);
  ASSERT_EQ(plots.size(), 3u);
  for (const auto& p : plots) {
    EXPECT_EQ(p["pixels"], 50);
    EXPECT_EQ(p["dt_ns"], 20'000'000);
    ASSERT_EQ(p["min"].size(), 1u);  // the one channel asked for
    EXPECT_EQ(p["min"][0].size(), 50u);
    EXPECT_EQ(std::stoll(p["t0_ns"].get<std::string>()) % 20'000'000, 0);
  }
  EXPECT_GE(std::stoll(plots[2]["last_ns"].get<std::string>()),
            std::stoll(plots[0]["last_ns"].get<std::string>()));
}

TEST_F(WebServerTest, TokenOnEveryApiCall) {
  const std::string token_file = dir_.Sub("token");
  std::ofstream(token_file) << kToken << "\n";
  WebOptions options;
  options.token_file = token_file;
  Start(options);
  auto c = Client();
  EXPECT_EQ(c.Get("/api/status")->status, 401);
  EXPECT_EQ(c.Get("/api/live")->status, 401);
  EXPECT_EQ(c.Get("/")->status, 200) << "the page itself asks for the token";
  EXPECT_EQ(c.Get("/api/status", {{"Authorization", std::string("Bearer ") + kToken}})->status,
            200);
  EXPECT_EQ(c.Get("/api/status", {{"Cookie", std::string("arrowdaq_token=") + kToken}})->status,
            200);
  auto login = c.Post("/api/login", std::string(R"({"token": ")") + kToken + "\"}",
                      "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  EXPECT_NE(login->get_header_value("Set-Cookie").find("HttpOnly; SameSite=Strict"),
            std::string::npos);
  EXPECT_EQ(c.Post("/api/login", R"({"token": "wrong-wrong-wrong-wrong"})", "application/json")
                ->status,
            401);
}

TEST_F(WebServerTest, ManyClientsAtOnceWhileRecordingsStartAndStop) {
  Start();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      auto c = Client();
      if (ReadPlots(c, "stream=ramp&pixels=100&window=0.5", 5).size() != 5) ++failures;
    });
  }
  threads.emplace_back([&] {
    auto c = Client();
    for (int i = 0; i < 20; ++i) {
      auto r = c.Get("/api/status");
      if (!r || r->status != 200) ++failures;
    }
  });
  threads.emplace_back([&] {
    auto c = Client();
    for (int i = 0; i < 3; ++i) {
      auto r = c.Post("/api/recordings", "{\"name\": \"r" + std::to_string(i) + "\"}",
                      "application/json");
      if (!r || r->status != 200) {
        ++failures;
        continue;
      }
      const std::string id = Json::parse(r->body)["id"];
      auto s = c.Post("/api/recordings/stop", Json{{"id", id}}.dump(), "application/json");
      if (!s || s->status != 200) ++failures;
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(WebServerTest, AStalledClientIsDroppedAndShutdownDoesNotWaitForIt) {
  WebOptions options;
  options.write_timeout = std::chrono::milliseconds(500);
  Start(options);
  const std::uint64_t sequence_before = [&] {
    const Json status = Status();
    for (const auto& s : status["streams"]) {
      if (s["name"] == "ramp") return s["next_sequence"].get<std::uint64_t>();
    }
    return std::uint64_t{0};
  }();
  // Two clients that never read: the biggest frames, as often as allowed.
  std::vector<int> sockets;
  for (int i = 0; i < 2; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string req =
        "GET /api/live?stream=sine&pixels=4096&window=60&rate=20 HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
    sockets.push_back(fd);
  }
  WaitFor([&] { return Status()["web"]["dropped_clients"].get<int>() >= 1; },
          "a stalled client dropped");
  // The engine went on: the ramp's sequence numbers advanced with nothing missing upstream.
  WaitFor([&] {
    const Json status = Status();
    for (const auto& s : status["streams"]) {
      if (s["name"] == "ramp") return s["next_sequence"].get<std::uint64_t>() > sequence_before + 20;
    }
    return false;
  }, "the ramp going on");
  // The second one may still be open: shutdown ends it within the write timeout.
  const auto t0 = Clock::now();
  server_->Shutdown();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(30));
  for (int fd : sockets) ::close(fd);
}

// A second dashboard asked for the first one's port fails to bind (IOError, naming the address);
// shutting the first one down right afterwards returns (it used to hang: cpp-httplib's stop()
// does nothing until its listen thread has started, see WebServer::Impl::Shutdown).
TEST_F(WebServerTest, ASecondServerOnTheSamePortFailsAndTheFirstStillShutsDown) {
  for (int round = 0; round < 200; ++round) {
    WebOptions first_options;
    first_options.listen = "http://127.0.0.1:0";
    first_options.required = true;
    ASSERT_OK_AND_ASSIGN(auto first, WebServer::Start(engine_->port(), first_options));
    ASSERT_NE(first, nullptr);
    const std::string url = first->url();
    WebOptions second_options;
    second_options.listen = url.substr(0, url.size() - 1);  // without the trailing '/'
    second_options.required = true;
    auto second = WebServer::Start(engine_->port(), second_options);
    ASSERT_FALSE(second.ok());
    EXPECT_TRUE(second.status().IsIOError()) << second.status().ToString();
    EXPECT_NE(second.status().message().find("cannot listen on " + second_options.listen),
              std::string::npos) << second.status().message();
    if (round % 20 == 1) {
      port_ = std::stoi(url.substr(url.rfind(':') + 1));
      auto c = Client();
      auto r = c.Get("/api/status");
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200);
    }
    // A hang fails here within a minute (not at ctest's timeout), naming the round.
    std::promise<void> stopped;
    std::thread stopper([&] {
      first->Shutdown();
      stopped.set_value();
    });
    if (stopped.get_future().wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      std::fprintf(stderr, "Shutdown hung in round %d\n", round);
      std::abort();
    }
    stopper.join();
  }
}

constexpr char kCameraConfig[] = R"(
[instruments.cam]
driver = "sim.camera"
options = { width = 64, height = 48, fps = 50, frames_per_batch = 1 }

[instruments.sine]
driver = "sim.sine"
options = { rate_hz = 1000.0, batch_size = 50, channels = 2, unit = "V" }
)";

class WebServerCameraTest : public WebServerTest {
 protected:
  const char* Config() const override { return kCameraConfig; }
};

std::vector<std::uint16_t> DecodeUint16(const std::string& base64) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes;
  int bits = 0, acc = 0;
  for (char ch : base64) {
    if (ch == '=') break;
    acc = (acc << 6) | static_cast<int>(kAlphabet.find(ch));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  std::vector<std::uint16_t> out(bytes.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint16_t>(static_cast<unsigned char>(bytes[2 * i]) |
                                        (static_cast<unsigned char>(bytes[2 * i + 1]) << 8));
  }
  return out;
}

// Image and points channels next to a plot channel, from three threads (TSan): image frames
// are the camera's frames reduced by 4 x 4 block max (the formula's block maxima), rate-limited;
// points come in order with none lost.
TEST_F(WebServerCameraTest, ImageAndPointsChannels) {
  Start();
  std::vector<Json> images, points, plots;
  std::thread image_reader([&] {
    auto c = Client();
    images = ReadEvents(c, "stream=cam&image_width=20&image_height=20&image_rate=10", "image", 4);
  });
  std::thread points_reader([&] {
    auto c = Client();
    points = ReadEvents(c, "stream=sine&points=ch0,ch1&rate=20", "points", 5);
  });
  std::thread plot_reader([&] {
    auto c = Client();
    plots = ReadPlots(c, "stream=sine&pixels=50&window=1", 3);
  });
  image_reader.join();
  points_reader.join();
  plot_reader.join();
  ASSERT_EQ(images.size(), 4u);
  std::uint64_t last_sequence = 0;
  for (const auto& f : images) {
    EXPECT_EQ(f["column"], "frame");
    EXPECT_EQ(f["unit"], "counts");
    EXPECT_EQ(f["dtype"], "uint16");
    EXPECT_EQ(f["height"], 48);
    EXPECT_EQ(f["width"], 64);
    ASSERT_EQ(f["block"], 4);  // max(ceil(48/20), ceil(64/20))
    ASSERT_EQ(f["rows"], 12);
    ASSERT_EQ(f["cols"], 16);
    EXPECT_EQ(f["row"], 0);
    const auto seq = f["sequence"].get<std::uint64_t>();
    if (&f != &images.front()) {
      EXPECT_GT(seq, last_sequence) << "a frame sent twice";
    }
    last_sequence = seq;
    const auto v = DecodeUint16(f["data"].get<std::string>());
    ASSERT_EQ(v.size(), 12u * 16u);
    // p = x + 2y + 7f: a block's max is its bottom-right pixel (x = 4c+3, y = 4r+3).
    const int frame = (v[0] - 9) / 7;
    ASSERT_EQ((v[0] - 9) % 7, 0) << v[0];
    for (int r = 0; r < 12; ++r) {
      for (int c = 0; c < 16; ++c) {
        ASSERT_EQ(v[r * 16 + c], (4 * c + 3) + 2 * (4 * r + 3) + 7 * frame) << r << "," << c;
      }
    }
    EXPECT_EQ(f["min"], v.front());
    EXPECT_EQ(f["max"], v.back());
  }
  ASSERT_EQ(points.size(), 5u);
  std::uint64_t next = points[0]["first"].get<std::uint64_t>();
  EXPECT_EQ(next, 0u);
  for (const auto& p : points) {
    EXPECT_EQ(p["first"].get<std::uint64_t>(), next) << "points lost between events";
    ASSERT_EQ(p["x"].size(), p["y"].size());
    ASSERT_GT(p["x"].size(), 0u);
    next += p["x"].size();
    EXPECT_EQ(p["dropped_points"], 0);
  }
  ASSERT_EQ(plots.size(), 3u);
  // A points channel of a stream without axes metadata needs X,Y.
  auto c = Client();
  auto bad = c.Get("/api/live?stream=sine&points=auto");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(c.Get("/api/live?stream=sine&points=ch0,nope")->status, 404);
}

}  // namespace
}  // namespace arrowdaq::server
