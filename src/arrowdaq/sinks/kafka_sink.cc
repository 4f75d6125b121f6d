#include "arrowdaq/sinks/kafka_sink.h"

#include <unistd.h>

#include <arrow/array.h>
#include <arrow/util/byte_size.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/kafka/message_format.h"

namespace arrowdaq::sinks {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

bool IsTopicChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}

std::string ReplaceAll(std::string text, const std::string& what, const std::string& with) {
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
  return text;
}

}  // namespace

/// Key of the schema topic for one origin stream.
static std::string SchemaKey(const std::string& node, const std::string& stream) {
  return node + "/" + stream;
}

struct KafkaSink::StreamState {
  std::string name;
  std::string topic;
  std::shared_ptr<arrow::Schema> schema;  // the one serialized below
  std::shared_ptr<arrow::Buffer> schema_message;
  std::string fingerprint;
  bool inline_schema = true;  // the next message carries the schema
};

struct KafkaSink::Pending {
  KafkaSink* sink = nullptr;
  std::string topic;
  std::string stream;
  std::uint64_t sequence = 0;
  std::int64_t rows = 0;
  std::shared_ptr<arrow::Buffer> value;  // kept alive until the delivery report
};

std::string DefaultNodeName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "node";
  std::string name = buf;
  for (char& c : name) {
    if (!IsTopicChar(c)) c = '_';
  }
  if (name.front() == '.') name.front() = '_';
  return name.substr(0, 100);
}

Result<std::string> TopicFor(const std::string& topic_template, const std::string& node,
                             const std::string& stream) {
  const std::string topic =
      ReplaceAll(ReplaceAll(topic_template, "<stream>", stream), "<node>", node);
  if (!kafka::IsValidTopicName(topic)) {
    return Status::Invalid("topic '", topic, "' (from the template '", topic_template,
                           "') is not a valid Kafka topic name: 1 to 249 characters of "
                           "letters, digits, '.', '_', '-'");
  }
  return topic;
}

Status CheckKafkaSinkOptions(KafkaSinkOptions* out, std::string* bad_key) {
  auto fail = [bad_key](const char* key, auto&&... message) {
    *bad_key = key;
    return Status::Invalid(std::forward<decltype(message)>(message)...);
  };
  if (out->brokers.empty()) {
    return fail("brokers", "required: the bootstrap servers, \"host:port,host:port\"");
  }
  if (out->node.empty()) out->node = DefaultNodeName();
  if (out->node.size() > 100 || !std::all_of(out->node.begin(), out->node.end(), IsTopicChar)) {
    return fail("node", "'", out->node,
                "' is not a name of letters, digits, '.', '_', '-' (at most 100)");
  }
  if (auto topic = TopicFor(out->topic, out->node, "stream"); !topic.ok()) {
    return fail("topic", topic.status().message());
  }
  if (!out->schema_topic.empty()) {
    if (auto topic = TopicFor(out->schema_topic, out->node, "stream"); !topic.ok()) {
      return fail("schema_topic", topic.status().message());
    }
  }
  if (out->flush_timeout > std::chrono::hours(24)) {
    return fail("flush_timeout", "at most 24 h (librdkafka's message.timeout.ms bounds each "
                "message anyway)");
  }
  return Status::OK();
}

Status CheckProducerProperty(const std::string& name, const std::string& value) {
  if (name == "transactional.id") {
    return Status::Invalid("not supported: the sink is an idempotent producer, not a "
                           "transactional one (remove transactional.id)");
  }
  ARROW_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf({}));
  return kafka::SetProperty(conf.get(), name, value);
}

namespace {

// The producer's settings: the sink's defaults, then the user's (later wins).
kafka::Settings ProducerSettings(const KafkaSinkOptions& options) {
  kafka::Settings settings = {{"bootstrap.servers", options.brokers},
                              {"enable.idempotence", "true"},
                              {"acks", "all"},
                              {"client.id", "arrowdaq-" + options.node}};
  settings.insert(settings.end(), options.producer.begin(), options.producer.end());
  return settings;
}

}  // namespace

