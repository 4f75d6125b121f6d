// Unit tests of the polled drivers' pure helpers: KeepFirstRows (the short batch of the rows read
// before a failed poll) for blocks of several columns of different widths.
#include "arrowdaq/instruments/message_device.h"

#include <gtest/gtest.h>

#include <vector>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::instruments {
namespace {

// A block of `rows` rows and columns of widths {1, 2, 3}: value = 1000 * column + index.
std::shared_ptr<arrow::Buffer> Block(std::int64_t rows) {
  const std::vector<std::int64_t> widths = {1, 2, 3};
  auto buf = arrow::AllocateBuffer(rows * 8 * 6).ValueOrDie();
  auto* v = reinterpret_cast<double*>(buf->mutable_data());
  std::int64_t at = 0;
  for (std::size_t c = 0; c < widths.size(); ++c) {
    for (std::int64_t i = 0; i < widths[c] * rows; ++i) v[at++] = 1000.0 * c + i;
  }
  return std::shared_ptr<arrow::Buffer>(std::move(buf));
}

TEST(KeepFirstRows, KeepsEachColumnsFirstRowsInOrder) {
  for (std::int64_t kept : {1, 3, 6, 7}) {
    const std::int64_t rows = 7;
    auto out = KeepFirstRows(Block(rows), rows, kept, {1, 2, 3});
    ASSERT_EQ(out->size(), kept * 8 * 6);
    const auto* v = reinterpret_cast<const double*>(out->data());
    std::int64_t at = 0;
    const std::int64_t widths[] = {1, 2, 3};
    for (int c = 0; c < 3; ++c) {
      for (std::int64_t i = 0; i < widths[c] * kept; ++i) {
        EXPECT_EQ(v[at++], 1000.0 * c + i) << "kept " << kept << " column " << c << " value " << i;
      }
    }
  }
}

}  // namespace
}  // namespace arrowdaq::instruments
