#include "arrowdaq/app/event_log.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arrowdaq::app {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A log whose clock the test steps by hand, and which keeps what its listener heard.
struct Fixture {
  std::chrono::steady_clock::time_point now{};
  std::vector<RunEvent> heard;
  EventLog log;

  explicit Fixture(EventLogOptions options = {})
      : log([this, options]() mutable {
          options.log = false;
          options.clock = [this] { return now; };
          return options;
        }()) {
    log.AddListener([this](const RunEvent& e) { heard.push_back(e); });
  }

  void Overrun(const std::string& stream, int k) {
    log.Record({static_cast<std::int64_t>(k), stream, "overrun", "lost " + std::to_string(k), 1,
                10});
  }
};

std::uint64_t Total(const EventLog& log, const std::string& stream, const std::string& kind) {
  for (const auto& t : log.Totals()) {
    if (t.stream == stream && t.kind == kind) return t.count;
  }
  return 0;
}

TEST(EventLogTest, TheFirstEventGoesOutAtOnceAndRepeatsAreFoldedIntoOneSummary) {
  Fixture f;
  for (int k = 0; k < 3000; ++k) f.Overrun("pd", k);
  ASSERT_EQ(f.heard.size(), 1u);
  EXPECT_EQ(f.heard[0].message, "lost 0");
  f.now += 500ms;
  f.log.Tick();
  EXPECT_EQ(f.heard.size(), 1u) << "the window is still open";
  f.now += 600ms;
  f.log.Tick();
  ASSERT_EQ(f.heard.size(), 2u);
  EXPECT_EQ(f.heard[1].repeat, 2999u);
  EXPECT_EQ(f.heard[1].samples, 29990u) << "the samples of every folded event";
  EXPECT_EQ(f.heard[1].time_ns, 1) << "time of the first folded event";
  EXPECT_THAT(f.heard[1].message,
              StartsWith("overrun x 2999 more within 1.0 s (coalesced, 29990 samples)"));
  EXPECT_THAT(f.heard[1].message, HasSubstr("last: lost 2999"));
  EXPECT_EQ(Total(f.log, "pd", "overrun"), 3000u);
}

TEST(EventLogTest, ABurstOfAnyLengthSendsLogarithmicallyFewEventsWithExactTotals) {
  Fixture f;
  // Overrun events all the time for an hour, 30 a second (the issue saw 3000 a second).
  std::uint64_t recorded = 0;
  for (int step = 0; step < 36000; ++step) {
    f.now += 100ms;
    f.log.Tick();
    for (int k = 0; k < 3; ++k) f.Overrun("pd", static_cast<int>(recorded++));
  }
  f.log.Flush();
  EXPECT_EQ(Total(f.log, "pd", "overrun"), recorded);
  std::uint64_t represented = 0;
  std::uint64_t samples = 0;
  for (const auto& e : f.heard) {
    represented += e.repeat;
    samples += e.samples;
  }
  EXPECT_EQ(represented, recorded) << "every event is in exactly one sent event";
  EXPECT_EQ(samples, recorded * 10);
  // Windows of 1, 2, 4, ... 60 s: 7 to reach the cap, then one per minute.
  EXPECT_LE(f.heard.size(), 7u + 3600u / 60u + 2u);
  EXPECT_EQ(f.log.Events().size(), f.heard.size());
}

TEST(EventLogTest, StreamsAndKindsAreCoalescedApartAndAQuietWindowResets) {
  Fixture f;
  f.Overrun("a", 1);
  f.Overrun("b", 2);
  f.log.Record({3, "a", "gap", "no data"});
  f.Overrun("a", 4);  // folded
  EXPECT_EQ(f.heard.size(), 3u);
  f.now += 1s;
  f.log.Tick();
  ASSERT_EQ(f.heard.size(), 4u);
  EXPECT_EQ(f.heard[3].stream, "a");
  EXPECT_EQ(f.heard[3].repeat, 1u);
  // Quiet for longer than the (now doubled, 2 s) window: the next one goes out at once.
  f.now += 3s;
  f.Overrun("a", 5);
  ASSERT_EQ(f.heard.size(), 5u);
  EXPECT_EQ(f.heard[4].message, "lost 5");
  EXPECT_EQ(f.heard[4].repeat, 1u);
}

TEST(EventLogTest, MemoryKeepsTheFirstAndLastEventsAndCountsTheRest) {
  Fixture f({.keep_first = 3, .keep_last = 2});
  for (int k = 0; k < 10; ++k) {
    f.log.Record({k, "s" + std::to_string(k), "gap", "g"});  // distinct streams: none folded
  }
  const auto kept = f.log.Events();
  ASSERT_EQ(kept.size(), 5u);
  EXPECT_EQ(kept[0].stream, "s0");
  EXPECT_EQ(kept[2].stream, "s2");
  EXPECT_EQ(kept[3].stream, "s8");
  EXPECT_EQ(kept[4].stream, "s9");
  EXPECT_EQ(f.log.forgotten(), 5u);
  EXPECT_EQ(f.heard.size(), 10u) << "listeners hear every event sent";
  EXPECT_EQ(f.log.EventsSince(8).size(), 2u);
}

TEST(EventLogTest, RemovedListenersHearNothingMore) {
  Fixture f;
  std::vector<RunEvent> second;
  const int id = f.log.AddListener([&](const RunEvent& e) { second.push_back(e); });
  f.Overrun("a", 1);
  f.log.RemoveListener(id);
  f.Overrun("b", 2);
  EXPECT_EQ(second.size(), 1u);
  EXPECT_EQ(f.heard.size(), 2u);
}

}  // namespace
}  // namespace arrowdaq::app
