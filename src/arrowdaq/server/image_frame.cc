#include "arrowdaq/server/image_frame.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include <arrow/array.h>
#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::server {

namespace {

static_assert(std::endian::native == std::endian::little,
              "image frames are sent as the machine's bytes, which must be little-endian");

template <typename T>
void Reduce(const std::uint8_t* raw, std::int64_t height, std::int64_t width, int k,
            ImageFrame& out) {
  const std::int64_t rows = out.rows, cols = out.cols;
  std::vector<T> acc(static_cast<std::size_t>(rows * cols));
  std::vector<bool> seen(acc.size(), false);
  for (std::int64_t y = 0; y < height; ++y) {
    const std::int64_t r = y / k;
    for (std::int64_t x = 0; x < width; ++x) {
      T v;
      std::memcpy(&v, raw + (y * width + x) * sizeof(T), sizeof(T));
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(v)) continue;
      }
      const std::size_t o = static_cast<std::size_t>(r * cols + x / k);
      if (!seen[o] || v > acc[o]) {
        acc[o] = v;
        seen[o] = true;
      }
    }
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (std::size_t i = 0; i < acc.size(); ++i) {
    if (!seen[i]) {
      if constexpr (std::is_floating_point_v<T>) acc[i] = std::numeric_limits<T>::quiet_NaN();
      continue;
    }
    lo = std::min(lo, static_cast<double>(acc[i]));
    hi = std::max(hi, static_cast<double>(acc[i]));
  }
  out.min = std::isfinite(lo) ? lo : std::numeric_limits<double>::quiet_NaN();
  out.max = std::isfinite(hi) ? hi : std::numeric_limits<double>::quiet_NaN();
  out.data.assign(reinterpret_cast<const char*>(acc.data()), acc.size() * sizeof(T));
}

}  // namespace

Result<std::optional<ImageColumn>> FindImageColumn(const arrow::Schema& schema) {
  for (int i = 0; i < schema.num_fields(); ++i) {
    const auto& f = schema.field(i);
    ARROW_ASSIGN_OR_RAISE(auto shape, storage::internal::ArrayColumnShape(*f->type()));
    if (!shape) continue;
    ImageColumn c;
    c.column = i;
    c.name = f->name();
    c.value_type = shape->value_type;
    c.width = shape->shape.back();
    c.height = 1;
    for (std::size_t d = 0; d + 1 < shape->shape.size(); ++d) c.height *= shape->shape[d];
    if (f->metadata()) {
      if (auto u = f->metadata()->Get("units"); u.ok()) c.unit = *u;
      else if (auto u2 = f->metadata()->Get("unit"); u2.ok()) c.unit = *u2;
    }
    return c;
  }
  return std::nullopt;
}

Result<ImageFrame> ReduceImage(const arrow::Array& column, std::int64_t row,
                               const ImageColumn& image, int max_width, int max_height) {
  if (row < 0 || row >= column.length()) return Status::Invalid("image row out of range");
  if (max_width < 1 || max_height < 1) return Status::Invalid("image size must be positive");
  ARROW_ASSIGN_OR_RAISE(auto shape, storage::internal::ArrayColumnShape(*column.type()));
  if (!shape || shape->size != image.height * image.width ||
      !shape->value_type->Equals(*image.value_type)) {
    return Status::Invalid("column '", image.name, "' changed its type to ",
                           column.type()->ToString());
  }
  if (column.IsNull(row)) return Status::Invalid("frame ", row, " of '", image.name, "' is null");
  ARROW_ASSIGN_OR_RAISE(auto values,
                        storage::internal::ArrayColumnValues(*column.Slice(row, 1)->data(), *shape,
                                                   image.name));
  ImageFrame out;
  const auto ceil_div = [](std::int64_t a, std::int64_t b) { return (a + b - 1) / b; };
  out.block = static_cast<int>(std::max<std::int64_t>(
      {1, ceil_div(image.height, max_height), ceil_div(image.width, max_width)}));
  out.rows = ceil_div(image.height, out.block);
  out.cols = ceil_div(image.width, out.block);
  const std::int64_t h = image.height, w = image.width;
  const int k = out.block;
  switch (shape->value_type->id()) {
    case arrow::Type::UINT8: out.dtype = "uint8"; Reduce<std::uint8_t>(values, h, w, k, out); break;
    case arrow::Type::INT8: out.dtype = "int8"; Reduce<std::int8_t>(values, h, w, k, out); break;
    case arrow::Type::UINT16: out.dtype = "uint16"; Reduce<std::uint16_t>(values, h, w, k, out); break;
    case arrow::Type::INT16: out.dtype = "int16"; Reduce<std::int16_t>(values, h, w, k, out); break;
    case arrow::Type::UINT32: out.dtype = "uint32"; Reduce<std::uint32_t>(values, h, w, k, out); break;
    case arrow::Type::INT32: out.dtype = "int32"; Reduce<std::int32_t>(values, h, w, k, out); break;
    case arrow::Type::UINT64: out.dtype = "uint64"; Reduce<std::uint64_t>(values, h, w, k, out); break;
    case arrow::Type::INT64: out.dtype = "int64"; Reduce<std::int64_t>(values, h, w, k, out); break;
    case arrow::Type::FLOAT: out.dtype = "float32"; Reduce<float>(values, h, w, k, out); break;
    case arrow::Type::DOUBLE: out.dtype = "float64"; Reduce<double>(values, h, w, k, out); break;
    default:
      return Status::NotImplemented("image values of type ", shape->value_type->ToString());
  }
  return out;
}

}  // namespace arrowdaq::server
