// libFuzzer target: ParseIeee488Header / ParseIeee488Block on arbitrary bytes. Checks the
// invariants a caller relies on: a parsed block lies inside the input and `consumed` covers
// exactly header + payload (+ the newline of an indefinite block).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arrowdaq/hardware/ieee488.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto header = arrowdaq::hardware::ParseIeee488Header(bytes);
  auto block = arrowdaq::hardware::ParseIeee488Block(bytes);
  if (block.ok()) {
    if (!header.ok() || block->consumed > size) std::abort();
    const char* begin = bytes.data();
    if (block->payload.data() < begin || block->payload.data() + block->payload.size() >
                                             begin + size) {
      std::abort();
    }
    const std::size_t extra = header->payload_length < 0 ? 1 : 0;
    if (block->consumed != header->header_length + block->payload.size() + extra) std::abort();
  }
  (void)arrowdaq::hardware::EscapeBytes(bytes, 32);
  return 0;
}
