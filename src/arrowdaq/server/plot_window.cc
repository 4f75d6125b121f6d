#include "arrowdaq/server/plot_window.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

namespace arrowdaq::server {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsPlottable(const arrow::DataType& type) {
  return arrow::is_integer(type.id()) || arrow::is_floating(type.id());
}

// Call f(row, value) for every non-null value of a numeric array, as double.
template <typename F>
void ForEachValue(const arrow::Array& array, F&& f) {
  auto visit = [&](const auto& typed) {
    for (int64_t i = 0; i < typed.length(); ++i) {
      if (typed.IsValid(i)) f(i, static_cast<double>(typed.Value(i)));
    }
  };
  switch (array.type_id()) {
    case arrow::Type::DOUBLE: return visit(static_cast<const arrow::DoubleArray&>(array));
    case arrow::Type::FLOAT: return visit(static_cast<const arrow::FloatArray&>(array));
    case arrow::Type::INT8: return visit(static_cast<const arrow::Int8Array&>(array));
    case arrow::Type::INT16: return visit(static_cast<const arrow::Int16Array&>(array));
    case arrow::Type::INT32: return visit(static_cast<const arrow::Int32Array&>(array));
    case arrow::Type::INT64: return visit(static_cast<const arrow::Int64Array&>(array));
    case arrow::Type::UINT8: return visit(static_cast<const arrow::UInt8Array&>(array));
    case arrow::Type::UINT16: return visit(static_cast<const arrow::UInt16Array&>(array));
    case arrow::Type::UINT32: return visit(static_cast<const arrow::UInt32Array&>(array));
    case arrow::Type::UINT64: return visit(static_cast<const arrow::UInt64Array&>(array));
    default: return;
  }
}

}  // namespace

Result<std::vector<PlotChannel>> PlotChannels(const arrow::Schema& schema,
                                              const std::vector<std::string>& wanted) {
  if (schema.num_fields() == 0 || schema.field(0)->type()->id() != arrow::Type::TIMESTAMP) {
    return Status::Invalid("the stream has no timestamp column first");
  }
  std::vector<PlotChannel> all;
  std::string names;
  for (int i = 1; i < schema.num_fields(); ++i) {
    const auto& f = schema.field(i);
    if (!IsPlottable(*f->type())) continue;
    PlotChannel c{f->name(), "", i};
    if (f->metadata()) {
      if (auto u = f->metadata()->Get("units"); u.ok()) c.unit = *u;
      else if (auto u2 = f->metadata()->Get("unit"); u2.ok()) c.unit = *u2;
    }
    names += (names.empty() ? "" : ", ") + c.name;
    all.push_back(std::move(c));
  }
  if (wanted.empty()) return all;
  std::vector<PlotChannel> out;
  for (const auto& w : wanted) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& c) { return c.name == w; });
    if (it == all.end()) {
      return Status::KeyError("no plottable channel '", w, "' (plottable: ",
                              names.empty() ? "none" : names, ")");
    }
    if (std::none_of(out.begin(), out.end(), [&](const auto& c) { return c.name == w; })) {
      out.push_back(*it);
    }
  }
  return out;
}

PlotWindow::PlotWindow(std::vector<PlotChannel> channels, std::chrono::nanoseconds window,
                       int pixels)
    : channels_(std::move(channels)),
      dt_ns_(std::max<std::int64_t>(1, window.count() / std::max(1, pixels))),
      pixels_(std::max(1, pixels)) {}

void PlotWindow::Advance(std::int64_t index) {
  const std::size_t n = channels_.size();
  if (buckets_.empty() || index - (first_index_ + static_cast<std::int64_t>(buckets_.size())) >=
                              pixels_) {
    buckets_.clear();
    first_index_ = index;
  }
  while (first_index_ + static_cast<std::int64_t>(buckets_.size()) <= index) {
    buckets_.push_back({std::vector<double>(n, kNaN), std::vector<double>(n, kNaN)});
  }
  while (static_cast<std::int64_t>(buckets_.size()) > pixels_) {
    buckets_.pop_front();
    ++first_index_;
  }
}

void PlotWindow::Add(const arrow::RecordBatch& batch) {
  if (batch.num_columns() == 0 || batch.num_rows() == 0) return;
  const auto& ts_array = *batch.column(0);
  if (ts_array.type_id() != arrow::Type::TIMESTAMP) return;
  const auto& ts = static_cast<const arrow::TimestampArray&>(ts_array);
  // Bucket of every row (-1: skip: null or older than the window).
  std::vector<std::int64_t> slot(static_cast<std::size_t>(batch.num_rows()), -1);
  for (int64_t i = 0; i < ts.length(); ++i) {
    if (!ts.IsValid(i)) continue;
    const std::int64_t t = ts.Value(i);
    const std::int64_t index = FloorDiv(t, dt_ns_);
    if (buckets_.empty() || index >= first_index_ + static_cast<std::int64_t>(buckets_.size())) {
      Advance(index);
    }
    if (index < first_index_) continue;
    slot[static_cast<std::size_t>(i)] = index;
    last_ns_ = std::max(last_ns_, t);
    ++samples_;
  }
  for (std::size_t c = 0; c < channels_.size(); ++c) {
    const int column = channels_[c].column;
    if (column < 0 || column >= batch.num_columns()) continue;
    ForEachValue(*batch.column(column), [&](int64_t row, double v) {
      const std::int64_t index = slot[static_cast<std::size_t>(row)];
      if (index < first_index_ || std::isnan(v)) return;  // evicted by a later row, or skipped
      auto& b = buckets_[static_cast<std::size_t>(index - first_index_)];
      if (!(b.min[c] <= v)) b.min[c] = v;
      if (!(b.max[c] >= v)) b.max[c] = v;
    });
  }
}

PlotFrame PlotWindow::Frame() const {
  PlotFrame f;
  f.dt_ns = dt_ns_;
  f.pixels = pixels_;
  f.last_ns = last_ns_;
  f.samples = samples_;
  const std::int64_t newest = first_index_ + static_cast<std::int64_t>(buckets_.size()) - 1;
  const std::int64_t first = newest - pixels_ + 1;
  f.t0_ns = first * dt_ns_;
  f.min.assign(channels_.size(), std::vector<double>(static_cast<std::size_t>(pixels_), kNaN));
  f.max = f.min;
  for (std::size_t j = 0; j < buckets_.size(); ++j) {
    const std::int64_t at = first_index_ + static_cast<std::int64_t>(j) - first;
    if (at < 0 || at >= pixels_) continue;
    for (std::size_t c = 0; c < channels_.size(); ++c) {
      f.min[c][static_cast<std::size_t>(at)] = buckets_[j].min[c];
      f.max[c][static_cast<std::size_t>(at)] = buckets_[j].max[c];
    }
  }
  return f;
}

}  // namespace arrowdaq::server
