#include "arrowdaq/core/flow_control.h"

namespace arrowdaq {

std::string_view ToString(OverflowPolicy policy) {
  switch (policy) {
    case OverflowPolicy::kBlock: return "block";
    case OverflowPolicy::kDropOldest: return "drop_oldest";
    case OverflowPolicy::kDropNewest: return "drop_newest";
  }
  return "?";
}

std::optional<OverflowPolicy> ParseOverflowPolicy(std::string_view text) {
  if (text == "block") return OverflowPolicy::kBlock;
  if (text == "drop_oldest") return OverflowPolicy::kDropOldest;
  if (text == "drop_newest") return OverflowPolicy::kDropNewest;
  return std::nullopt;
}

}  // namespace arrowdaq
