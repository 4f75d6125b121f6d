// libFuzzer target: the dashboard's parsers of what a browser or any HTTP client sends
// (src/arrowdaq/server/web_requests.h), on arbitrary bytes. The first byte picks the parser:
// 0 PlanHttpListen (with and without a token), 1 FindStaticAsset, 2 ParseLiveQuery (the rest
// split as a query string "k=v&k=v", as the HTTP library hands it over), 3 the start-recording
// body, 4 the stop body, 5 the login body, 6 CookieValue. They promise never to throw, to refuse
// with Status::Invalid (KeyError for nothing here) whose message holds only printable ASCII, and
// to accept only valid shapes: a listen plan beyond loopback only with a token, a port 0..65535,
// static assets only for their exact names, live parameters within their documented bounds,
// recording names that stay in their directory. Any crash, hang, sanitizer report, escaping
// exception or broken promise is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <string_view>

#include "arrowdaq/config/config.h"
#include "arrowdaq/server/web_requests.h"

namespace {

using namespace arrowdaq;
using namespace arrowdaq::server;

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "web_request_fuzz: %s\n", what.c_str());
  std::abort();
}

void CheckRefusal(const Status& status) {
  if (!status.IsInvalid()) Finding("error is not Invalid: " + status.ToString());
  for (unsigned char c : status.message()) {
    if (c < 0x20 || c > 0x7e) {
      Finding("unescaped byte " + std::to_string(c) + " in: " + status.message());
    }
  }
}

void CheckListen(std::string_view text) {
  for (bool token : {false, true}) {
    auto plan = PlanHttpListen(text, token);
    if (!plan.ok()) {
      CheckRefusal(plan.status());
      continue;
    }
    if (!plan->enabled) continue;
    if (plan->port < 0 || plan->port > 65535) Finding("port out of range");
    if (plan->host.empty()) Finding("empty host accepted");
    if (!token && !plan->loopback) Finding("non-loopback host without a token: " + plan->host);
  }
}

void CheckAsset(std::string_view path) {
  const StaticAsset* a = FindStaticAsset(path);
  if (a == nullptr) return;
  if (a->path != path && !(path == "/" && a->path == "/index.html")) {
    Finding("asset " + std::string(a->path) + " served for another path");
  }
}

std::multimap<std::string, std::string> Query(std::string_view text) {
  std::multimap<std::string, std::string> params;
  while (!text.empty()) {
    const auto amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    const auto eq = pair.find('=');
    params.emplace(std::string(pair.substr(0, eq)),
                   eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    text.remove_prefix(amp + 1);
  }
  return params;
}

void CheckLive(std::string_view text) {
  auto req = ParseLiveQuery(Query(text));
  if (!req.ok()) return CheckRefusal(req.status());
  if (!req->stream.empty() && !config::IsValidStreamName(req->stream)) {
    Finding("accepted stream name '" + req->stream + "'");
  }
  if (req->pixels < 2 || req->pixels > kMaxPlotPixels) Finding("pixels out of range");
  if (req->window.count() < 100'000'000 || req->window.count() > 600'000'000'000) {
    Finding("window out of range");
  }
  if (!(req->plot_hz >= 0.5 && req->plot_hz <= 20)) Finding("rate out of range");
  if (req->channels.size() > kMaxPlotChannels) Finding("too many channels");
  for (const auto& c : req->channels) {
    if (c.empty()) Finding("empty channel name accepted");
  }
  if (req->image_width < 1 || req->image_width > kMaxImageSide || req->image_height < 1 ||
      req->image_height > kMaxImageSide) {
    Finding("image size out of range");
  }
  if (!(req->image_hz >= 0.5 && req->image_hz <= kMaxImageHz)) Finding("image rate out of range");
  if (!(req->points.empty() || (req->points.size() == 1 && req->points[0] == "auto") ||
        (req->points.size() == 2 && !req->points[0].empty() && !req->points[1].empty()))) {
    Finding("malformed points accepted");
  }
  if (!req->points.empty() && req->stream.empty()) Finding("points without a stream");
}

void CheckStart(std::string_view body) {
  auto req = ParseStartRecordingBody(body);
  if (!req.ok()) return CheckRefusal(req.status());
  if (!CheckRecordingName(req->name).ok()) Finding("accepted recording name '" + req->name + "'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 7) {
      case 0: CheckListen(rest); break;
      case 1: CheckAsset(rest); break;
      case 2: CheckLive(rest); break;
      case 3: CheckStart(rest); break;
      case 4:
        if (auto id = ParseStopRecordingBody(rest); !id.ok()) CheckRefusal(id.status());
        break;
      case 5:
        if (auto t = ParseLoginBody(rest); !t.ok()) CheckRefusal(t.status());
        break;
      default: (void)CookieValue(rest, kTokenCookie); break;
    }
  } catch (const std::exception& e) {
    Finding(std::string("exception escaped: ") + e.what());
  } catch (...) {
    Finding("unknown exception escaped");
  }
  return 0;
}
