// The dashboard's parsers and the plot decimation (web_requests.h, plot_window.h).
#include <cmath>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include "arrowdaq/server/plot_window.h"
#include "arrowdaq/server/web_requests.h"

namespace arrowdaq::server {
namespace {

TEST(HttpListen, LoopbackOnlyWithoutToken) {
  auto plan = PlanHttpListen("http://127.0.0.1:8080", false);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->host, "127.0.0.1");
  EXPECT_EQ(plan->port, 8080);
  EXPECT_TRUE(plan->loopback);
  EXPECT_TRUE(PlanHttpListen("http://[::1]:0", false).ok());
  EXPECT_TRUE(PlanHttpListen("http://localhost:9000/", false).ok());
  auto open = PlanHttpListen("http://0.0.0.0:8080", false);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("needs a token"), std::string::npos);
  EXPECT_TRUE(PlanHttpListen("http://0.0.0.0:8080", true).ok());
  auto off = PlanHttpListen("off", false);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled);
  for (const char* bad : {"", "https://127.0.0.1:1", "http://127.0.0.1", "http://:80",
                          "http://127.0.0.1:65536", "http://127.0.0.1:-1", "http://a b:1",
                          "http://[::1:1", "grpc://127.0.0.1:1", "http://127.0.0.1:80x"}) {
    auto r = PlanHttpListen(bad, true);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("http_listen '", 0), 0u) << bad;
    }
  }
}

TEST(StaticAssets, OnlyExactNamesAreServed) {
  ASSERT_NE(FindStaticAsset("/"), nullptr);
  EXPECT_EQ(FindStaticAsset("/")->path, "/index.html");
  EXPECT_NE(FindStaticAsset("/app.js"), nullptr);
  EXPECT_NE(FindStaticAsset("/style.css"), nullptr);
  for (const char* bad : {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "//app.js",
                          "/app.js/", "/./app.js", "/APP.JS", "/app.js?x", "", "/etc/passwd",
                          "/index.html/../../etc/passwd"}) {
    EXPECT_EQ(FindStaticAsset(bad), nullptr) << bad;
  }
  for (const auto& a : StaticAssets()) EXPECT_FALSE(a.body.empty()) << a.path;
}

