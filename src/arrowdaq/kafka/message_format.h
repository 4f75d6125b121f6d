// The arrowdaq Kafka message format (version 1), shared by the Kafka sink and the Kafka source
// and documented for other consumers in docs/multi-node.md.
//
// One Kafka message carries one batch of one stream:
//   key      the stream name (so a stream stays ordered in one partition)
//   value    Arrow IPC encapsulated messages, back to back: the stream's schema message
//            first when this message carries it (the first message a producer sends of a
//            stream, and after a schema change), then exactly one record batch message.
//            No dictionary messages, no end-of-stream marker (one may follow and is ignored).
//   headers  arrowdaq.format   "1"
//            arrowdaq.node     the producing node's name
//            arrowdaq.stream   the stream's name on that node
//            arrowdaq.session  16 hex digits, new each time a producer starts (a node restart
//                              starts sequence numbers at 0 again in a new session)
//            arrowdaq.seq      the stream's sequence number (decimal; 0, 1, 2, ... per session)
//            arrowdaq.schema   16 hex digits: FNV-1a 64 of the encapsulated schema message
//   timestamp the first row's timestamp (ms), so that a consumer can start at a time
//
// Schemas are also published to a schema topic (key `<node>/<stream>`, value the schema
// message alone, the same headers): a consumer that starts in the middle of a data topic
// learns the schema there.
//
// Everything here is a pure function over values; any thread. DecodeValue and ParseHeaders
// take untrusted bytes: they never crash, they return Status::Invalid saying what is wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/type_fwd.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq::kafka {

inline constexpr char kMessageFormatVersion[] = "1";
inline constexpr char kHeaderFormat[] = "arrowdaq.format";
inline constexpr char kHeaderNode[] = "arrowdaq.node";
inline constexpr char kHeaderStream[] = "arrowdaq.stream";
inline constexpr char kHeaderSession[] = "arrowdaq.session";
inline constexpr char kHeaderSequence[] = "arrowdaq.seq";
inline constexpr char kHeaderSchema[] = "arrowdaq.schema";

/// Headers of one message as name/value pairs (a value nullopt: the header has no value).
using HeaderList = std::vector<std::pair<std::string, std::optional<std::string>>>;

/// The arrowdaq headers of one message.
struct MessageHeaders {
  std::string node;
  std::string stream;
  std::string session;      ///< 16 lower-case hex digits
  std::uint64_t sequence = 0;
  std::string fingerprint;  ///< 16 lower-case hex digits
};

/// Return the headers to attach, in documented order.
HeaderList MakeHeaders(const MessageHeaders& headers);

/// Parse and check the arrowdaq headers: every one present once (the last wins when repeated,
/// as librdkafka's get_last does), format "1", names of [A-Za-z0-9_.-] (1 to 200 bytes), hex
/// fields of 16 hex digits, a decimal sequence number that fits 63 bits.
[[nodiscard]] Result<MessageHeaders> ParseHeaders(const HeaderList& headers);

/// Return whether `name` is a valid node or stream name in the headers: 1 to 200 bytes of
/// [A-Za-z0-9_.-].
[[nodiscard]] bool IsValidHeaderName(const std::string& name);

/// Return whether `topic` is a valid Kafka topic name: 1 to 249 characters of [A-Za-z0-9._-],
/// not "." or "..".
[[nodiscard]] bool IsValidTopicName(const std::string& topic);

/// Return a new random session id (16 hex digits).
std::string NewSessionId();

/// Serialize `schema` as one encapsulated Arrow IPC schema message.
[[nodiscard]] Result<std::shared_ptr<arrow::Buffer>> SerializeSchemaMessage(
    const arrow::Schema& schema);

/// Return the fingerprint of an encapsulated schema message (FNV-1a 64, 16 hex digits).
std::string Fingerprint(const uint8_t* data, int64_t size);

/// Build a message value: `schema_message` (when not null) then the batch's record batch
/// message.
[[nodiscard]] Result<std::shared_ptr<arrow::Buffer>> EncodeValue(
    const arrow::RecordBatch& batch, const arrow::Buffer* schema_message);

/// What a message value held.
struct DecodedValue {
  /// The schema carried in the value (null when the value carried only a batch).
  std::shared_ptr<arrow::Schema> schema;
  /// Its fingerprint ("" when the value carried no schema).
  std::string fingerprint;
  /// The batch (null when the value is a schema message alone, as in the schema topic).
  std::shared_ptr<arrow::RecordBatch> batch;
};

/// Decode a message value. A batch without an inline schema is read with `known` (an error
/// when null). The batch is fully validated (ValidateFull); the buffers of `value` are
/// referenced, not copied (a misaligned value is copied once to an aligned buffer first).
[[nodiscard]] Result<DecodedValue> DecodeValue(const std::shared_ptr<arrow::Buffer>& value,
                                               const std::shared_ptr<arrow::Schema>& known);

}  // namespace arrowdaq::kafka
