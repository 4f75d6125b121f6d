// JsonWriter: a minimal streaming JSON writer for the run summary (objects, arrays, strings,
// numbers, booleans) with correct string escaping and stable key order (the order written).
// Not thread-safe; one writer per document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace arrowdaq::app {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  /// Write a key inside an object; the next call writes its value.
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(std::int64_t value);
  JsonWriter& UInt(std::uint64_t value);
  /// Write a double; NaN and infinities become null (JSON has no such numbers).
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  /// Return the document (two-space indentation).
  const std::string& str() const { return out_; }

 private:
  void BeforeValue();
  JsonWriter& Close(char bracket);
  void Newline();

  std::string out_;
  // One entry per open container: number of items written so far.
  std::vector<int> counts_;
  bool after_key_ = false;
};

/// Escape `s` as the contents of a JSON string (without the quotes).
std::string JsonEscape(std::string_view s);

}  // namespace arrowdaq::app