Status CheckProducerSettings(const KafkaSinkOptions& options) {
  for (const auto& [name, value] : options.producer) {
    ARROW_RETURN_NOT_OK(CheckProducerProperty(name, value));
  }
  kafka::Settings settings = ProducerSettings(options);
  // A client that connects nowhere and logs nothing: only the configuration is checked.
  settings.emplace_back("bootstrap.servers", "");
  settings.emplace_back("log_level", "0");
  ARROW_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf(settings));
  auto client = kafka::MakeClient(RD_KAFKA_PRODUCER, std::move(conf));
  if (!client.ok()) {
    return Status::Invalid("librdkafka refuses the producer settings together: ",
                           client.status().message());
  }
  return Status::OK();
}

KafkaSink::KafkaSink(KafkaSinkOptions options)
    : options_(std::move(options)), session_(kafka::NewSessionId()) {
  if (options_.node.empty()) options_.node = DefaultNodeName();
}

KafkaSink::~KafkaSink() { Stop(); }

Status KafkaSink::Start(pipeline::StreamRouter& router) {
  if (options_.brokers.empty()) return Status::Invalid("kafka sink: no brokers given");
  ARROW_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf(ProducerSettings(options_)));
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::OnDelivery);
  ARROW_ASSIGN_OR_RAISE(producer_, kafka::MakeClient(RD_KAFKA_PRODUCER, std::move(conf)));
  // Every topic this sink will write must be a valid name before anything is sent.
  const auto& wanted = options_.streams;
  const bool all = std::find(wanted.begin(), wanted.end(), "*") != wanted.end();
  for (const auto& name : router.StreamNames()) {
    if (!all && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) continue;
    ARROW_RETURN_NOT_OK(TopicFor(options_.topic, options_.node, name).status());
  }
  router_ = &router;
  subscription_name_ = "sink:" + options_.name;
  ARROW_ASSIGN_OR_RAISE(subscription_, router.Subscribe({.name = subscription_name_,
                                                         .streams = options_.streams,
                                                         .capacity = options_.capacity,
                                                         .policy = options_.policy}));
  // The schemas of the streams known now go out first, before any data.
  for (const auto& name : router.StreamNames()) {
    if (!subscription_->Wants(name)) continue;
    ARROW_ASSIGN_OR_RAISE(auto info, router.FindStream(name));
    DataPacket probe{info, 0, nullptr};
    if (StreamState* state = StateFor(probe); state != nullptr) {
      if (Status st = SendSchema(*state); !st.ok()) {
        Failed(options_.schema_topic, name, 0, st.ToString());
      }
    }
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

KafkaSink::StreamState* KafkaSink::StateFor(const DataPacket& packet) {
  const std::string& name = packet.stream_name();
  auto it = streams_.find(name);
  if (it == streams_.end()) {
    auto topic = TopicFor(options_.topic, options_.node, name);
    if (!topic.ok()) {
      Failed(options_.topic, name, packet.sequence, topic.status().ToString());
      return nullptr;
    }
    auto state = std::make_unique<StreamState>();
    state->name = name;
    state->topic = *topic;
    it = streams_.emplace(name, std::move(state)).first;
  }
  StreamState& state = *it->second;
  const auto& schema = packet.stream->schema;
  if (state.schema != schema && (state.schema == nullptr || !state.schema->Equals(*schema))) {
    auto message = kafka::SerializeSchemaMessage(*schema);
    if (!message.ok()) {
      Failed(state.topic, name, packet.sequence, message.status().ToString());
      return nullptr;
    }
    const bool changed = state.schema != nullptr;
    state.schema = schema;
    state.schema_message = *message;
    state.fingerprint = kafka::Fingerprint((*message)->data(), (*message)->size());
    state.inline_schema = true;
    if (changed) {
      if (Status st = SendSchema(state); !st.ok()) {
        Failed(options_.schema_topic, name, packet.sequence, st.ToString());
      }
    }
  }
  state.schema = schema;
  return &state;
}

Status KafkaSink::SendSchema(StreamState& state) {
  if (options_.schema_topic.empty()) return Status::OK();
  kafka::MessageHeaders h{options_.node, state.name, session_, 0, state.fingerprint};
  kafka::UniqueHeaders headers(rd_kafka_headers_new(8));
  for (const auto& [name, value] : kafka::MakeHeaders(h)) {
    rd_kafka_header_add(headers.get(), name.c_str(), -1, value->data(),
                        static_cast<ssize_t>(value->size()));
  }
  rd_kafka_header_add(headers.get(), "arrowdaq.topic", -1, state.topic.data(),
                      static_cast<ssize_t>(state.topic.size()));
  auto pending = std::make_unique<Pending>();
  pending->sink = this;
  pending->topic = options_.schema_topic;
  pending->stream = state.name;
  pending->value = state.schema_message;
  (void)Produce(options_.schema_topic, SchemaKey(options_.node, state.name), state.schema_message,
                std::move(headers), 0, std::move(pending));
  return Status::OK();
}

void KafkaSink::Loop() {
  while (true) {
    rd_kafka_poll(producer_.get(), 0);  // delivery reports, on this thread
    // While messages are in flight, come back for their delivery reports within a couple of
    // milliseconds even when no packet arrives (the figures and the end of a burst wait for
    // them); otherwise idle up to 100 ms.
    const auto wait = rd_kafka_outq_len(producer_.get()) > 0 ? std::chrono::milliseconds(2)
                                                             : std::chrono::milliseconds(100);
    auto packet = subscription_->Next(SteadyClock::now() + wait);
    if (packet) {
      {
        std::lock_guard lock(mutex_);
        ++taken_;
      }
      Send(*packet);
      continue;
    }
    if (subscription_->closed() && subscription_->queued() == 0) break;
  }
  // Wait for every delivery report, up to the deadline; then give up on the rest (each gets
  // a delivery report with a purge error, counted as failed).
  while (rd_kafka_outq_len(producer_.get()) > 0 && !PastDeadline()) {
    (void)rd_kafka_flush(producer_.get(), 100);
  }
  if (rd_kafka_outq_len(producer_.get()) > 0) {
    (void)rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    (void)rd_kafka_flush(producer_.get(), 1000);
    rd_kafka_poll(producer_.get(), 0);
  }
}

void KafkaSink::Send(const DataPacket& packet) {
  StreamState* state = StateFor(packet);
  if (state == nullptr) return;
  const bool with_schema = state->inline_schema;
  auto value = kafka::EncodeValue(*packet.batch, with_schema ? state->schema_message.get()
                                                            : nullptr);
  if (!value.ok()) {
    Failed(state->topic, state->name, packet.sequence,
           "cannot encode the batch: " + value.status().ToString());
    return;
  }
  kafka::MessageHeaders h{options_.node, state->name, session_, packet.sequence,
                          state->fingerprint};
  kafka::UniqueHeaders headers(rd_kafka_headers_new(8));
  for (const auto& [name, v] : kafka::MakeHeaders(h)) {
    rd_kafka_header_add(headers.get(), name.c_str(), -1, v->data(),
                        static_cast<ssize_t>(v->size()));
  }
  std::int64_t timestamp_ms = 0;
  if (packet.batch->num_rows() > 0) {
    const auto& ts = static_cast<const arrow::TimestampArray&>(*packet.batch->column(0));
    timestamp_ms = ts.Value(0) / 1'000'000;
  }
  auto pending = std::make_unique<Pending>();
  pending->sink = this;
  pending->topic = state->topic;
  pending->stream = state->name;
  pending->sequence = packet.sequence;
  pending->rows = packet.batch->num_rows();
  pending->value = *value;
  if (Produce(state->topic, state->name, *value, std::move(headers), timestamp_ms,
              std::move(pending)) &&
      with_schema) {
    state->inline_schema = false;
  }
}

bool KafkaSink::PastDeadline() const {
  if (!stop_begun_.load()) return false;
  return SteadyNanos() >= deadline_ns_.load();
}

bool KafkaSink::Produce(const std::string& topic, const std::string& key,
                        const std::shared_ptr<arrow::Buffer>& value,
                        kafka::UniqueHeaders headers, std::int64_t timestamp_ms,
                        std::unique_ptr<Pending> pending) {
  while (true) {
    const rd_kafka_resp_err_t err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<uint8_t*>(value->data()),
                         static_cast<std::size_t>(value->size())),
        RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
        RD_KAFKA_V_OPAQUE(pending.get()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // owned by the message now
      (void)pending.release();  // freed in OnDelivery
      std::lock_guard lock(mutex_);
      auto& d = topics_[topic];
      d.name = topic;
      ++d.produced;
      return true;
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !PastDeadline()) {
      // Lossless: wait for room (delivery reports free it); the subscription fills meanwhile.
      rd_kafka_poll(producer_.get(), 50);
      continue;
    }
    std::string cause = rd_kafka_err2str(err);
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      cause += " (" + std::to_string(value->size()) +
               " bytes; raise message.max.bytes in the producer settings and the topic's "
               "max.message.bytes, or use smaller batches)";
    } else if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      cause += " (the cluster took nothing within flush_timeout after the stop began)";
    }
    {
      std::lock_guard lock(mutex_);
      auto& d = topics_[topic];
      d.name = topic;
      ++d.produced;
    }
    Failed(topic, pending->stream, pending->sequence, cause);
    return false;
  }
}

