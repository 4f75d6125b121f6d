// Benchmarks of the Kafka sink and source against librdkafka's mock cluster (rdkafka_mock.h,
// three brokers on loopback, started in this process; replication factor 3).
//
//  * BM_KafkaSink/rows: StreamRouter::Publish of the same (timestamp + 4 float64) batch of
//    1k/10k/100k rows to a KafkaSink (policy block, idempotent, acks=all), each iteration a
//    burst of packets (about 16 MB) timed until the last delivery report: rows/s and bytes/s of
//    message values delivered. Includes what the sink does per batch: Arrow IPC encoding (one
//    copy of the batch), headers, produce, delivery accounting.
//  * BM_LibrdkafkaProducer/rows: the peer in the same binary and run: librdkafka's producer
//    with the same settings pushing the same message (value already encoded, the same key and
//    headers) from memory to the same kind of cluster, until the last delivery report. The
//    sink's goal is at least 0.8x of it (bench/compare/run_all.py reports the ratio).
//  * BM_KafkaLatency: one stream at 10 kHz in batches of 100 (a batch every 10 ms, paced by the
//    wall clock, timestamps of the samples as a source would stamp them) -> KafkaSink -> mock
//    cluster -> the `kafka` driver (the aggregator's source: consume, decode, sequence check)
//    on its own thread. Latency of a batch = the moment the driver returns it decoded minus
//    the timestamp of its last sample (the batch cannot leave before it is complete): p50,
//    p99 and max in ms over every batch.
//
// Message size: a 100k-row batch is 4 MB, above Kafka's default 1 MB limit; both producers
// raise message.max.bytes (docs/multi-node.md: "Message size").
#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <arrow/array.h>
#include <arrow/builder.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/kafka/client.h"
#include "arrowdaq/kafka/message_format.h"
#include "arrowdaq/pipeline/stream_router.h"
#include "arrowdaq/sinks/kafka_sink.h"
#include "bench_batches.h"
#include "bench_env.h"

namespace arrowdaq::bench {
namespace {

constexpr int kChannels = 4;
constexpr std::int64_t kBurstBytes = std::int64_t{16} << 20;
const char* const kMaxMessageBytes = "20000000";

// librdkafka's mock cluster, on a client handle of its own.
class MockCluster {
 public:
  MockCluster() {
    auto conf = kafka::MakeConf({{"log_level", "3"}}).ValueOrDie();
    handle_ = kafka::MakeClient(RD_KAFKA_PRODUCER, std::move(conf)).ValueOrDie();
    cluster_ = rd_kafka_mock_cluster_new(handle_.get(), 3);
    if (cluster_ == nullptr) std::abort();
  }
  ~MockCluster() { rd_kafka_mock_cluster_destroy(cluster_); }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string brokers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void CreateTopic(const std::string& topic) {
    (void)rd_kafka_mock_topic_create(cluster_, topic.c_str(), 1, 3);
  }

