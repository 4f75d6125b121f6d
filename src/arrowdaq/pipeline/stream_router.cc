#include "arrowdaq/pipeline/stream_router.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <arrow/array.h>
#include <arrow/util/byte_size.h>

#include "arrowdaq/core/schema.h"

namespace arrowdaq::pipeline {

namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// Sum the sizes of the distinct buffers behind `batch` (arrow::util::TotalBufferSize counts the
// same, but through a hash set allocated per call, i.e. per published batch).
class BufferBytes {
 public:
  std::int64_t Of(const arrow::RecordBatch& batch) {
    for (const auto& column : batch.column_data()) Add(*column);
    return overflow_ ? arrow::util::TotalBufferSize(batch) : total_;
  }

 private:
  void Add(const arrow::ArrayData& data) {
    for (const auto& buffer : data.buffers) {
      if (buffer == nullptr) continue;
      const std::uint8_t* address = buffer->data();  // deduplicated by address, as Arrow does
      if (std::find(seen_, seen_ + count_, address) != seen_ + count_) continue;
      if (count_ == kMaxSeen) {
        overflow_ = true;
        return;
      }
      seen_[count_++] = address;
      total_ += buffer->size();
    }
    for (const auto& child : data.child_data) Add(*child);
    if (data.dictionary) Add(*data.dictionary);
  }

  static constexpr int kMaxSeen = 64;
  const std::uint8_t* seen_[kMaxSeen];
  int count_ = 0;
  bool overflow_ = false;
  std::int64_t total_ = 0;
};

}  // namespace

Result<std::shared_ptr<StreamHandle>> StreamRouter::AddStream(
    std::shared_ptr<const StreamInfo> info) {
  if (info == nullptr || info->schema == nullptr) return Status::Invalid("stream without schema");
  if (Status st = ValidateStreamSchema(*info->schema); !st.ok()) {
    return st.WithMessage("stream '", info->name, "': ", st.message());
  }
  std::lock_guard lock(mutex_);
  for (const auto& s : streams_) {
    if (s->info_->name == info->name) {
      return Status::AlreadyExists("stream '", info->name, "' already exists");
    }
  }
  auto handle = std::make_shared<StreamHandle>();
  handle->info_ = std::move(info);
  streams_.push_back(handle);
  RebuildSubscriberLists();
  return handle;
}

Status StreamRouter::RemoveStream(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(streams_.begin(), streams_.end(),
                         [&](const auto& s) { return s->info_->name == name; });
  if (it == streams_.end()) return Status::KeyError("no stream named '", name, "'");
  streams_.erase(it);
  return Status::OK();
}

Result<std::shared_ptr<const StreamInfo>> StreamRouter::FindStream(const std::string& name) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& s : streams_) {
    if (s->info_->name == name) return s->info_;
    names.push_back(s->info_->name);
  }
  return Status::KeyError("no stream named '", name, "' (streams: ", JoinNames(names), ")");
}

std::vector<std::string> StreamRouter::StreamNames() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& s : streams_) names.push_back(s->info_->name);
  return names;
}

Result<std::shared_ptr<Subscription>> StreamRouter::Subscribe(SubscriptionOptions options) {
  if (options.name.empty()) return Status::Invalid("a subscription needs a name");
  if (options.streams.empty()) {
    return Status::Invalid("subscription '", options.name, "' names no stream");
  }
  std::lock_guard lock(mutex_);
  for (const auto& s : subscriptions_) {
    if (s->name() == options.name) {
      return Status::AlreadyExists("subscription '", options.name, "' already exists");
    }
  }
  for (const auto& wanted : options.streams) {
    if (wanted == "*") continue;
    bool found = std::any_of(streams_.begin(), streams_.end(),
                             [&](const auto& s) { return s->info_->name == wanted; });
    if (!found) {
      std::vector<std::string> names;
      for (const auto& s : streams_) names.push_back(s->info_->name);
      return Status::KeyError("subscription '", options.name, "': no stream named '", wanted,
                              "' (streams: ", JoinNames(names), ")");
    }
  }
  auto sub = std::make_shared<Subscription>(std::move(options));
  subscriptions_.push_back(sub);
  RebuildSubscriberLists();
  return sub;
}

Status StreamRouter::Unsubscribe(const std::string& name) {
  std::shared_ptr<Subscription> gone;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                           [&](const auto& s) { return s->name() == name; });
    if (it == subscriptions_.end()) return Status::KeyError("no subscription named '", name, "'");
    gone = *it;
    subscriptions_.erase(it);
    RebuildSubscriberLists();
  }
  // A publish that loaded the old list before RebuildSubscriberLists may still be about to
  // offer its packet to `gone`: closing now would drop a packet published before this call
  // (a recording stopped right after a scan's last window lost that window's last batch).
  // Wait for such publishes (microseconds), bounded: an Offer blocked on a full subscription
  // whose consumer waits for this call must not hang it.
  WaitForOffers(*gone, std::chrono::milliseconds(200));
  gone->Close();
  return Status::OK();
}

