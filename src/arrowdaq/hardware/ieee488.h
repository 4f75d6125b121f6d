// IEEE 488.2 reply parsing: definite-length (`#<d><len><bytes>`) and indefinite-length
// (`#0<bytes>\n`) arbitrary binary blocks, comma-separated number lists as SCPI instruments
// send them ("+1.00000000E+00,2.5,-3e-2"), and byte escaping for error messages.
// Pure functions over caller-owned bytes; robust on any input (no crash, no UB: the fuzz
// targets in fuzz/ exercise them). Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/status.h"

namespace arrowdaq::hardware {

/// Hold one parsed block: `payload` views the caller's bytes; `consumed` counts the header,
/// the payload and (for an indefinite block) the closing newline.
struct Ieee488Block {
  std::string_view payload;
  std::size_t consumed = 0;
};

/// Hold a parsed block header. `payload_length` is -1 for an indefinite-length block (`#0`).
struct Ieee488Header {
  std::size_t header_length = 0;
  std::int64_t payload_length = -1;
};

/// Largest definite payload accepted: 9 digits allow 999 999 999 bytes; so do we.
inline constexpr std::int64_t kMaxIeee488Payload = 999'999'999;

/// Parse the header at the start of `bytes` ("#" then a digit d, then d decimal digits when
/// d > 0). Fails with Status::Invalid naming the offset and the offending bytes (escaped) when
/// it is malformed, and with Status::Invalid "... truncated ..." when `bytes` ends inside it.
Result<Ieee488Header> ParseIeee488Header(std::string_view bytes);

/// Parse one complete block at the start of `bytes`. For `#0` the payload runs to the first
/// '\n' (which is consumed, not part of the payload). Bytes after the block are left alone
/// (`consumed` says where they start). Errors as ParseIeee488Header, plus a truncated payload.
Result<Ieee488Block> ParseIeee488Block(std::string_view bytes);

/// Parse a comma-separated list of decimal numbers (SCPI NR1/NR2/NR3 and the special
/// values NAN, INF, -INF; blanks around items allowed; a trailing "\r\n" or "\n" is ignored).
/// An empty list, an empty item, or anything that is not a whole number is Status::Invalid
/// naming the item index, its byte offset and the item (escaped).
Result<std::vector<double>> ParseNumberList(std::string_view text);

/// Parse one number (the same grammar as one item of ParseNumberList).
Result<double> ParseNumber(std::string_view text);

/// Return `bytes` printable: \n, \r, \t, \\, \' as escapes, other non-printable bytes as \xNN;
/// longer than `max_bytes` is cut and ends with "...(+N bytes)".
std::string EscapeBytes(std::string_view bytes, std::size_t max_bytes = 64);

}  // namespace arrowdaq::hardware
