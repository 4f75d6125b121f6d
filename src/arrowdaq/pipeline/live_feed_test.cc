// ReplayRing and LiveFeed: bounds of the ring, the three start positions, exact drop counts
// for a client that stops reading, and the join of backlog and live under a running producer.
#include "arrowdaq/pipeline/live_feed.h"

#include <atomic>
#include <thread>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/util/byte_size.h>
#include <gtest/gtest.h>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::pipeline {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kRows = 10;
constexpr std::int64_t kRowNs = 1'000'000;  // 1 kHz: one packet is 10 ms of sample time

std::shared_ptr<const StreamInfo> MakeStream(const std::string& name) {
  auto schema = MakeStreamSchema({{"ch0", "V", ""}}).ValueOrDie();
  return std::make_shared<StreamInfo>(StreamInfo{name, schema});
}

// Packet k holds rows k*kRows .. k*kRows+9 with timestamp row*1 ms and value row.
std::shared_ptr<arrow::RecordBatch> MakeBatch(const StreamInfo& s, std::int64_t k) {
  arrow::TimestampBuilder ts(TimestampType(), arrow::default_memory_pool());
  arrow::DoubleBuilder v;
  for (std::int64_t i = 0; i < kRows; ++i) {
    const std::int64_t row = k * kRows + i;
    EXPECT_TRUE(ts.Append(row * kRowNs).ok());
    EXPECT_TRUE(v.Append(static_cast<double>(row)).ok());
  }
  return arrow::RecordBatch::Make(s.schema, kRows,
                                  {ts.Finish().ValueOrDie(), v.Finish().ValueOrDie()});
}

DataPacket MakePacket(const std::shared_ptr<const StreamInfo>& s, std::uint64_t seq) {
  return {s, seq, MakeBatch(*s, static_cast<std::int64_t>(seq))};
}

std::vector<std::uint64_t> Sequences(const std::vector<DataPacket>& packets) {
  std::vector<std::uint64_t> out;
  for (const auto& p : packets) out.push_back(p.sequence);
  return out;
}

std::vector<std::uint64_t> Range(std::uint64_t from, std::uint64_t to) {  // [from, to)
  std::vector<std::uint64_t> out;
  for (auto s = from; s < to; ++s) out.push_back(s);
  return out;
}

// ---------------------------------------------------------------------------------------------
// ReplayRing

TEST(ReplayRing, KeepsTheLastMaxAgeOfSampleTime) {
  auto s = MakeStream("a");
  ReplayRing ring({.max_age = 50ms, .max_bytes = 1 << 30});
  for (std::uint64_t k = 0; k < 20; ++k) ring.Append(MakePacket(s, k));
  // Newest last sample: row 199 at 199 ms. Kept: last sample > 149 ms, i.e. packets 15..19.
  EXPECT_EQ(Sequences(ring.Since(0)), Range(15, 20));
  EXPECT_EQ(ring.first_sequence(), 15u);
  EXPECT_EQ(ring.last_sequence(), 19u);
}

TEST(ReplayRing, KeepsAtMostMaxBytes) {
  auto s = MakeStream("a");
  const auto one = arrow::util::TotalBufferSize(*MakeBatch(*s, 0));
  ReplayRing ring({.max_age = 1h, .max_bytes = 3 * one + one / 2});
  for (std::uint64_t k = 0; k < 10; ++k) ring.Append(MakePacket(s, k));
  EXPECT_EQ(Sequences(ring.Since(0)), Range(7, 10));
  EXPECT_EQ(ring.bytes(), 3 * one);
  EXPECT_LE(ring.bytes(), ring.options().max_bytes);
}

TEST(ReplayRing, LastWindowIsThePacketsWithASampleInTheWindow) {
  auto s = MakeStream("a");
  ReplayRing ring({.max_age = 1h, .max_bytes = 1 << 30});
  for (std::uint64_t k = 0; k < 20; ++k) ring.Append(MakePacket(s, k));
  // Newest sample 199 ms; a 25 ms window is (174, 199]: packets whose last sample (k*10+9)
  // is > 174: k >= 17.
  EXPECT_EQ(Sequences(ring.LastWindow(25ms)), Range(17, 20));
  EXPECT_EQ(Sequences(ring.LastWindow(0ns)), Range(0, 20));
  EXPECT_EQ(Sequences(ring.Since(12)), Range(12, 20));
  EXPECT_TRUE(ring.Since(20).empty());
}

