#include "arrowdaq/instruments/kafka_source.h"

#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "arrowdaq/kafka/client.h"
#include "arrowdaq/kafka/message_format.h"
#include "arrowdaq/telemetry/logging.h"

namespace arrowdaq::instruments {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr char kTopicHeader[] = "arrowdaq.topic";
constexpr int kPollMs = 100;

enum class StartAt { kCommitted, kEarliest, kLatest, kTime };

struct SourceOptions {
  std::string brokers;
  std::string topic;
  std::string node;
  std::string stream;
  std::string group;
  std::string schema_topic;
  StartAt start = StartAt::kCommitted;
  std::int64_t start_ms = 0;  // kTime
  std::chrono::milliseconds schema_timeout{30'000};
};

// Parse "YYYY-MM-DDTHH:MM:SS[.fff]Z" to ms since the epoch.
Result<std::int64_t> ParseUtcTime(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
                  &consumed) != 6 ||
      consumed != 19) {
    return Status::Invalid("option 'start': expected committed, earliest, latest or a UTC time "
                           "such as 2026-12-01T10:00:00Z, got '", text, "'");
  }
  std::string rest = text.substr(19);
  std::int64_t ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    int digits = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      if (digits < 3) ms = ms * 10 + (rest[i] - '0');
      ++digits, ++i;
    }
    if (digits == 0) rest = "bad";
    for (; digits < 3 && digits > 0; ++digits) ms *= 10;
    if (rest != "bad") rest = rest.substr(i);
  }
  if (rest != "Z" || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return Status::Invalid("option 'start': '", text,
                           "' is not a UTC time such as 2026-12-01T10:00:00Z");
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

Result<SourceOptions> OptionsOf(const ResolvedOptions& options) {
  SourceOptions o;
  o.brokers = options.GetString("brokers");
  o.topic = options.GetString("topic");
  o.node = options.GetString("node");
  o.stream = options.GetString("stream");
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"brokers", &o.brokers},
                                   {"topic", &o.topic},
                                   {"node", &o.node},
                                   {"stream", &o.stream}}) {
    if (value->empty()) return Status::Invalid("option '", key, "': required");
  }
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"node", &o.node},
                                   {"stream", &o.stream}}) {
    if (!kafka::IsValidHeaderName(*value)) {
      return Status::Invalid("option '", key, "': '", *value,
                             "' is not a name of letters, digits, '.', '_', '-' (1 to 200)");
    }
  }
  o.group = options.GetString("group");
  if (o.group.empty()) o.group = "arrowdaq." + o.node + "." + o.stream;
  o.schema_topic = options.GetString("schema_topic");
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"topic", &o.topic},
                                   {"schema_topic", &o.schema_topic}}) {
    if (!kafka::IsValidTopicName(*value)) {
      return Status::Invalid("option '", key, "': '", *value,
                             "' is not a valid Kafka topic name: 1 to 249 characters of "
                             "letters, digits, '.', '_', '-'");
    }
  }
  const std::string start = options.GetString("start");
  if (start == "committed") {
    o.start = StartAt::kCommitted;
  } else if (start == "earliest") {
    o.start = StartAt::kEarliest;
  } else if (start == "latest") {
    o.start = StartAt::kLatest;
  } else {
    o.start = StartAt::kTime;
    ARROW_ASSIGN_OR_RAISE(o.start_ms, ParseUtcTime(start));
  }
  const double timeout = options.GetDouble("schema_timeout");
  if (!std::isfinite(timeout) || timeout < 0 || timeout > 3600) {
    char shown[32];
    std::snprintf(shown, sizeof(shown), "%g", timeout);
    return Status::Invalid("option 'schema_timeout': expected 0 to 3600 s, got ", shown);
  }
  o.schema_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000));
  return o;
}

kafka::HeaderList HeadersOf(const rd_kafka_message_t* message) {
  kafka::HeaderList out;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    if (value == nullptr) {
      out.emplace_back(name, std::nullopt);
    } else {
      out.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
  }
  return out;
}

std::optional<std::string> Header(const kafka::HeaderList& headers, const char* name) {
  std::optional<std::string> found;
  for (const auto& [key, value] : headers) {
    if (key == name) found = value;
  }
  return found;
}

