#include "arrowdaq/pipeline/live_feed.h"

#include <algorithm>

#include <arrow/util/byte_size.h>

namespace arrowdaq::pipeline {

// ---------------------------------------------------------------------------------------------
// LiveSubscription

LiveSubscription::LiveSubscription(std::uint64_t id, LiveSubscriptionOptions options)
    : id_(id), options_(std::move(options)), capacity_(std::max<std::size_t>(1, options_.capacity)) {}

bool LiveSubscription::Wants(const std::string& stream) const {
  return std::find(options_.streams.begin(), options_.streams.end(), stream) !=
         options_.streams.end();
}

void LiveSubscription::Prime(const std::string& stream, std::vector<DataPacket> backlog,
                             std::uint64_t first) {
  std::lock_guard lock(mutex_);
  StreamState& state = streams_[stream];
  std::uint64_t cursor = first;
  for (auto& packet : backlog) {
    // A gap inside the ring: packets the feed itself lost.
    if (packet.sequence > cursor) state.lost_upstream += packet.sequence - cursor;
    cursor = packet.sequence + 1;
    backlog_.push_back({std::move(packet), state.lost_upstream});
  }
  // Live packets start here; a later first live packet counts the difference as lost.
  state.expected = cursor;
}

void LiveSubscription::Push(const DataPacket& packet, std::int64_t bytes) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    auto it = streams_.find(packet.stream_name());
    if (it == streams_.end()) return;
    StreamState& state = it->second;
    // Already in the backlog, or before a `since` start still to come.
    if (packet.sequence < state.expected) return;
    state.lost_upstream += packet.sequence - state.expected;
    state.expected = packet.sequence + 1;
    while (!live_.empty() &&
           (live_.size() >= capacity_ || live_bytes_ + bytes > options_.capacity_bytes)) {
      ++streams_[live_.front().packet.stream_name()].evicted;
      live_bytes_ -= live_.front().bytes;
      live_.pop_front();
    }
    live_.push_back({packet, state.lost_upstream, bytes});
    live_bytes_ += bytes;
  }
  ready_.notify_one();
}

std::optional<LiveDelivery> LiveSubscription::Next(
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock lock(mutex_);
  auto ready = [this] { return closed_ || !backlog_.empty() || !live_.empty(); };
  if (deadline) {
    if (!ready_.wait_until(lock, *deadline, ready)) return std::nullopt;
  } else {
    ready_.wait(lock, ready);
  }
  if (closed_) return std::nullopt;
  auto& queue = backlog_.empty() ? live_ : backlog_;
  Entry entry = std::move(queue.front());
  queue.pop_front();
  live_bytes_ -= entry.bytes;  // 0 for backlog entries
  StreamState& state = streams_[entry.packet.stream_name()];
  ++state.delivered;
  // Every packet of this stream evicted so far was older than this one (FIFO), so the count
  // is exact at this point.
  return LiveDelivery{std::move(entry.packet), state.evicted + entry.lost_upstream_before};
}

void LiveSubscription::Close() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
    backlog_.clear();
    live_.clear();
    live_bytes_ = 0;
  }
  ready_.notify_all();
}

bool LiveSubscription::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::map<std::string, LiveStreamStats> LiveSubscription::Stats() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, LiveStreamStats> out;
  for (const auto& [name, s] : streams_) {
    auto& o = out[name];
    o.delivered = s.delivered;
    o.dropped = s.evicted + s.lost_upstream;
    o.next_sequence = s.expected;
  }
  for (const auto* queue : {&backlog_, &live_}) {
    for (const auto& e : *queue) ++out[e.packet.stream_name()].queued;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// LiveFeed

LiveFeed::LiveFeed(StreamRouter& router, LiveFeedOptions options)
    : router_(router), options_(std::move(options)) {}

Result<std::unique_ptr<LiveFeed>> LiveFeed::Make(StreamRouter& router, LiveFeedOptions options) {
  std::unique_ptr<LiveFeed> feed(new LiveFeed(router, std::move(options)));
  ARROW_ASSIGN_OR_RAISE(feed->input_,
                        router.Subscribe({.name = feed->options_.subscription_name,
                                          .streams = {"*"},
                                          .capacity = feed->options_.feed_capacity,
                                          .policy = OverflowPolicy::kDropOldest}));
  feed->thread_ = std::thread([f = feed.get()] { f->Run(); });
  return feed;
}

LiveFeed::~LiveFeed() { Stop(); }

void LiveFeed::Stop() {
  if (input_) {
    // The router may have closed it already (shutdown); either way the thread drains and ends.
    (void)router_.Unsubscribe(options_.subscription_name);
    input_->Close();
  }
  if (thread_.joinable()) thread_.join();
  std::vector<std::shared_ptr<LiveSubscription>> clients;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    clients.swap(clients_);
  }
  handled_.notify_all();
  for (auto& c : clients) c->Close();
}

void LiveFeed::Run() {
  while (auto packet = input_->Next()) {
    {
      std::lock_guard lock(mutex_);
      Handle(*packet);
    }
    handled_.notify_all();
  }
}