void KafkaSink::Failed(const std::string& topic, const std::string& stream,
                       std::uint64_t sequence, const std::string& cause) {
  {
    std::lock_guard lock(mutex_);
    auto& d = topics_[topic];
    d.name = topic;
    ++d.failed;
  }
  if (options_.on_event) {
    options_.on_event({WallClockNanos(), stream, "fault",
                       "kafka sink '" + options_.name + "': message of sequence " +
                           std::to_string(sequence) + " to topic '" + topic +
                           "' not delivered: " + cause});
  }
}

void KafkaSink::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(message->_private));
  if (!pending) return;
  KafkaSink* sink = pending->sink;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string cause = rd_kafka_err2str(message->err);
    if (message->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
        message->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
      cause += " (not delivered within flush_timeout after the stop began)";
    }
    sink->Failed(pending->topic, pending->stream, pending->sequence, cause);
    return;
  }
  std::lock_guard lock(sink->mutex_);
  auto& d = sink->topics_[pending->topic];
  d.name = pending->topic;
  ++d.delivered;
  d.rows_delivered += static_cast<std::uint64_t>(pending->rows);
  d.bytes_delivered += message->len;
}

void KafkaSink::BeginStop() {
  if (stop_begun_.load()) return;
  deadline_ns_.store(SteadyNanos() +
                     std::chrono::duration_cast<std::chrono::nanoseconds>(options_.flush_timeout)
                         .count());
  stop_begun_.store(true);
}

void KafkaSink::Stop() {
  if (stopped_) return;
  stopped_ = true;
  BeginStop();
  if (router_ != nullptr && subscription_) (void)router_->Unsubscribe(subscription_name_);
  if (thread_.joinable()) thread_.join();
}

SinkStats KafkaSink::Stats() const {
  SinkStats s;
  s.name = options_.name;
  s.kind = "kafka";
  s.policy = options_.policy;
  if (subscription_) {
    const auto totals = subscription_->Totals();
    s.offered = totals.offered;
    s.dropped = totals.dropped;
  }
  std::lock_guard lock(mutex_);
  s.taken = taken_;
  for (const auto& [name, d] : topics_) s.destinations.push_back(d);
  return s;
}

}  // namespace arrowdaq::sinks
