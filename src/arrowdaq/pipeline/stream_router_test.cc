#include "arrowdaq/pipeline/stream_router.h"

#include <atomic>
#include <future>
#include <thread>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <gtest/gtest.h>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::pipeline {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const StreamInfo> MakeStream(const std::string& name) {
  auto schema = MakeStreamSchema({{"ch0", "V", ""}}).ValueOrDie();
  return std::make_shared<StreamInfo>(StreamInfo{name, schema});
}

std::shared_ptr<arrow::RecordBatch> MakeBatch(const StreamInfo& s, int rows, double first) {
  arrow::TimestampBuilder ts(TimestampType(), arrow::default_memory_pool());
  arrow::DoubleBuilder v;
  for (int i = 0; i < rows; ++i) {
    EXPECT_TRUE(ts.Append(1'000'000 * (static_cast<int64_t>(first) + i)).ok());
    EXPECT_TRUE(v.Append(first + i).ok());
  }
  return arrow::RecordBatch::Make(s.schema, rows,
                                  {ts.Finish().ValueOrDie(), v.Finish().ValueOrDie()});
}

TEST(StreamRouter, FanOutHandsEverySubscriberTheSameBuffers) {
  StreamRouter router;
  auto info = MakeStream("daq");
  ASSERT_OK_AND_ASSIGN(auto stream, router.AddStream(info));
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(auto s, router.Subscribe({.name = "s" + std::to_string(i),
                                                   .streams = {"daq"},
                                                   .capacity = 8,
                                                   .policy = OverflowPolicy::kBlock}));
    subs.push_back(s);
  }
  ASSERT_OK_AND_ASSIGN(auto sent, router.Publish(*stream, MakeBatch(*info, 100, 0)));
  EXPECT_EQ(sent.sequence, 0u);
  const double* data = static_cast<const arrow::DoubleArray&>(*sent.batch->column(1)).raw_values();
  for (auto& s : subs) {
    auto got = s->TryNext();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->batch.get(), sent.batch.get());  // the same RecordBatch object
    EXPECT_EQ(static_cast<const arrow::DoubleArray&>(*got->batch->column(1)).raw_values(), data);
  }
}

TEST(StreamRouter, RejectsABatchOfTheWrongSchemaAndUnknownStreams) {
  StreamRouter router;
  ASSERT_OK_AND_ASSIGN(auto stream, router.AddStream(MakeStream("a")));
  auto other = std::make_shared<StreamInfo>(StreamInfo{
      "b", MakeStreamSchema({{"x", "V", ""}, {"y", "V", ""}}).ValueOrDie()});
  auto wrong = router.Publish(*stream, MakeBatch(*MakeStream("a"), 1, 0)->RemoveColumn(1).ValueOrDie());
  EXPECT_TRUE(wrong.status().IsInvalid()) << wrong.status().ToString();
  auto sub = router.Subscribe({.name = "s", .streams = {"nope"}});
  EXPECT_TRUE(sub.status().IsKeyError());
  EXPECT_NE(sub.status().message().find("streams: a"), std::string::npos);
  EXPECT_TRUE(router.AddStream(MakeStream("a")).status().IsAlreadyExists());
}

