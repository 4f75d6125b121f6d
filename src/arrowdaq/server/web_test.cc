// The dashboard's parsers, the plot decimation and the image reduction (web_requests.h,
// plot_window.h, image_frame.h).
#include <cmath>
#include <cstring>

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <arrow/extension/fixed_shape_tensor.h>

#include "arrowdaq/server/image_frame.h"
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

TEST(LiveQuery, ImageAndPoints) {
  auto r = ParseLiveQuery({{"stream", "cam"}, {"image_width", "480"}, {"image_height", "360"},
                           {"image_rate", "2"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->image_width, 480);
  EXPECT_EQ(r->image_height, 360);
  EXPECT_EQ(r->image_hz, 2);
  EXPECT_TRUE(r->points.empty());
  auto p = ParseLiveQuery({{"stream", "scan"}, {"points", "auto"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->points, (std::vector<std::string>{"auto"}));
  p = ParseLiveQuery({{"stream", "scan"}, {"points", "stage_x,power"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->points, (std::vector<std::string>{"stage_x", "power"}));
  const std::vector<std::multimap<std::string, std::string>> bad = {
      {{"stream", "c"}, {"image_width", "0"}},    {{"stream", "c"}, {"image_width", "5000"}},
      {{"stream", "c"}, {"image_height", "x"}},   {{"stream", "c"}, {"image_rate", "11"}},
      {{"stream", "c"}, {"image_rate", "0.1"}},   {{"points", "auto"}},
      {{"stream", "c"}, {"points", ""}},          {{"stream", "c"}, {"points", "x"}},
      {{"stream", "c"}, {"points", ",y"}},        {{"stream", "c"}, {"points", "x,"}}};
  for (const auto& params : bad) EXPECT_FALSE(ParseLiveQuery(params).ok());
}

// A frames column of `rows` tensors (uint16, [h, w]) holding `pixels` row after row.
std::shared_ptr<arrow::Array> Frames(std::int64_t h, std::int64_t w,
                                     const std::vector<std::uint16_t>& pixels) {
  arrow::UInt16Builder b;
  EXPECT_TRUE(b.AppendValues(pixels).ok());
  auto values = b.Finish().ValueOrDie();
  auto list = arrow::FixedSizeListArray::FromArrays(values, static_cast<std::int32_t>(h * w))
                  .ValueOrDie();
  auto type = arrow::extension::FixedShapeTensorType::Make(arrow::uint16(), {h, w}).ValueOrDie();
  return arrow::ExtensionType::WrapArray(type, list);
}

TEST(ImageFrame, BlockMaxKeepsAHotPixelAndEdgeBlocks) {
  // Two 5 x 7 frames; the second has one hot pixel at (3, 4). Shown in at most 3 x 3: k = 3,
  // 2 x 3 output pixels (the last row and column of blocks partial).
  const std::int64_t h = 5, w = 7;
  std::vector<std::uint16_t> pixels(2 * h * w, 1);
  for (std::int64_t i = 0; i < h * w; ++i) pixels[i] = static_cast<std::uint16_t>(i);
  pixels[h * w + 3 * w + 4] = 60000;
  auto column = Frames(h, w, pixels);
  auto schema = arrow::schema({arrow::field("timestamp", arrow::timestamp(arrow::TimeUnit::NANO)),
                               arrow::field("frame", column->type())});
  auto image = FindImageColumn(*schema);
  ASSERT_TRUE(image.ok() && image->has_value());
  EXPECT_EQ((*image)->column, 1);
  EXPECT_EQ((*image)->height, 5);
  EXPECT_EQ((*image)->width, 7);

  auto first = ReduceImage(*column, 0, **image, 3, 3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->block, 3);
  EXPECT_EQ(first->rows, 2);
  EXPECT_EQ(first->cols, 3);
  EXPECT_EQ(first->dtype, "uint16");
  ASSERT_EQ(first->data.size(), 2u * 3u * 2u);
  std::vector<std::uint16_t> got(6);
  std::memcpy(got.data(), first->data.data(), first->data.size());
  // Block (r, c) max = its bottom-right pixel: (min(3r+2, 4)) * 7 + min(3c+2, 6).
  EXPECT_EQ(got, (std::vector<std::uint16_t>{16, 19, 20, 30, 33, 34}));
  EXPECT_EQ(first->min, 16);
  EXPECT_EQ(first->max, 34);

  auto hot = ReduceImage(*column, 1, **image, 3, 3);
  ASSERT_TRUE(hot.ok());
  std::memcpy(got.data(), hot->data.data(), hot->data.size());
  EXPECT_EQ(got, (std::vector<std::uint16_t>{1, 1, 1, 1, 60000, 1}));
  EXPECT_EQ(hot->max, 60000);

  // Large enough: no reduction.
  auto full = ReduceImage(*column, 0, **image, 7, 5);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->block, 1);
  EXPECT_EQ(full->data.size(), static_cast<std::size_t>(h * w * 2));
  EXPECT_FALSE(ReduceImage(*column, 2, **image, 3, 3).ok());  // no such row
}

TEST(ImageFrame, WaveformsAndNaN) {
  // A fixed_size_list<float64>[4] is a one-row image; NaN pixels are skipped.
  arrow::DoubleBuilder b;
  ASSERT_TRUE(b.AppendValues({1.0, NAN, NAN, NAN}).ok());
  auto list = arrow::FixedSizeListArray::FromArrays(b.Finish().ValueOrDie(), 4).ValueOrDie();
  auto schema = arrow::schema({arrow::field("t", arrow::timestamp(arrow::TimeUnit::NANO)),
                               arrow::field("x", arrow::float64()),
                               arrow::field("wave", list->type())});
  auto image = FindImageColumn(*schema);
  ASSERT_TRUE(image.ok() && image->has_value());
  EXPECT_EQ((*image)->column, 2);
  EXPECT_EQ((*image)->height, 1);
  EXPECT_EQ((*image)->width, 4);
  auto r = ReduceImage(*list, 0, **image, 2, 2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->block, 2);
  std::vector<double> got(2);
  std::memcpy(got.data(), r->data.data(), r->data.size());
  EXPECT_EQ(got[0], 1.0);
  EXPECT_TRUE(std::isnan(got[1]));
  EXPECT_EQ(r->min, 1.0);
  EXPECT_EQ(r->max, 1.0);
  auto scalars = arrow::schema({arrow::field("t", arrow::timestamp(arrow::TimeUnit::NANO)),
                                arrow::field("x", arrow::float64())});
  auto none = FindImageColumn(*scalars);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
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
