#include "arrowdaq/kafka/client.h"

#include <cerrno>
#include <cstdint>
#include <new>

#include "arrowdaq/telemetry/logging.h"

namespace arrowdaq::kafka {

namespace {

// librdkafka's own log lines (connection refused, commit failed, ...) go to the "kafka"
// logger, so they follow the run's log level and pattern instead of librdkafka's raw
// "%4|...|FAC|..." lines on stderr. Called on librdkafka's threads; spdlog is thread-safe.
void LogToSpdlog(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  auto logger = telemetry::GetLogger("kafka");
  const char* name = rk != nullptr ? rd_kafka_name(rk) : "librdkafka";
  const auto spd = level <= 3   ? spdlog::level::err
                   : level == 4 ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  logger->log(spd, "{} {}: {}", name, facility, buf);
}

}  // namespace

void HandleDeleter::operator()(rd_kafka_t* rk) const noexcept {
  if (rk != nullptr) rd_kafka_destroy(rk);
}
void ConfDeleter::operator()(rd_kafka_conf_t* conf) const noexcept {
  if (conf != nullptr) rd_kafka_conf_destroy(conf);
}
void MessageDeleter::operator()(rd_kafka_message_t* message) const noexcept {
  if (message != nullptr) rd_kafka_message_destroy(message);
}
void PartitionListDeleter::operator()(rd_kafka_topic_partition_list_t* list) const noexcept {
  if (list != nullptr) rd_kafka_topic_partition_list_destroy(list);
}
void HeadersDeleter::operator()(rd_kafka_headers_t* headers) const noexcept {
  if (headers != nullptr) rd_kafka_headers_destroy(headers);
}
void MetadataDeleter::operator()(const rd_kafka_metadata_t* metadata) const noexcept {
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
}

std::string LibraryVersion() { return rd_kafka_version_str(); }

Status ErrorStatus(rd_kafka_resp_err_t err, const std::string& context) {
  return Status::IOError(context, ": ", rd_kafka_err2name(err), " (", rd_kafka_err2str(err), ")");
}

Status SetProperty(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512] = {};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof(err)) !=
      RD_KAFKA_CONF_OK) {
    return Status::Invalid("librdkafka: ", err);
  }
  return Status::OK();
}

Result<UniqueConf> MakeConf(const Settings& settings) {
  UniqueConf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), &LogToSpdlog);
  for (const auto& [name, value] : settings) {
    ARROW_RETURN_NOT_OK(SetProperty(conf.get(), name, value));
  }
  return conf;
}

Result<UniqueHandle> MakeClient(rd_kafka_type_t type, UniqueConf conf) {
  char err[512] = {};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof(err));
  if (rk == nullptr) {
    return Status::Invalid("librdkafka: cannot create the ",
                           type == RD_KAFKA_PRODUCER ? "producer" : "consumer", ": ", err);
  }
  (void)conf.release();  // owned by rk now
  return UniqueHandle(rk);
}

Result<int> PartitionCount(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rkt == nullptr) {
    return ErrorStatus(rd_kafka_last_error(), "topic '" + topic + "'");
  }
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &raw, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  UniqueMetadata metadata(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, "metadata of topic '" + topic + "'");
  }
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const auto& t = metadata->topics[i];
    if (topic != t.topic) continue;
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ErrorStatus(t.err, "metadata of topic '" + topic + "'");
    }
    return t.partition_cnt;
  }
  return Status::IOError("metadata of topic '", topic, "': the cluster did not list it");
}

bool HeaderValue(const rd_kafka_headers_t* headers, const char* name, std::string* out) {
  if (headers == nullptr) return false;
  const void* value = nullptr;
  std::size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return false;
  }
  out->assign(value == nullptr ? "" : static_cast<const char*>(value), value == nullptr ? 0 : size);
  return true;
}

}  // namespace arrowdaq::kafka

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer builds only. librdkafka starts its threads with C11 thrd_create, which glibc
// (2.34+) implements without going through pthread_create, so GCC 12's TSan never learns of
// them and crashes in its allocator on their first malloc. This definition in the executable
// takes precedence over glibc's for librdkafka (symbol interposition) and starts the thread
// through pthread_create, which TSan intercepts (thrd_t is pthread_t). Release and ASan builds
// use glibc's own.
#include <pthread.h>
#include <threads.h>

namespace {
struct ThreadStart {
  thrd_start_t func;
  void* arg;
};
void* RunThreadStart(void* p) {
  const ThreadStart start = *static_cast<ThreadStart*>(p);
  delete static_cast<ThreadStart*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(start.func(start.arg)));
}
}  // namespace

extern "C" int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new (std::nothrow) ThreadStart{func, arg};
  if (start == nullptr) return thrd_nomem;
  const int err = pthread_create(thr, nullptr, &RunThreadStart, start);
  if (err != 0) {
    delete start;
    return err == ENOMEM || err == EAGAIN ? thrd_nomem : thrd_error;
  }
  return thrd_success;
}

// Joined and detached through the pthread calls TSan intercepts too (glibc's thrd_join uses
// an internal one, and TSan would report every joined thread as leaked).
extern "C" int thrd_join(thrd_t thr, int* res) {
  void* ret = nullptr;
  if (pthread_join(thr, &ret) != 0) return thrd_error;
  if (res != nullptr) *res = static_cast<int>(reinterpret_cast<std::intptr_t>(ret));
  return thrd_success;
}
extern "C" int thrd_detach(thrd_t thr) {
  return pthread_detach(thr) == 0 ? thrd_success : thrd_error;
}

// librdkafka's mutexes and condition variables are C11 mtx_t/cnd_t, which glibc implements
// with its internal pthread functions: TSan does not see them either, and reports every
// hand-over between librdkafka's threads as a race. glibc's mtx_t and cnd_t hold a
// pthread_mutex_t and a pthread_cond_t; these definitions call the pthread functions TSan
// intercepts, so it sees librdkafka's synchronisation as it is.
namespace {
int C11Result(int err) {
  switch (err) {
    case 0: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}
pthread_mutex_t* P(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* P(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }
}  // namespace

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t) && sizeof(cnd_t) == sizeof(pthread_cond_t));

extern "C" int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int err = pthread_mutex_init(P(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return C11Result(err);
}
extern "C" void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(P(m)); }
extern "C" int mtx_lock(mtx_t* m) { return C11Result(pthread_mutex_lock(P(m))); }
extern "C" int mtx_trylock(mtx_t* m) { return C11Result(pthread_mutex_trylock(P(m))); }
extern "C" int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  return C11Result(pthread_mutex_timedlock(P(m), t));
}
extern "C" int mtx_unlock(mtx_t* m) { return C11Result(pthread_mutex_unlock(P(m))); }
extern "C" int cnd_init(cnd_t* c) { return C11Result(pthread_cond_init(P(c), nullptr)); }
extern "C" void cnd_destroy(cnd_t* c) { pthread_cond_destroy(P(c)); }
extern "C" int cnd_signal(cnd_t* c) { return C11Result(pthread_cond_signal(P(c))); }
extern "C" int cnd_broadcast(cnd_t* c) { return C11Result(pthread_cond_broadcast(P(c))); }
extern "C" int cnd_wait(cnd_t* c, mtx_t* m) { return C11Result(pthread_cond_wait(P(c), P(m))); }
extern "C" int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m,
                             const struct timespec* __restrict t) {
  return C11Result(pthread_cond_timedwait(P(c), P(m), t));
}
#endif