TEST(StreamRouter, SlowLossySubscriberNeitherSlowsALosslessOneNorMiscounts) {
  StreamRouter router;
  auto info = MakeStream("fast");
  ASSERT_OK_AND_ASSIGN(auto stream, router.AddStream(info));
  ASSERT_OK_AND_ASSIGN(auto lossless, router.Subscribe({.name = "storage",
                                                        .streams = {"*"},
                                                        .capacity = 4,
                                                        .policy = OverflowPolicy::kBlock}));
  ASSERT_OK_AND_ASSIGN(auto lossy, router.Subscribe({.name = "live",
                                                     .streams = {"fast"},
                                                     .capacity = 2,
                                                     .policy = OverflowPolicy::kDropOldest}));
  constexpr int kPackets = 2000;
  std::vector<uint64_t> lossless_seen, lossy_seen;
  std::thread storage([&] {
    while (auto p = lossless->Next()) lossless_seen.push_back(p->sequence);
  });
  // The live consumer blocks on purpose: it takes the first packet, then holds still until
  // every packet has been published (a GUI frozen for the whole run). If the producer waited
  // for it, publishing would never finish: the consumer gives up waiting after a minute and
  // the test fails on the count below instead of hanging.
  std::promise<void> holding, published_all;
  std::shared_future<void> release = published_all.get_future().share();
  bool released_in_time = false;
  std::thread live([&] {
    bool first = true;
    while (auto p = lossy->Next()) {
      lossy_seen.push_back(p->sequence);
      if (first) {
        first = false;
        holding.set_value();
        released_in_time = release.wait_for(60s) == std::future_status::ready;
      }
    }
  });
  ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 10, 0)).status());
  holding.get_future().wait();  // packet 0 is in the frozen consumer's hands
  for (int i = 1; i < kPackets; ++i) {
    ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 10, i * 10)).status());
  }
  published_all.set_value();  // every packet went out while the live consumer was frozen
  router.CloseAll();
  storage.join();
  live.join();
  EXPECT_TRUE(released_in_time);

  // Lossless: every sequence number, in order.
  ASSERT_EQ(lossless_seen.size(), static_cast<size_t>(kPackets));
  for (int i = 0; i < kPackets; ++i) ASSERT_EQ(lossless_seen[i], static_cast<uint64_t>(i));
  // Lossy (drop_oldest, capacity 2, frozen after packet 0): it saw 0 and the last two; the
  // 1997 in between were dropped, and its drop counter says exactly that.
  EXPECT_EQ(lossy_seen, (std::vector<uint64_t>{0, kPackets - 2, kPackets - 1}));
  const auto totals = lossy->Totals();
  EXPECT_EQ(totals.offered, static_cast<uint64_t>(kPackets));
  EXPECT_EQ(totals.delivered, lossy_seen.size());
  EXPECT_EQ(totals.dropped, static_cast<uint64_t>(kPackets) - lossy_seen.size());
  EXPECT_EQ(totals.dropped, 1997u);
  EXPECT_EQ(lossless->Totals().dropped, 0u);
}

TEST(StreamRouter, DropNewestCountsTheRejected) {
  StreamRouter router;
  auto info = MakeStream("s");
  ASSERT_OK_AND_ASSIGN(auto stream, router.AddStream(info));
  ASSERT_OK_AND_ASSIGN(auto sub, router.Subscribe({.name = "n",
                                                   .streams = {"s"},
                                                   .capacity = 3,
                                                   .policy = OverflowPolicy::kDropNewest}));
  for (int i = 0; i < 10; ++i) ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 1, i)).status());
  std::vector<uint64_t> seen;
  while (auto p = sub->TryNext()) seen.push_back(p->sequence);
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(sub->Stats().at("s").dropped, 7u);
  auto stats = router.Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].packets, 10u);
  EXPECT_EQ(stats[0].rows, 10u);
  EXPECT_EQ(stats[0].first_timestamp_ns, 0);
  EXPECT_EQ(stats[0].last_timestamp_ns, 9'000'000);
}

