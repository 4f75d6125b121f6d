#include "arrowdaq/hardware/sim_device.h"

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <thread>

#include "arrowdaq/hardware/resource.h"

#ifndef ARROWDAQ_VERSION
#define ARROWDAQ_VERSION "0.0.0"
#endif

namespace arrowdaq::hardware {

namespace {

std::string NormalizeCommand(const std::string& command) {
  auto begin = std::find_if_not(command.begin(), command.end(),
                                [](unsigned char ch) { return std::isspace(ch) != 0; });
  auto end = std::find_if_not(command.rbegin(), command.rend(), [](unsigned char ch) {
               return std::isspace(ch) != 0;
             }).base();
  std::string out(begin, std::max(begin, end));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return out;
}

}  // namespace

Status SimDevice::Connect(const std::string& resource, Timeout /*timeout*/) {
  auto parsed = ParseResource(resource);
  if (!parsed.ok()) {
    return Status::Invalid(kind_, ": cannot connect to '", resource, "': expected SIM::<model> (",
                           parsed.status().message(), ")");
  }
  if (parsed->kind != ResourceKind::kSim) {
    return Status::Invalid(kind_, ": cannot connect to '", resource,
                           "': not a simulated resource (expected SIM::<model>)");
  }
  resource_ = resource;
  connected_ = true;
  armed_ = false;
  next_row_ = 0;
  batches_since_init_ = 0;
  return Status::OK();
}

Status SimDevice::Disconnect() {
  connected_ = false;
  armed_ = false;
  return Status::OK();
}

Status SimDevice::CheckConnected(const char* what) const {
  if (!connected_) return Status::Invalid(kind_, ": ", what, " while not connected");
  return Status::OK();
}

Result<std::string> SimDevice::SendCommand(const std::string& command, Timeout /*timeout*/) {
  ARROW_RETURN_NOT_OK(CheckConnected("SendCommand"));
  const std::string cmd = NormalizeCommand(command);
  if (cmd == "*IDN?") return "arrowdaq,SIM-" + IdnModel() + ",0," + ARROWDAQ_VERSION;
  if (cmd == "INIT" || cmd == "INITIATE") {
    if (armed_) return Status::Invalid(resource_, ": -213,\"Init ignored\" (already armed)");
    armed_ = true;
    batches_since_init_ = 0;
    t_init_ = SteadyClock::now();
    return std::string();
  }
  if (cmd == "ABOR" || cmd == "ABORT") {
    armed_ = false;
    return std::string();
  }
  if (cmd == "*RST") {
    armed_ = false;
    next_row_ = 0;
    batches_since_init_ = 0;
    return std::string();
  }
  return Status::Invalid(resource_, ": -113,\"Undefined header\": '", command, "'");
}

SteadyClock::time_point SimDevice::next_deadline() const {
  // Rounded up, so a batch is never released before its exact due time.
  const double due_ns = static_cast<double>(batches_since_init_ + 1) *
                        static_cast<double>(RowsPerBatch()) * 1e9 / RowsPerSecond();
  // Clamped (to ~100 years) so that an absurdly low rate cannot overflow the conversion.
  const double clamped_ns = std::min(std::ceil(due_ns), 3.0e18);
  return t_init_ + std::chrono::nanoseconds(static_cast<std::int64_t>(clamped_ns));
}

void SimDevice::SkipOverrunBatches() {
  if (const std::int64_t every = DropEvery(); every > 0 && (batches_since_init_ + 1) % every == 0) {
    next_row_ += RowsPerBatch();
    batches_since_init_ += 1;
    overrun_rows_ += RowsPerBatch();
  }
  const std::int64_t fifo_batches = FifoBatches();
  if (fifo_batches <= 0) return;
  // A free-running device: batches whose deadline passed more than fifo_batches ago were
  // overwritten in its FIFO. Skip them (their rows are lost) and count them.
  const double period_ns = static_cast<double>(RowsPerBatch()) * 1e9 / RowsPerSecond();
  const double late_ns =
      std::chrono::duration<double, std::nano>(SteadyClock::now() - next_deadline()).count();
  const auto behind = static_cast<std::int64_t>(late_ns / period_ns);  // whole batches overdue
  if (behind > fifo_batches) {
    const std::int64_t skipped = behind - fifo_batches;
    next_row_ += skipped * RowsPerBatch();
    batches_since_init_ += skipped;
    overrun_rows_ += skipped * RowsPerBatch();
  }
}

Status SimDevice::ReadInto(std::span<std::uint8_t> out, Timeout timeout) {
  ARROW_RETURN_NOT_OK(CheckConnected("ReadRawData"));
  if (!armed_) {
    return Status::Invalid(resource_, ": ReadRawData while not armed (send INIT first)");
  }
  if (static_cast<std::int64_t>(out.size()) != batch_bytes()) {
    return Status::Invalid(resource_, ": read into ", out.size(), " bytes, a batch is ",
                           batch_bytes());
  }
  SkipOverrunBatches();
  const SteadyClock::time_point deadline = next_deadline();
  const SteadyClock::time_point start = SteadyClock::now();
  // Compared as durations in double so that a huge timeout cannot overflow a time_point.
  if (std::chrono::duration<double, std::milli>(deadline - start) >
      std::chrono::duration<double, std::milli>(timeout)) {
    std::this_thread::sleep_until(start + std::max(timeout, Timeout::zero()));
    const auto due_in =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    return Status::IOError(resource_, ": read timed out after ", timeout.count(),
                           " ms (next batch due in ", due_in.count(), " ms)");
  }
  // Filled before waiting, so the batch leaves right at its deadline.
  const std::int64_t rows = RowsPerBatch();
  FillBatch(next_row_, rows, out);
  std::this_thread::sleep_until(deadline);
  next_row_ += rows;
  ++batches_since_init_;
  return Status::OK();
}

Result<std::shared_ptr<arrow::Buffer>> SimDevice::ReadRawData(Timeout timeout) {
  ARROW_RETURN_NOT_OK(CheckConnected("ReadRawData"));
  if (!armed_) {
    return Status::Invalid(resource_, ": ReadRawData while not armed (send INIT first)");
  }
  // The batch's block, from the device's pool (a block comes back when the last reader of
  // the batch lets go).
  if (pool_ == nullptr || pool_->block_bytes() != batch_bytes()) {
    ARROW_ASSIGN_OR_RAISE(pool_, BufferPool::Make({.block_bytes = batch_bytes(),
                                                   .max_blocks = PoolBlocks(batch_bytes())}));
  }
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::MutableBuffer> buffer, pool_->Acquire());
  ARROW_RETURN_NOT_OK(ReadInto(
      std::span<std::uint8_t>(buffer->mutable_data(), static_cast<size_t>(buffer->size())),
      timeout));
  return std::shared_ptr<arrow::Buffer>(std::move(buffer));
}

std::int64_t SimDevice::PoolBlocks(std::int64_t batch_bytes) {
  return std::clamp<std::int64_t>(kPoolBytes / std::max<std::int64_t>(batch_bytes, 1), 2,
                                  kMaxPoolBlocks);
}

BufferPoolStats SimDevice::buffer_pool_stats() const {
  return pool_ ? pool_->stats() : BufferPoolStats{};
}

}  // namespace arrowdaq::hardware