// A librdkafka message's value as an Arrow buffer; the message lives as long as the buffer
// (and every array sliced from it).
class MessageBuffer : public arrow::Buffer {
 public:
  explicit MessageBuffer(kafka::UniqueMessage message)
      : arrow::Buffer(static_cast<const uint8_t*>(message->payload),
                      static_cast<int64_t>(message->len)),
        message_(std::move(message)) {}

 private:
  kafka::UniqueMessage message_;
};

// ----------------------------------------------------------------------------------------
// The origin's schema, from the schema topic.

struct OriginSchema {
  std::shared_ptr<arrow::Schema> schema;
  std::string fingerprint;
};

Result<OriginSchema> ReadSchemaTopicOnce(const SourceOptions& o, rd_kafka_t* rk,
                                         std::string* note) {
  auto partitions = kafka::PartitionCount(rk, o.schema_topic, 5000);
  if (!partitions.ok()) {
    *note = partitions.status().message();
    return Status::NotImplemented("not yet");
  }
  kafka::UniquePartitionList list(rd_kafka_topic_partition_list_new(*partitions));
  std::map<int, std::int64_t> high;
  for (int p = 0; p < *partitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    const auto err =
        rd_kafka_query_watermark_offsets(rk, o.schema_topic.c_str(), p, &lo, &hi, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *note = kafka::ErrorStatus(err, "watermarks of " + o.schema_topic).message();
      return Status::NotImplemented("not yet");
    }
    if (hi > lo) {
      high[p] = hi;
      rd_kafka_topic_partition_list_add(list.get(), o.schema_topic.c_str(), p)->offset = lo;
    }
  }
  if (high.empty()) {
    *note = "the schema topic '" + o.schema_topic + "' is empty";
    return Status::NotImplemented("not yet");
  }
  if (auto err = rd_kafka_assign(rk, list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::ErrorStatus(err, "assigning " + o.schema_topic);
  }
  const std::string key = o.node + "/" + o.stream;
  std::optional<OriginSchema> found;
  std::string found_topic;
  const auto until = SteadyClock::now() + std::chrono::seconds(10);
  while (!high.empty() && SteadyClock::now() < until) {
    kafka::UniqueMessage m(rd_kafka_consumer_poll(rk, kPollMs));
    if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    const std::string k(static_cast<const char*>(m->key), m->key == nullptr ? 0 : m->key_len);
    if (k == key) {
      auto headers = HeadersOf(m.get());
      auto parsed = kafka::ParseHeaders(headers);
      auto value = std::make_shared<arrow::Buffer>(static_cast<const uint8_t*>(m->payload),
                                                   static_cast<int64_t>(m->len));
      auto decoded = kafka::DecodeValue(value, nullptr);
      if (parsed.ok() && decoded.ok() && decoded->schema != nullptr) {
        found = OriginSchema{decoded->schema, decoded->fingerprint};
        found_topic = Header(headers, kTopicHeader).value_or("");
      }
    }
    auto it = high.find(m->partition);
    if (it != high.end() && m->offset + 1 >= it->second) high.erase(it);
  }
  (void)rd_kafka_assign(rk, nullptr);
  if (!found) {
    *note = "no schema of '" + key + "' in the schema topic '" + o.schema_topic + "'";
    return Status::NotImplemented("not yet");
  }
  if (found_topic != o.topic) {
    return Status::Invalid("stream '", o.stream, "' of node '", o.node, "' is sent to topic '",
                           found_topic, "', not to '", o.topic, "'");
  }
  return *found;
}

Result<OriginSchema> FetchOriginSchema(const SourceOptions& o) {
  // Built three times per run (validate, register, the actor); the cluster is asked once.
  static std::mutex mutex;
  static std::map<std::string, OriginSchema> cache;
  const std::string cache_key = o.brokers + "|" + o.schema_topic + "|" + o.node + "/" + o.stream;
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(cache_key); it != cache.end()) return it->second;
  }
  if (o.schema_topic.empty()) {
    return Status::Invalid("option 'schema_topic' is empty: the source needs the origin's "
                           "schema before it starts");
  }
  ARROW_ASSIGN_OR_RAISE(auto conf, kafka::MakeConf({{"bootstrap.servers", o.brokers},
                                                    {"group.id", "arrowdaq.schema-reader"},
                                                    {"enable.auto.commit", "false"},
                                                    {"fetch.wait.max.ms", "10"},
                                                    {"log_level", "3"}}));
  ARROW_ASSIGN_OR_RAISE(auto rk, kafka::MakeClient(RD_KAFKA_CONSUMER, std::move(conf)));
  const auto deadline = SteadyClock::now() + o.schema_timeout;
  std::string note;
  while (true) {
    auto got = ReadSchemaTopicOnce(o, rk.get(), &note);
    if (got.ok()) {
      std::lock_guard lock(mutex);
      cache[cache_key] = *got;
      (void)rd_kafka_consumer_close(rk.get());
      return *got;
    }
    if (!got.status().IsNotImplemented()) {
      (void)rd_kafka_consumer_close(rk.get());
      return got.status();
    }
    if (SteadyClock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  (void)rd_kafka_consumer_close(rk.get());
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%g", o.schema_timeout.count() / 1000.0);
  return Status::IOError("no schema for stream '", o.stream, "' of node '", o.node,
                         "' within schema_timeout (", seconds, " s) from brokers ", o.brokers,
                         ": ", note,
                         " (is that node running with a kafka sink?)");
}

// The local stream's schema: the origin's columns and units, its metadata kept, with the
// stream-level facts that describe the origin moved under `origin.` (so this node does not
// check the origin's rate as its own) and this driver's facts added.
std::shared_ptr<arrow::Schema> LocalSchema(const arrow::Schema& origin, const SourceOptions& o) {
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::map<std::string, std::string> origin_facts;
  if (origin.metadata() != nullptr) {
    for (int64_t i = 0; i < origin.metadata()->size(); ++i) {
      const std::string& k = origin.metadata()->key(i);
      const std::string& v = origin.metadata()->value(i);
      if (k == "driver" || k == "resource" || k == "rate_hz") {
        origin_facts["origin." + k] = v;
      } else {
        keys.push_back(k);
        values.push_back(v);
      }
    }
  }
  origin_facts["origin.node"] = o.node;
  origin_facts["origin.stream"] = o.stream;
  origin_facts["origin.topic"] = o.topic;
  for (const auto& [k, v] : origin_facts) {
    keys.push_back(k);
    values.push_back(v);
  }
  keys.push_back("driver");
  values.push_back("kafka");
  keys.push_back("resource");
  values.push_back("KAFKA::" + o.topic);
  return origin.WithMetadata(arrow::key_value_metadata(keys, values));
}

// ----------------------------------------------------------------------------------------
// The consumer as the driver's hardware.

struct CurrentMessage {
  std::string topic;
  int partition = -1;
  std::int64_t offset = -1;
  kafka::HeaderList headers;
};

class KafkaConsumerHardware : public hardware::InstrumentHardware {
 public:
  static constexpr auto kCloseTimeout = std::chrono::seconds(5);

  explicit KafkaConsumerHardware(SourceOptions options) : options_(std::move(options)) {}
  ~KafkaConsumerHardware() override { (void)Disconnect(); }

  Status Connect(const std::string&, hardware::Timeout timeout) override {
    if (consumer_) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(
        auto conf, kafka::MakeConf({{"bootstrap.servers", options_.brokers},
                                    {"group.id", options_.group},
                                    {"enable.auto.commit", "true"},
                                    {"enable.auto.offset.store", "false"},
                                    {"auto.offset.reset", "earliest"},
                                    {"fetch.wait.max.ms", "10"},
                                    {"enable.partition.eof", "false"},
                                    // Partitions are assigned, never subscribed: no group
                                    // membership to keep alive, and this also bounds how long
                                    // closing waits for a coordinator that is gone.
                                    {"session.timeout.ms", "5000"},
                                    {"client.id", "arrowdaq-source"}}));
    ARROW_ASSIGN_OR_RAISE(consumer_, kafka::MakeClient(RD_KAFKA_CONSUMER, std::move(conf)));
    const int timeout_ms = static_cast<int>(std::max<std::int64_t>(timeout.count(), 1000));
    auto partitions = kafka::PartitionCount(consumer_.get(), options_.topic, timeout_ms);
    if (!partitions.ok()) {
      consumer_.reset();
      return partitions.status();
    }
    kafka::UniquePartitionList list(rd_kafka_topic_partition_list_new(*partitions));
    // After a reconnect, go on where this consumer left off.
    // (Messages older than a start time stay skipped after a reconnect too.)
    const StartAt start = resumed_ ? StartAt::kCommitted : options_.start;
    for (int p = 0; p < *partitions; ++p) {
      auto* tp = rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p);
      switch (start) {
        case StartAt::kCommitted:
          tp->offset = RD_KAFKA_OFFSET_STORED;
          break;
        case StartAt::kEarliest:
          tp->offset = RD_KAFKA_OFFSET_BEGINNING;
          break;
        case StartAt::kLatest: {
          // The end now, not when the fetcher gets round to asking: a message sent after
          // Connect returned is never skipped.
          std::int64_t lo = 0, hi = 0;
          const auto err = rd_kafka_query_watermark_offsets(
              consumer_.get(), options_.topic.c_str(), p, &lo, &hi, timeout_ms);
          if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            consumer_.reset();
            return kafka::ErrorStatus(err, "the end offsets of " + options_.topic);
          }
          tp->offset = hi;
          break;
        }
        case StartAt::kTime:
          tp->offset = options_.start_ms;
          break;
      }
    }
    if (start == StartAt::kTime) {
      const auto err = rd_kafka_offsets_for_times(consumer_.get(), list.get(), timeout_ms);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        consumer_.reset();
        return kafka::ErrorStatus(err, "offsets for the start time in " + options_.topic);
      }
      // A broker that found no message at or after the time (or cannot search by time, as
      // librdkafka's mock cluster) answers -1: read from the beginning and skip what is
      // older, so the result is the same either way.
      for (int i = 0; i < list->cnt; ++i) {
        if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
      }
      skip_before_ms_ = options_.start_ms;
    }
    if (auto err = rd_kafka_assign(consumer_.get(), list.get());
        err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      consumer_.reset();
      return kafka::ErrorStatus(err, "assigning " + options_.topic);
    }
    resumed_ = true;
    return Status::OK();
  }

  // Commit the stored offsets and leave, within kCloseTimeout: with the cluster gone a
  // synchronous commit and rd_kafka_consumer_close wait for the group coordinator for a minute
  // and more, and a stop must not. Past the bound the handle is destroyed without closing (the
  // last offsets may then not be committed: a restart with start = "committed" reads those
  // batches again).
  Status Disconnect() override {
    if (!consumer_) return Status::OK();
    StorePrevious();
    (void)rd_kafka_commit(consumer_.get(), nullptr, 1);  // async
    bool closed = false;
    rd_kafka_queue_t* queue = rd_kafka_queue_new(consumer_.get());
    if (rd_kafka_error_t* error = rd_kafka_consumer_close_queue(consumer_.get(), queue)) {
      rd_kafka_error_destroy(error);
    } else {
      const auto until = std::chrono::steady_clock::now() + kCloseTimeout;
      while (rd_kafka_consumer_closed(consumer_.get()) == 0 &&
             std::chrono::steady_clock::now() < until) {
        if (rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 100)) {
          rd_kafka_event_destroy(event);
        }
      }
      closed = rd_kafka_consumer_closed(consumer_.get()) != 0;
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_destroy_flags(consumer_.release(),
                           closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return Status::OK();
  }

  Result<std::string> SendCommand(const std::string& command, hardware::Timeout) override {
    return Status::NotImplemented("the kafka driver takes no commands (got '", command, "')");
  }

  /// The next message's value, or an empty buffer when none came within the timeout.
  Result<std::shared_ptr<arrow::Buffer>> ReadRawData(hardware::Timeout timeout) override {
    if (!consumer_) return Status::IOError("not connected");
    // The previous message was handled (published, or skipped): its offset may be committed.
    StorePrevious();
    current_ = CurrentMessage{};
    kafka::UniqueMessage m(rd_kafka_consumer_poll(consumer_.get(),
                                                  static_cast<int>(timeout.count())));
    if (!m) return std::make_shared<arrow::Buffer>(nullptr, 0);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      char fatal[256] = {};
      if (rd_kafka_fatal_error(consumer_.get(), fatal, sizeof(fatal)) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::IOError("kafka consumer: fatal error: ", fatal);
      }
      last_error_ = rd_kafka_message_errstr(m.get());
      return std::make_shared<arrow::Buffer>(nullptr, 0);  // librdkafka retries by itself
    }
    if (skip_before_ms_ > 0) {
      rd_kafka_timestamp_type_t type;
      const std::int64_t ts = rd_kafka_message_timestamp(m.get(), &type);
      if (ts >= 0 && ts < skip_before_ms_) {
        // Before the start time: skipped, and its offset may be committed.
        previous_partition_ = m->partition;
        previous_offset_ = m->offset;
        has_previous_ = true;
        return std::make_shared<arrow::Buffer>(nullptr, 0);
      }
    }
    current_.topic = rd_kafka_topic_name(m->rkt);
    current_.partition = m->partition;
    current_.offset = m->offset;
    current_.headers = HeadersOf(m.get());
    previous_partition_ = m->partition;
    previous_offset_ = m->offset;
    has_previous_ = true;
    if (m->payload == nullptr || m->len == 0) {
      return std::make_shared<arrow::Buffer>(nullptr, 0);  // handled as a bad message
    }
    return std::make_shared<MessageBuffer>(std::move(m));
  }

  const CurrentMessage& current() const { return current_; }
  std::string TakeLastError() { return std::exchange(last_error_, std::string()); }

 private:
  void StorePrevious() {
    if (!has_previous_ || !consumer_) return;
    has_previous_ = false;
    kafka::UniquePartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), previous_partition_)
        ->offset = previous_offset_ + 1;
    (void)rd_kafka_offsets_store(consumer_.get(), list.get());
  }

  SourceOptions options_;
  kafka::UniqueHandle consumer_;
  bool resumed_ = false;
  std::int64_t skip_before_ms_ = 0;  // start = a time: messages older are skipped
  CurrentMessage current_;
  bool has_previous_ = false;
  int previous_partition_ = 0;
  std::int64_t previous_offset_ = 0;
  std::string last_error_;
};