// The end of a run: after SealStreams no batch is published on the sealed streams, every one
// stamped before is delivered, and the sequence numbers delivered are exactly 0..cut-1 with
// producers running on their own threads while the seal happens.
TEST(StreamRouter, SealingEndsEveryStreamAtOnePointAndLosesNothingStampedBefore) {
  StreamRouter router;
  constexpr int kStreams = 4;
  std::vector<std::shared_ptr<StreamHandle>> handles;
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_OK_AND_ASSIGN(auto h, router.AddStream(MakeStream("s" + std::to_string(i))));
    handles.push_back(h);
  }
  ASSERT_OK_AND_ASSIGN(auto sub, router.Subscribe({.name = "all",
                                                   .streams = {"*"},
                                                   .capacity = 1 << 20,
                                                   .policy = OverflowPolicy::kBlock}));
  std::atomic<int> started{0};
  std::vector<std::uint64_t> published(kStreams, 0);  // each written by its producer only
  std::vector<std::thread> producers;
  for (int i = 0; i < kStreams; ++i) {
    producers.emplace_back([&, i] {
      auto info = handles[i]->info();
      started.fetch_add(1);
      for (;;) {
        auto sent = router.Publish(*handles[i], MakeBatch(*info, 2, 0));
        if (!sent.ok()) {
          EXPECT_TRUE(sent.status().IsCancelled()) << sent.status();
          return;
        }
        ++published[i];
      }
    });
  }
  while (started.load() < kStreams) std::this_thread::yield();
  // Let every producer publish something first (counts, not time).
  for (bool all = false; !all;) {
    all = true;
    for (const auto& st : router.Stats()) all = all && st.packets >= 10;
    std::this_thread::yield();
  }
  std::vector<std::string> names;
  for (int i = 0; i < kStreams; ++i) names.push_back("s" + std::to_string(i));
  ASSERT_OK(router.SealStreams(names));
  for (auto& t : producers) t.join();
  std::vector<std::uint64_t> next(kStreams, 0);
  while (auto packet = sub->TryNext()) {
    const int i = packet->stream_name()[1] - '0';
    EXPECT_EQ(packet->sequence, next[i]) << "stream " << i;
    ++next[i];
  }
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_EQ(next[i], published[i]) << "every packet stamped before the seal is delivered";
    EXPECT_GT(published[i], 0u);
    const auto stats = router.Stats()[static_cast<std::size_t>(i)];
    EXPECT_EQ(stats.packets, published[i]);
  }
  // Sealed stays sealed; unknown names seal nothing.
  auto late = router.Publish(*handles[0], MakeBatch(*handles[0]->info(), 1, 0));
  EXPECT_TRUE(late.status().IsCancelled());
  EXPECT_TRUE(router.SealStreams({"s0", "nope"}).IsKeyError());
}

// Wake-ups are batched: a consumer that has just taken packets naps instead of being woken
// for each one, and producers wake it only when its queue is half full. A lone packet far below
// that threshold must still arrive (the nap ends by itself), and nothing is lost or reordered.
TEST(StreamRouter, ABatchedConsumerStillGetsALonePacketBelowTheWakeThreshold) {
  StreamRouter router;
  auto info = MakeStream("slow");
  ASSERT_OK_AND_ASSIGN(auto stream, router.AddStream(info));
  ASSERT_OK_AND_ASSIGN(auto sub, router.Subscribe({.name = "batched",
                                                   .streams = {"slow"},
                                                   .capacity = 64,
                                                   .policy = OverflowPolicy::kBlock,
                                                   .max_wake_latency = 2ms}));
  for (int round = 0; round < 20; ++round) {
    // The consumer waits (it took a packet in the round before, so it is streaming) while one
    // packet is published: 1 < the wake threshold of 32, so only its own nap can fetch it.
    std::promise<std::optional<DataPacket>> got;
    auto arrived = got.get_future();
    const auto sleeps = sub->consumer_sleeps();
    std::thread consumer([&] { got.set_value(sub->Next(std::chrono::steady_clock::now() + 60s)); });
    while (sub->consumer_sleeps() == sleeps) std::this_thread::yield();  // it waits now
    ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 1, round)).status());
    // Generous sanity bound (thousands of times the 2 ms latency): a consumer whose nap never
    // ends would only see the packet at its 60 s deadline.
    const bool in_time = arrived.wait_for(15s) == std::future_status::ready;
    consumer.join();
    ASSERT_TRUE(in_time) << "round " << round << ": the packet waited for the deadline";
    auto packet = arrived.get();
    ASSERT_TRUE(packet.has_value()) << "round " << round << ": the packet never arrived";
    EXPECT_EQ(packet->sequence, static_cast<std::uint64_t>(round));
  }
  EXPECT_EQ(sub->Totals().delivered, 20u);
  EXPECT_EQ(sub->Totals().dropped, 0u);
}

