#include "arrowdaq/server/flight_server.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <arrow/buffer.h>
#include <arrow/flight/api.h>
#include <arrow/ipc/dictionary.h>
#include <arrow/ipc/writer.h>

#include "arrowdaq/server/auth.h"
#include "arrowdaq/server/requests.h"
#include "arrowdaq/server/views.h"

namespace arrowdaq::server {

namespace fl = arrow::flight;
using Clock = std::chrono::steady_clock;

namespace {

// How often a live stream with nothing to send checks for a cancelled call or a shutdown.
constexpr auto kIdlePoll = std::chrono::milliseconds(100);
// How long Shutdown lets calls finish before gRPC cancels them (clients that stopped reading).
constexpr auto kShutdownGrace = std::chrono::seconds(2);

// Our Status codes as the client should see them (see engine_port.h).
Status ToFlight(const Status& st) {
  if (st.ok() || st.IsInvalid() || st.IsKeyError() || st.IsAlreadyExists() ||
      st.IsNotImplemented() || st.IsCancelled()) {
    return st;
  }
  if (fl::FlightStatusDetail::UnwrapStatus(st)) return st;
  if (st.IsIOError()) return fl::MakeFlightError(fl::FlightStatusCode::Unavailable, st.message());
  return fl::MakeFlightError(fl::FlightStatusCode::Internal, st.ToString());
}

Result<std::string> ReadPemFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid(what, " '", path, "': cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return Status::Invalid(what, " '", path, "': not a PEM file (no -----BEGIN line)");
  }
  return pem;
}

std::shared_ptr<arrow::Buffer> JsonBuffer(std::string json) {
  return arrow::Buffer::FromString(std::move(json));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The service

class FlightServer::Service : public fl::FlightServerBase {
 public:
  Service(EnginePort& engine, ServerOptions options)
      : engine_(engine), options_(std::move(options)), started_(Clock::now()) {}

  Status Init(const ListenPlan& plan, std::optional<std::string> token,
              std::vector<fl::CertKeyPair> certificates);

  // Flight RPCs.
  Status ListFlights(const fl::ServerCallContext& context, const fl::Criteria* criteria,
                     std::unique_ptr<fl::FlightListing>* listings) override;
  Status GetFlightInfo(const fl::ServerCallContext& context, const fl::FlightDescriptor& request,
                       std::unique_ptr<fl::FlightInfo>* info) override;
  Status GetSchema(const fl::ServerCallContext& context, const fl::FlightDescriptor& request,
                   std::unique_ptr<fl::SchemaResult>* schema) override;
  Status DoGet(const fl::ServerCallContext& context, const fl::Ticket& request,
               std::unique_ptr<fl::FlightDataStream>* stream) override;
  Status DoAction(const fl::ServerCallContext& context, const fl::Action& action,
                  std::unique_ptr<fl::ResultStream>* result) override;
  Status ListActions(const fl::ServerCallContext& context,
                     std::vector<fl::ActionType>* actions) override;
  Status DoPut(const fl::ServerCallContext&, std::unique_ptr<fl::FlightMessageReader>,
               std::unique_ptr<fl::FlightMetadataWriter>) override {
    return Status::NotImplemented("DoPut: arrowdaq serves its streams; it takes no uploads");
  }
  Status DoExchange(const fl::ServerCallContext&, std::unique_ptr<fl::FlightMessageReader>,
                    std::unique_ptr<fl::FlightMessageWriter>) override {
    return Status::NotImplemented("DoExchange: arrowdaq serves its streams; it takes no uploads");
  }

  void Stop();
  void WaitStopped();
  std::string uri() const { return uri_; }

  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  void EndClient(std::uint64_t id);

 private:
  class LiveStream;
  struct Client {
    std::shared_ptr<pipeline::LiveSubscription> subscription;
    std::string peer;
    std::string start;
  };

  Result<std::unique_ptr<fl::FlightInfo>> MakeInfo(const StreamDescription& stream,
                                                   const fl::FlightDescriptor& descriptor,
                                                   const std::string& ticket);
  Result<StreamDescription> DescribePath(const fl::FlightDescriptor& request);
  Result<std::string> RunAction(const ActionRequest& request);
  ServerView View();

  EnginePort& engine_;
  const ServerOptions options_;
  const Clock::time_point started_;
  std::string uri_;
  bool tls_ = false;
  bool token_required_ = false;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> unauthenticated_{0};
  std::atomic<bool> stopping_{false};

  std::mutex clients_mutex_;  // guards clients_, ended_
  std::map<std::uint64_t, Client> clients_;
  std::deque<ClientView> ended_;

  std::mutex stop_mutex_;  // guards stop_state_
  std::condition_variable stopped_;
  enum class StopState { kRunning, kStopping, kStopped } stop_state_ = StopState::kRunning;
};

namespace {

// The bearer-token check (or, without a token, just the call counter), before every handler.
class AuthFactory : public fl::ServerMiddlewareFactory {
 public:
  AuthFactory(std::atomic<std::uint64_t>* calls, std::atomic<std::uint64_t>* refused,
              std::optional<std::string> token)
      : calls_(calls), refused_(refused), token_(std::move(token)) {}

  Status StartCall(const fl::CallInfo&, const fl::ServerCallContext& context,
                   std::shared_ptr<fl::ServerMiddleware>*) override {
    if (token_) {
      const auto& headers = context.incoming_headers();
      bool ok = false;
      auto [begin, end] = headers.equal_range("authorization");
      for (auto it = begin; it != end && !ok; ++it) ok = BearerMatches(it->second, *token_);
      if (!ok) {
        refused_->fetch_add(1, std::memory_order_relaxed);
        return fl::MakeFlightError(fl::FlightStatusCode::Unauthenticated,
                                   "this server needs 'authorization: Bearer <token>' (the "
                                   "token in the server's token file); missing or wrong");
      }
    }
    calls_->fetch_add(1, std::memory_order_relaxed);
    return Status::OK();
  }

 private:
  std::atomic<std::uint64_t>* const calls_;
  std::atomic<std::uint64_t>* const refused_;
  const std::optional<std::string> token_;
};

}  // namespace

// One DoGet: packets of a LiveSubscription as IPC payloads, each with its app_metadata.
class FlightServer::Service::LiveStream : public fl::FlightDataStream {
 public:
  LiveStream(Service* service, std::uint64_t id,
             std::shared_ptr<pipeline::LiveSubscription> subscription,
             std::shared_ptr<arrow::Schema> schema, const fl::ServerCallContext* context)
      : service_(service),
        id_(id),
        subscription_(std::move(subscription)),
        schema_(std::move(schema)),
        context_(context) {}

  ~LiveStream() override { service_->EndClient(id_); }

  std::shared_ptr<arrow::Schema> schema() override { return schema_; }

  arrow::Result<fl::FlightPayload> GetSchemaPayload() override {
    fl::FlightPayload payload;
    arrow::ipc::DictionaryFieldMapper mapper(*schema_);
    ARROW_RETURN_NOT_OK(
        arrow::ipc::GetSchemaPayload(*schema_, options_, mapper, &payload.ipc_message));
    return payload;
  }

  arrow::Result<fl::FlightPayload> Next() override {
    // The call context lives as long as the DoGet, which outlives this stream's use.
    while (!service_->stopping() && !context_->is_cancelled()) {
      auto delivery = subscription_->Next(Clock::now() + kIdlePoll);
      if (delivery) {
        fl::FlightPayload payload;
        ARROW_RETURN_NOT_OK(arrow::ipc::GetRecordBatchPayload(*delivery->packet.batch,
                                                              options_, &payload.ipc_message));
        payload.app_metadata = JsonBuffer(BatchMetadataJson(
            delivery->packet.stream_name(), delivery->packet.sequence, delivery->dropped));
        return payload;
      }
      if (subscription_->closed()) break;
    }
    return fl::FlightPayload{};  // no IPC message: the end of the stream
  }

 private:
  Service* const service_;
  const std::uint64_t id_;
  const std::shared_ptr<pipeline::LiveSubscription> subscription_;
  const std::shared_ptr<arrow::Schema> schema_;
  const fl::ServerCallContext* const context_;
  const arrow::ipc::IpcWriteOptions options_ = arrow::ipc::IpcWriteOptions::Defaults();
};

Status FlightServer::Service::Init(const ListenPlan& plan, std::optional<std::string> token,
                                   std::vector<fl::CertKeyPair> certificates) {
  Result<fl::Location> location;
  const std::string host =
      plan.host.find(':') != std::string::npos ? "[" + plan.host + "]" : plan.host;
  if (plan.scheme == "grpc+unix") {
    location = fl::Location::ForGrpcUnix(plan.path);
  } else if (plan.scheme == "grpc+tls") {
    location = fl::Location::ForGrpcTls(host, plan.port);
  } else {
    location = fl::Location::ForGrpcTcp(host, plan.port);
  }
  ARROW_RETURN_NOT_OK(location.status());
  fl::FlightServerOptions flight_options(*location);
  flight_options.tls_certificates = std::move(certificates);
  tls_ = !flight_options.tls_certificates.empty();
  token_required_ = token.has_value();
  flight_options.middleware.emplace_back(
      "arrowdaq.auth",
      std::make_shared<AuthFactory>(&calls_, &unauthenticated_, std::move(token)));
  Status st = FlightServerBase::Init(flight_options);
  if (!st.ok()) {
    return Status::IOError("cannot listen on ", location->ToString(), ": ", st.message());
  }
  if (plan.scheme == "grpc+unix") {
    uri_ = "grpc+unix://" + plan.path;
  } else {
    uri_ = plan.scheme + "://" + host + ":" + std::to_string(port());
  }
  return Status::OK();
}

Result<std::unique_ptr<fl::FlightInfo>> FlightServer::Service::MakeInfo(
    const StreamDescription& stream, const fl::FlightDescriptor& descriptor,
    const std::string& ticket) {
  fl::FlightEndpoint endpoint;
  endpoint.ticket.ticket = ticket;
  ARROW_ASSIGN_OR_RAISE(auto info,
                        fl::FlightInfo::Make(*stream.schema, descriptor, {endpoint},
                                             /*total_records=*/-1, /*total_bytes=*/-1,
                                             /*ordered=*/true, StreamJson(stream)));
  return std::make_unique<fl::FlightInfo>(std::move(info));
}

Status FlightServer::Service::ListFlights(const fl::ServerCallContext&, const fl::Criteria*,
                                          std::unique_ptr<fl::FlightListing>* listings) {
  try {
    std::vector<fl::FlightInfo> flights;
    for (const auto& s : engine_.ListStreams()) {
      ARROW_ASSIGN_OR_RAISE(auto info,
                            MakeInfo(s, fl::FlightDescriptor::Path({s.name}), LiveTicket(s.name)));
      flights.push_back(std::move(*info));
    }
    *listings = std::make_unique<fl::SimpleFlightListing>(std::move(flights));
    return Status::OK();
  } catch (const std::exception& e) {
    return fl::MakeFlightError(fl::FlightStatusCode::Internal, e.what());
  }
}

Result<StreamDescription> FlightServer::Service::DescribePath(
    const fl::FlightDescriptor& request) {
  if (request.type == fl::FlightDescriptor::PATH) {
    if (request.path.size() != 1) {
      return Status::Invalid("descriptor: a path of one stream name, got ", request.path.size(),
                             " elements");
    }
    return engine_.DescribeStream(request.path[0]);
  }
  if (request.type == fl::FlightDescriptor::CMD) {
    ARROW_ASSIGN_OR_RAISE(auto ticket, ParseTicket(request.cmd, options_.max_client_queue));
    return engine_.DescribeStream(ticket.streams.at(0));
  }
  return Status::Invalid("descriptor: expected a path [\"stream\"] or a ticket as command");
}

Status FlightServer::Service::GetFlightInfo(const fl::ServerCallContext&,
                                            const fl::FlightDescriptor& request,
                                            std::unique_ptr<fl::FlightInfo>* info) {
  try {
    auto stream = DescribePath(request);
    if (!stream.ok()) return ToFlight(stream.status());
    const std::string ticket =
        request.type == fl::FlightDescriptor::CMD ? request.cmd : LiveTicket(stream->name);
    auto made = MakeInfo(*stream, request, ticket);
    if (!made.ok()) return ToFlight(made.status());
    *info = std::move(made).ValueUnsafe();
    return Status::OK();
  } catch (const std::exception& e) {
    return fl::MakeFlightError(fl::FlightStatusCode::Internal, e.what());
  }
}

Status FlightServer::Service::GetSchema(const fl::ServerCallContext&,
                                        const fl::FlightDescriptor& request,
                                        std::unique_ptr<fl::SchemaResult>* schema) {
  try {
    auto stream = DescribePath(request);
    if (!stream.ok()) return ToFlight(stream.status());
    ARROW_ASSIGN_OR_RAISE(auto result, fl::SchemaResult::Make(*stream->schema));
    *schema = std::move(result);
    return Status::OK();
  } catch (const std::exception& e) {
    return fl::MakeFlightError(fl::FlightStatusCode::Internal, e.what());
  }
}

Status FlightServer::Service::DoGet(const fl::ServerCallContext& context,
                                    const fl::Ticket& request,
                                    std::unique_ptr<fl::FlightDataStream>* stream) {
  try {
    if (stopping()) return fl::MakeFlightError(fl::FlightStatusCode::Unavailable, "shutting down");
    auto ticket = ParseTicket(request.ticket, options_.max_client_queue);
    if (!ticket.ok()) return ticket.status();
    // One IPC stream has one schema: several streams must share theirs.
    std::shared_ptr<arrow::Schema> schema;
    for (const auto& name : ticket->streams) {
      auto d = engine_.DescribeStream(name);
      if (!d.ok()) return ToFlight(d.status());
      if (schema == nullptr) {
        schema = d->schema;
      } else if (!schema->Equals(*d->schema, /*check_metadata=*/false)) {
        return Status::Invalid("ticket: field 'streams': '", name, "' has another schema than '",
                               ticket->streams[0], "' (one DoGet carries one schema)");
      }
    }
    auto subscription = engine_.Subscribe(
        {.streams = ticket->streams,
         .start = ticket->start,
         .capacity = ticket->queue.value_or(options_.client_queue),
         .capacity_bytes = options_.client_queue_bytes,
         .client = context.peer()});
    if (!subscription.ok()) return ToFlight(subscription.status());
    auto sub = *std::move(subscription);
    {
      std::lock_guard lock(clients_mutex_);
      clients_[sub->id()] = {sub, context.peer(), std::string(ToString(ticket->start.kind))};
    }
    // A shutdown that began meanwhile must not miss this client.
    if (stopping()) sub->Close();
    *stream = std::make_unique<LiveStream>(this, sub->id(), sub, schema, &context);
    return Status::OK();
  } catch (const std::exception& e) {
    return fl::MakeFlightError(fl::FlightStatusCode::Internal, e.what());
  }
}

void FlightServer::Service::EndClient(std::uint64_t id) {
  std::lock_guard lock(clients_mutex_);
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  auto& c = it->second;
  c.subscription->Close();
  ClientView view{id, c.peer, c.subscription->options().streams, c.start, false,
                  c.subscription->Stats()};
  ended_.push_back(std::move(view));
  while (ended_.size() > options_.ended_clients_kept) ended_.pop_front();
  clients_.erase(it);
}

ServerView FlightServer::Service::View() {
  ServerView v;
  v.listen = uri_;
  v.tls = tls_;
  v.token_required = token_required_;
  v.uptime_s = std::chrono::duration<double>(Clock::now() - started_).count();
  v.calls = calls_.load(std::memory_order_relaxed);
  v.unauthenticated = unauthenticated_.load(std::memory_order_relaxed);
  std::lock_guard lock(clients_mutex_);
  for (const auto& [id, c] : clients_) {
    v.clients.push_back({id, c.peer, c.subscription->options().streams, c.start, true,
                         c.subscription->Stats()});
  }
  for (const auto& e : ended_) v.clients.push_back(e);
  return v;
}

Result<std::string> FlightServer::Service::RunAction(const ActionRequest& request) {
  switch (request.kind) {
    case ActionKind::kStatus:
      return StatusJson(View(), engine_.GetStatus());
    case ActionKind::kStartRecording: {
      const auto& a = std::get<StartRecordingAction>(request.body);
      ARROW_ASSIGN_OR_RAISE(auto rec, engine_.StartRecording(a.request));
      return RecordingJson(rec);
    }
    case ActionKind::kStopRecording: {
      const auto& a = std::get<StopRecordingAction>(request.body);
      ARROW_ASSIGN_OR_RAISE(auto rec, engine_.StopRecording(a.id));
      return RecordingJson(rec);
    }
    case ActionKind::kSendCommand: {
      const auto& a = std::get<SendCommandAction>(request.body);
      ARROW_ASSIGN_OR_RAISE(auto reply, engine_.SendCommand(a.instrument, a.command));
      return ObjectJson({{"instrument", a.instrument}, {"command", a.command}, {"reply", reply}});
    }
    case ActionKind::kConnectInstrument:
    case ActionKind::kDisconnectInstrument:
    case ActionKind::kAddInstrument: {
      std::string name;
      if (request.kind == ActionKind::kAddInstrument) {
        const auto& a = std::get<AddInstrumentAction>(request.body);
        name = a.table.name;
        ARROW_RETURN_NOT_OK(engine_.AddInstrument(a.table));
      } else {
        name = std::get<InstrumentAction>(request.body).instrument;
        ARROW_RETURN_NOT_OK(request.kind == ActionKind::kConnectInstrument
                                ? engine_.ConnectInstrument(name)
                                : engine_.DisconnectInstrument(name));
      }
      for (const auto& i : engine_.GetStatus().instruments) {
        if (i.name == name) return InstrumentJson(i);
      }
      return ObjectJson({{"instrument", name}});
    }
    case ActionKind::kRemoveInstrument: {
      const auto& name = std::get<InstrumentAction>(request.body).instrument;
      ARROW_RETURN_NOT_OK(engine_.RemoveInstrument(name));
      return ObjectJson({{"instrument", name}, {"removed", "true"}});
    }
    case ActionKind::kEvents:
      return EventsJson(engine_.RecentEvents(std::get<EventsAction>(request.body).limit));
    case ActionKind::kRunPlan: {
      ARROW_ASSIGN_OR_RAISE(auto scan,
                            engine_.RunPlan(std::get<RunPlanAction>(request.body).request));
      return ScanJson(scan);
    }
    case ActionKind::kPause:
    case ActionKind::kResume:
    case ActionKind::kAbort: {
      ARROW_ASSIGN_OR_RAISE(
          auto scan, engine_.ControlScan(std::get<ScanControlAction>(request.body).control));
      return ScanJson(scan);
    }
  }
  return Status::Invalid("unknown action");
}

Status FlightServer::Service::DoAction(const fl::ServerCallContext&, const fl::Action& action,
                                       std::unique_ptr<fl::ResultStream>* result) {
  try {
    const std::string_view body =
        action.body ? std::string_view(reinterpret_cast<const char*>(action.body->data()),
                                       static_cast<std::size_t>(action.body->size()))
                    : std::string_view();
    auto request = ParseAction(action.type, body);
    if (!request.ok()) return request.status();
    auto answer = RunAction(*request);
    if (!answer.ok()) return ToFlight(answer.status());
    std::vector<fl::Result> results;
    results.emplace_back(JsonBuffer(std::move(answer).ValueUnsafe()));
    *result = std::make_unique<fl::SimpleResultStream>(std::move(results));
    return Status::OK();
  } catch (const std::exception& e) {
    return fl::MakeFlightError(fl::FlightStatusCode::Internal, e.what());
  }
}

Status FlightServer::Service::ListActions(const fl::ServerCallContext&,
                                          std::vector<fl::ActionType>* actions) {
  for (const auto& spec : ActionSpecs()) {
    actions->push_back({std::string(ToString(spec.kind)), std::string(spec.description)});
  }
  return Status::OK();
}

void FlightServer::Service::Stop() {
  {
    std::unique_lock lock(stop_mutex_);
    if (stop_state_ != StopState::kRunning) {
      stopped_.wait(lock, [this] { return stop_state_ == StopState::kStopped; });
      return;
    }
    stop_state_ = StopState::kStopping;
  }
  stopping_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(clients_mutex_);
    for (auto& [id, c] : clients_) c.subscription->Close();
  }
  const auto deadline = std::chrono::system_clock::now() + kShutdownGrace;
  (void)FlightServerBase::Shutdown(&deadline);
  (void)FlightServerBase::Wait();
  {
    std::lock_guard lock(stop_mutex_);
    stop_state_ = StopState::kStopped;
  }
  stopped_.notify_all();
}

void FlightServer::Service::WaitStopped() {
  std::unique_lock lock(stop_mutex_);
  stopped_.wait(lock, [this] { return stop_state_ == StopState::kStopped; });
}

// ---------------------------------------------------------------------------------------------
// FlightServer

FlightServer::FlightServer(std::unique_ptr<Service> service) : service_(std::move(service)) {}

FlightServer::~FlightServer() { Shutdown(); }

namespace {

struct CheckedOptions {
  std::optional<std::string> token;
  std::vector<fl::CertKeyPair> certificates;
  ListenPlan plan;
};

Result<CheckedOptions> CheckServerOptions(const ServerOptions& options) {
  CheckedOptions checked;
  if (options.client_queue == 0 || options.client_queue > options.max_client_queue) {
    return Status::Invalid("client_queue must be 1..", options.max_client_queue, ", got ",
                           options.client_queue);
  }
  if (options.client_queue_bytes <= 0) {
    return Status::Invalid("client_queue_bytes must be > 0, got ", options.client_queue_bytes);
  }
  if (!options.token_file.empty()) {
    ARROW_ASSIGN_OR_RAISE(checked.token, ReadTokenFile(options.token_file));
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Status::Invalid("TLS needs both a certificate and a key (--tls-cert and --tls-key)");
  }
  if (!options.tls_cert_file.empty()) {
    fl::CertKeyPair pair;
    ARROW_ASSIGN_OR_RAISE(pair.pem_cert, ReadPemFile(options.tls_cert_file, "TLS certificate"));
    ARROW_ASSIGN_OR_RAISE(pair.pem_key, ReadPemFile(options.tls_key_file, "TLS key"));
    checked.certificates.push_back(std::move(pair));
  }
  ARROW_ASSIGN_OR_RAISE(checked.plan, PlanListen(options.listen, checked.token.has_value(),
                                                 !checked.certificates.empty()));
  return checked;
}

}  // namespace

Status FlightServer::CheckOptions(const ServerOptions& options) {
  return CheckServerOptions(options).status();
}

Result<std::unique_ptr<FlightServer>> FlightServer::Start(EnginePort& engine,
                                                          ServerOptions options) {
  ARROW_ASSIGN_OR_RAISE(auto checked, CheckServerOptions(options));
  auto service = std::make_unique<Service>(engine, std::move(options));
  ARROW_RETURN_NOT_OK(
      service->Init(checked.plan, std::move(checked.token), std::move(checked.certificates)));
  return std::unique_ptr<FlightServer>(new FlightServer(std::move(service)));
}

std::string FlightServer::uri() const { return service_->uri(); }

int FlightServer::port() const { return service_->port(); }

void FlightServer::Shutdown() { service_->Stop(); }

void FlightServer::Wait() { service_->WaitStopped(); }

}  // namespace arrowdaq::server