TEST(LiveQuery, Parameters) {
  auto r = ParseLiveQuery({{"stream", "pd"}, {"channels", "ch0,ch1"}, {"window", "2.5"},
                           {"pixels", "640"}, {"rate", "10"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stream, "pd");
  EXPECT_EQ(r->channels, (std::vector<std::string>{"ch0", "ch1"}));
  EXPECT_EQ(r->window, std::chrono::milliseconds(2500));
  EXPECT_EQ(r->pixels, 640);
  EXPECT_TRUE(ParseLiveQuery({}).ok());
  const std::vector<std::multimap<std::string, std::string>> bad = {
      {{"stream", "a/b"}},       {{"window", "0"}},        {{"window", "nan"}},
      {{"pixels", "1"}},         {{"pixels", "100000"}},   {{"rate", "100"}},
      {{"bogus", "1"}},          {{"channels", "ch0"}},    {{"stream", "pd"}, {"stream", "x"}},
      {{"stream", "pd"}, {"channels", "a,,b"}}};
  for (const auto& params : bad) EXPECT_FALSE(ParseLiveQuery(params).ok());
}

TEST(Bodies, RecordingAndLogin) {
  auto start = ParseStartRecordingBody(R"({"name": "scan1", "streams": ["pd"]})");
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  EXPECT_EQ(start->name, "scan1");
  EXPECT_FALSE(ParseStartRecordingBody(R"({"name": "../x"})").ok());
  EXPECT_FALSE(ParseStartRecordingBody("{").ok());
  EXPECT_FALSE(ParseStartRecordingBody("[]").ok());
  auto stop = ParseStopRecordingBody(R"({"id": "scan1-20261201T000000Z"})");
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(*stop, "scan1-20261201T000000Z");
  EXPECT_EQ(*ParseLoginBody(R"({"token": "abc"})"), "abc");
  EXPECT_FALSE(ParseLoginBody(R"({"token": 1})").ok());
  EXPECT_FALSE(ParseLoginBody(R"({"tok": "a"})").ok());
  EXPECT_FALSE(ParseLoginBody("\xff").ok());
}

TEST(Cookies, FindsTheNamedOne) {
  EXPECT_EQ(CookieValue("a=1; arrowdaq_token=xyz; b=2", "arrowdaq_token"), "xyz");
  EXPECT_EQ(CookieValue("arrowdaq_token=\"q\"", "arrowdaq_token"), "q");
  EXPECT_EQ(CookieValue("x_arrowdaq_token=1", "arrowdaq_token"), std::nullopt);
  EXPECT_EQ(CookieValue("", "arrowdaq_token"), std::nullopt);
}

std::shared_ptr<arrow::RecordBatch> Batch(const std::vector<std::int64_t>& t,
                                          const std::vector<double>& v) {
  arrow::TimestampBuilder tb(arrow::timestamp(arrow::TimeUnit::NANO, "UTC"),
                             arrow::default_memory_pool());
  arrow::DoubleBuilder vb;
  EXPECT_TRUE(tb.AppendValues(t).ok());
  EXPECT_TRUE(vb.AppendValues(v).ok());
  auto schema = arrow::schema({arrow::field("timestamp", tb.type()),
                               arrow::field("ch0", arrow::float64())});
  return arrow::RecordBatch::Make(schema, static_cast<std::int64_t>(t.size()),
                                  {tb.Finish().ValueOrDie(), vb.Finish().ValueOrDie()});
}

TEST(PlotWindow, MinMaxPerBucketKeepsSpikes) {
  // 10 buckets of 100 ns over a 1000 ns window; 10 samples per bucket, one spike.
  auto schema = Batch({0}, {0})->schema();
  auto channels = PlotChannels(*schema, {});
  ASSERT_TRUE(channels.ok());
  ASSERT_EQ(channels->size(), 1u);
  PlotWindow w(*channels, std::chrono::nanoseconds(1000), 10);
  std::vector<std::int64_t> t;
  std::vector<double> v;
  for (int i = 0; i < 200; ++i) {  // 0..1990 ns: the window ends with bucket 19
    t.push_back(i * 10);
    v.push_back(i == 155 ? 1000.0 : std::sin(i * 0.1));
  }
  w.Add(*Batch(t, v));
  const PlotFrame f = w.Frame();
  EXPECT_EQ(f.dt_ns, 100);
  EXPECT_EQ(f.t0_ns, 1000);
  EXPECT_EQ(f.last_ns, 1990);
  for (int b = 0; b < 10; ++b) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < 200; ++i) {
      if (t[i] >= f.t0_ns + b * 100 && t[i] < f.t0_ns + (b + 1) * 100) {
        lo = std::min(lo, v[i]);
        hi = std::max(hi, v[i]);
      }
    }
    EXPECT_EQ(f.min[0][b], lo) << b;
    EXPECT_EQ(f.max[0][b], hi) << b;
  }
  EXPECT_EQ(f.max[0][5], 1000.0) << "the spike at 1550 ns is in bucket 5";
  // A jump far ahead empties the window but the newest bucket.
  w.Add(*Batch({100000}, {7}));
  const PlotFrame g = w.Frame();
  EXPECT_EQ(g.max[0][9], 7);
  for (int b = 0; b < 9; ++b) EXPECT_TRUE(std::isnan(g.max[0][b])) << b;
  // Samples older than the window are ignored.
  w.Add(*Batch({5}, {-50}));
  EXPECT_EQ(w.Frame().min[0][9], 7);
}

TEST(PlotWindow, ChannelSelection) {
  auto schema = arrow::schema({arrow::field("timestamp", arrow::timestamp(arrow::TimeUnit::NANO)),
                               arrow::field("a", arrow::float32()),
                               arrow::field("img", arrow::binary()),
                               arrow::field("b", arrow::int16())});
  auto all = PlotChannels(*schema, {});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].column, 3);
  auto missing = PlotChannels(*schema, {"img"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("plottable: a, b"), std::string::npos);
  EXPECT_FALSE(PlotChannels(*arrow::schema({arrow::field("x", arrow::float64())}), {}).ok());
}

}  // namespace
}  // namespace arrowdaq::server