TEST(ReplayRing, ZeroBoundsKeepNothing) {
  auto s = MakeStream("a");
  ReplayRing off_by_age({.max_age = 0ns, .max_bytes = 1 << 30});
  ReplayRing off_by_bytes({.max_age = 1h, .max_bytes = 0});
  off_by_age.Append(MakePacket(s, 0));
  off_by_bytes.Append(MakePacket(s, 0));
  EXPECT_TRUE(off_by_age.empty());
  EXPECT_TRUE(off_by_bytes.empty());
}

TEST(ReplayRing, SharesTheBatchesItKeeps) {
  auto s = MakeStream("a");
  ReplayRing ring;
  DataPacket p = MakePacket(s, 0);
  ring.Append(p);
  EXPECT_EQ(ring.Since(0).at(0).batch.get(), p.batch.get());
}

// ---------------------------------------------------------------------------------------------
// LiveFeed

class LiveFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_ = MakeStream("a");
    ASSERT_OK_AND_ASSIGN(stream_, router_.AddStream(info_));
  }

  void Publish(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      ASSERT_OK(router_.Publish(*stream_, MakeBatch(*info_, static_cast<std::int64_t>(next_++))));
    }
  }

  std::unique_ptr<LiveFeed> MakeFeed(LiveFeedOptions options = {}) {
    auto feed = LiveFeed::Make(router_, std::move(options));
    EXPECT_TRUE(feed.ok()) << feed.status().ToString();
    return std::move(feed).ValueOrDie();
  }

  // Take every packet queued now (after the feed caught up).
  static std::vector<LiveDelivery> Drain(LiveSubscription& sub) {
    std::vector<LiveDelivery> out;
    while (auto d = sub.Next(std::chrono::steady_clock::now())) out.push_back(std::move(*d));
    return out;
  }

  static std::vector<std::uint64_t> Sequences(const std::vector<LiveDelivery>& got) {
    std::vector<std::uint64_t> out;
    for (const auto& d : got) out.push_back(d.packet.sequence);
    return out;
  }

  StreamRouter router_;
  std::shared_ptr<const StreamInfo> info_;
  std::shared_ptr<StreamHandle> stream_;
  std::uint64_t next_ = 0;
};

TEST_F(LiveFeedTest, LiveStartsWithTheNextPacketAndMissesNothing) {
  auto feed = MakeFeed();
  Publish(5);
  feed->Sync();
  ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a"}, .capacity = 100}));
  Publish(30);
  feed->Sync();
  auto got = Drain(*sub);
  EXPECT_EQ(Sequences(got), Range(5, 35));
  for (const auto& d : got) {
    EXPECT_EQ(d.dropped, 0u);
    // The packet the producer published, not a copy: its values are the ramp.
    const auto& v = static_cast<const arrow::DoubleArray&>(*d.packet.batch->column(1));
    EXPECT_EQ(v.Value(0), static_cast<double>(d.packet.sequence * kRows));
  }
}

TEST_F(LiveFeedTest, AClientThatStopsReadingLosesItsOldestPacketsCountedExactly) {
  auto feed = MakeFeed();
  ASSERT_OK_AND_ASSIGN(auto slow, feed->Subscribe({.streams = {"a"}, .capacity = 4}));
  ASSERT_OK_AND_ASSIGN(auto fast, feed->Subscribe({.streams = {"a"}, .capacity = 1000}));
  Publish(3);
  feed->Sync();
  auto first = slow->Next(std::chrono::steady_clock::now());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->packet.sequence, 0u);
  Publish(47);  // the slow client reads nothing meanwhile
  feed->Sync();
  auto rest = Drain(*slow);
  // It kept the newest 4 (46..49); 1..45 were dropped and the first packet it gets says so.
  EXPECT_EQ(Sequences(rest), Range(46, 50));
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.front().dropped, 45u);
  EXPECT_EQ(rest.back().dropped, 45u);
  EXPECT_EQ(slow->Stats().at("a").dropped, 45u);
  EXPECT_EQ(slow->Stats().at("a").delivered, 5u);
  // The other client lost nothing.
  auto all = Drain(*fast);
  EXPECT_EQ(Sequences(all), Range(0, 50));
  EXPECT_EQ(fast->Stats().at("a").dropped, 0u);
}