 private:
  kafka::UniqueHandle handle_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

std::int64_t PacketsPerBurst(std::int64_t batch_bytes) {
  return std::max<std::int64_t>(8, kBurstBytes / std::max<std::int64_t>(1, batch_bytes));
}

std::uint64_t Delivered(const sinks::KafkaSink& sink, const std::string& topic,
                        std::uint64_t* failed) {
  for (const auto& d : sink.Stats().destinations) {
    if (d.name == topic) {
      *failed = d.failed;
      return d.delivered;
    }
  }
  *failed = 0;
  return 0;
}

void BM_KafkaSink(benchmark::State& state) {
  const std::int64_t rows = state.range(0);
  MockCluster cluster;
  const std::string topic = "bench.sink." + std::to_string(rows);
  cluster.CreateTopic(topic);
  pipeline::StreamRouter router;
  auto info = std::make_shared<const StreamInfo>(StreamInfo{"s", BenchSchema(kChannels)});
  auto stream = router.AddStream(info).ValueOrDie();
  auto batch = MakeBenchBatch(info->schema, rows);
  sinks::KafkaSinkOptions options;
  options.brokers = cluster.brokers();
  options.topic = topic;
  options.node = "bench";
  options.schema_topic = "";
  options.producer = {{"message.max.bytes", kMaxMessageBytes}};
  sinks::KafkaSink sink(std::move(options));
  if (Status st = sink.Start(router); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  const std::int64_t burst = PacketsPerBurst(BatchBytes(*batch));
  std::uint64_t failed = 0;
  // Warm-up, untimed: the connection, the idempotent producer's id, the topic's metadata.
  if (!router.Publish(*stream, batch).ok()) std::abort();
  std::uint64_t target = 1;
  while (Delivered(sink, topic, &failed) + failed < target) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::uint64_t bytes_before = 0;
  for (const auto& d : sink.Stats().destinations) {
    if (d.name == topic) bytes_before = d.bytes_delivered;
  }
  for (auto _ : state) {
    for (std::int64_t i = 0; i < burst; ++i) {
      if (!router.Publish(*stream, batch).ok()) std::abort();
    }
    target += static_cast<std::uint64_t>(burst);
    while (Delivered(sink, topic, &failed) + failed < target) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  router.CloseAll();
  sink.Stop();
  std::uint64_t bytes = 0;
  for (const auto& d : sink.Stats().destinations) {
    if (d.name == topic) bytes = d.bytes_delivered;
  }
  bytes -= bytes_before;
  const auto packets = static_cast<std::int64_t>(target - 1);
  state.SetItemsProcessed(packets * rows);  // rows
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["failed"] = static_cast<double>(failed);
  state.counters["message_bytes"] =
      packets > 0 ? static_cast<double>(bytes) / static_cast<double>(packets) : 0;
}
BENCHMARK(BM_KafkaSink)->Arg(1000)->Arg(10000)->Arg(100000)->UseRealTime();

struct PeerCounts {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> bytes{0};
};

void OnPeerDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* counts = static_cast<PeerCounts*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    counts->delivered.fetch_add(1);
    counts->bytes.fetch_add(m->len);
  } else {
    counts->failed.fetch_add(1);
  }
}

void BM_LibrdkafkaProducer(benchmark::State& state) {
  const std::int64_t rows = state.range(0);
  MockCluster cluster;
  const std::string topic = "bench.peer." + std::to_string(rows);
  cluster.CreateTopic(topic);
  auto schema = BenchSchema(kChannels);
  auto batch = MakeBenchBatch(schema, rows);
  auto value = kafka::EncodeValue(*batch, nullptr).ValueOrDie();
  const auto schema_message = kafka::SerializeSchemaMessage(*schema).ValueOrDie();
  const kafka::HeaderList headers = kafka::MakeHeaders(
      {"bench", "s", kafka::NewSessionId(), 0,
       kafka::Fingerprint(schema_message->data(), schema_message->size())});
  PeerCounts counts;
  // The sink's settings: the same defaults, the same override.
  auto conf = kafka::MakeConf({{"bootstrap.servers", cluster.brokers()},
                               {"enable.idempotence", "true"},
                               {"acks", "all"},
                               {"client.id", "arrowdaq-bench-peer"},
                               {"message.max.bytes", kMaxMessageBytes}})
                  .ValueOrDie();
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &OnPeerDelivery);
  rd_kafka_conf_set_opaque(conf.get(), &counts);
  auto producer = kafka::MakeClient(RD_KAFKA_PRODUCER, std::move(conf)).ValueOrDie();
  const std::string key = "s";
  const std::int64_t timestamp_ms = WallClockNanos() / 1'000'000;
  const std::int64_t burst = PacketsPerBurst(BatchBytes(*batch));
  auto produce_one = [&] {
    // The same message: value from memory (not copied), key, the six headers.
    rd_kafka_headers_t* h = rd_kafka_headers_new(8);
    for (const auto& [name, v] : headers) {
      rd_kafka_header_add(h, name.c_str(), -1, v->data(), static_cast<ssize_t>(v->size()));
    }
    while (true) {
      const auto err = rd_kafka_producev(
          producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<uint8_t*>(value->data()),
                           static_cast<std::size_t>(value->size())),
          RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) std::abort();
      rd_kafka_poll(producer.get(), 50);  // as the sink waits for room
    }
    rd_kafka_poll(producer.get(), 0);
  };
  auto wait_for = [&](std::uint64_t target) {
    while (counts.delivered.load() + counts.failed.load() < target) {
      rd_kafka_poll(producer.get(), 1);
    }
  };
  // Warm-up, untimed, as for the sink.
  produce_one();
  std::uint64_t target = 1;
  wait_for(target);
  const std::uint64_t bytes_before = counts.bytes.load();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < burst; ++i) produce_one();
    target += static_cast<std::uint64_t>(burst);
    wait_for(target);
  }
  const auto packets = static_cast<std::int64_t>(target - 1);
  state.SetItemsProcessed(packets * rows);
  state.SetBytesProcessed(static_cast<std::int64_t>(counts.bytes.load() - bytes_before));
  state.counters["failed"] = static_cast<double>(counts.failed.load());
  state.counters["message_bytes"] = static_cast<double>(value->size());
}
BENCHMARK(BM_LibrdkafkaProducer)->Arg(1000)->Arg(10000)->Arg(100000)->UseRealTime();

