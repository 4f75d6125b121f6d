// ReplayRing: the recent packets of one stream, kept so that a client that connects now can
// start a few seconds in the past ("replay") or resume after the last sequence number it saw
// ("since"). The ring holds the packets themselves (shared_ptr<const RecordBatch>, never a copy
// of the buffers) and is bounded twice: by sample time (packets whose last sample is older than
// `max_age` before the newest sample are dropped) and by bytes (the oldest packets go until the
// ring holds at most `max_bytes` of Arrow buffers). Packets arrive in sequence order; a gap in
// the sequence numbers (packets the feeding subscription lost) is allowed and kept visible.
//
// Threading: none of its own. LiveFeed guards each ring with its mutex; a ring used alone must
// be used from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "arrowdaq/core/data_packet.h"

namespace arrowdaq::pipeline {

/// Say where a client's data starts.
enum class StartKind {
  kLive,    ///< from the next packet published
  kReplay,  ///< the ring's last `window` of sample time (all of the ring when 0), then live
  kSince,   ///< the ring's packets with sequence >= `sequence`, then live
};

/// Return "live", "replay" or "since".
std::string_view ToString(StartKind kind);
/// Parse "live", "replay" or "since"; nullopt for anything else.
std::optional<StartKind> ParseStartKind(std::string_view text);

struct StartPosition {
  StartKind kind = StartKind::kLive;
  std::chrono::nanoseconds window{0};  ///< kReplay only; 0: the whole ring
  std::uint64_t sequence = 0;          ///< kSince only
};

/// Bound a ReplayRing. A bound of 0 (either one) keeps nothing: replay is off.
struct ReplayRingOptions {
  /// Sample time kept: packets whose last timestamp is more than this before the newest
  /// packet's last timestamp are dropped (config: [server] replay_seconds).
  std::chrono::nanoseconds max_age = std::chrono::seconds(10);
  /// Arrow buffer bytes kept (arrow::util::TotalBufferSize of each batch)
  /// (config: [server] replay_bytes).
  std::int64_t max_bytes = std::int64_t{64} << 20;
};

class ReplayRing {
 public:
  explicit ReplayRing(ReplayRingOptions options = {}) : options_(options) {}

  /// Keep `packet` (its sequence must be greater than every kept packet's) and trim the
  /// ring to its bounds. Returns how many packets the trimming let go.
  std::size_t Append(DataPacket packet);

  /// Return the kept packets with sequence >= `sequence`, oldest first.
  [[nodiscard]] std::vector<DataPacket> Since(std::uint64_t sequence) const;
  /// Return the kept packets with at least one sample in the last `window` of sample time:
  /// last timestamp > newest last timestamp - window. A window of 0 returns every kept packet.
  [[nodiscard]] std::vector<DataPacket> LastWindow(std::chrono::nanoseconds window) const;

  /// Forget every packet.
  void Clear();

  [[nodiscard]] bool empty() const { return entries_.empty(); }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] std::int64_t bytes() const { return bytes_; }
  /// Sequence of the oldest kept packet (meaningless when empty).
  [[nodiscard]] std::uint64_t first_sequence() const;
  /// Sequence of the newest kept packet (meaningless when empty).
  [[nodiscard]] std::uint64_t last_sequence() const;
  const ReplayRingOptions& options() const { return options_; }

 private:
  struct Entry {
    DataPacket packet;
    std::int64_t bytes = 0;
    std::int64_t last_ts = 0;  // last sample's timestamp (ns), or the newest before it if empty
  };

  const ReplayRingOptions options_;
  std::deque<Entry> entries_;
  std::int64_t bytes_ = 0;
  std::int64_t newest_ts_ = 0;
  bool have_ts_ = false;
};

}  // namespace arrowdaq::pipeline
