// libFuzzer target: ParseNumberList / ParseNumber on arbitrary bytes. A parsed list has one
// value per comma-separated item; errors must come back as Status, never as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arrowdaq/hardware/ieee488.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = arrowdaq::hardware::ParseNumberList(text);
  if (list.ok()) {
    std::size_t commas = 0;
    for (char ch : text) commas += ch == ',';
    if (list->size() != commas + 1) std::abort();
  } else if (list.status().message().empty()) {
    std::abort();
  }
  (void)arrowdaq::hardware::ParseNumber(text);
  return 0;
}
