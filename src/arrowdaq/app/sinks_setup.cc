#include "arrowdaq/app/sinks_setup.h"

#include <algorithm>
#include <chrono>

#include "arrowdaq/sinks/kafka_sink.h"

namespace arrowdaq::app {

namespace {

std::string SinkPath(std::size_t index) { return "sinks[" + std::to_string(index) + "]"; }

Result<sinks::KafkaSinkOptions> KafkaOptionsOf(const config::SinkConfig& cfg,
                                               std::size_t index) {
  const std::string path = SinkPath(index);
  sinks::KafkaSinkOptions out;
  out.name = cfg.name;
  out.streams = cfg.streams;
  out.policy = cfg.policy;
  out.capacity = cfg.capacity;
  out.brokers = cfg.brokers;
  out.topic = cfg.topic;
  out.node = cfg.node;
  out.schema_topic = cfg.schema_topic;
  out.flush_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.flush_timeout);
  std::string bad_key;
  if (Status st = sinks::CheckKafkaSinkOptions(&out, &bad_key); !st.ok()) {
    return config::ErrorAt(cfg.At(bad_key), path + "." + bad_key, st.message());
  }
  for (const auto& [name, opt] : cfg.producer) {
    const auto& value = std::get<std::string>(opt.value);
    if (Status st = sinks::CheckProducerProperty(name, value); !st.ok()) {
      return config::ErrorAt(opt.where, path + ".producer." + name, st.message());
    }
    out.producer.emplace_back(name, value);
  }
  return out;
}

}  // namespace

Status CheckSinks(const config::RunConfig& config, const std::vector<std::string>& streams) {
  for (std::size_t i = 0; i < config.sinks.size(); ++i) {
    const auto& cfg = config.sinks[i];
    ARROW_ASSIGN_OR_RAISE(auto options, KafkaOptionsOf(cfg, i));
    if (Status st = sinks::CheckProducerSettings(options); !st.ok()) {
      // Point at the setting librdkafka names (`acks`), else at the first one.
      auto at = cfg.producer.begin();
      for (auto it = cfg.producer.begin(); it != cfg.producer.end(); ++it) {
        if (st.message().find("`" + it->first + "`") != std::string::npos) {
          at = it;
          break;
        }
      }
      if (at == cfg.producer.end()) {
        return config::ErrorAt(cfg.where, SinkPath(i) + ".producer", st.message());
      }
      return config::ErrorAt(at->second.where, SinkPath(i) + ".producer." + at->first,
                             st.message());
    }
    const bool all = std::find(cfg.streams.begin(), cfg.streams.end(), "*") != cfg.streams.end();
    for (const auto& stream : streams) {
      if (!all && std::find(cfg.streams.begin(), cfg.streams.end(), stream) == cfg.streams.end()) {
        continue;
      }
      auto topic = sinks::TopicFor(options.topic, options.node, stream);
      if (!topic.ok()) {
        return config::ErrorAt(cfg.At("topic"), SinkPath(i) + ".topic",
                               topic.status().message());
      }
    }
  }
  return Status::OK();
}

Result<std::vector<std::unique_ptr<sinks::Sink>>> MakeSinks(
    const config::RunConfig& config, std::function<void(RunEvent)> on_event) {
  std::vector<std::unique_ptr<sinks::Sink>> out;
  for (std::size_t i = 0; i < config.sinks.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto options, KafkaOptionsOf(config.sinks[i], i));
    options.on_event = on_event;
    out.push_back(std::make_unique<sinks::KafkaSink>(std::move(options)));
  }
  return out;
}

}  // namespace arrowdaq::app
