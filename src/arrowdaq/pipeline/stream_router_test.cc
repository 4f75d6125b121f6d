#include "arrowdaq/pipeline/stream_router.h"

#include <atomic>
#include <set>
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
  std::thread live([&] {
    while (auto p = lossy->Next()) {
      lossy_seen.push_back(p->sequence);
      std::this_thread::sleep_for(1ms);  // a slow GUI
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPackets; ++i) ASSERT_OK(router.Publish(*stream, MakeBatch(*info, 10, i * 10)).status());
  const auto publish_time = std::chrono::steady_clock::now() - t0;
  router.CloseAll();
  storage.join();
  live.join();

  // Lossless: every sequence number, in order.
  ASSERT_EQ(lossless_seen.size(), static_cast<size_t>(kPackets));
  for (int i = 0; i < kPackets; ++i) ASSERT_EQ(lossless_seen[i], static_cast<uint64_t>(i));
  // The slow consumer (1 ms per packet) would need >= 2 s for every packet; the producer was
  // not held back by it (generous bound for a loaded machine).
  EXPECT_LT(publish_time, 1500ms);
  // Lossy: its drop counter equals exactly the sequence numbers it never saw.
  std::set<uint64_t> seen(lossy_seen.begin(), lossy_seen.end());
  ASSERT_EQ(seen.size(), lossy_seen.size());
  const auto totals = lossy->Totals();
  EXPECT_EQ(totals.offered, static_cast<uint64_t>(kPackets));
  EXPECT_EQ(totals.delivered, lossy_seen.size());
  EXPECT_EQ(totals.dropped, kPackets - seen.size());
  EXPECT_GT(totals.dropped, 0u);
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

}  // namespace
}  // namespace arrowdaq::pipeline
