#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

std::string_view ToString(StreamKind kind) {
  switch (kind) {
    case StreamKind::kInstrument:
      return "instrument";
    case StreamKind::kDerived:
      return "derived";
  }
  return "instrument";
}

std::string_view ToString(InstrumentState state) {
  switch (state) {
    case InstrumentState::kDisconnected:
      return "disconnected";
    case InstrumentState::kConnected:
      return "connected";
    case InstrumentState::kAcquiring:
      return "acquiring";
    case InstrumentState::kFailed:
      return "failed";
  }
  return "disconnected";
}

InstrumentState StateOf(const instruments::InstrumentStatus& status) {
  if (status.failed) return InstrumentState::kFailed;
  if (status.acquiring) return InstrumentState::kAcquiring;
  if (status.connected) return InstrumentState::kConnected;
  return InstrumentState::kDisconnected;
}

Status CheckRecordingName(std::string_view name) {
  auto quoted = [&] {
    // Quote at most the first 80 bytes, control bytes escaped, so a hostile name cannot flood
    // a log line or a terminal.
    std::string out = "'";
    for (unsigned char c : name.substr(0, 80)) {
      if (c < 0x20 || c >= 0x7f) {
        static const char* hex = "0123456789abcdef";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + (name.size() > 80 ? "...'" : "'");
  };
  if (name.empty()) return Status::Invalid("recording name is empty");
  if (name.size() > kMaxRecordingName) {
    return Status::Invalid("recording name ", quoted(), " is longer than ", kMaxRecordingName,
                           " characters (", name.size(), ")");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (i == 0 && !alnum) {
      return Status::Invalid("recording name ", quoted(), " must start with a letter or digit");
    }
    if (!alnum && c != '.' && c != '_' && c != '-') {
      const auto u = static_cast<unsigned char>(c);
      const std::string what = (u >= 0x20 && u < 0x7f) ? "'" + std::string(1, c) + "'"
                                                       : "byte " + std::to_string(u);
      return Status::Invalid("recording name ", quoted(),
                             ": only letters, digits, '.', '_' and '-' are allowed, got ", what,
                             " at ", i + 1);
    }
  }
  if (name.find("..") != std::string_view::npos) {
    return Status::Invalid("recording name ", quoted(), " must not contain '..'");
  }
  return Status::OK();
}

std::string_view ToString(ScanState state) {
  switch (state) {
    case ScanState::kRunning:
      return "running";
    case ScanState::kPaused:
      return "paused";
    case ScanState::kDone:
      return "done";
  }
  return "done";
}

std::string_view ToString(RecordingState state) {
  switch (state) {
    case RecordingState::kRecording:
      return "recording";
    case RecordingState::kStopped:
      return "stopped";
    case RecordingState::kFailed:
      return "failed";
  }
  return "recording";
}

}  // namespace arrowdaq::server
