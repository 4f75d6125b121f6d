// Flow-control vocabulary shared by mailboxes, subscriptions and the config: what a bounded
// queue does when it is full. Pure values; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace arrowdaq {

/// Say what a full bounded queue does with a new item.
enum class OverflowPolicy {
  kBlock,       ///< lossless: the producer waits (back-pressure)
  kDropOldest,  ///< lossy: discard the oldest queued item, count it
  kDropNewest,  ///< lossy: discard the new item, count it
};

/// Return "block", "drop_oldest" or "drop_newest".
std::string_view ToString(OverflowPolicy policy);
/// Parse "block", "drop_oldest" or "drop_newest"; nullopt for anything else.
std::optional<OverflowPolicy> ParseOverflowPolicy(std::string_view text);

}  // namespace arrowdaq