// ----------------------------------------------------------------------------------------
// The driver.

std::string OneLine(const arrow::Schema& schema) {
  std::string out;
  for (const auto& field : schema.fields()) {
    out += (out.empty() ? "" : ", ") + field->name() + ": " + field->type()->ToString();
  }
  return out;
}

class KafkaSourceDriver : public InstrumentDriver {
 public:
  KafkaSourceDriver(SourceOptions options, OriginSchema origin)
      : options_(options),
        hardware_(options),
        origin_(std::move(origin)),
        schema_(LocalSchema(*origin_.schema, options_)) {
    schemas_[origin_.fingerprint] = origin_.schema;
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  hardware::InstrumentHardware& hardware() override { return hardware_; }
  hardware::Timeout read_timeout() const override { return hardware::Timeout(kPollMs); }

  std::vector<DriverEvent> TakeEvents() override { return std::exchange(events_, {}); }

  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override {
    if (std::string error = hardware_.TakeLastError(); !error.empty()) {
      Event("info", "kafka consumer: " + error + " (librdkafka retries)");
    }
    const CurrentMessage& m = hardware_.current();
    if (m.offset < 0) return nullptr;  // nothing within the read timeout
    const std::string where =
        " at " + m.topic + "/" + std::to_string(m.partition) + "@" + std::to_string(m.offset);
    auto headers = kafka::ParseHeaders(m.headers);
    if (!headers.ok()) {
      return Bad("bad headers" + where + ": " + headers.status().message());
    }
    if (headers->node != options_.node || headers->stream != options_.stream) {
      return nullptr;  // another origin's stream on the same topic
    }
    if (raw == nullptr || raw->size() == 0) return Bad("empty value" + where);
    std::shared_ptr<arrow::Schema> known;
    if (auto it = schemas_.find(headers->fingerprint); it != schemas_.end()) known = it->second;
    auto decoded = kafka::DecodeValue(raw, known);
    if (!decoded.ok()) return Bad(decoded.status().message() + where);
    if (decoded->schema != nullptr) {
      if (decoded->fingerprint != headers->fingerprint) {
        return Bad("the inline schema's fingerprint " + decoded->fingerprint +
                   " differs from the header's " + headers->fingerprint + where);
      }
      schemas_[decoded->fingerprint] = decoded->schema;
    }
    if (decoded->batch == nullptr) return Bad("a schema without a batch" + where);
    const auto& batch = decoded->batch;
    if (!batch->schema()->Equals(*origin_.schema, /*check_metadata=*/false)) {
      return Bad("schema change: the batch has columns (" + OneLine(*batch->schema()) +
                 ") where the stream has (" + OneLine(*origin_.schema) + "); " +
                 std::to_string(batch->num_rows()) + " row(s) dropped" + where);
    }
    // Sequence numbers, per origin session.
    const std::uint64_t seq = headers->sequence;
    if (headers->session != session_) {
      if (!session_.empty()) {
        Event("info", "origin " + options_.node + "/" + options_.stream +
                          " restarted (new session " + headers->session +
                          "): its sequence numbers start again at " + std::to_string(seq) +
                          where);
      } else if (seq > 0 && options_.start == StartAt::kEarliest) {
        Event("gap", std::to_string(seq) + " batch(es) missing before the first one received "
                                           "(sequence 0.." + std::to_string(seq - 1) +
                         " no longer in the topic)" + where);
      } else if (seq > 0) {
        Event("info", "joined origin " + options_.node + "/" + options_.stream +
                          " at sequence " + std::to_string(seq) + where);
      }
      session_ = headers->session;
      next_ = seq;
    }
    if (seq < next_) {
      ++duplicates_;
      Event("duplicate", "sequence " + std::to_string(seq) + " already received (expected " +
                             std::to_string(next_) + "); " + std::to_string(batch->num_rows()) +
                             " row(s) dropped" + where);
      return nullptr;
    }
    if (seq > next_) {
      Event("gap", std::to_string(seq - next_) + " batch(es) missing: sequence " +
                       std::to_string(next_) + ".." + std::to_string(seq - 1) + where);
    }
    next_ = seq + 1;
    return arrow::RecordBatch::Make(schema_, batch->num_rows(), batch->columns());
  }

 private:
  std::shared_ptr<arrow::RecordBatch> Bad(const std::string& message) {
    Event("bad_message", message + "; message skipped");
    return nullptr;
  }
  // Every problem goes to the log as it happens (the run's event log coalesces repeats of
  // one kind within a second, keeping exact counts but only the last message).
  void Event(const char* kind, std::string message) {
    if (std::string_view(kind) != "info") {
      telemetry::GetLogger("kafka")->warn("{}/{}: {}: {}", options_.node, options_.stream, kind,
                                          message);
    }
    events_.push_back({kind, std::move(message)});
  }

  SourceOptions options_;
  KafkaConsumerHardware hardware_;
  OriginSchema origin_;
  std::shared_ptr<arrow::Schema> schema_;
  std::map<std::string, std::shared_ptr<arrow::Schema>> schemas_;  // by fingerprint
  std::string session_;
  std::uint64_t next_ = 0;
  std::uint64_t duplicates_ = 0;
  std::vector<DriverEvent> events_;
};

}  // namespace