void StreamRouter::WaitForOffers(const Subscription& gone, std::chrono::milliseconds bound) {
  std::vector<std::shared_ptr<StreamHandle>> streams;
  {
    std::lock_guard lock(mutex_);
    for (const auto& stream : streams_) {
      if (gone.Wants(stream->info_->name)) streams.push_back(stream);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + bound;
  for (const auto& stream : streams) {
    // seq_cst pairs with Publish's increment and list load: a publish that loaded the old
    // list counted itself before that load, so before the swap, so before this load.
    const std::uint64_t begun = stream->offers_begun_.load(std::memory_order_seq_cst);
    while (stream->offers_done_.load(std::memory_order_acquire) < begun &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  }
}

void StreamRouter::RebuildSubscriberLists() {
  for (auto& stream : streams_) {
    auto list = std::make_shared<StreamHandle::SubscriberList>();
    for (const auto& sub : subscriptions_) {
      if (sub->Wants(stream->info_->name)) list->push_back(sub);
    }
    stream->subscribers_.store(std::move(list));
  }
}

Result<DataPacket> StreamRouter::Publish(StreamHandle& stream,
                                         std::shared_ptr<arrow::RecordBatch> batch) {
  if (batch == nullptr) return Status::Invalid("stream '", stream.info_->name, "': null batch");
  if (batch->schema() != stream.info_->schema &&
      !batch->schema()->Equals(*stream.info_->schema, /*check_metadata=*/false)) {
    return Status::Invalid("stream '", stream.info_->name, "': batch schema ",
                           batch->schema()->ToString(), " differs from the stream's ",
                           stream.info_->schema->ToString());
  }
  // One producer per stream, so the exchange succeeds at once unless the stream was sealed
  // in between (the modification order of next_sequence_ decides: before or after the seal).
  std::uint64_t sequence = stream.next_sequence_.load(std::memory_order_relaxed);
  do {
    if ((sequence & StreamHandle::kSealed) != 0) {
      return Status::Cancelled("stream '", stream.info_->name,
                               "' is sealed: its acquisition has ended");
    }
  } while (!stream.next_sequence_.compare_exchange_weak(sequence, sequence + 1,
                                                          std::memory_order_relaxed));
  DataPacket packet{stream.info_, sequence, std::move(batch)};
  const auto rows = packet.batch->num_rows();
  stream.packets_.fetch_add(1, std::memory_order_relaxed);
  stream.rows_.fetch_add(static_cast<std::uint64_t>(rows), std::memory_order_relaxed);
  stream.bytes_.fetch_add(static_cast<std::uint64_t>(BufferBytes().Of(*packet.batch)),
                          std::memory_order_relaxed);
  if (rows > 0) {
    // Read from the ArrayData: column(0) would box an Array (an allocation) per batch.
    const std::int64_t* ts = packet.batch->column_data(0)->GetValues<std::int64_t>(1);
    if (packet.sequence == 0) {
      stream.first_ts_.store(ts[0], std::memory_order_relaxed);
    }
    stream.last_ts_.store(ts[rows - 1], std::memory_order_relaxed);
  }
  stream.offers_begun_.fetch_add(1, std::memory_order_seq_cst);
  auto subscribers = stream.subscribers_.load(std::memory_order_seq_cst);
  if (subscribers) {
    for (const auto& sub : *subscribers) sub->Offer(packet);
  }
  stream.offers_done_.fetch_add(1, std::memory_order_release);
  return packet;
}

Status StreamRouter::SealStreams(const std::vector<std::string>& names) {
  std::lock_guard lock(mutex_);
  std::vector<StreamHandle*> targets;
  for (const auto& name : names) {
    auto it = std::find_if(streams_.begin(), streams_.end(),
                           [&](const auto& s) { return s->info_->name == name; });
    if (it == streams_.end()) return Status::KeyError("no stream named '", name, "'");
    targets.push_back(it->get());
  }
  for (auto* stream : targets) {
    stream->next_sequence_.fetch_or(StreamHandle::kSealed, std::memory_order_relaxed);
  }
  return Status::OK();
}

std::vector<StreamStats> StreamRouter::Stats() const {
  std::lock_guard lock(mutex_);
  std::vector<StreamStats> out;
  out.reserve(streams_.size());
  for (const auto& s : streams_) {
    const std::uint64_t next = s->next_sequence_.load();
    out.push_back({s->info_->name, s->packets_.load(), s->rows_.load(), s->bytes_.load(),
                   next & ~StreamHandle::kSealed, (next & StreamHandle::kSealed) != 0,
                   s->first_ts_.load(), s->last_ts_.load()});
  }
  return out;
}

void StreamRouter::CloseAll() {
  std::lock_guard lock(mutex_);
  for (const auto& s : subscriptions_) s->Close();
}

}  // namespace arrowdaq::pipeline
