#include "arrowdaq/pipeline/replay_ring.h"

#include <algorithm>

#include <arrow/array.h>
#include <arrow/util/byte_size.h>

namespace arrowdaq::pipeline {

std::string_view ToString(StartKind kind) {
  switch (kind) {
    case StartKind::kLive:
      return "live";
    case StartKind::kReplay:
      return "replay";
    case StartKind::kSince:
      return "since";
  }
  return "live";
}

std::optional<StartKind> ParseStartKind(std::string_view text) {
  if (text == "live") return StartKind::kLive;
  if (text == "replay") return StartKind::kReplay;
  if (text == "since") return StartKind::kSince;
  return std::nullopt;
}


std::size_t ReplayRing::Append(DataPacket packet) {
  if (options_.max_age.count() <= 0 || options_.max_bytes <= 0 || packet.batch == nullptr) {
    return 0;
  }
  Entry entry;
  entry.bytes = arrow::util::TotalBufferSize(*packet.batch);
  const auto rows = packet.batch->num_rows();
  if (rows > 0 && packet.batch->num_columns() > 0 &&
      packet.batch->column(0)->type_id() == arrow::Type::TIMESTAMP) {
    const auto& ts = static_cast<const arrow::TimestampArray&>(*packet.batch->column(0));
    entry.last_ts = ts.Value(rows - 1);
    if (!have_ts_ || entry.last_ts > newest_ts_) newest_ts_ = entry.last_ts;
    have_ts_ = true;
  } else {
    entry.last_ts = newest_ts_;
  }
  entry.packet = std::move(packet);
  bytes_ += entry.bytes;
  entries_.push_back(std::move(entry));

  std::size_t trimmed = 0;
  const std::int64_t oldest_kept = newest_ts_ - options_.max_age.count();
  while (!entries_.empty() &&
         (bytes_ > options_.max_bytes || entries_.front().last_ts <= oldest_kept)) {
    bytes_ -= entries_.front().bytes;
    entries_.pop_front();
    ++trimmed;
  }
  return trimmed;
}

std::vector<DataPacket> ReplayRing::Since(std::uint64_t sequence) const {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), sequence,
      [](const Entry& e, std::uint64_t s) { return e.packet.sequence < s; });
  std::vector<DataPacket> out;
  out.reserve(static_cast<std::size_t>(entries_.end() - it));
  for (; it != entries_.end(); ++it) out.push_back(it->packet);
  return out;
}

std::vector<DataPacket> ReplayRing::LastWindow(std::chrono::nanoseconds window) const {
  std::vector<DataPacket> out;
  if (window.count() <= 0) {
    for (const auto& e : entries_) out.push_back(e.packet);
    return out;
  }
  const std::int64_t after = newest_ts_ - window.count();
  // Timestamps grow along the ring, so the window is a suffix.
  auto it = std::partition_point(entries_.begin(), entries_.end(),
                                 [after](const Entry& e) { return e.last_ts <= after; });
  for (; it != entries_.end(); ++it) out.push_back(it->packet);
  return out;
}

void ReplayRing::Clear() {
  entries_.clear();
  bytes_ = 0;
  have_ts_ = false;
  newest_ts_ = 0;
}

std::uint64_t ReplayRing::first_sequence() const {
  return entries_.empty() ? 0 : entries_.front().packet.sequence;
}

std::uint64_t ReplayRing::last_sequence() const {
  return entries_.empty() ? 0 : entries_.back().packet.sequence;
}

}  // namespace arrowdaq::pipeline
