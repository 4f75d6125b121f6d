#include "arrowdaq/server/web_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include <arrow/array.h>
#include <arrow/record_batch.h>
#include <arrow/util/base64.h>
#include <arrow/util/key_value_metadata.h>

#include "arrowdaq/server/auth.h"
#include "arrowdaq/server/image_frame.h"
#include "arrowdaq/server/plot_window.h"
#include "arrowdaq/server/requests.h"
#include "arrowdaq/server/views.h"
#include "arrowdaq/server/web_requests.h"
#include "arrowdaq/telemetry/logging.h"

namespace arrowdaq::server {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string ErrorJson(const std::string& message) { return Dump(Json{{"error", message}}); }

int HttpCode(const Status& st) {
  if (st.IsInvalid()) return 400;
  if (st.IsKeyError()) return 404;
  if (st.IsAlreadyExists()) return 409;
  if (st.IsIOError()) return 503;
  return 500;
}

Json Numbers(const std::vector<double>& values) {
  Json out = Json::array();
  for (double v : values) out.push_back(std::isfinite(v) ? Json(v) : Json(nullptr));
  return out;
}

// What a points channel plots: y against x, per row of the stream.
struct PointsSpec {
  bool enabled = false;
  PlotChannel x, y;
};

// Points kept for one client at most before the oldest are dropped (counted).
constexpr std::size_t kMaxPendingPoints = 100000;

double ValueAt(const arrow::Array& a, std::int64_t i) {
  if (a.IsNull(i)) return std::nan("");
  switch (a.type_id()) {
    case arrow::Type::DOUBLE: return static_cast<const arrow::DoubleArray&>(a).Value(i);
    case arrow::Type::FLOAT: return static_cast<const arrow::FloatArray&>(a).Value(i);
    case arrow::Type::INT64:
      return static_cast<double>(static_cast<const arrow::Int64Array&>(a).Value(i));
    case arrow::Type::INT32: return static_cast<const arrow::Int32Array&>(a).Value(i);
    case arrow::Type::INT16: return static_cast<const arrow::Int16Array&>(a).Value(i);
    case arrow::Type::INT8: return static_cast<const arrow::Int8Array&>(a).Value(i);
    case arrow::Type::UINT64:
      return static_cast<double>(static_cast<const arrow::UInt64Array&>(a).Value(i));
    case arrow::Type::UINT32: return static_cast<const arrow::UInt32Array&>(a).Value(i);
    case arrow::Type::UINT16: return static_cast<const arrow::UInt16Array&>(a).Value(i);
    case arrow::Type::UINT8: return static_cast<const arrow::UInt8Array&>(a).Value(i);
    default: return std::nan("");
  }
}

// Append the (x, y) of every row of `batch` (columns found by name: a new scan may bring a new
// schema; a batch without them adds nothing).
void AddPoints(const PointsSpec& spec, const arrow::RecordBatch& batch, std::vector<double>& xs,
               std::vector<double>& ys, std::uint64_t& dropped) {
  const auto x = batch.GetColumnByName(spec.x.name);
  const auto y = batch.GetColumnByName(spec.y.name);
  if (!x || !y) return;
  for (std::int64_t i = 0; i < batch.num_rows(); ++i) {
    xs.push_back(ValueAt(*x, i));
    ys.push_back(ValueAt(*y, i));
  }
  if (xs.size() > kMaxPendingPoints) {
    const std::size_t extra = xs.size() - kMaxPendingPoints;
    xs.erase(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(extra));
    ys.erase(ys.begin(), ys.begin() + static_cast<std::ptrdiff_t>(extra));
    dropped += extra;
  }
}

// Headers every answer carries: nothing from another origin, no sniffing, no framing.
void SecurityHeaders(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                 "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-store");
}

// Most bytes read from one connection: the largest body plus its request line and headers. The
// HTTP library bounds each header line but not their number; this bounds the whole request.
constexpr std::size_t kMaxConnectionBytes = kMaxRequestBytes + (64 << 10);

// A socket as the HTTP library's Stream, which stops reading after kMaxConnectionBytes and waits
// at most the read or write timeout for the peer.
class BoundedSocketStream final : public httplib::Stream {
 public:
  BoundedSocketStream(int sock, int read_timeout_ms, int write_timeout_ms)
      : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

