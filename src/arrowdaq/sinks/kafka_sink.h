// KafkaSink: sends streams to Apache Kafka through librdkafka, one message per batch in the
// arrowdaq Kafka message format (kafka/message_format.h; docs/multi-node.md).
//
// - Topic per stream from a template (`arrowdaq.<stream>` by default; `<node>` and `<stream>`
//   are replaced); key = stream name, so a stream stays ordered in one partition.
// - Idempotent producer with acks=all by default (producer settings given by the user are
//   applied after these and may change them).
// - Lossless by default: when librdkafka's queue is full the sink's thread waits (polling for
//   delivery reports) instead of dropping, its subscription fills, and with policy `block` the
//   instruments wait too. With `drop_oldest` / `drop_newest` the subscription drops instead,
//   counted per stream.
// - Every delivery report is counted per topic; a message that finally fails (refused by the
//   cluster, timed out, or not delivered within `flush_timeout` after the stop began) is a
//   `fault` event naming the stream, sequence number, topic and librdkafka's cause.
// - The schema of each stream goes inline with the first message of the stream and after a
//   change, and to the schema topic (key `<node>/<stream>`) at the start and after a change.
//
// Threading: see sinks/sink.h. librdkafka's delivery reports are served on the sink's own
// thread (rd_kafka_poll), never on librdkafka's threads; counters are guarded by a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/kafka/client.h"
#include "arrowdaq/sinks/sink.h"

namespace arrowdaq::sinks {

struct KafkaSinkOptions {
  std::string name = "kafka";
  std::vector<std::string> streams{"*"};
  OverflowPolicy policy = OverflowPolicy::kBlock;
  std::size_t capacity = 64;
  /// bootstrap.servers ("host:port,host:port").
  std::string brokers;
  /// Topic of each stream; `<stream>` and `<node>` are replaced.
  std::string topic = "arrowdaq.<stream>";
  /// This node's name in the headers (default: the host name, cleaned to [A-Za-z0-9_.-]).
  std::string node;
  /// Topic of the schemas ("" to send none).
  std::string schema_topic = "arrowdaq.schemas";
  /// How long the stop waits for the cluster before counting what is left as failed.
  std::chrono::milliseconds flush_timeout{30'000};
  /// librdkafka producer properties, applied after the defaults (acks=all, idempotence).
  kafka::Settings producer;
  /// Told of failures (on the sink's thread).
  std::function<void(RunEvent)> on_event;
};

/// Check the options the config gave (config/config.h declares the `[[sinks]]` keys and their
/// defaults) by the sink's own rules and complete them: `brokers` required, `node` (default:
/// the host name) a name of [A-Za-z0-9_.-], `topic` and `schema_topic` templates that make
/// valid topic names, `flush_timeout` at most a day. On error `*bad_key` names the key at fault.
[[nodiscard]] Status CheckKafkaSinkOptions(KafkaSinkOptions* options, std::string* bad_key);

/// Check one producer property by setting it on a scratch configuration (librdkafka's
/// message when the name is unknown or the value is refused).
[[nodiscard]] Status CheckProducerProperty(const std::string& name, const std::string& value);

/// Check the producer settings together, as Start applies them (the sink's defaults, then
/// `options.producer`), by creating a client that connects nowhere and destroying it:
/// librdkafka refuses some combinations only then (`acks` other than all with idempotence,
/// a transactional.id). Also refuses settings the sink cannot work with.
[[nodiscard]] Status CheckProducerSettings(const KafkaSinkOptions& options);

/// Return the topic of `stream` under `topic_template`; an error when the result is not a
/// valid Kafka topic name (1 to 249 of [A-Za-z0-9._-], not "." or "..").
[[nodiscard]] Result<std::string> TopicFor(const std::string& topic_template,
                                           const std::string& node, const std::string& stream);

/// Return the host name cleaned to a valid node name.
std::string DefaultNodeName();

class KafkaSink : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  Status Start(pipeline::StreamRouter& router) override;
  void BeginStop() override;
  void Stop() override;
  SinkStats Stats() const override;

 private:
  struct StreamState;
  struct Pending;

  void Loop();
  void Send(const DataPacket& packet);
  StreamState* StateFor(const DataPacket& packet);
  Status SendSchema(StreamState& state);
  /// Produce one message, waiting while librdkafka's queue is full. False when it failed.
  bool Produce(const std::string& topic, const std::string& key,
               const std::shared_ptr<arrow::Buffer>& value, kafka::UniqueHeaders headers,
               std::int64_t timestamp_ms, std::unique_ptr<Pending> pending);
  void Failed(const std::string& topic, const std::string& stream, std::uint64_t sequence,
              const std::string& cause);
  bool PastDeadline() const;
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);

  KafkaSinkOptions options_;
  std::string session_;
  pipeline::StreamRouter* router_ = nullptr;
  std::string subscription_name_;
  std::shared_ptr<pipeline::Subscription> subscription_;
  kafka::UniqueHandle producer_;
  std::thread thread_;
  std::atomic<bool> stop_begun_{false};
  std::atomic<std::int64_t> deadline_ns_{0};  // steady clock, set by BeginStop
  bool stopped_ = false;

  std::map<std::string, std::unique_ptr<StreamState>> streams_;  // sink thread only

  mutable std::mutex mutex_;
  std::map<std::string, DestinationStats> topics_;
  std::uint64_t taken_ = 0;
};

}  // namespace arrowdaq::sinks