const std::vector<OptionSpec>& KafkaSourceOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"brokers", std::string(), "bootstrap servers, \"host:port,host:port\" (required)", ""},
      {"topic", std::string(), "topic the origin node's kafka sink sends the stream to (required)",
       ""},
      {"node", std::string(), "the origin node's name (its sink's `node`; required)", ""},
      {"stream", std::string(), "the stream's name on the origin node (required)", ""},
      {"group", std::string(), "consumer group for committed offsets (default arrowdaq.<node>.<stream>)",
       ""},
      {"start", std::string("committed"),
       "committed, earliest, latest, or a UTC time such as 2026-12-01T10:00:00Z", ""},
      {"schema_topic", std::string("arrowdaq.schemas"), "topic holding the origins' schemas", ""},
      {"schema_timeout", 30.0, "how long to wait for the origin's schema when starting", "s"},
  };
  return specs;
}

Result<std::unique_ptr<InstrumentDriver>> MakeKafkaSource(const ResolvedOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto o, OptionsOf(options));
  ARROW_ASSIGN_OR_RAISE(auto origin, FetchOriginSchema(o));
  return std::unique_ptr<InstrumentDriver>(new KafkaSourceDriver(o, std::move(origin)));
}

Status RegisterKafkaDriver(DriverRegistry& registry) {
  DriverInfo info;
  info.name = "kafka";
  info.description = "one stream of another arrowdaq node, consumed from Apache Kafka";
  info.default_resource = "KAFKA";
  info.options = KafkaSourceOptionSpecs();
  info.factory = &MakeKafkaSource;
  return registry.Register(std::move(info));
}

}  // namespace arrowdaq::instruments
