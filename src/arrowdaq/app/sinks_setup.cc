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
  // The typed keys of the config, checked once more by the sink's own rules (required
  // brokers, valid names, the topic template).
  const OptionMap given = {
      {"brokers", cfg.brokers},
      {"topic", cfg.topic},
      {"node", cfg.node},
      {"schema_topic", cfg.schema_topic},
      {"flush_timeout", std::chrono::duration<double>(cfg.flush_timeout).count()}};
  ARROW_ASSIGN_OR_RAISE(auto resolved,
                        ResolvedOptions::Make(sinks::KafkaSinkOptionSpecs(), given));
  sinks::KafkaSinkOptions out;
  out.name = cfg.name;
  out.streams = cfg.streams;
  out.policy = cfg.policy;
  out.capacity = cfg.capacity;
  if (Status st = sinks::ApplyKafkaSinkOptions(resolved, &out); !st.ok()) {
    // Point at the key the message names ("option 'topic': ...").
    for (const auto& [key, value] : given) {
      if (st.message().rfind("option '" + key + "'", 0) == 0) {
        return config::ErrorAt(cfg.At(key), path + "." + key, st.message());
      }
    }
    return config::ErrorAt(cfg.where, path, st.message());
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