// A batch of 100 samples at 10 kHz whose last sample is `last_ns` (wall clock).
std::shared_ptr<arrow::RecordBatch> LatencyBatch(const std::shared_ptr<arrow::Schema>& schema,
                                                 std::int64_t rows, std::int64_t last_ns,
                                                 std::int64_t first_value) {
  arrow::TimestampBuilder ts(TimestampType(), arrow::default_memory_pool());
  arrow::DoubleBuilder v;
  for (std::int64_t i = 0; i < rows; ++i) {
    (void)ts.Append(last_ns - (rows - 1 - i) * 100'000);
    (void)v.Append(static_cast<double>(first_value + i));
  }
  return arrow::RecordBatch::Make(schema, rows,
                                  {ts.Finish().ValueOrDie(), v.Finish().ValueOrDie()});
}

void BM_KafkaLatency(benchmark::State& state) {
  constexpr std::int64_t kRows = 100;
  constexpr auto kPeriod = std::chrono::milliseconds(10);  // 100 rows at 10 kHz
  const std::int64_t batches = state.range(0);
  MockCluster cluster;
  const std::string topic = "bench.latency";
  cluster.CreateTopic(topic);
  cluster.CreateTopic("arrowdaq.schemas");
  pipeline::StreamRouter router;
  auto info = std::make_shared<const StreamInfo>(StreamInfo{"s", BenchSchema(1)});
  auto stream = router.AddStream(info).ValueOrDie();
  sinks::KafkaSinkOptions options;
  options.brokers = cluster.brokers();
  options.topic = topic;
  options.node = "bench";
  sinks::KafkaSink sink(std::move(options));
  if (Status st = sink.Start(router); !st.ok()) {  // sends the schema
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  OptionMap source_options{{"brokers", cluster.brokers()}, {"topic", topic},
                           {"node", std::string("bench")}, {"stream", std::string("s")},
                           {"start", std::string("latest")}};
  auto driver = instruments::DriverRegistry::Default().Create("kafka", source_options);
  if (!driver.ok()) {
    state.SkipWithError(driver.status().ToString().c_str());
    return;
  }
  auto& source = **driver;
  if (Status st = source.hardware().Connect("", std::chrono::seconds(30)); !st.ok()) {
    state.SkipWithError(st.ToString().c_str());
    return;
  }
  (void)source.Configure();
  (void)source.StartAcquisition();

  std::vector<double> latencies_ms;
  std::int64_t received = 0;
  std::int64_t sent = 0;
  for (auto _ : state) {
    // Batches before `measured_from` warm the path up (connections, the producer's id) and
    // are not measured; the producer goes on to the measured ones once one arrived.
    std::atomic<std::int64_t> measured_from{-1};
    std::atomic<bool> warm{false};
    std::thread reader([&] {
      const auto give_up = SteadyClock::now() + std::chrono::seconds(90) +
                           kPeriod * static_cast<int>(batches);
      while (received < batches && SteadyClock::now() < give_up) {
        auto raw = source.hardware().ReadRawData(std::chrono::milliseconds(100));
        if (!raw.ok()) continue;
        auto decoded = source.Decode(std::move(*raw));
        const std::int64_t now = WallClockNanos();
        if (!decoded.ok() || *decoded == nullptr) continue;
        warm = true;
        const auto& ts = static_cast<const arrow::TimestampArray&>(*(*decoded)->column(0));
        const auto& v = static_cast<const arrow::DoubleArray&>(*(*decoded)->column(1));
        const std::int64_t from = measured_from.load();
        if (from < 0 || v.Value(0) < static_cast<double>(from * kRows)) continue;
        latencies_ms.push_back(static_cast<double>(now - ts.Value(ts.length() - 1)) / 1e6);
        ++received;
      }
    });
    // The producer: a batch as soon as its last sample is due (pacing by the steady clock,
    // timestamps by the wall clock, as a source stamps them).
    auto next = SteadyClock::now() + kPeriod;
    std::int64_t measured = 0;
    for (std::int64_t i = sent; measured < batches; ++i, next += kPeriod) {
      std::this_thread::sleep_until(next);
      if (measured_from.load() < 0 && warm.load()) measured_from = i;
      if (measured_from.load() >= 0) ++measured;
      auto b = LatencyBatch(info->schema, kRows, WallClockNanos(), i * kRows);
      if (!router.Publish(*stream, b).ok()) std::abort();
      sent = i + 1;
      if (i > 100'000) break;  // never warm: the reader gives up and reports what it has
    }
    reader.join();
  }
  router.CloseAll();
  sink.Stop();
  (void)source.StopAcquisition();
  (void)source.hardware().Disconnect();
  std::vector<double> sorted = latencies_ms;
  state.counters["batches_measured"] = static_cast<double>(batches);
  state.counters["batches_received"] = static_cast<double>(received);
  state.counters["p50_ms"] = Quantile(sorted, 0.50);
  state.counters["p99_ms"] = Quantile(sorted, 0.99);
  state.counters["max_ms"] =
      sorted.empty() ? 0.0 : *std::max_element(sorted.begin(), sorted.end());
}
BENCHMARK(BM_KafkaLatency)->Arg(1000)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace arrowdaq::bench

BENCHMARK_MAIN();
