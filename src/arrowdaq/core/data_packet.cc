#include "arrowdaq/core/data_packet.h"

namespace arrowdaq {

const std::string& DataPacket::stream_name() const {
  static const std::string kEmpty;
  return stream ? stream->name : kEmpty;
}

}  // namespace arrowdaq