  bool is_readable() const override { return Poll(POLLIN, read_timeout_ms_); }
  bool is_writable() const override { return Poll(POLLOUT, write_timeout_ms_); }

  ssize_t read(char* ptr, std::size_t size) override {
    if (read_ >= kMaxConnectionBytes) return -1;
    if (!is_readable()) return -1;
    const ssize_t n = ::recv(sock_, ptr, std::min(size, kMaxConnectionBytes - read_), 0);
    if (n > 0) read_ += static_cast<std::size_t>(n);
    return n;
  }
  // Never blocks in send: what fits goes now; a peer that takes nothing for the whole write
  // timeout fails the write (and so its connection).
  ssize_t write(const char* ptr, std::size_t size) override {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(write_timeout_ms_);
    for (;;) {
      const ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return n;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !Poll(POLLOUT, static_cast<int>(left.count()))) return -1;
    }
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Address(::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Address(::getsockname, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  bool Poll(short events, int timeout_ms) const {
    pollfd p{sock_, events, 0};
    for (;;) {
      const int r = ::poll(&p, 1, timeout_ms);
      if (r < 0 && errno == EINTR) continue;
      return r > 0 && (p.revents & (events | POLLHUP)) != 0 && (p.revents & POLLNVAL) == 0;
    }
  }
  template <typename F>
  void Address(F get, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ip.clear();
    port = 0;
    if (get(sock_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char text[INET6_ADDRSTRLEN] = {};
    if (addr.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      port = ntohs(a->sin6_port);
    }
    ip = text;
  }

  const int sock_;
  const int read_timeout_ms_;
  const int write_timeout_ms_;
  std::size_t read_ = 0;
};

// The HTTP server with one request per connection read through a BoundedSocketStream.
class BoundedServer final : public httplib::Server {
 public:
  BoundedServer(int read_timeout_ms, int write_timeout_ms)
      : read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

 private:
  bool process_and_close_socket(socket_t sock) override {
    bool ok = false;
    {
      BoundedSocketStream stream(sock, read_timeout_ms_, write_timeout_ms_);
      bool closed = false;
      if (stream.is_readable()) {
        ok = process_request(stream, /*close_connection=*/true, closed, [](httplib::Request&) {});
      }
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }
  const int read_timeout_ms_;
  const int write_timeout_ms_;
};

}  // namespace

class WebServer::Impl {
 public:
  Impl(EnginePort& engine, WebOptions options, HttpListenPlan plan, std::string token)
      : engine_(engine), options_(std::move(options)), plan_(std::move(plan)),
        token_(std::move(token)), started_(Clock::now()),
        server_(5000, static_cast<int>(options_.write_timeout.count())) {}

  Status Bind() {
    const int threads = options_.max_live_clients + 8;
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(
        options_.write_timeout));
    server_.set_read_timeout(std::chrono::seconds(5));
    server_.set_keep_alive_max_count(100);
    server_.set_payload_max_length(kMaxRequestBytes);
    // SO_REUSEADDR only: the library's default adds SO_REUSEPORT, with which a second server
    // on the same port binds too and the kernel shares the connections between them.
    server_.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    Routes();
    int port = plan_.port;
    if (port == 0) {
      port = server_.bind_to_any_port(plan_.host);
    } else if (!server_.bind_to_port(plan_.host, port)) {
      port = -1;
    }
    if (port < 0) {
      return Status::IOError("dashboard: cannot listen on ", options_.listen,
                             " (address in use or not available)");
    }
    port_ = port;
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      std::lock_guard lock(listen_mutex_);
      listen_done_ = true;
      listen_cv_.notify_all();
    });
    return Status::OK();
  }

  bool required() const { return options_.required; }
  const std::string& listen() const { return options_.listen; }

  std::string Url() const {
    const bool v6 = plan_.host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + plan_.host + "]" : plan_.host) + ":" +
           std::to_string(port_) + "/";
  }

