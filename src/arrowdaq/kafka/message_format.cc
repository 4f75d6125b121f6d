#include "arrowdaq/kafka/message_format.h"

#include <arrow/io/memory.h>
#include <arrow/ipc/dictionary.h>
#include <arrow/ipc/message.h>
#include <arrow/ipc/reader.h>
#include <arrow/ipc/writer.h>

#include <algorithm>
#include <cstdio>
#include <random>

namespace arrowdaq::kafka {

namespace {

constexpr std::size_t kMaxNameBytes = 200;

bool IsName(const std::string& s) {
  if (s.empty() || s.size() > kMaxNameBytes) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

}  // namespace

bool IsValidHeaderName(const std::string& name) { return IsName(name); }

bool IsValidTopicName(const std::string& topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  return std::all_of(topic.begin(), topic.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

namespace {

bool IsHex16(const std::string& s) {
  return s.size() == 16 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string Shown(const std::string& s) {
  std::string out;
  for (const char c : s.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 40) out += "...";
  return "\"" + out + "\"";
}

std::string Hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

HeaderList MakeHeaders(const MessageHeaders& h) {
  return {{kHeaderFormat, std::string(kMessageFormatVersion)},
          {kHeaderNode, h.node},
          {kHeaderStream, h.stream},
          {kHeaderSession, h.session},
          {kHeaderSequence, std::to_string(h.sequence)},
          {kHeaderSchema, h.fingerprint}};
}

Result<MessageHeaders> ParseHeaders(const HeaderList& headers) {
  auto find = [&headers](const char* name) -> Result<std::string> {
    const std::optional<std::string>* found = nullptr;
    for (const auto& [key, value] : headers) {
      if (key == name) found = &value;
    }
    if (found == nullptr) return Status::Invalid("header ", name, " is missing");
    if (!found->has_value()) return Status::Invalid("header ", name, " has no value");
    return **found;
  };
  ARROW_ASSIGN_OR_RAISE(auto format, find(kHeaderFormat));
  if (format != kMessageFormatVersion) {
    return Status::Invalid("header ", kHeaderFormat, " is ", Shown(format),
                           ": this reader knows format ", kMessageFormatVersion, " only");
  }
  MessageHeaders h;
  ARROW_ASSIGN_OR_RAISE(h.node, find(kHeaderNode));
  if (!IsName(h.node)) {
    return Status::Invalid("header ", kHeaderNode, " is ", Shown(h.node),
                           ": expected a name of letters, digits, '_', '.', '-'");
  }
  ARROW_ASSIGN_OR_RAISE(h.stream, find(kHeaderStream));
  if (!IsName(h.stream)) {
    return Status::Invalid("header ", kHeaderStream, " is ", Shown(h.stream),
                           ": expected a name of letters, digits, '_', '.', '-'");
  }
  ARROW_ASSIGN_OR_RAISE(h.session, find(kHeaderSession));
  if (!IsHex16(h.session)) {
    return Status::Invalid("header ", kHeaderSession, " is ", Shown(h.session),
                           ": expected 16 lower-case hex digits");
  }
  ARROW_ASSIGN_OR_RAISE(auto seq, find(kHeaderSequence));
  const bool digits = !seq.empty() && seq.size() <= 19 &&
                      std::all_of(seq.begin(), seq.end(), [](char c) {
                        return c >= '0' && c <= '9';
                      });
  if (!digits || (seq.size() > 1 && seq[0] == '0')) {
    return Status::Invalid("header ", kHeaderSequence, " is ", Shown(seq),
                           ": expected a decimal number without leading zeros");
  }
  h.sequence = std::stoull(seq);
  if (h.sequence > static_cast<std::uint64_t>(INT64_MAX)) {
    return Status::Invalid("header ", kHeaderSequence, " is ", seq, ": above 2^63 - 1");
  }
  ARROW_ASSIGN_OR_RAISE(h.fingerprint, find(kHeaderSchema));
  if (!IsHex16(h.fingerprint)) {
    return Status::Invalid("header ", kHeaderSchema, " is ", Shown(h.fingerprint),
                           ": expected 16 lower-case hex digits");
  }
  return h;
}

std::string NewSessionId() {
  std::random_device rd;
  const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return Hex64(v);
}

Result<std::shared_ptr<arrow::Buffer>> SerializeSchemaMessage(const arrow::Schema& schema) {
  return arrow::ipc::SerializeSchema(schema);
}

std::string Fingerprint(const uint8_t* data, int64_t size) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (int64_t i = 0; i < size; ++i) {
    h ^= data[i];
    h *= 0x100000001b3ULL;
  }
  return Hex64(h);
}

Result<std::shared_ptr<arrow::Buffer>> EncodeValue(const arrow::RecordBatch& batch,
                                                   const arrow::Buffer* schema_message) {
  const auto options = arrow::ipc::IpcWriteOptions::Defaults();
  // The usual case, a batch alone: Arrow sizes it first and writes it into one allocation
  // (one copy of the data, no growing buffer).
  if (schema_message == nullptr) return arrow::ipc::SerializeRecordBatch(batch, options);
  std::int64_t body = 0;
  ARROW_RETURN_NOT_OK(arrow::ipc::GetRecordBatchSize(batch, options, &body));
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::io::BufferOutputStream::Create(
                                      schema_message->size() + body + 4096));
  ARROW_RETURN_NOT_OK(out->Write(schema_message->data(), schema_message->size()));
  ARROW_RETURN_NOT_OK(arrow::ipc::SerializeRecordBatch(batch, options, out.get()));
  return out->Finish();
}

Result<DecodedValue> DecodeValue(const std::shared_ptr<arrow::Buffer>& value,
                                 const std::shared_ptr<arrow::Schema>& known) {
  if (value == nullptr || value->size() == 0) {
    return Status::Invalid("empty value: not an Arrow IPC message");
  }
  std::shared_ptr<arrow::Buffer> data = value;
  if (reinterpret_cast<std::uintptr_t>(value->data()) % 8 != 0) {
    ARROW_ASSIGN_OR_RAISE(data, arrow::AllocateBuffer(value->size()));
    std::copy_n(value->data(), value->size(), const_cast<uint8_t*>(data->data()));
  }
  arrow::io::BufferReader reader(data);
  DecodedValue out;
  auto read_next = [&reader]() -> Result<std::unique_ptr<arrow::ipc::Message>> {
    auto message = arrow::ipc::ReadMessage(&reader);
    if (!message.ok()) {
      return Status::Invalid("not a valid Arrow IPC message: ", message.status().message());
    }
    return message;
  };
  ARROW_ASSIGN_OR_RAISE(auto message, read_next());
  if (message == nullptr) return Status::Invalid("no Arrow IPC message in the value");
  arrow::ipc::DictionaryMemo memo;
  std::shared_ptr<arrow::Schema> schema = known;
  if (message->type() == arrow::ipc::MessageType::SCHEMA) {
    ARROW_ASSIGN_OR_RAISE(const int64_t end, reader.Tell());
    auto read = arrow::ipc::ReadSchema(*message, &memo);
    if (!read.ok()) return Status::Invalid("bad schema message: ", read.status().message());
    if (memo.fields().num_fields() > 0) {
      return Status::Invalid("schema with dictionary-encoded columns (not supported)");
    }
    schema = out.schema = *read;
    out.fingerprint = Fingerprint(data->data(), end);
    ARROW_ASSIGN_OR_RAISE(message, read_next());
    if (message == nullptr) return out;  // a schema message alone
  }
  if (message->type() != arrow::ipc::MessageType::RECORD_BATCH) {
    return Status::Invalid("expected a record batch message, got message type ",
                           static_cast<int>(message->type()));
  }
  if (schema == nullptr) {
    return Status::Invalid("a record batch without a known schema (the schema was not seen)");
  }
  auto batch = arrow::ipc::ReadRecordBatch(*message, schema, &memo,
                                           arrow::ipc::IpcReadOptions::Defaults());
  if (!batch.ok()) return Status::Invalid("bad record batch: ", batch.status().message());
  if (Status st = (*batch)->ValidateFull(); !st.ok()) {
    return Status::Invalid("invalid record batch: ", st.message());
  }
  ARROW_ASSIGN_OR_RAISE(auto trailing, read_next());
  if (trailing != nullptr) {
    return Status::Invalid("more than one record batch in one value");
  }
  out.batch = std::move(*batch);
  return out;
}

}  // namespace arrowdaq::kafka
