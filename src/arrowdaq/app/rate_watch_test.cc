#include "arrowdaq/app/rate_watch.h"

#include <chrono>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arrowdaq::app {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

pipeline::StreamStats Stats(const std::string& name, std::uint64_t packets, std::uint64_t rows) {
  pipeline::StreamStats s;
  s.name = name;
  s.packets = packets;
  s.rows = rows;
  return s;
}

TEST(RateWatchTest, ShortMeansBelowTheFractionByMoreThanOneBatch) {
  // 20 Hz asked, 8 s: 144 rows is the 90% line; one batch (2 rows) of slack.
  EXPECT_TRUE(ShortOfRate(30, 8.0, 20.0, 2.0));    // the DMM that gave 30 readings in 8 s
  EXPECT_TRUE(ShortOfRate(141, 8.0, 20.0, 2.0));
  EXPECT_FALSE(ShortOfRate(142, 8.0, 20.0, 2.0));  // 142 + 2 = 144: not short
  EXPECT_FALSE(ShortOfRate(160, 8.0, 20.0, 2.0));
  EXPECT_FALSE(ShortOfRate(0, 8.0, 0.0, 1.0)) << "no requested rate: never short";
}

TEST(RateWatchTest, AWindowEndsShortOnlyForTheStreamThatFellBehind) {
  RateWatch watch({.fraction = 0.9, .window = 10s});
  const std::map<std::string, double> requested{{"slow", 1000.0}, {"fine", 1000.0}};
  const std::chrono::steady_clock::time_point t0{};
  EXPECT_TRUE(watch.Check({Stats("slow", 0, 0), Stats("fine", 0, 0), Stats("free", 0, 0)},
                          requested, t0, 0).empty());
  // 5 s later: the window (10 s) has not ended.
  EXPECT_TRUE(watch.Check({Stats("slow", 10, 1000), Stats("fine", 50, 5000)}, requested,
                          t0 + 5s, 0).empty());
  // 10 s: slow delivered 2000 rows (20%), fine 10000, free is not watched.
  auto events = watch.Check({Stats("slow", 20, 2000), Stats("fine", 100, 10000),
                             Stats("free", 1, 1)},
                            requested, t0 + 10s, 42);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream, "slow");
  EXPECT_EQ(events[0].kind, "rate_shortfall");
  EXPECT_EQ(events[0].time_ns, 42);
  EXPECT_THAT(events[0].message, HasSubstr("200 rows/s over the last 10.0 s"));
  EXPECT_THAT(events[0].message, HasSubstr("below 90% of the requested 1000 rows/s"));
  // The next window starts where the last one ended: slow catches up, no event.
  EXPECT_TRUE(watch.Check({Stats("slow", 120, 12000), Stats("fine", 200, 20000)}, requested,
                          t0 + 20s, 0).empty());
}

TEST(RateWatchTest, WindowsCoverTenBatchesOfASlowStream) {
  // 1 Hz in batches of 10 rows: a batch every 10 s, so the window is 100 s, not 10.
  RateWatch watch({.fraction = 0.9, .window = 10s});
  const std::map<std::string, double> requested{{"dmm", 1.0}};
  const std::chrono::steady_clock::time_point t0{};
  EXPECT_TRUE(watch.Check({Stats("dmm", 0, 0)}, requested, t0, 0).empty());
  EXPECT_TRUE(watch.Check({Stats("dmm", 1, 10)}, requested, t0 + 15s, 0).empty());
  EXPECT_TRUE(watch.Check({Stats("dmm", 9, 90)}, requested, t0 + 99s, 0).empty());
  EXPECT_TRUE(watch.Check({Stats("dmm", 10, 100)}, requested, t0 + 100s, 0).empty());
}

TEST(RateWatchTest, FinalNamesStreamsShortOverTheWholeRunOnce) {
  RateWatch watch;
  const std::map<std::string, double> requested{{"fast", 1e8}, {"pd", 1000.0}};
  auto events = watch.Final({Stats("fast", 30, 3'000'000), Stats("pd", 30, 3000)}, requested,
                            3.0, 7);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream, "fast");
  EXPECT_THAT(events[0].message, HasSubstr("over the whole 3.0 s"));
  EXPECT_TRUE(watch.Final({Stats("fast", 30, 3'000'000)}, requested, 3.0, 7).empty())
      << "reported once";
}

}  // namespace
}  // namespace arrowdaq::app
