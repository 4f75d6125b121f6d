// MockHardware: a GoogleMock of InstrumentHardware, and a helper that makes float64 blocks
// for it to return. Tests only.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <arrow/buffer.h>
#include <gmock/gmock.h>

#include "arrowdaq/hardware/instrument_hardware.h"

namespace arrowdaq::testing {

class MockHardware : public hardware::InstrumentHardware {
 public:
  MOCK_METHOD(Status, Connect, (const std::string& resource, hardware::Timeout timeout),
              (override));
  MOCK_METHOD(Status, Disconnect, (), (override));
  MOCK_METHOD(Result<std::string>, SendCommand,
              (const std::string& command, hardware::Timeout timeout), (override));
  MOCK_METHOD(Result<std::shared_ptr<arrow::Buffer>>, ReadRawData, (hardware::Timeout timeout),
              (override));
};

/// Return a block of float64 values (one channel) as ReadRawData would.
inline std::shared_ptr<arrow::Buffer> Float64Block(const std::vector<double>& values) {
  auto buf = arrow::AllocateBuffer(static_cast<std::int64_t>(values.size() * sizeof(double)))
                 .ValueOrDie();
  std::memcpy(buf->mutable_data(), values.data(), values.size() * sizeof(double));
  return std::shared_ptr<arrow::Buffer>(std::move(buf));
}

}  // namespace arrowdaq::testing
