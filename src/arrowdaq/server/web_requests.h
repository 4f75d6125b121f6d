// WebRequests: the parsers of what a browser (or curl) sends to the dashboard's HTTP server
// (web_server.h) that the HTTP library does not parse itself: the http_listen address, the
// static file names, the query of a live plot channel, JSON bodies of the recording calls and
// the token cookie. The input is untrusted: any bytes give a typed value or Status::Invalid
// naming the parameter, never an exception, a crash or unbounded work.
//
// Static files are looked up by exact name in a fixed table compiled into the binary
// (web_assets.h): no request path ever reaches the file system, so `..` and its encodings
// cannot name anything outside the set.
//
// fuzz/web_request_fuzz.cc fuzzes every parser here. Pure functions; any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

/// Where the dashboard listens, decided from http_listen.
struct HttpListenPlan {
  bool enabled = true;  ///< false for "off"
  std::string host;     ///< without brackets
  int port = 0;         ///< 0: any free port
  bool loopback = false;
};

/// Parse an http_listen value: "http://HOST:PORT" (port 0: any free port) or "off". Without
/// `have_token` only loopback hosts are allowed. Errors are Invalid and say what was expected
/// ("http_listen 'ftp://x': expected http://HOST:PORT or off").
[[nodiscard]] Result<HttpListenPlan> PlanHttpListen(std::string_view uri, bool have_token);

/// One file of the page, compiled into the binary.
struct StaticAsset {
  std::string_view path;          ///< "/app.js"
  std::string_view content_type;  ///< "text/javascript; charset=utf-8"
  std::string_view body;
};
/// Return the asset served for an exact request path ("/" is "/index.html"); nullptr for
/// anything else (including every path with "..", "%2e", "//" or a query).
[[nodiscard]] const StaticAsset* FindStaticAsset(std::string_view path);
/// Return every asset (for tests).
[[nodiscard]] const std::vector<StaticAsset>& StaticAssets();

/// Most pixels (buckets) a plot asks for.
inline constexpr int kMaxPlotPixels = 4096;
/// Most channels in one plot.
inline constexpr std::size_t kMaxPlotChannels = 64;

/// What a live channel (/api/live) sends: status always; plot data for one stream if asked.
struct LiveRequest {
  std::string stream;                 ///< "" for status only
  std::vector<std::string> channels;  ///< empty: every numeric channel of the stream
  std::chrono::nanoseconds window = std::chrono::seconds(10);  ///< 0.1 s .. 600 s
  int pixels = 800;                   ///< buckets across the window, 2..kMaxPlotPixels
  double plot_hz = 20;                ///< plot frames per second at most, 0.5..20
  /// Image frames (streams with an array column, e.g. a camera): the largest image the page
  /// shows, in pixels (the server reduces a frame by blocks to fit), and frames per second at
  /// most (0.5..kMaxImageHz).
  int image_width = 480;
  int image_height = 360;
  double image_hz = 5;
  /// Points of a scan-like stream instead of a time plot: {} (none), {"auto"} (x = the first
  /// of the schema's nexus.axes, y = the first channel) or {x, y} (two channel names).
  std::vector<std::string> points;
};

/// Largest image side a live channel accepts.
inline constexpr int kMaxImageSide = 2048;
/// Most image frames per second a live channel sends.
inline constexpr double kMaxImageHz = 10;

/// Parse the query parameters of /api/live: stream, channels (comma separated), window
/// (seconds), pixels, rate (plot frames per second), image_width, image_height, image_rate
/// (image frames per second), points ("auto" or "X,Y"). Unknown parameters are refused by name.
[[nodiscard]] Result<LiveRequest> ParseLiveQuery(
    const std::multimap<std::string, std::string>& params);

/// Parse the JSON body of POST /api/recordings (start_recording's body, docs/server.md).
[[nodiscard]] Result<RecordingRequest> ParseStartRecordingBody(std::string_view body);
/// Parse the JSON body of POST /api/recordings/stop: {"id": "..."}.
[[nodiscard]] Result<std::string> ParseStopRecordingBody(std::string_view body);
/// Parse the JSON body of POST /api/login: {"token": "..."}.
[[nodiscard]] Result<std::string> ParseLoginBody(std::string_view body);

/// Name of the token cookie.
inline constexpr std::string_view kTokenCookie = "arrowdaq_token";
/// Return the value of cookie `name` in a Cookie header ("a=1; arrowdaq_token=xyz"); nullopt
/// when it is absent.
[[nodiscard]] std::optional<std::string> CookieValue(std::string_view header,
                                                     std::string_view name);

}  // namespace arrowdaq::server
