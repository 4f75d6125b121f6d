// kafka_mock: a Kafka cluster for tests and demos, made of librdkafka's mock brokers
// (rdkafka_mock.h) listening on loopback. Not a real Kafka: no disk, no retention, no log
// compaction; producers, idempotent producers, consumer groups and offset commits work.
//
//   kafka_mock [--brokers N]
//
// The first line on stdout is the bootstrap server list ("127.0.0.1:p1,127.0.0.1:p2,...").
// Then one command per line on stdin, each answered by one line on stdout ("ok ..." or
// "error ..."), so a test can wait for the answer before it goes on:
//
//   down B                  take broker B (1..N) down: connections dropped, none accepted
//   up B                    bring broker B back
//   topic NAME P R          create topic NAME with P partitions and replication factor R
//   leader NAME PART B      make broker B the leader of partition PART of topic NAME
//   quit                    exit (so does end of input, SIGTERM and SIGINT)
//
// Topics a client asks for are created on first use with the mock's default partition count
// and replication factor; `topic` creates one with chosen counts first.
//
// Threading: main thread only; the brokers run on librdkafka's threads.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "arrowdaq/kafka/client.h"

namespace {

volatile sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

int Usage() {
  std::cerr << "usage: kafka_mock [--brokers N]\n";
  return 2;
}

bool ParseInt(const char* text, int lo, int hi, int* out) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

std::string Reply(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return "ok " + what;
  return "error " + what + ": " + rd_kafka_err2str(err);
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--brokers" && i + 1 < argc) {
      if (!ParseInt(argv[++i], 1, 16, &brokers)) return Usage();
    } else {
      return Usage();
    }
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // The mock cluster lives on a client handle of its own; its brokers serve any client.
  auto conf = arrowdaq::kafka::MakeConf({{"log_level", "3"}});
  if (!conf.ok()) {
    std::cerr << "kafka_mock: " << conf.status().ToString() << "\n";
    return 1;
  }
  auto rk = arrowdaq::kafka::MakeClient(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk.ok()) {
    std::cerr << "kafka_mock: " << rk.status().ToString() << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk->get(), brokers);
  if (cluster == nullptr) {
    std::cerr << "kafka_mock: cannot create the mock cluster\n";
    return 1;
  }
  std::cout << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;

  std::string line;
  std::string pending;
  while (g_stop == 0) {
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 200);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of input
    pending.append(buf, static_cast<std::size_t>(n));
    bool quit = false;
    for (std::size_t nl; !quit && (nl = pending.find('\n')) != std::string::npos;) {
      line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      std::istringstream in(line);
      std::string cmd;
      in >> cmd;
      std::string reply;
      if (cmd.empty()) continue;
      if (cmd == "quit") {
        quit = true;
        reply = "ok quit";
      } else if (cmd == "down" || cmd == "up") {
        int id = 0;
        std::string word;
        if (!(in >> word) || !ParseInt(word.c_str(), 1, brokers, &id)) {
          reply = "error usage: " + cmd + " B (B from 1 to " + std::to_string(brokers) + ")";
        } else {
          const auto err = cmd == "down" ? rd_kafka_mock_broker_set_down(cluster, id)
                                         : rd_kafka_mock_broker_set_up(cluster, id);
          reply = Reply(err, cmd + " " + std::to_string(id));
        }
      } else if (cmd == "topic") {
        std::string name, p, r;
        int np = 0, nr = 0;
        if (!(in >> name >> p >> r) || !ParseInt(p.c_str(), 1, 10000, &np) ||
            !ParseInt(r.c_str(), 1, brokers, &nr)) {
          reply = "error usage: topic NAME PARTITIONS REPLICATION";
        } else {
          reply = Reply(rd_kafka_mock_topic_create(cluster, name.c_str(), np, nr),
                        "topic " + name);
        }
      } else if (cmd == "leader") {
        std::string name, p, b;
        int part = 0, id = 0;
        if (!(in >> name >> p >> b) || !ParseInt(p.c_str(), 0, 10000, &part) ||
            !ParseInt(b.c_str(), 1, brokers, &id)) {
          reply = "error usage: leader TOPIC PARTITION BROKER";
        } else {
          reply = Reply(rd_kafka_mock_partition_set_leader(cluster, name.c_str(), part, id),
                        "leader " + name + " " + std::to_string(part) + " " + std::to_string(id));
        }
      } else {
        reply = "error unknown command '" + cmd + "' (down B, up B, topic NAME P R, leader "
                "TOPIC PART B, quit)";
      }
      std::cout << reply << std::endl;
    }
    if (quit) break;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  return 0;
}