  void Shutdown() {
    if (stopping_.exchange(true)) return;
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, client] : clients_) {
        if (client.subscription) client.subscription->Close();
      }
    }
    // cpp-httplib 0.11's stop() acts only once the listen loop has set is_running(): a
    // Shutdown that comes before the loop thread got there (right after Start, e.g. when a
    // second server failed to bind and the program gives up) did nothing, and the thread then
    // blocked in accept() for ever, the join with it. So stop until the loop has returned
    // (stop() again after it acted closes nothing: the listening socket is already gone).
    if (thread_.joinable()) {
      std::unique_lock lock(listen_mutex_);
      while (!listen_done_) {
        lock.unlock();
        server_.stop();
        lock.lock();
        listen_cv_.wait_for(lock, std::chrono::milliseconds(10), [this] { return listen_done_; });
      }
      lock.unlock();
      thread_.join();
    }
  }

 private:
  struct LiveClient {
    std::uint64_t id = 0;
    std::string peer;
    std::string stream;
    std::shared_ptr<pipeline::LiveSubscription> subscription;
    std::uint64_t frames = 0;
  };

  bool Authorized(const httplib::Request& req) {
    if (token_.empty()) return true;
    if (req.has_header("Authorization") &&
        BearerMatches(req.get_header_value("Authorization"), token_)) {
      return true;
    }
    if (req.has_header("Cookie")) {
      if (auto v = CookieValue(req.get_header_value("Cookie"), kTokenCookie)) {
        return ConstantTimeEquals(token_, *v);
      }
    }
    return false;
  }

  // A POST from a page of another origin is refused (the cookie is SameSite=Strict too, and
  // the JSON content type makes browsers ask before sending one at all).
  static bool SameOrigin(const httplib::Request& req) {
    if (!req.has_header("Origin")) return true;
    return req.get_header_value("Origin") == "http://" + req.get_header_value("Host");
  }

  static void Json200(httplib::Response& res, const std::string& body) {
    res.status = 200;
    res.set_content(body, "application/json");
  }
  static void Fail(httplib::Response& res, int code, const std::string& message) {
    res.status = code;
    res.set_content(ErrorJson(message), "application/json");
  }

  // Wraps an /api handler: authentication, then the handler.
  template <typename F>
  auto Api(F handler) {
    return [this, handler](const httplib::Request& req, httplib::Response& res) {
      SecurityHeaders(res);
      if (!Authorized(req)) {
        unauthenticated_.fetch_add(1, std::memory_order_relaxed);
        return Fail(res, 401, "a token is required (POST /api/login, or Authorization: Bearer)");
      }
      calls_.fetch_add(1, std::memory_order_relaxed);
      handler(req, res);
    };
  }

  template <typename F>
  auto Post(F handler) {
    return Api([handler](const httplib::Request& req, httplib::Response& res) {
      if (!SameOrigin(req)) return Fail(res, 403, "cross-origin requests are refused");
      const auto type = req.get_header_value("Content-Type");
      if (type.rfind("application/json", 0) != 0) {
        return Fail(res, 415, "the body must be JSON (Content-Type: application/json)");
      }
      handler(req, res);
    });
  }

  ServerView View() {
    ServerView v;
    v.listen = Url();
    v.token_required = !token_.empty();
    v.uptime_s = std::chrono::duration<double>(Clock::now() - started_).count();
    v.calls = calls_.load(std::memory_order_relaxed);
    v.unauthenticated = unauthenticated_.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    for (const auto& [id, c] : clients_) {
      ClientView cv;
      cv.id = id;
      cv.peer = c.peer;
      cv.start = "live";
      if (!c.stream.empty()) cv.streams = {c.stream};
      if (c.subscription) cv.stats = c.subscription->Stats();
      v.clients.push_back(std::move(cv));
    }
    return v;
  }

  std::string StatusBody() {
    const EngineStatus status = engine_.GetStatus();
    Json j = Json::parse(StatusJson(View(), status));
    j["web"] = {{"live_clients", j["server"]["clients"]},
                {"dropped_clients", dropped_clients_.load(std::memory_order_relaxed)}};
    j["server"].erase("clients");
    return Dump(j);
  }

  void Routes() {
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.path.rfind("/api/", 0) == 0) return httplib::Server::HandlerResponse::Unhandled;
      SecurityHeaders(res);
      if (req.method != "GET" && req.method != "HEAD") {
        Fail(res, 405, "only GET serves the page's files");
        return httplib::Server::HandlerResponse::Handled;
      }
      const StaticAsset* asset = FindStaticAsset(req.path);
      if (asset == nullptr) {
        Fail(res, 404, "not found");
        return httplib::Server::HandlerResponse::Handled;
      }
      res.status = 200;
      res.set_content(std::string(asset->body), std::string(asset->content_type));
      return httplib::Server::HandlerResponse::Handled;
    });
    server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.has_header("Cache-Control")) SecurityHeaders(res);
      if (res.body.empty()) {
        res.set_content(ErrorJson(res.status == 404 ? "not found" : "bad request"),
                        "application/json");
      }
    });
    server_.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          Fail(res, 500, "internal error");
        });

    server_.Post("/api/login", [this](const httplib::Request& req, httplib::Response& res) {
      SecurityHeaders(res);
      if (!SameOrigin(req)) return Fail(res, 403, "cross-origin requests are refused");
      auto token = ParseLoginBody(req.body);
      if (!token.ok()) return Fail(res, 400, token.status().message());
      if (!token_.empty() && !ConstantTimeEquals(token_, *token)) {
        unauthenticated_.fetch_add(1, std::memory_order_relaxed);
        return Fail(res, 401, "wrong token");
      }
      if (!token_.empty()) {
        res.set_header("Set-Cookie", std::string(kTokenCookie) + "=" + *token +
                                         "; Path=/; HttpOnly; SameSite=Strict");
      }
      Json200(res, Dump(Json{{"ok", true}, {"token_required", !token_.empty()}}));
    });
    server_.Get("/api/status", Api([this](const httplib::Request&, httplib::Response& res) {
      Json200(res, StatusBody());
    }));
    server_.Get("/api/streams", Api([this](const httplib::Request&, httplib::Response& res) {
      Json list = Json::array();
      for (const auto& s : engine_.ListStreams()) list.push_back(Json::parse(StreamJson(s)));
      Json200(res, Dump(Json{{"streams", std::move(list)}}));
    }));
    server_.Get("/api/events", Api([this](const httplib::Request& req, httplib::Response& res) {
      std::size_t limit = 100;
      if (req.has_param("limit")) {
        const std::string body = "{\"limit\": " + Printable(req.get_param_value("limit"), 32) + "}";
        auto parsed = ParseAction("events", body);
        if (!parsed.ok()) return Fail(res, 400, "parameter 'limit': expected 1..10000");
        limit = std::get<EventsAction>(parsed->body).limit;
      }
      Json200(res, EventsJson(engine_.RecentEvents(limit)));
    }));
    server_.Get("/api/recordings", Api([this](const httplib::Request&, httplib::Response& res) {
      Json list = Json::array();
      for (const auto& r : engine_.GetStatus().recordings) {
        list.push_back(Json::parse(RecordingJson(r)));
      }
      Json200(res, Dump(Json{{"recordings", std::move(list)}}));
    }));
    server_.Post("/api/recordings", Post([this](const httplib::Request& req,
                                                httplib::Response& res) {
      auto request = ParseStartRecordingBody(req.body);
      if (!request.ok()) return Fail(res, 400, request.status().message());
      auto started = engine_.StartRecording(*request);
      if (!started.ok()) return Fail(res, HttpCode(started.status()), started.status().message());
      Json200(res, RecordingJson(*started));
    }));
    server_.Post("/api/recordings/stop", Post([this](const httplib::Request& req,
                                                     httplib::Response& res) {
      auto id = ParseStopRecordingBody(req.body);
      if (!id.ok()) return Fail(res, 400, id.status().message());
      auto stopped = engine_.StopRecording(*id);
      if (!stopped.ok()) return Fail(res, HttpCode(stopped.status()), stopped.status().message());
      Json200(res, RecordingJson(*stopped));
    }));
    server_.Get("/api/live", Api([this](const httplib::Request& req, httplib::Response& res) {
      Live(req, res);
    }));
  }

  void Live(const httplib::Request& req, httplib::Response& res) {
    auto request = ParseLiveQuery(req.params);
    if (!request.ok()) return Fail(res, 400, request.status().message());
    auto client = std::make_shared<LiveClient>();
    client->peer = req.remote_addr + ":" + std::to_string(req.remote_port);
    client->stream = request->stream;
    std::shared_ptr<PlotWindow> window;
    std::optional<ImageColumn> image;
    auto points = std::make_shared<PointsSpec>();
    if (!request->stream.empty()) {
      auto described = engine_.DescribeStream(request->stream);
      if (!described.ok()) return Fail(res, 404, described.status().message());
      if (!described->schema) return Fail(res, 404, "stream has no schema yet");
      const arrow::Schema& schema = *described->schema;
      if (!request->points.empty()) {
        // Points (x, y) of every row instead of a time plot: a scan's detector against its
        // motor ("auto": the first of nexus.axes, the first channel).
        std::vector<std::string> xy = request->points;
        if (xy.size() == 1) {
          std::string axes;
          if (schema.metadata()) {
            if (auto a = schema.metadata()->Get("nexus.axes"); a.ok()) axes = *a;
          }
          if (axes.empty() || schema.num_fields() < 2) {
            return Fail(res, 400, "parameter 'points': stream '" + request->stream +
                                      "' names no axes (nexus.axes); give 'X,Y'");
          }
          xy = {axes.substr(0, axes.find(',')), schema.field(1)->name()};
        }
        auto channels = PlotChannels(schema, xy);
        if (!channels.ok()) {
          return Fail(res, HttpCode(channels.status()), channels.status().message());
        }
        points->x = (*channels)[0];
        points->y = channels->size() > 1 ? (*channels)[1] : (*channels)[0];
        points->enabled = true;
      } else {
        auto found = FindImageColumn(schema);
        if (found.ok()) image = *found;  // an unsupported array type: no image, the rest shown
        auto channels = PlotChannels(schema, request->channels);
        if (!channels.ok()) {
          return Fail(res, HttpCode(channels.status()), channels.status().message());
        }
        if (!channels->empty() || !image) {
          window = std::make_shared<PlotWindow>(std::move(*channels), request->window,
                                                request->pixels);
        }
      }
      pipeline::LiveSubscriptionOptions so;
      so.streams = {request->stream};
      so.start.kind = pipeline::StartKind::kReplay;
      // Points: every row the ring still holds (a scan's points from its start).
      so.start.window = points->enabled ? std::chrono::nanoseconds(0) : request->window;
      so.capacity = options_.client_queue;
      so.capacity_bytes = options_.client_queue_bytes;
      so.client = "web " + client->peer;
      auto sub = engine_.Subscribe(std::move(so));
      if (!sub.ok()) return Fail(res, HttpCode(sub.status()), sub.status().message());
      client->subscription = *sub;
    }
    {
      std::lock_guard lock(mutex_);
      if (static_cast<int>(clients_.size()) >= options_.max_live_clients) {
        if (client->subscription) client->subscription->Close();
        return Fail(res, 503, "too many live channels open (" +
                                  std::to_string(options_.max_live_clients) + ")");
      }
      client->id = ++next_client_;
      clients_[client->id] = *client;
    }
    const auto status_period = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / options_.status_hz));
    const auto plot_period = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / request->plot_hz));
    const auto image_period = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / request->image_hz));
    struct State {
      Clock::time_point next_status{};
      Clock::time_point next_plot{};
      Clock::time_point next_image{};
      std::uint64_t dropped = 0;
      std::uint64_t sequence = 0;
      bool sent_hello = false;
      bool write_failed = false;
      // The newest frame of the image column (its batch, row and packet's sequence), until sent.
      std::shared_ptr<const arrow::RecordBatch> image_batch;
      std::uint64_t image_sequence = 0;
      // Points not sent yet, and how many were sent before them.
      std::vector<double> px, py;
      std::uint64_t points_sent = 0;
      std::uint64_t points_dropped = 0;
    };
    auto state = std::make_shared<State>();
    const std::string stream = request->stream;
    const std::uint64_t id = client->id;
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, id, window, image, points, state, stream, status_period, plot_period,
         image_period, max_w = request->image_width, max_h = request->image_height,
         sub = client->subscription](std::size_t, httplib::DataSink& sink) {
          if (stopping_.load()) return false;
          auto write = [&](std::string_view event, const std::string& data) {
            std::string frame = "event: ";
            frame.append(event).append("\ndata: ").append(data).append("\n\n");
            if (!sink.write(frame.data(), frame.size())) {
              state->write_failed = true;  // counted once the client is gone (the releaser)
              return false;
            }
            return true;
          };
          if (!state->sent_hello) {
            state->sent_hello = true;
            Json hello = {{"client", id}, {"stream", stream}};
            if (window) {
              Json channels = Json::array();
              for (const auto& c : window->channels()) {
                channels.push_back({{"name", c.name}, {"unit", c.unit}});
              }
              hello["channels"] = std::move(channels);
            }
            if (image) {
              hello["image"] = {{"column", image->name}, {"unit", image->unit},
                                {"height", image->height}, {"width", image->width},
                                {"dtype", image->value_type->ToString()}};
            }
            if (points->enabled) {
              hello["points"] = {{"x", points->x.name}, {"x_unit", points->x.unit},
                                 {"y", points->y.name}, {"y_unit", points->y.unit}};
            }
            if (!write("hello", Dump(hello))) return false;
          }
          const auto now = Clock::now();
          // Wait for the next frame due (a plot, points or an image only when there is one).
          auto until = state->next_status;
          if ((window && !window->empty()) || !state->px.empty()) {
            until = std::min(until, state->next_plot);
          }
          if (state->image_batch) until = std::min(until, state->next_image);
          // Gather packets until the next frame is due (at most 50 ms of waiting per call, so
          // a shutdown is seen quickly).
          const auto deadline = std::max(now, std::min(until, now + std::chrono::milliseconds(50)));
          auto take = [&](const pipeline::LiveDelivery& d) {
            const arrow::RecordBatch& batch = *d.packet.batch;
            if (window) window->Add(batch);
            if (image && batch.num_rows() > 0) {
              state->image_batch = d.packet.batch;
              state->image_sequence = d.packet.sequence;
            }
            if (points->enabled) AddPoints(*points, batch, state->px, state->py,
                                           state->points_dropped);
            state->dropped = d.dropped;
            state->sequence = d.packet.sequence;
          };
          if (sub) {
            auto first = sub->Next(deadline);
            if (first) {
              take(*first);
              // Take what is already queued without waiting.
              for (int i = 0; i < 10000; ++i) {
                auto more = sub->Next(Clock::now());
                if (!more) break;
                take(*more);
              }
            } else if (sub->closed()) {
              return false;
            }
          } else {
            std::this_thread::sleep_until(deadline);
          }
          if (stopping_.load()) return false;
          const auto t = Clock::now();
          if (t >= state->next_status) {
            state->next_status = t + status_period;
            Json status = Json::parse(StatusBody());
            status["events"] = Json::parse(EventsJson(engine_.RecentEvents(50)))["events"];
            if (!write("status", Dump(status))) return false;
          }
          if (state->image_batch && t >= state->next_image) {
            state->next_image = t + image_period;
            const auto batch = std::move(state->image_batch);
            state->image_batch = nullptr;
            const std::int64_t row = batch->num_rows() - 1;
            auto reduced = ReduceImage(*batch->column(image->column), row, *image, max_w, max_h);
            if (reduced.ok()) {
              std::int64_t t_ns = 0;
              if (batch->column(0)->type_id() == arrow::Type::TIMESTAMP) {
                t_ns = static_cast<const arrow::TimestampArray&>(*batch->column(0)).Value(row);
              }
              const auto finite = [](double v) { return std::isfinite(v) ? Json(v) : Json(); };
              Json frame = {{"stream", stream},
                            {"column", image->name},
                            {"unit", image->unit},
                            {"sequence", state->image_sequence},
                            {"row", row},
                            {"t_ns", std::to_string(t_ns)},
                            {"height", image->height},
                            {"width", image->width},
                            {"block", reduced->block},
                            {"rows", reduced->rows},
                            {"cols", reduced->cols},
                            {"dtype", reduced->dtype},
                            {"min", finite(reduced->min)},
                            {"max", finite(reduced->max)},
                            {"dropped", state->dropped},
                            {"sent_ms", std::chrono::duration<double, std::milli>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()},
                            {"data", arrow::util::base64_encode(reduced->data)}};
              if (!write("image", Dump(frame))) return false;
            }
          }
          if (points->enabled && !state->px.empty() && t >= state->next_plot) {
            state->next_plot = t + plot_period;
            Json frame = {{"stream", stream},
                          {"first", state->points_sent + state->points_dropped},
                          {"dropped_points", state->points_dropped},
                          {"sequence", state->sequence},
                          {"dropped", state->dropped},
                          {"x", Numbers(state->px)},
                          {"y", Numbers(state->py)}};
            state->points_sent += state->px.size();
            state->px.clear();
            state->py.clear();
            if (!write("points", Dump(frame))) return false;
          }
          if (window && t >= state->next_plot && !window->empty()) {
            state->next_plot = t + plot_period;
            const PlotFrame f = window->Frame();
            Json mins = Json::array();
            Json maxs = Json::array();
            for (std::size_t c = 0; c < f.min.size(); ++c) {
              mins.push_back(Numbers(f.min[c]));
              maxs.push_back(Numbers(f.max[c]));
            }
            Json frame = {{"stream", stream},
                          {"t0_ns", std::to_string(f.t0_ns)},
                          {"dt_ns", f.dt_ns},
                          {"pixels", f.pixels},
                          {"last_ns", std::to_string(f.last_ns)},
                          {"samples", f.samples},
                          {"sequence", state->sequence},
                          {"dropped", state->dropped},
                          {"sent_ms", std::chrono::duration<double, std::milli>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()},
                          {"min", std::move(mins)},
                          {"max", std::move(maxs)}};
            if (!write("plot", Dump(frame))) return false;
            std::lock_guard lock(mutex_);
            if (auto it = clients_.find(id); it != clients_.end()) ++it->second.frames;
          }
          return true;
        },
        [this, id, state, sub = client->subscription](bool) {
          if (sub) sub->Close();
          std::lock_guard lock(mutex_);
          clients_.erase(id);
          if (state->write_failed) dropped_clients_.fetch_add(1, std::memory_order_relaxed);
        });
  }

  EnginePort& engine_;
  const WebOptions options_;
  const HttpListenPlan plan_;
  const std::string token_;
  const Clock::time_point started_;
  BoundedServer server_;
  std::thread thread_;
  std::mutex listen_mutex_;
  std::condition_variable listen_cv_;
  bool listen_done_ = false;  // guarded by listen_mutex_: the listen loop has returned
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> unauthenticated_{0};
  std::atomic<std::uint64_t> dropped_clients_{0};
  std::mutex mutex_;
  std::map<std::uint64_t, LiveClient> clients_;  // guarded by mutex_
  std::uint64_t next_client_ = 0;                // guarded by mutex_
};