TEST_F(LiveFeedTest, AClientQueueIsBoundedInBytesToo) {
  auto feed = MakeFeed();
  const auto one = arrow::util::TotalBufferSize(*MakeBatch(*info_, 0));
  ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a"},
                                                  .capacity = 100,
                                                  .capacity_bytes = 3 * one + one / 2}));
  Publish(10);
  feed->Sync();
  auto got = Drain(*sub);
  EXPECT_EQ(Sequences(got), Range(7, 10));
  EXPECT_EQ(got.front().dropped, 7u);
  // A packet larger than the bound is still delivered, alone.
  ASSERT_OK_AND_ASSIGN(auto tiny, feed->Subscribe({.streams = {"a"}, .capacity_bytes = 1}));
  Publish(3);
  feed->Sync();
  auto last = Drain(*tiny);
  EXPECT_EQ(Sequences(last), Range(12, 13));
  EXPECT_EQ(last.front().dropped, 2u);
}

TEST_F(LiveFeedTest, ReplayGivesTheRingsWindowThenLive) {
  auto feed = MakeFeed({.ring = {.max_age = 100ms, .max_bytes = 1 << 30}});
  Publish(30);  // rows 0..299: newest sample 299 ms; the ring keeps last samples > 199 ms
  feed->Sync();
  ASSERT_OK_AND_ASSIGN(auto whole, feed->Subscribe({.streams = {"a"},
                                                    .start = {.kind = StartKind::kReplay},
                                                    .capacity = 100}));
  ASSERT_OK_AND_ASSIGN(auto last50ms,
                       feed->Subscribe({.streams = {"a"},
                                        .start = {.kind = StartKind::kReplay, .window = 50ms},
                                        .capacity = 100}));
  Publish(2);
  feed->Sync();
  EXPECT_EQ(Sequences(Drain(*whole)), Range(20, 32));
  EXPECT_EQ(Sequences(Drain(*last50ms)), Range(25, 32));  // last sample > 249 ms: k >= 25
}

TEST_F(LiveFeedTest, SinceResumesWithoutGapOrDuplicate) {
  auto feed = MakeFeed({.ring = {.max_age = 1h, .max_bytes = 1 << 30}});
  Publish(20);
  feed->Sync();
  ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a"},
                                                  .start = {.kind = StartKind::kSince,
                                                            .sequence = 12},
                                                  .capacity = 100}));
  Publish(5);
  feed->Sync();
  EXPECT_EQ(Sequences(Drain(*sub)), Range(12, 25));
  // since == next sequence: exactly the packets to come.
  ASSERT_OK_AND_ASSIGN(auto at_end, feed->Subscribe({.streams = {"a"},
                                                     .start = {.kind = StartKind::kSince,
                                                               .sequence = 25},
                                                     .capacity = 100}));
  Publish(2);
  feed->Sync();
  EXPECT_EQ(Sequences(Drain(*at_end)), Range(25, 27));
}

TEST_F(LiveFeedTest, SinceOutsideTheRingIsRefusedWithWhatItHolds) {
  auto feed = MakeFeed({.ring = {.max_age = 50ms, .max_bytes = 1 << 30}});
  Publish(20);
  feed->Sync();  // the ring holds 15..19
  auto old = feed->Subscribe(
      {.streams = {"a"}, .start = {.kind = StartKind::kSince, .sequence = 3}});
  ASSERT_FALSE(old.ok());
  EXPECT_TRUE(old.status().IsInvalid());
  EXPECT_EQ(old.status().message(),
            "stream 'a': sequence 3 is no longer in the replay ring (it holds 15..19; next "
            "sequence 20)");
  auto future = feed->Subscribe(
      {.streams = {"a"}, .start = {.kind = StartKind::kSince, .sequence = 21}});
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().message(),
            "stream 'a': sequence 21 is not published yet (next sequence 20)");
  auto unknown = feed->Subscribe({.streams = {"b"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.status().IsKeyError());
  EXPECT_NE(unknown.status().message().find("streams: a"), std::string::npos)
      << unknown.status().message();
}

TEST_F(LiveFeedTest, SinceJoinsARunningProducerWithoutGapOrDuplicate) {
  // The producer keeps publishing while clients join at sequences still in the ring: each
  // must see exactly from its start on. This is the backlog/live join under concurrency. The
  // feed's own router queue holds every packet the producer makes (its overflow on a loaded
  // machine is a drop by design, tested elsewhere, and would show here as a gap).
  auto feed = MakeFeed({.ring = {.max_age = 1h, .max_bytes = 1 << 30}, .feed_capacity = 100'000});
  std::atomic<bool> stop{false};
  Publish(1);
  std::thread producer([&] {
    for (int i = 0; i < 20'000 && !stop.load(); ++i) {
      if (!router_.Publish(*stream_, MakeBatch(*info_, static_cast<std::int64_t>(next_++))).ok()) {
        return;
      }
    }
  });
  std::vector<std::pair<std::uint64_t, std::shared_ptr<LiveSubscription>>> clients;
  for (int i = 0; i < 20; ++i) {
    feed->Sync();
    const auto next = feed->Stats().at(0).next_sequence;
    const std::uint64_t since = next > 3 ? next - 3 : 0;
    ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a"},
                                                    .start = {.kind = StartKind::kSince,
                                                              .sequence = since},
                                                    .capacity = 1'000'000}));
    clients.emplace_back(since, sub);
  }
  stop = true;
  producer.join();
  feed->Sync();
  for (auto& [since, sub] : clients) {
    auto got = Sequences(Drain(*sub));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got, Range(since, next_)) << "client since " << since;
  }
}