// A kBlock producer waits until the queue is half empty, not forever: a consumer that takes
// packets one by one, in lock step with what it was promised, releases it, and every sequence
// number arrives once and in order.
TEST(StreamRouter, ABlockedProducerResumesAsTheConsumerDrains) {
  StreamRouter router;
  auto info = MakeStream("s");
  ASSERT_OK_AND_ASSIGN(auto stream, router.AddStream(info));
  ASSERT_OK_AND_ASSIGN(auto sub, router.Subscribe({.name = "lossless",
                                                   .streams = {"s"},
                                                   .capacity = 5,
                                                   .policy = OverflowPolicy::kBlock}));
  constexpr int kPackets = 500;
  std::thread producer([&] {
    for (int i = 0; i < kPackets; ++i) {
      ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 1, i)).status());
    }
  });
  // A producer never woken would leave this consumer waiting for packet `i` past its
  // deadline: a failure, not a hang.
  for (int i = 0; i < kPackets; ++i) {
    auto p = sub->Next(std::chrono::steady_clock::now() + 60s);
    ASSERT_TRUE(p.has_value()) << "packet " << i << " never arrived";
    ASSERT_EQ(p->sequence, static_cast<std::uint64_t>(i));
  }
  producer.join();
  EXPECT_EQ(sub->queued(), 0u);
  EXPECT_EQ(sub->Totals().offered, static_cast<std::uint64_t>(kPackets));
}


// A publish offers its packet to one subscription after another. If it is still offering (here:
// blocked on a full subscription listed first) when another subscription is removed, that
// subscription must still get the packet before it is closed: it was published before the
// removal (a recording stopped right after a scan's last point lost that point's batch).
TEST(StreamRouter, UnsubscribeWaitsForAPublishStillOfferingFromTheOldList) {
  StreamRouter router;
  auto info = MakeStream("s");
  ASSERT_OK_AND_ASSIGN(auto stream, router.AddStream(info));
  ASSERT_OK_AND_ASSIGN(auto first, router.Subscribe({.name = "first",
                                                     .streams = {"s"},
                                                     .capacity = 1,
                                                     .policy = OverflowPolicy::kBlock}));
  ASSERT_OK_AND_ASSIGN(auto recording, router.Subscribe({.name = "recording",
                                                         .streams = {"s"},
                                                         .capacity = 16,
                                                         .policy = OverflowPolicy::kBlock}));
  ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 1, 0)).status());  // fills `first`
  std::thread producer(
      [&] { ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 1, 1)).status()); });
  // The second publish holds the old list and waits for room in `first`.
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (first->blocked_producers() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(first->blocked_producers(), 1);
  std::thread drain([&] {
    std::this_thread::sleep_for(20ms);  // well inside Unsubscribe's 200 ms bound
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(first->Next(std::chrono::steady_clock::now() + 60s).has_value());
    }
  });
  ASSERT_OK(router.Unsubscribe("recording"));
  producer.join();
  drain.join();
  EXPECT_TRUE(recording->closed());
  std::vector<std::uint64_t> got;
  while (auto p = recording->TryNext()) got.push_back(p->sequence);
  EXPECT_EQ(got, (std::vector<std::uint64_t>{0, 1}));
  // A publish after the removal no longer reaches it.
  ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 1, 2)).status());
  EXPECT_FALSE(recording->TryNext().has_value());
}

}  // namespace
}  // namespace arrowdaq::pipeline
