// ImageFrame: the server side of a live image (a camera stream on the dashboard, docs/web.md).
// A stream's first array column (arrow.fixed_shape_tensor or fixed_size_list of numbers, as
// storage takes them: storage_internal.h ArrayColumnShape) is shown as an image: rows = the
// product of every dimension but the last, columns = the last one ([height, width] for a
// camera; a waveform [points] is one row). One frame (one row of the column) is reduced to fit
// `max_width` x `max_height` by square blocks of k x k pixels, k = the smallest integer with
// ceil(H/k) <= max_height and ceil(W/k) <= max_width; each output pixel is the MAXIMUM of its
// block (the blocks on the right and bottom edges may be smaller), so a single hot pixel stays
// visible at any zoom. NaN pixels are skipped (a block of only NaN stays NaN).
//
// The reduced values keep the column's value type (uint16 stays uint16: exact, and at most
// 2 bytes per shown pixel) and travel as little-endian bytes.
//
// Work per frame is one pass over the frame's pixels, done only for frames sent (the live
// channel sends at most image_rate of them per second). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq::server {

/// The image column of a stream.
struct ImageColumn {
  int column = -1;   ///< index in the schema
  std::string name;
  std::string unit;  ///< "" when the field declares none
  std::int64_t height = 0;
  std::int64_t width = 0;
  std::shared_ptr<arrow::DataType> value_type;
};

/// Return the first array column of `schema` (nullopt when it has none).
[[nodiscard]] Result<std::optional<ImageColumn>> FindImageColumn(const arrow::Schema& schema);

/// One reduced frame.
struct ImageFrame {
  int block = 1;              ///< k: each output pixel is the max of a k x k block
  std::int64_t rows = 0;      ///< ceil(height / k)
  std::int64_t cols = 0;      ///< ceil(width / k)
  std::string dtype;          ///< the value type's name: "uint16", "float64", ...
  double min = 0, max = 0;    ///< over the reduced pixels (NaN skipped; NaN when none)
  std::string data;           ///< rows*cols values, row-major, little-endian, of `dtype`
};

/// Reduce row `row` of `column` (the batch's array of the image column) to fit
/// max_width x max_height. Invalid when the row or its values are null, or the column does
/// not have `image`'s shape.
[[nodiscard]] Result<ImageFrame> ReduceImage(const arrow::Array& column, std::int64_t row,
                                             const ImageColumn& image, int max_width,
                                             int max_height);

}  // namespace arrowdaq::server