void LiveFeed::Handle(const DataPacket& packet) {
  const std::string& name = packet.stream_name();
  auto [it, inserted] = streams_.try_emplace(name, StreamState{nullptr, ReplayRing(options_.ring)});
  StreamState& state = it->second;
  if (state.info != nullptr && state.info != packet.stream) {
    // The stream was removed and added again: its sequence numbers start over. Clients of the
    // old one end (they could not tell the two apart); the ring starts empty.
    state.ring.Clear();
    state.next_sequence = 0;
    state.lost = 0;
    for (auto& c : clients_) {
      if (c->Wants(name)) c->Close();
    }
  }
  state.info = packet.stream;
  if (packet.sequence < state.next_sequence) return;  // cannot happen with one producer
  state.lost += packet.sequence - state.next_sequence;
  state.next_sequence = packet.sequence + 1;
  state.ring.Append(packet);
  std::erase_if(clients_, [](const auto& c) { return c->closed(); });
  const std::int64_t bytes = arrow::util::TotalBufferSize(*packet.batch);
  for (auto& c : clients_) {
    if (c->Wants(name)) c->Push(packet, bytes);
  }
}

Result<std::shared_ptr<LiveSubscription>> LiveFeed::Subscribe(LiveSubscriptionOptions options) {
  if (options.streams.empty()) return Status::Invalid("a live subscription needs a stream");
  // What the router knows (outside our lock): each stream's current incarnation and how many
  // packets it has published.
  std::map<std::string, std::pair<std::shared_ptr<const StreamInfo>, std::uint64_t>> known;
  for (const auto& name : options.streams) {
    if (known.count(name)) return Status::Invalid("stream '", name, "' named twice");
    ARROW_ASSIGN_OR_RAISE(auto info, router_.FindStream(name));
    known[name] = {std::move(info), 0};
  }
  for (const auto& s : router_.Stats()) {
    if (auto it = known.find(s.name); it != known.end()) it->second.second = s.packets;
  }

  std::lock_guard lock(mutex_);
  if (stopped_) return Status::Invalid("the live feed is stopped");
  auto sub = std::make_shared<LiveSubscription>(next_client_id_++, options);
  const StartPosition& start = options.start;
  for (const auto& name : options.streams) {
    const auto& [info, published] = known[name];
    const StreamState* state = nullptr;
    if (auto it = streams_.find(name); it != streams_.end() && it->second.info == info) {
      state = &it->second;
    }
    const std::uint64_t next = state ? state->next_sequence : 0;
    std::vector<DataPacket> backlog;
    std::uint64_t first = next;
    switch (start.kind) {
      case StartKind::kLive:
        break;
      case StartKind::kReplay:
        if (state) backlog = state->ring.LastWindow(start.window);
        if (!backlog.empty()) first = backlog.front().sequence;
        break;
      case StartKind::kSince: {
        const std::uint64_t s = start.sequence;
        const bool in_ring = state && !state->ring.empty() && s >= state->ring.first_sequence();
        if (s < next && !in_ring) {
          std::string held = (state && !state->ring.empty())
                                 ? std::to_string(state->ring.first_sequence()) + ".." +
                                       std::to_string(state->ring.last_sequence())
                                 : std::string("nothing");
          return Status::Invalid("stream '", name, "': sequence ", s,
                                 " is no longer in the replay ring (it holds ", held,
                                 "; next sequence ", next, ")");
        }
        if (s > std::max(next, published)) {
          return Status::Invalid("stream '", name, "': sequence ", s,
                                 " is not published yet (next sequence ",
                                 std::max(next, published), ")");
        }
        if (s < next) backlog = state->ring.Since(s);
        first = s;
        break;
      }
    }
    sub->Prime(name, std::move(backlog), first);
  }
  clients_.push_back(sub);
  return sub;
}

std::vector<FeedStreamStats> LiveFeed::Stats() const {
  std::lock_guard lock(mutex_);
  std::vector<FeedStreamStats> out;
  for (const auto& [name, s] : streams_) {
    out.push_back({name, s.ring.size(), s.ring.bytes(), s.ring.first_sequence(),
                   s.ring.last_sequence(), s.next_sequence, s.lost});
  }
  return out;
}

std::vector<std::shared_ptr<LiveSubscription>> LiveFeed::Clients() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<LiveSubscription>> out;
  for (const auto& c : clients_) {
    if (!c->closed()) out.push_back(c);
  }
  return out;
}

void LiveFeed::Sync() {
  // The newest packet of a stream always reaches the feed (its queue drops the oldest), so the
  // feed has handled everything published so far once it expects each stream's next packet
  // (of the stream's current incarnation).
  struct Published {
    std::shared_ptr<const StreamInfo> info;
    std::uint64_t packets;
  };
  std::map<std::string, Published> published;
  for (const auto& s : router_.Stats()) {
    if (s.packets == 0) continue;
    if (auto info = router_.FindStream(s.name); info.ok()) {
      published[s.name] = {*std::move(info), s.packets};
    }
  }
  std::unique_lock lock(mutex_);
  handled_.wait(lock, [&] {
    if (stopped_) return true;
    for (const auto& [name, p] : published) {
      auto it = streams_.find(name);
      if (it == streams_.end() || it->second.info != p.info ||
          it->second.next_sequence < p.packets) {
        return false;
      }
    }
    return true;
  });
}

}  // namespace arrowdaq::pipeline
