// Kafka client: a thin RAII layer over librdkafka's C API (Debian's librdkafka-dev), so that
// the sink and the source never hold a raw handle that could leak or be freed twice, and every
// librdkafka error becomes a Status naming what failed. Nothing here speaks the wire protocol:
// librdkafka does.
//
// Ownership: each `Unique*` owns one librdkafka object and destroys it with the matching
// librdkafka call. `MakeClient` takes a Conf and hands it to librdkafka only on success (on
// failure the Conf stays owned by the caller's unique_ptr, as librdkafka requires).
//
// Threading: librdkafka handles are thread-safe for produce/poll/consume as documented by
// librdkafka; these wrappers add no state. Functions here are pure or act on the handle given.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "arrowdaq/core/status.h"

namespace arrowdaq::kafka {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const noexcept;
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const noexcept;
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const noexcept;
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const noexcept;
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const noexcept;
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const noexcept;
};

using UniqueHandle = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using UniqueConf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using UniqueMessage = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using UniquePartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using UniqueHeaders = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;
using UniqueMetadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

/// librdkafka configuration properties, in the order they are applied (later wins).
using Settings = std::vector<std::pair<std::string, std::string>>;

/// Return the librdkafka version string ("2.0.2").
std::string LibraryVersion();

/// Return Status::IOError("<context>: <librdkafka's name and description of err>").
[[nodiscard]] Status ErrorStatus(rd_kafka_resp_err_t err, const std::string& context);

/// Set one property; an unknown name or a bad value is Status::Invalid with librdkafka's
/// own explanation (`No such configuration property: "linger.mss"`).
[[nodiscard]] Status SetProperty(rd_kafka_conf_t* conf, const std::string& name,
                                 const std::string& value);

/// Build a configuration from `settings` (applied in order).
[[nodiscard]] Result<UniqueConf> MakeConf(const Settings& settings);

/// Create a producer or consumer from `conf` (librdkafka takes the conf on success).
[[nodiscard]] Result<UniqueHandle> MakeClient(rd_kafka_type_t type, UniqueConf conf);

/// Return the number of partitions of `topic`, asking the cluster (waits up to `timeout_ms`).
[[nodiscard]] Result<int> PartitionCount(rd_kafka_t* rk, const std::string& topic,
                                         int timeout_ms);

/// Return a header's value as a string, or nullopt-like false when absent.
[[nodiscard]] bool HeaderValue(const rd_kafka_headers_t* headers, const char* name,
                               std::string* out);

}  // namespace arrowdaq::kafka