Status WebServer::CheckOptions(const WebOptions& options) {
  std::string token;
  if (!options.token_file.empty()) {
    ARROW_ASSIGN_OR_RAISE(token, ReadTokenFile(options.token_file));
  }
  return PlanHttpListen(options.listen, !token.empty()).status();
}

Result<std::unique_ptr<WebServer>> WebServer::Start(EnginePort& engine, WebOptions options) {
  std::string token;
  if (!options.token_file.empty()) {
    ARROW_ASSIGN_OR_RAISE(token, ReadTokenFile(options.token_file));
  }
  ARROW_ASSIGN_OR_RAISE(auto plan, PlanHttpListen(options.listen, !token.empty()));
  if (!plan.enabled) return std::unique_ptr<WebServer>();
  auto impl = std::make_unique<Impl>(engine, std::move(options), std::move(plan),
                                     std::move(token));
  const bool required = impl->required();
  const std::string listen = impl->listen();
  if (Status st = impl->Bind(); !st.ok()) {
    if (required) return st;
    telemetry::GetLogger("web")->warn(
        "no dashboard: {} (the default address; set [server] http_listen or --http-listen)",
        st.message());
    return std::unique_ptr<WebServer>();
  }
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebServer::~WebServer() { Shutdown(); }
std::string WebServer::url() const { return impl_->Url(); }
void WebServer::Shutdown() { impl_->Shutdown(); }

}  // namespace arrowdaq::server
