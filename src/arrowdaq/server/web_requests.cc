#include "arrowdaq/server/web_requests.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "arrowdaq/config/config.h"
#include "arrowdaq/server/auth.h"
#include "arrowdaq/server/requests.h"
#include "arrowdaq/server/web_assets.h"

namespace arrowdaq::server {

namespace {

std::optional<long> ParseInt(std::string_view text) {
  long v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(std::string_view text) {
  double v = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty() || !std::isfinite(v)) return std::nullopt;
  return v;
}

bool IsChannelName(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

Result<HttpListenPlan> PlanHttpListen(std::string_view uri, bool have_token) {
  auto fail = [&](std::string_view why) {
    return Status::Invalid("http_listen '", Printable(uri), "': ", why);
  };
  HttpListenPlan plan;
  if (uri == "off") {
    plan.enabled = false;
    return plan;
  }
  constexpr std::string_view kScheme = "http://";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return fail("expected http://HOST:PORT or off (https is not served: put a TLS proxy in "
                "front, or use an SSH tunnel)");
  }
  std::string_view rest = uri.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    host = rest.substr(1, close - 1);
    if (close + 1 >= rest.size() || rest[close + 1] != ':') return fail("no port (use :0 for any free port)");
    port_text = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return fail("no port (use :0 for any free port)");
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  }
  if (host.empty()) return fail("no host");
  for (unsigned char c : host) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == ':' || c == '_')) {
      return fail("the host may hold only letters, digits, '.', '-', '_' (and ':' in [IPv6])");
    }
  }
  const auto port = ParseInt(port_text);
  if (!port || *port < 0 || *port > 65535) return fail("the port must be a number 0..65535");
  plan.host = std::string(host);
  plan.port = static_cast<int>(*port);
  plan.loopback = IsLoopbackHost(plan.host);
  if (!plan.loopback && !have_token) {
    return fail("listening beyond loopback needs a token ([server] token_file or --token-file); "
                "without one the dashboard binds 127.0.0.1, ::1 or localhost only");
  }
  return plan;
}

const std::vector<StaticAsset>& StaticAssets() {
  static const std::vector<StaticAsset> assets = {
      {"/index.html", "text/html; charset=utf-8", web_assets::kIndexHtml},
      {"/app.js", "text/javascript; charset=utf-8", web_assets::kAppJs},
      {"/style.css", "text/css; charset=utf-8", web_assets::kStyleCss},
  };
  return assets;
}

const StaticAsset* FindStaticAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const auto& a : StaticAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

Result<LiveRequest> ParseLiveQuery(const std::multimap<std::string, std::string>& params) {
  LiveRequest req;
  for (const auto& [key, value] : params) {
    if (params.count(key) > 1) {
      return Status::Invalid("parameter '", Printable(key), "' given more than once");
    }
    if (key == "stream") {
      if (value.size() > 256 || !config::IsValidStreamName(value)) {
        return Status::Invalid("parameter 'stream': '", Printable(value),
                               "' is not a stream name");
      }
      req.stream = value;
    } else if (key == "channels") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view name = rest.substr(0, comma);
        if (!IsChannelName(name)) {
          return Status::Invalid("parameter 'channels': '", Printable(name),
                                 "' is not a channel name");
        }
        if (req.channels.size() >= kMaxPlotChannels) {
          return Status::Invalid("parameter 'channels': at most ", kMaxPlotChannels);
        }
        req.channels.emplace_back(name);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (key == "window") {
      const auto v = ParseDouble(value);
      if (!v || *v < 0.1 || *v > 600) {
        return Status::Invalid("parameter 'window': expected seconds 0.1..600, got '",
                               Printable(value), "'");
      }
      req.window = std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(*v * 1e9)));
    } else if (key == "pixels") {
      const auto v = ParseInt(value);
      if (!v || *v < 2 || *v > kMaxPlotPixels) {
        return Status::Invalid("parameter 'pixels': expected an integer 2..", kMaxPlotPixels,
                               ", got '", Printable(value), "'");
      }
      req.pixels = static_cast<int>(*v);
    } else if (key == "rate") {
      const auto v = ParseDouble(value);
      if (!v || *v < 0.5 || *v > 20) {
        return Status::Invalid("parameter 'rate': expected plot frames per second 0.5..20, got '",
                               Printable(value), "'");
      }
      req.plot_hz = *v;
    } else if (key == "image_width" || key == "image_height") {
      const auto v = ParseInt(value);
      if (!v || *v < 1 || *v > kMaxImageSide) {
        return Status::Invalid("parameter '", key, "': expected pixels 1..", kMaxImageSide,
                               ", got '", Printable(value), "'");
      }
      (key == "image_width" ? req.image_width : req.image_height) = static_cast<int>(*v);
    } else if (key == "image_rate") {
      const auto v = ParseDouble(value);
      if (!v || *v < 0.5 || *v > kMaxImageHz) {
        return Status::Invalid("parameter 'image_rate': expected image frames per second 0.5..",
                               kMaxImageHz, ", got '", Printable(value), "'");
      }
      req.image_hz = *v;
    } else if (key == "points") {
      if (value == "auto") {
        req.points = {"auto"};
      } else {
        const auto comma = value.find(',');
        const std::string_view x = std::string_view(value).substr(0, comma);
        const std::string_view y = comma == std::string::npos
                                       ? std::string_view()
                                       : std::string_view(value).substr(comma + 1);
        if (!IsChannelName(x) || !IsChannelName(y)) {
          return Status::Invalid("parameter 'points': expected 'auto' or two channel names "
                                 "'X,Y', got '", Printable(value), "'");
        }
        req.points = {std::string(x), std::string(y)};
      }
    } else {
      return Status::Invalid("unknown parameter '", Printable(key),
                             "' (stream, channels, window, pixels, rate, image_width, "
                             "image_height, image_rate, points)");
    }
  }
  if (!req.channels.empty() && req.stream.empty()) {
    return Status::Invalid("parameter 'channels' needs 'stream'");
  }
  if (!req.points.empty() && req.stream.empty()) {
    return Status::Invalid("parameter 'points' needs 'stream'");
  }
  return req;
}

Result<RecordingRequest> ParseStartRecordingBody(std::string_view body) {
  ARROW_ASSIGN_OR_RAISE(auto action, ParseAction("start_recording", body));
  return std::get<StartRecordingAction>(std::move(action.body)).request;
}

Result<std::string> ParseStopRecordingBody(std::string_view body) {
  ARROW_ASSIGN_OR_RAISE(auto action, ParseAction("stop_recording", body));
  return std::get<StopRecordingAction>(std::move(action.body)).id;
}

Result<std::string> ParseLoginBody(std::string_view body) {
  if (body.size() > kMaxTokenBytes + 64) return Status::Invalid("login: body too long");
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::Invalid("login: expected a JSON object {\"token\": \"...\"}");
  }
  for (const auto& [k, v] : json.items()) {
    if (k != "token") return Status::Invalid("login: unknown field '", Printable(k), "'");
  }
  const auto it = json.find("token");
  if (it == json.end() || !it->is_string()) {
    return Status::Invalid("login: field 'token' must be a string");
  }
  return it->get<std::string>();
}

std::optional<std::string> CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    while (!pair.empty() && pair.back() == ' ') pair.remove_suffix(1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

}  // namespace arrowdaq::server