TEST_F(LiveFeedTest, TwoStreamsInOneSubscriptionCountDropsPerStream) {
  auto b_info = MakeStream("b");
  ASSERT_OK_AND_ASSIGN(auto b, router_.AddStream(b_info));
  auto feed = MakeFeed();
  ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a", "b"}, .capacity = 3}));
  Publish(5);                                                           // a: 0..4
  for (int k = 0; k < 2; ++k) ASSERT_OK(router_.Publish(*b, MakeBatch(*b_info, k)));  // b: 0..1
  feed->Sync();
  auto got = Drain(*sub);
  // Queue of 3 keeps a:4, b:0, b:1; a lost 0..3.
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].packet.stream_name(), "a");
  EXPECT_EQ(got[0].packet.sequence, 4u);
  EXPECT_EQ(got[0].dropped, 4u);
  EXPECT_EQ(got[1].packet.stream_name(), "b");
  EXPECT_EQ(got[1].dropped, 0u);
  EXPECT_EQ(got[2].dropped, 0u);
  EXPECT_EQ(sub->Stats().at("a").dropped, 4u);
  EXPECT_EQ(sub->Stats().at("b").dropped, 0u);
}

TEST_F(LiveFeedTest, DropsReportedEqualTheSequenceNumbersNeverSeenWhateverTheLoad) {
  // A tiny feed queue and a reader that lags: losses may happen in the feed (upstream) or in
  // the client queue; either way the reported count must equal the gaps the client sees.
  auto feed = MakeFeed({.feed_capacity = 2});
  ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a"}, .capacity = 2}));
  std::thread producer([&] { Publish(2000); });
  std::uint64_t expected = 0;
  std::uint64_t gaps = 0;
  std::uint64_t last_reported = 0;
  std::uint64_t last_seen = 0;
  const auto give_up = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < give_up) {
    auto d = sub->Next(std::chrono::steady_clock::now() + 200ms);
    if (!d) {
      if (last_seen + 1 == 2000) break;  // the newest packet always arrives (drop_oldest)
      continue;
    }
    gaps += d->packet.sequence - expected;
    expected = d->packet.sequence + 1;
    EXPECT_EQ(d->dropped, gaps) << "at sequence " << d->packet.sequence;
    last_reported = d->dropped;
    last_seen = d->packet.sequence;
  }
  producer.join();
  EXPECT_EQ(last_seen, 1999u);
  EXPECT_EQ(last_reported, gaps);
  EXPECT_EQ(sub->Stats().at("a").dropped, gaps);
}

TEST_F(LiveFeedTest, AStreamAddedAgainEndsTheOldClientsAndStartsAFreshRing) {
  auto feed = MakeFeed();
  ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a"}, .capacity = 100}));
  Publish(3);
  feed->Sync();
  ASSERT_OK(router_.RemoveStream("a"));
  info_ = MakeStream("a");
  ASSERT_OK_AND_ASSIGN(stream_, router_.AddStream(info_));
  next_ = 0;
  Publish(1);
  feed->Sync();
  EXPECT_TRUE(sub->closed());
  auto stats = feed->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].ring_packets, 1u);
  EXPECT_EQ(stats[0].next_sequence, 1u);
}

TEST_F(LiveFeedTest, StopEndsEveryClient) {
  auto feed = MakeFeed();
  ASSERT_OK_AND_ASSIGN(auto sub, feed->Subscribe({.streams = {"a"}}));
  std::thread reader([&] { EXPECT_FALSE(sub->Next()); });  // waits with no deadline
  feed->Stop();
  reader.join();
  EXPECT_TRUE(sub->closed());
  EXPECT_FALSE(feed->Subscribe({.streams = {"a"}}).ok());
}

}  // namespace
}  // namespace arrowdaq::pipeline
