#include "arrowdaq/config/config.h"

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// Line numbers matter: the first line of each raw string is line 1.
constexpr char kFullExample[] = R"([run]
duration = "10s"
output = "out"
log_level = "debug"
name = "demo"
progress_interval = 0.5

[instruments.laser]
driver = "sim.sine"
resource = "SIM::sine"
options = { rate_hz = 1000.0, batch_size = 100, label = "a", enabled = true }
on_failure = "stop_run"

[instruments.daq1]
driver = "sim.noise"

[instruments.daq1.options]
rate_hz = 5

[instruments.aardvark]
driver = "sim.ramp"

[[subscriptions]]
name = "monitor"
streams = ["laser", "daq1.lowpass"]
capacity = 4
policy = "block"

[[subscriptions]]
name = "all"
streams = ["*"]

[storage]
formats = ["hdf5", "parquet"]
streams = ["laser"]
flush_interval = "250ms"
capacity = 8
compression = "gzip"
parquet_segment = "1.5min"

[[processors]]
kind = "fir"
input = "daq1"
output = "daq1.lowpass"
options = { cutoff_hz = 50.0, taps = 63, window = "hamming" }
)";

Status ParseError(const std::string& text) { return ParseConfig(text, "demo.toml").status(); }

// Asserts the error is Invalid and its message starts with exactly `prefix`.
void ExpectError(const std::string& text, const std::string& prefix,
                 const std::string& also = "") {
  const Status st = ParseError(text);
  ASSERT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_THAT(st.message(), StartsWith(prefix));
  if (!also.empty()) {
    EXPECT_THAT(st.message(), HasSubstr(also));
  }
}

TEST(ConfigTest, FullExampleParsesToTheExpectedValues) {
  ASSERT_OK_AND_ASSIGN(RunConfig config, ParseConfig(kFullExample, "demo.toml"));
  EXPECT_EQ(config.path, "demo.toml");
  EXPECT_EQ(config.text, kFullExample);
  EXPECT_EQ(config.run.duration, 10s);
  EXPECT_EQ(config.run.output_dir, "out");
  EXPECT_EQ(config.run.log_level, "debug");
  EXPECT_EQ(config.run.name, "demo");
  EXPECT_EQ(config.run.progress_interval, 500ms);

  // File order, not alphabetical.
  ASSERT_EQ(config.instruments.size(), 3u);
  const InstrumentConfig& laser = config.instruments[0];
  EXPECT_EQ(laser.name, "laser");
  EXPECT_EQ(config.instruments[1].name, "daq1");
  EXPECT_EQ(config.instruments[2].name, "aardvark");
  EXPECT_EQ(laser.driver, "sim.sine");
  EXPECT_EQ(laser.resource, "SIM::sine");
  EXPECT_TRUE(laser.stop_run_on_failure);
  EXPECT_EQ(laser.where.ToString(), "demo.toml:8:1");
  ASSERT_EQ(laser.options.size(), 4u);
  EXPECT_EQ(laser.options.at("rate_hz").value, OptionValue(1000.0));
  EXPECT_EQ(laser.options.at("rate_hz").where.ToString(), "demo.toml:11:23");
  EXPECT_EQ(laser.options.at("batch_size").value, OptionValue(std::int64_t{100}));
  EXPECT_EQ(laser.options.at("label").value, OptionValue(std::string("a")));
  EXPECT_EQ(laser.options.at("enabled").value, OptionValue(true));
  EXPECT_EQ(laser.PlainOptions().at("batch_size"), OptionValue(std::int64_t{100}));

  const InstrumentConfig& daq1 = config.instruments[1];
  EXPECT_EQ(daq1.resource, "");
  EXPECT_FALSE(daq1.stop_run_on_failure);
  EXPECT_EQ(daq1.options.at("rate_hz").value, OptionValue(std::int64_t{5}));
  EXPECT_EQ(daq1.options.at("rate_hz").where.ToString(), "demo.toml:18:11");

  ASSERT_EQ(config.subscriptions.size(), 2u);
  EXPECT_EQ(config.subscriptions[0].name, "monitor");
  EXPECT_EQ(config.subscriptions[0].streams,
            (std::vector<std::string>{"laser", "daq1.lowpass"}));
  EXPECT_EQ(config.subscriptions[0].kind, "monitor");
  EXPECT_EQ(config.subscriptions[0].capacity, 4u);
  EXPECT_EQ(config.subscriptions[0].policy, OverflowPolicy::kBlock);
  EXPECT_EQ(config.subscriptions[0].where.ToString(), "demo.toml:23:1");
  EXPECT_EQ(config.subscriptions[1].streams, std::vector<std::string>{"*"});
  EXPECT_EQ(config.subscriptions[1].capacity, 16u);
  EXPECT_EQ(config.subscriptions[1].policy, OverflowPolicy::kDropOldest);

  ASSERT_TRUE(config.storage.has_value());
  EXPECT_EQ(config.storage->formats, (std::vector<std::string>{"hdf5", "parquet"}));
  EXPECT_EQ(config.storage->streams, std::vector<std::string>{"laser"});
  EXPECT_EQ(config.storage->flush_interval, 250ms);
  EXPECT_EQ(config.storage->capacity, 8u);
  EXPECT_EQ(config.storage->compression, "gzip");
  EXPECT_EQ(config.storage->parquet_segment, 90s);

  ASSERT_EQ(config.processors.size(), 1u);
  const ProcessorConfig& fir = config.processors[0];
  EXPECT_EQ(fir.kind, "fir");
  EXPECT_EQ(fir.input, "daq1");
  EXPECT_EQ(fir.output, "daq1.lowpass");
  EXPECT_EQ(fir.where.ToString(), "demo.toml:41:1");
  EXPECT_EQ(fir.options.at("taps").value, OptionValue(std::int64_t{63}));
  EXPECT_EQ(fir.options.at("window").where.ToString(), "demo.toml:45:51");
  EXPECT_EQ(fir.PlainOptions().at("cutoff_hz"), OptionValue(50.0));
}

TEST(ConfigTest, MinimalConfigGetsDefaults) {
  ASSERT_OK_AND_ASSIGN(RunConfig config,
                       ParseConfig("[instruments.a]\ndriver = \"sim.sine\"\n", "m.toml"));
  EXPECT_EQ(config.run.duration, 0ns);
  EXPECT_EQ(config.run.output_dir, "runs");
  EXPECT_EQ(config.run.log_level, "info");
  EXPECT_EQ(config.run.progress_interval, 2s);
  EXPECT_FALSE(config.storage.has_value());
  EXPECT_TRUE(config.subscriptions.empty());

  ASSERT_OK_AND_ASSIGN(config, ParseConfig("instruments.a.driver = \"x\"\n[storage]\n", "m.toml"));
  ASSERT_TRUE(config.storage.has_value());
  EXPECT_EQ(config.storage->formats, std::vector<std::string>{"hdf5"});
  EXPECT_EQ(config.storage->streams, std::vector<std::string>{"*"});
  EXPECT_EQ(config.storage->flush_interval, 1s);
  EXPECT_EQ(config.storage->capacity, 64u);
  EXPECT_EQ(config.storage->compression, "none");
  EXPECT_EQ(config.storage->parquet_segment, 60s);
  EXPECT_EQ(config.storage->where.ToString(), "m.toml:2:1");
}

TEST(ConfigTest, MalformedTomlGivesTheParserLineAndColumn) {
  // Line 3 ends after "resource = ": the value is expected at column 12.
  ExpectError("[instruments.a]\ndriver = \"x\"\nresource = \n", "demo.toml:3:12: invalid TOML: ",
              "missing value");
  // Unterminated string: the string starts at column 10.
  ExpectError("[instruments.a]\ndriver = \"x\n", "demo.toml:2:10: invalid TOML: ");
  // A key defined twice is a TOML error at the second definition.
  ExpectError("[instruments.a]\ndriver = \"x\"\ndriver = \"y\"\n",
              "demo.toml:3:10: invalid TOML: ", "defined twice");
}

TEST(ConfigTest, WrongTypeNamesKeyExpectedAndFound) {
  ExpectError(R"([instruments.laser]
driver = "sim.sine"
options = { rate_hz = [1, 2] }
)",
              "demo.toml:3:23: instruments.laser.options.rate_hz: expected a boolean, integer, "
              "number or string, got an array");
  ExpectError("[instruments.laser]\ndriver = 42\n",
              "demo.toml:2:10: instruments.laser.driver: expected a string, got an integer (42)");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\n"
              "streams = [\"a\"]\ncapacity = \"big\"\n",
              "demo.toml:6:12: subscriptions[0].capacity: expected an integer from 1 to 16777216, "
              "got a string (\"big\")");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\n"
              "streams = [\"a\"]\ncapacity = 0\n",
              "demo.toml:6:12: subscriptions[0].capacity: expected an integer from 1 to ");
  ExpectError("run = 3\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:1:7: run: expected a table, got an integer (3)");
}

TEST(ConfigTest, PluginPathsAreReadWithLocationsAndResolvedAgainstTheConfigsDirectory) {
  ASSERT_OK_AND_ASSIGN(
      RunConfig config,
      ParseConfig("[instruments.a]\ndriver = \"x\"\n[plugins]\npaths = [\"acme.so\", "
                  "\"/opt/lab/plugins\", \"../shared\"]\n",
                  "/home/lab/configs/demo.toml"));
  EXPECT_EQ(config.plugins.paths,
            (std::vector<std::string>{"acme.so", "/opt/lab/plugins", "../shared"}));
  const auto paths = config.PluginPaths();
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[0].first, "/home/lab/configs/acme.so");
  EXPECT_EQ(paths[1].first, "/opt/lab/plugins");
  EXPECT_EQ(paths[2].first, "/home/lab/configs/../shared");
  EXPECT_EQ(paths[1].second.ToString(), "/home/lab/configs/demo.toml:4:21");
  // A config named without a directory: paths stay relative to the working directory.
  ASSERT_OK_AND_ASSIGN(config, ParseConfig("[instruments.a]\ndriver = \"x\"\n[plugins]\n"
                                           "paths = [\"p/acme.so\"]\n",
                                           "demo.toml"));
  EXPECT_EQ(config.PluginPaths().at(0).first, "p/acme.so");
  // No [plugins], or no paths: nothing to load.
  ASSERT_OK_AND_ASSIGN(config, ParseConfig("[instruments.a]\ndriver = \"x\"\n[plugins]\n",
                                           "demo.toml"));
  EXPECT_TRUE(config.PluginPaths().empty());

  ExpectError("[instruments.a]\ndriver = \"x\"\n[plugins]\npaths = \"acme.so\"\n",
              "demo.toml:4:9: plugins.paths: expected an array of strings");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[plugins]\npaths = [\"a.so\", \"\"]\n",
              "demo.toml:4:18: plugins.paths[1]: expected a path to a plugin (a shared library) "
              "or a directory of plugins");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[plugins]\npaths = [\"a.so\", 3]\n",
              "demo.toml:4:18: plugins.paths[1]: expected a string");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[plugins]\npath = [\"a.so\"]\n",
              "demo.toml:4:8: plugins.path: unknown key (did you mean \"paths\"?); allowed keys "
              "here: paths");
  ExpectError("plugins = [\"a.so\"]\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:1:11: plugins: expected a table");
}

TEST(ConfigTest, UnknownKeysAreErrorsNamingTheKeyAndTheAllowedOnes) {
  // Top level.
  ExpectError("[instrument.laser]\ndriver = \"x\"\n",
              "demo.toml:1:1: instrument: unknown key (did you mean \"instruments\"?); allowed keys "
              "at the top level: instruments, limits, plans, plugins, processors, run, server, sinks, "
              "storage, subscriptions");
  // Misspelt inside [run]: the column is that of the value.
  ExpectError("[run]\nduration = \"1s\"\n  rate_hz = 5\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:3:13: run.rate_hz: unknown key; allowed keys here: duration, log_level, "
              "metadata, name, output, progress_interval");
  // Misspelt inside an instrument.
  ExpectError("[instruments.laser]\ndrivr = \"sim.sine\"\n",
              "demo.toml:2:9: instruments.laser.drivr: unknown key (did you mean \"driver\"?); "
              "allowed keys here: driver, on_failure, options, reconnect_attempts, reconnect_backoff, resource");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[storage]\nformat = [\"csv\"]\n",
              "demo.toml:4:10: storage.format: unknown key (did you mean \"formats\"?)");
}

TEST(ConfigTest, MissingRequiredKeyNamesTheTable) {
  ExpectError("[run]\nname = \"x\"\n\n[instruments.laser]\nresource = \"SIM::sine\"\n",
              "demo.toml:4:1: instruments.laser: missing required key \"driver\"");
  ExpectError("[instruments.a]\ndriver = \"x\"\n\n[[subscriptions]]\nname = \"m\"\n",
              "demo.toml:4:1: subscriptions[0]: missing required key \"streams\"");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[processors]]\nkind = \"fir\"\ninput = \"a\"\n",
              "demo.toml:3:1: processors[0]: missing required key \"output\"");
}

TEST(ConfigTest, BadEnumListsTheAllowedValues) {
  ExpectError("[instruments.a]\ndriver = \"x\"\non_failure = \"abort\"\n",
              "demo.toml:3:14: instruments.a.on_failure: expected one of \"continue\", "
              "\"stop_run\", got a string (\"abort\")");
  ExpectError("[run]\nlog_level = \"verbose\"\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:2:13: run.log_level: expected one of \"trace\", \"debug\", \"info\", "
              "\"warn\", \"error\", \"off\", got a string (\"verbose\")");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\n"
              "streams = [\"a\"]\npolicy = \"drop\"\n",
              "demo.toml:6:10: subscriptions[0].policy: expected one of \"block\", "
              "\"drop_oldest\", \"drop_newest\", got a string (\"drop\")");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[storage]\nformats = [\"hdf5\", \"netcdf\"]\n",
              "demo.toml:4:20: storage.formats[1]: expected one of \"hdf5\", \"arrow\", "
              "\"arrows\", \"parquet\", \"csv\", got a string (\"netcdf\")");
}

TEST(ConfigTest, BadDurationNamesKeyAndUnits) {
  ExpectError("[run]\nduration = \"10 parsecs\"\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:2:12: run.duration: invalid duration \"10 parsecs\": unknown unit "
              "\"parsecs\"",
              "ns, us, ms, s, min, h");
  ExpectError("[run]\nduration = -5\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:2:12: run.duration: a duration must be a finite number >= 0");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[storage]\nflush_interval = \"0s\"\n",
              "demo.toml:4:18: storage.flush_interval: expected a duration",
              "got a string (\"0s\")");
  ExpectError("[run]\nprogress_interval = true\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:2:21: run.progress_interval: expected a duration");
}

TEST(ConfigTest, DuplicateAndInvalidNames) {
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[processors]]\nkind = \"fir\"\ninput = \"a\"\n"
              "output = \"a\"\n",
              "demo.toml:6:10: processors[0].output: duplicate stream name \"a\" (already "
              "defined at demo.toml:1:1)");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\nstreams = [\"a\"]\n"
              "[[subscriptions]]\nname = \"m\"\nstreams = [\"*\"]\n",
              "demo.toml:7:8: subscriptions[1].name: duplicate subscription name \"m\" (first "
              "defined at demo.toml:3:1)");
  ExpectError("[instruments.\"bad name\"]\ndriver = \"x\"\n",
              "demo.toml:1:1: instruments.\"bad name\": invalid name \"bad name\"");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\n"
              "streams = [\"a\", \"a\"]\n",
              "demo.toml:5:17: subscriptions[0].streams[1]: \"a\" is listed twice");
}

// Names become file and directory names: they must fit (255 bytes per name), must not hide or
// climb (".hidden", ".", ".."), and must not take a name the run's files reserve ("events").
TEST(ConfigTest, NamesThatCannotBecomeFileNamesAreRefused) {
  const std::string at_limit(kMaxNameLength, 'a');
  ASSERT_OK(ParseConfig("[instruments." + at_limit + "]\ndriver = \"x\"\n", "demo.toml"));
  const std::string too_long(kMaxNameLength + 1, 'a');
  ExpectError("[instruments." + too_long + "]\ndriver = \"x\"\n", "demo.toml:1:1: instruments.",
              "a name must be at most 200 characters (it becomes a file name), got 201");
  ExpectError("[run]\nname = \"" + std::string(300, 'r') + "\"\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:2:8: run.name: invalid name \"rrrr", "at most 200 characters");
  for (const std::string name : {".hidden", ".", ".."}) {
    ExpectError("[instruments.\"" + name + "\"]\ndriver = \"x\"\n",
                "demo.toml:1:1: instruments.\"" + name + "\": invalid name \"" + name +
                    "\": a name must not start with '.'");
  }
  ExpectError("[instruments.events]\ndriver = \"x\"\n",
              "demo.toml:1:1: instruments.events: the stream name \"events\" is reserved");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[processors]]\nkind = \"fir\"\ninput = \"a\"\n"
              "output = \"events\"\n",
              "demo.toml:6:10: processors[0].output: the stream name \"events\" is reserved");
  for (const std::string name : {"entry", "metadata", "pd.units", "pd.metadata"}) {
    ExpectError("[instruments.\"" + name + "\"]\ndriver = \"x\"\n",
                "demo.toml:1:1: instruments.", "the stream name \"" + name + "\" is reserved");
  }
  ASSERT_OK(ParseConfig("[instruments.\"pd.unitsx\"]\ndriver = \"x\"\n", "demo.toml").status());
  // A subscription may be called "events": it is no stream and no file.
  ASSERT_OK(ParseConfig("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"events\"\n"
                        "streams = [\"a\"]\n",
                        "demo.toml"));
  EXPECT_FALSE(IsValidStreamName("events"));
  EXPECT_FALSE(IsValidStreamName(".."));
  EXPECT_FALSE(IsValidStreamName(too_long));
  EXPECT_TRUE(IsValidStreamName(at_limit));
}

// 0 means "until stopped": a duration that is not 0 must never round to it.
TEST(ConfigTest, ADurationShorterThanOneNanosecondIsAnErrorNotForever) {
  ExpectError("[run]\nduration = \"0.1ns\"\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:2:12: run.duration: invalid duration \"0.1ns\": it is shorter than 1 ns");
  ExpectError("[run]\nduration = 1e-10\n[instruments.a]\ndriver = \"x\"\n",
              "demo.toml:2:12: run.duration: a duration of 1e-10 s is shorter than 1 ns");
  EXPECT_FALSE(ParseDuration("0.0001us").ok());
  EXPECT_FALSE(SecondsToDuration(4e-10).ok());
  ASSERT_OK_AND_ASSIGN(auto d, ParseDuration("1ns"));
  EXPECT_EQ(d, 1ns);
  ASSERT_OK_AND_ASSIGN(d, SecondsToDuration(0.0));
  EXPECT_EQ(d, 0ns);
}

TEST(ConfigTest, ByteSizes) {
  EXPECT_EQ(ParseByteSize("256MiB").ValueOrDie(), 256 << 20);
  EXPECT_EQ(ParseByteSize("1.5 GB").ValueOrDie(), 1'500'000'000);
  EXPECT_EQ(ParseByteSize("4096").ValueOrDie(), 4096);
  EXPECT_EQ(ParseByteSize(" 2 KiB ").ValueOrDie(), 2048);
  for (const char* bad : {"", "MiB", "-1MiB", "0", "0.1B", "1e9", "12 parsecs", "99999999TiB"}) {
    const auto result = ParseByteSize(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_THAT(result.status().message(), HasSubstr("invalid byte size \"" + std::string(bad)));
  }
  EXPECT_EQ(FormatByteSize(692352), "676 KiB");
  EXPECT_EQ(FormatByteSize(512), "512 B");
  EXPECT_EQ(FormatByteSize(1.5 * 1024 * 1024), "1.5 MiB");
  EXPECT_EQ(FormatByteSize(82e9), "76.4 GiB");

  ASSERT_OK_AND_ASSIGN(RunConfig config,
                       ParseConfig("[instruments.a]\ndriver = \"x\"\n[limits]\nbatch_bytes = "
                                   "\"1GiB\"\nstream_queue_bytes = 1000\n",
                                   "demo.toml"));
  EXPECT_EQ(config.limits.batch_bytes, 1 << 30);
  EXPECT_EQ(config.limits.stream_queue_bytes, 1000);
  EXPECT_EQ(config.limits.At("batch_bytes").ToString(), "demo.toml:4:15");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[limits]\nbatch_bytes = \"lots\"\n",
              "demo.toml:4:15: limits.batch_bytes: invalid byte size \"lots\"");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[limits]\nbatch_bytes = 0\n",
              "demo.toml:4:15: limits.batch_bytes: expected a byte size");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[limits]\nbatch_bytes = 1.5\n",
              "demo.toml:4:15: limits.batch_bytes: expected a byte size");
}

TEST(ConfigTest, ServerTableIsChecked) {
  ASSERT_OK_AND_ASSIGN(RunConfig config,
                       ParseConfig("[instruments.a]\ndriver = \"x\"\n[server]\n"
                                   "listen = \"grpc://0.0.0.0:9000\"\ntoken_file = \"t\"\n"
                                   "replay_seconds = \"2s\"\nreplay_bytes = \"1MiB\"\n"
                                   "client_queue = 8\nclient_queue_bytes = 4096\n",
                                   "demo.toml"));
  ASSERT_TRUE(config.server.has_value());
  EXPECT_EQ(config.server->listen, "grpc://0.0.0.0:9000");
  EXPECT_EQ(config.server->token_file, "t");
  EXPECT_EQ(config.server->replay_seconds, std::chrono::seconds(2));
  EXPECT_EQ(config.server->replay_bytes, 1 << 20);
  EXPECT_EQ(config.server->client_queue, 8u);
  EXPECT_EQ(config.server->client_queue_bytes, 4096);
  ExpectError("[instruments.a]\ndriver = \"x\"\n[server]\nclient_queue = 5000\n",
              "demo.toml:4:16: server.client_queue: expected an integer");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[server]\nlisten = \"\"\n",
              "demo.toml:4:10: server.listen: expected a non-empty string");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[server]\ntls_cert = \"c.pem\"\n",
              "demo.toml:3:1: server: tls_cert and tls_key go together");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[server]\nlistne = \"x\"\n",
              "demo.toml:4:10: server.listne: unknown key (did you mean \"listen\"?)");
}

TEST(ConfigTest, SubscriptionKindIsAClosedSet) {
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\n"
              "streams = [\"a\"]\nkind = \"gui\"\n",
              "demo.toml:6:8: subscriptions[0].kind: expected one of \"monitor\", got a string "
              "(\"gui\")");
}

// Later layers point at values: every key given in the file keeps where it was written.
TEST(ConfigTest, EveryGivenKeyKeepsItsLocation) {
  ASSERT_OK_AND_ASSIGN(RunConfig config, ParseConfig(kFullExample, "demo.toml"));
  EXPECT_EQ(config.run.At("duration").ToString(), "demo.toml:2:12");
  EXPECT_EQ(config.run.At("output").ToString(), "demo.toml:3:10");
  EXPECT_EQ(config.instruments[0].At("resource").ToString(), "demo.toml:10:12");
  EXPECT_EQ(config.instruments[0].At("driver").ToString(), "demo.toml:9:10");
  // A key left out points at its table.
  EXPECT_EQ(config.instruments[1].At("resource").ToString(), "demo.toml:14:1");
  EXPECT_EQ(config.storage->At("formats[1]").ToString(), "demo.toml:34:20");
  EXPECT_EQ(config.storage->At("capacity").ToString(), "demo.toml:37:12");
  EXPECT_EQ(config.processors[0].At("kind").ToString(), "demo.toml:42:8");
  EXPECT_EQ(config.subscriptions[0].At("capacity").ToString(), "demo.toml:26:12");
}

// The declaration of the tables is the one the parser reads, and its defaults are the ones a
// parsed file gets when it leaves a key out.
TEST(ConfigTest, DeclaredDefaultsAreTheDefaultsOfAParsedFile) {
  ASSERT_OK_AND_ASSIGN(RunConfig minimal,
                       ParseConfig("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\n"
                                   "name = \"m\"\nstreams = [\"*\"]\n[storage]\n[server]\n"
                                   "[[sinks]]\nkind = \"kafka\"\nbrokers = \"b:1\"\n",
                                   "demo.toml"));
  const auto text_of = [](const OptionSpec& spec) {
    return std::visit(
        [](const auto& v) -> std::string {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            return v;
          } else if constexpr (std::is_same_v<T, bool>) {
            return v ? "true" : "false";
          } else {
            return std::to_string(v);
          }
        },
        spec.default_value);
  };
  const auto duration = [](const std::string& text) { return ParseDuration(text).ValueOrDie(); };
  std::map<std::string, std::string> checked;
  for (const auto& table : ConfigTables()) {
    for (const auto& key : table.keys) {
      const std::string id = table.name + "." + key.name;
      const std::string d = text_of(key);
      if (key.required) continue;
      checked[id] = d;
      if (id == "run.duration") { EXPECT_EQ(minimal.run.duration, duration(d)); }
      if (id == "run.output") { EXPECT_EQ(minimal.run.output_dir, d); }
      if (id == "run.log_level") { EXPECT_EQ(minimal.run.log_level, d); }
      if (id == "run.name") { EXPECT_EQ(minimal.run.name, d); }
      if (id == "run.progress_interval") { EXPECT_EQ(minimal.run.progress_interval, duration(d)); }
      const auto& inst = minimal.instruments[0];
      if (id == "instruments.<name>.resource") { EXPECT_EQ(inst.resource, d); }
      if (id == "instruments.<name>.options") { EXPECT_EQ(d, "{}"); }
      if (id == "instruments.<name>.on_failure") {
        EXPECT_EQ(inst.stop_run_on_failure, d == "stop_run");
      }
      if (id == "instruments.<name>.reconnect_attempts") {
        EXPECT_EQ(std::to_string(inst.reconnect_attempts), d);
      }
      if (id == "instruments.<name>.reconnect_backoff") {
        EXPECT_EQ(inst.reconnect_backoff, duration(d));
      }
      const auto& sub = minimal.subscriptions[0];
      if (id == "subscriptions.kind") { EXPECT_EQ(sub.kind, d); }
      if (id == "subscriptions.capacity") { EXPECT_EQ(std::to_string(sub.capacity), d); }
      if (id == "subscriptions.policy") { EXPECT_EQ(ToString(sub.policy), d); }
      const auto& storage = *minimal.storage;
      if (id == "storage.formats") { EXPECT_EQ(d, "[\"hdf5\"]"); }
      if (id == "storage.formats") { EXPECT_EQ(storage.formats, std::vector<std::string>{"hdf5"}); }
      if (id == "storage.streams") { EXPECT_EQ(storage.streams, std::vector<std::string>{"*"}); }
      if (id == "storage.flush_interval") { EXPECT_EQ(storage.flush_interval, duration(d)); }
      if (id == "storage.capacity") { EXPECT_EQ(std::to_string(storage.capacity), d); }
      if (id == "storage.compression") { EXPECT_EQ(storage.compression, d); }
      if (id == "storage.parquet_segment") { EXPECT_EQ(storage.parquet_segment, duration(d)); }
      if (id == "storage.min_free") {
        EXPECT_EQ(storage.min_free_bytes, ParseByteSize(d).ValueOrDie());
      }
      if (id == "storage.disk_warn") { EXPECT_EQ(storage.disk_warn, duration(d)); }
      if (id == "storage.hdf5_roll_size") {
        EXPECT_EQ(d, "0");
        EXPECT_EQ(storage.hdf5_roll_bytes, 0);
      }
      if (id == "storage.hdf5_roll_interval") { EXPECT_EQ(storage.hdf5_roll_interval, duration(d)); }
      if (id == "run.metadata") {
        EXPECT_EQ(d, "{}");
        EXPECT_TRUE(minimal.run.metadata.empty());
      }
      if (id == "processors.options") { EXPECT_EQ(d, "{}"); }
      if (id.rfind("sinks.", 0) == 0) {
        ASSERT_EQ(minimal.sinks.size(), 1u);
        const auto& sink = minimal.sinks[0];
        if (id == "sinks.name") { EXPECT_EQ(d, ""); EXPECT_EQ(sink.name, sink.kind); }
        if (id == "sinks.streams") { EXPECT_EQ(d, "[\"*\"]"); EXPECT_EQ(sink.streams, std::vector<std::string>{"*"}); }
        if (id == "sinks.policy") { EXPECT_EQ(ToString(sink.policy), d); }
        if (id == "sinks.capacity") { EXPECT_EQ(std::to_string(sink.capacity), d); }
        if (id == "sinks.topic") { EXPECT_EQ(sink.topic, d); }
        if (id == "sinks.node") { EXPECT_EQ(sink.node, d); }
        if (id == "sinks.schema_topic") { EXPECT_EQ(sink.schema_topic, d); }
        if (id == "sinks.flush_timeout") { EXPECT_EQ(sink.flush_timeout, duration(d)); }
        if (id == "sinks.producer") { EXPECT_EQ(d, "{}"); EXPECT_TRUE(sink.producer.empty()); }
      }
      if (id == "limits.batch_bytes") {
        EXPECT_EQ(minimal.limits.batch_bytes, ParseByteSize(d).ValueOrDie());
      }
      if (id == "limits.stream_queue_bytes") {
        EXPECT_EQ(minimal.limits.stream_queue_bytes, ParseByteSize(d).ValueOrDie());
      }
      const auto& server = *minimal.server;
      if (id == "server.listen") { EXPECT_EQ(server.listen, d); }
      if (id == "server.token_file" || id == "server.tls_cert" || id == "server.tls_key") {
        EXPECT_EQ(d, "");
        EXPECT_TRUE(server.token_file.empty() && server.tls_cert.empty() && server.tls_key.empty());
      }
      if (id == "server.replay_seconds") { EXPECT_EQ(server.replay_seconds, duration(d)); }
      if (id == "server.replay_bytes") {
        EXPECT_EQ(server.replay_bytes, ParseByteSize(d).ValueOrDie());
      }
      if (id == "server.client_queue") { EXPECT_EQ(std::to_string(server.client_queue), d); }
      if (id == "server.http_listen") { EXPECT_EQ(server.http_listen, d); }
      if (id == "server.client_queue_bytes") {
        EXPECT_EQ(server.client_queue_bytes, ParseByteSize(d).ValueOrDie());
      }
      if (id == "plugins.paths") {
        EXPECT_EQ(d, "[]");
        EXPECT_TRUE(minimal.plugins.paths.empty());
      }
      // Plans (a file without [[plans]]): the declared defaults are the structs' ones.
      const PlanConfig plan;
      const PlanAxisConfig axis;
      const PlanDetectorConfig detector;
      if (id == "plans.num") { EXPECT_EQ(std::to_string(plan.num), d); }
      if (id == "plans.snake") { EXPECT_EQ(plan.snake ? "true" : "false", d); }
      if (id == "plans.settle") { EXPECT_EQ(plan.settle, duration(d)); }
      if (id == "plans.dwell") { EXPECT_EQ(plan.dwell, duration(d)); }
      if (id == "plans.move_timeout") { EXPECT_EQ(plan.move_timeout, duration(d)); }
      if (id == "plans.axes.axis") { EXPECT_EQ(axis.axis, d); }
      if (id == "plans.axes.start") { EXPECT_EQ(axis.start, 0.0); EXPECT_EQ(d, "0.000000"); }
      if (id == "plans.axes.stop") { EXPECT_EQ(axis.stop, 0.0); EXPECT_EQ(d, "0.000000"); }
      if (id == "plans.axes.num") { EXPECT_EQ(std::to_string(axis.num), d); }
      if (id == "plans.detectors.reduce") { EXPECT_EQ(detector.reduce, d); }
      for (const char* key : {"name", "stream", "column", "instrument", "query"}) {
        if (id == std::string("plans.detectors.") + key) { EXPECT_EQ(d, ""); }
      }
    }
  }
  // A default-constructed StorageConfig (a file without [storage]) is the declared one too.
  const StorageConfig none;
  EXPECT_EQ(none.formats, minimal.storage->formats);
  EXPECT_EQ(none.capacity, minimal.storage->capacity);
  EXPECT_EQ(none.flush_interval, minimal.storage->flush_interval);
  EXPECT_EQ(checked.size(), 61u) << "a key was added: hold its default to the struct here";
}

// [[plans]]: each kind's keys, references and shapes are checked with file:line:column.
TEST(ConfigTest, PlansAreParsedAndCheckedWhereTheyAreWritten) {
  const std::string head =
      "[instruments.stage]\ndriver = \"sim.motor\"\n"
      "[instruments.pm]\ndriver = \"sim.noise\"\n";
  const std::string grid =
      "[[plans]]\nname = \"map\"\nkind = \"grid\"\nsnake = true\ndwell = \"50ms\"\n"
      "[[plans.axes]]\nmotor = \"stage\"\naxis = \"y\"\nstart = 0\nstop = 1\nnum = 3\n"
      "[[plans.axes]]\nmotor = \"stage\"\nstart = -1.5\nstop = 1.5\nnum = 4\n"
      "[[plans.detectors]]\nstream = \"pm\"\nreduce = \"std\"\n"
      "[[plans.detectors]]\ninstrument = \"pm\"\nquery = \"D?\"\nname = \"power\"\n";
  ASSERT_OK_AND_ASSIGN(RunConfig config, ParseConfig(head + grid, "demo.toml"));
  ASSERT_EQ(config.plans.size(), 1u);
  const PlanConfig& plan = config.plans[0];
  EXPECT_EQ(plan.kind, "grid");
  EXPECT_TRUE(plan.snake);
  EXPECT_EQ(plan.dwell, std::chrono::milliseconds(50));
  ASSERT_EQ(plan.axes.size(), 2u);
  EXPECT_EQ(plan.axes[0].axis, "y");
  EXPECT_EQ(plan.axes[1].start, -1.5);
  EXPECT_EQ(plan.axes[1].num, 4);
  ASSERT_EQ(plan.detectors.size(), 2u);
  EXPECT_EQ(plan.detectors[0].name, "pm");
  EXPECT_EQ(plan.detectors[0].reduce, "std");
  EXPECT_EQ(plan.detectors[1].query, "D?");
  EXPECT_EQ(plan.axes[1].At("start").ToString(), "demo.toml:18:9");

  const std::string det = "[[plans.detectors]]\nstream = \"pm\"\n";
  ExpectError(head + "[[plans]]\nname = \"g\"\nkind = \"grid\"\n[[plans.axes]]\n"
                     "motor = \"stage\"\nstart = 0\nstop = 1\nnum = 2\n" + det,
              "demo.toml:8:1: plans[0].axes: a grid plan needs two or more axes");
  ExpectError(head + "[[plans]]\nname = \"l\"\nkind = \"line\"\n[[plans.axes]]\n"
                     "motor = \"stages\"\nstart = 0\nstop = 1\nnum = 2\n" + det,
              "demo.toml:9:9: plans[0].axes[0].motor: unknown instrument \"stages\"");
  ExpectError(head + "[[plans]]\nname = \"l\"\nkind = \"list\"\n[[plans.axes]]\n"
                     "motor = \"stage\"\npositions = [0, \"1\"]\n" + det,
              "demo.toml:10:17: plans[0].axes[0].positions[1]: expected a number");
  ExpectError(head + "[[plans]]\nname = \"l\"\nkind = \"line\"\n[[plans.axes]]\n"
                     "motor = \"stage\"\nstart = 0\nnum = 2\n" + det,
              "demo.toml:8:1: plans[0].axes[0]: missing required key \"stop\"");
  ExpectError(head + "[[plans]]\nname = \"c\"\nkind = \"count\"\nnum = 3\n"
                     "[[plans.detectors]]\nstream = \"pm\"\ninstrument = \"pm\"\n",
              "demo.toml:9:1: plans[0].detectors[0]: a detector is either a stream");
  ExpectError(head + "[[plans]]\nname = \"c\"\nkind = \"count\"\nnum = 3\n"
                     "[[plans.detectors]]\nstream = \"nope\"\n",
              "demo.toml:10:10: plans[0].detectors[0].stream: unknown stream \"nope\"");
  ExpectError(head + "[[plans]]\nname = \"c\"\nkind = \"count\"\nnum = 0\n" + det,
              "demo.toml:8:7: plans[0].num: expected an integer from 1 to 10000000, got 0");
  ExpectError(head + "[[plans]]\nname = \"c\"\nkind = \"sweep\"\n" + det,
              "demo.toml:7:8: plans[0].kind: expected one of");
  ExpectError(head + "[[plans]]\nname = \"c\"\nkind = \"count\"\n",
              "demo.toml:5:1: plans[0]: a plan needs at least one [[plans.detectors]]");
}

TEST(ConfigTest, CommandLineOverridesAreCheckedLikeTheKeysTheyReplace) {
  ASSERT_OK_AND_ASSIGN(RunConfig config, ParseConfig(kFullExample, "demo.toml"));
  RunOverrides empty_output;
  empty_output.output = "";
  EXPECT_EQ(ApplyOverrides(empty_output, &config).message(),
            "--output: expected a non-empty directory path, got \"\"");
  RunOverrides bad_duration;
  bad_duration.duration = "soon";
  EXPECT_THAT(ApplyOverrides(bad_duration, &config).message(),
              StartsWith("--duration: invalid duration \"soon\""));
  RunOverrides tiny;
  tiny.duration = "0.2ns";
  EXPECT_THAT(ApplyOverrides(tiny, &config).message(), HasSubstr("shorter than 1 ns"));
  RunOverrides level;
  level.log_level = "loud";
  EXPECT_THAT(ApplyOverrides(level, &config).message(),
              StartsWith("--log-level: expected one of \"trace\""));
  EXPECT_EQ(config.run.output_dir, "out") << "a refused override changes nothing";

  RunOverrides good;
  good.duration = "3s";
  good.output = "elsewhere";
  ASSERT_OK(ApplyOverrides(good, &config));
  EXPECT_EQ(config.run.duration, 3s);
  EXPECT_EQ(config.run.output_dir, "elsewhere");
  // A later error about the value names the option it came from.
  EXPECT_EQ(ErrorAt(config.run.At("output"), "run.output", "too long").message(),
            "--output: too long");
}

TEST(ConfigTest, ReferencesToUnknownStreams) {
  ExpectError("[instruments.laser]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\n"
              "streams = [\"laser\", \"lazer\"]\n",
              "demo.toml:5:21: subscriptions[0].streams[1]: unknown stream \"lazer\" (defined "
              "streams: laser;");
  ExpectError("[instruments.laser]\ndriver = \"x\"\n[storage]\nstreams = [\"nope\"]\n",
              "demo.toml:4:12: storage.streams[0]: unknown stream \"nope\"");
  ExpectError("[instruments.laser]\ndriver = \"x\"\n[[processors]]\nkind = \"fir\"\n"
              "input = \"laser2\"\noutput = \"f\"\n",
              "demo.toml:5:9: processors[0].input: unknown stream \"laser2\"");
  ExpectError("[instruments.a]\ndriver = \"x\"\n"
              "[[processors]]\nkind = \"k\"\ninput = \"p2\"\noutput = \"p1\"\n"
              "[[processors]]\nkind = \"k\"\ninput = \"p1\"\noutput = \"p2\"\n",
              "demo.toml:5:9: processors[0].input: processors form a cycle");
  ExpectError("[instruments.a]\ndriver = \"x\"\n[[subscriptions]]\nname = \"m\"\n"
              "streams = [\"*\", \"a\"]\n",
              "demo.toml:5:12: subscriptions[0].streams[0]: \"*\" (every stream) must be the only");
}

TEST(ConfigTest, ARunNeedsAnInstrument) {
  ExpectError("", "demo.toml:1:1: a run needs at least one instrument");
  ExpectError("[run]\nname = \"x\"\n", "demo.toml:1:1: a run needs at least one instrument");
  ExpectError("[run]\n[instruments]\n",
              "demo.toml:2:1: instruments: a run needs at least one instrument");
}

TEST(ConfigTest, HostileInputNeverThrowsOrCrashes) {
  ExpectError("a = " + std::string(100000, '[') + std::string(100000, ']') + "\n",
              "demo.toml:1:", "nested deeper than 32");
  std::string braces = "a = ";
  for (int i = 0; i < 5000; ++i) braces += "{b=";
  ExpectError(braces + "1" + std::string(5000, '}') + "\n", "demo.toml:1:", "nested deeper");
  std::string dotted = "a";
  for (int i = 0; i < 100000; ++i) dotted += ".b";
  ExpectError(dotted + " = 1\n", "demo.toml:1:", "dots on one line");
  // Brackets inside strings and comments do not count as nesting.
  ASSERT_OK(ParseConfig("# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n[instruments.a]\n"
                        "driver = \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n",
                        "ok.toml"));

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 200; ++round) {
    std::string garbage(static_cast<std::size_t>(round * 7 + 1), '\0');
    for (char& c : garbage) c = static_cast<char>(byte(rng));
    const Status st = ParseError(garbage);
    ASSERT_TRUE(st.IsInvalid()) << st.ToString();
    EXPECT_THAT(st.message(), StartsWith("demo.toml:"));
  }
  // Mutations of a valid file: every one either parses or fails with a located error.
  const std::string valid = kFullExample;
  for (int round = 0; round < 300; ++round) {
    std::string text = valid;
    for (int k = 0; k < 3; ++k) {
      text[static_cast<std::size_t>(rng() % text.size())] = "[]{}=\"'.,#\n x1"[rng() % 15];
    }
    const auto result = ParseConfig(text, "demo.toml");
    if (!result.ok()) {
      EXPECT_TRUE(result.status().IsInvalid());
      EXPECT_THAT(result.status().message(), StartsWith("demo.toml:"));
    }
  }
}

// The bytes that made toml11 3.7 read past its buffer (issue 10's fuzzer finding) and their
// kin are refused before the parser runs, with the place and the byte named.
TEST(ConfigTest, InvalidUtf8AndControlBytesAreRefusedWithTheirPlace) {
  const std::string instrument = "[instruments.a]\ndriver = \"sim.sine\"\n";
  // The fuzzer's input, byte for byte.
  const std::string finding("'instru\xf5" "ents.\"\"\"er'instruments.\"\"\"er]\n\0\n", 40);
  ExpectError(finding, "demo.toml:1:8: byte 0xF5 is not valid UTF-8");
  // Latin-1 "é" (0xE9) in a comment on line 3.
  ExpectError(instrument + "# caf\xe9\n",
              "demo.toml:3:6: byte 0xE9 is not valid UTF-8: a config file must be UTF-8 (was "
              "it saved in Latin-1 or another legacy encoding?)");
  ExpectError(instrument + "x = \"a\xc0\xaf" "b\"\n", "demo.toml:3:7: byte 0xC0");  // overlong '/'
  ExpectError(instrument + "x = \"\xed\xa0\x80\"\n", "demo.toml:3:6: byte 0xED");  // surrogate
  ExpectError(instrument + "x = \"\xf4\x90\x80\x80\"\n", "demo.toml:3:6: byte 0xF4");  // > 10FFFF
  ExpectError(instrument + "x = \"\xe2\x82\"\n", "demo.toml:3:6: byte 0xE2");  // truncated
  ExpectError(instrument + "x = \"\xe2\x82", "demo.toml:3:6: byte 0xE2");      // at the end
  ExpectError(std::string("a = 1\0\n", 7),
              "demo.toml:1:6: control character U+0000 (NUL) is not allowed in a TOML file");
  ExpectError(instrument + "x = \"\x1b[1m\"\n", "demo.toml:3:6: control character U+001B (ESC)");
  ExpectError(instrument + "x = 1\x7f\n", "demo.toml:3:6: control character U+007F (DEL)");
  ExpectError(instrument + "x = 1\ry = 2\n",
              "demo.toml:3:6: carriage return (U+000D) not followed by a line feed");
  // Valid UTF-8 of every length, tabs and CR LF line ends are accepted.
  ASSERT_OK_AND_ASSIGN(auto config,
                       ParseConfig("[instruments.a]\r\ndriver = \"sim.sine\"\t# \xc3\xa9t\xc3\xa9 "
                                   "\xe2\x98\x83 \xf0\x9f\x94\xac\r\n",
                                   "ok.toml"));
  EXPECT_EQ(config.instruments.at(0).driver, "sim.sine");
}

TEST(ConfigTest, ParseDuration) {
  ASSERT_OK_AND_ASSIGN(auto d, ParseDuration("10s"));
  EXPECT_EQ(d, 10s);
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("250ms"));
  EXPECT_EQ(d, 250ms);
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("1.5min"));
  EXPECT_EQ(d, 90s);
  ASSERT_OK_AND_ASSIGN(d, ParseDuration(" 2 h "));
  EXPECT_EQ(d, 2h);
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("7ns"));
  EXPECT_EQ(d, 7ns);
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("3us"));
  EXPECT_EQ(d, 3us);
  ASSERT_OK_AND_ASSIGN(d, ParseDuration("0"));
  EXPECT_EQ(d, 0ns);
  for (const char* bad : {"", "10", "s", "-1s", "1e3s", "10 sec", "inf s", "nan", "1..2s",
                          "99999999999h"}) {
    const auto result = ParseDuration(bad);
    ASSERT_FALSE(result.ok()) << bad;
    EXPECT_TRUE(result.status().IsInvalid());
    EXPECT_THAT(result.status().message(), HasSubstr("invalid duration \"" + std::string(bad)));
  }
}

TEST(ConfigTest, LoadConfigFile) {
  const auto missing = LoadConfigFile("/nonexistent/dir/run.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsInvalid());
  EXPECT_THAT(missing.status().message(),
              StartsWith("/nonexistent/dir/run.toml: cannot read config file: "));
  EXPECT_THAT(LoadConfigFile("/tmp").status().message(), HasSubstr("it is a directory"));

  const std::string path = ::testing::TempDir() + "config_test_load.toml";
  {
    std::ofstream out(path);
    out << "[instruments.a]\ndriver = 1\n";
  }
  EXPECT_THAT(LoadConfigFile(path).status().message(),
              StartsWith(path + ":2:10: instruments.a.driver: expected a string"));
  {
    std::ofstream out(path);
    out << kFullExample;
  }
  ASSERT_OK_AND_ASSIGN(RunConfig config, LoadConfigFile(path));
  EXPECT_EQ(config.path, path);
  EXPECT_EQ(config.text, kFullExample);
  EXPECT_EQ(config.instruments[0].where.file, path);
  std::remove(path.c_str());
}

// Every ```toml block of docs/config.md is a valid config.
TEST(ConfigTest, ExamplesInTheReferenceParse) {
  const char* doc_path = std::getenv("ARROWDAQ_CONFIG_DOC");
  if (doc_path == nullptr) GTEST_SKIP() << "ARROWDAQ_CONFIG_DOC not set (run through ctest)";
  std::ifstream in(doc_path);
  ASSERT_TRUE(in) << doc_path;
  std::string line;
  std::string block;
  bool in_block = false;
  int line_number = 0;
  int blocks = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!in_block && line == "```toml") {
      in_block = true;
      block.clear();
    } else if (in_block && line == "```") {
      in_block = false;
      ++blocks;
      const auto result = ParseConfig(block, "config.md block ending at line " +
                                                 std::to_string(line_number));
      EXPECT_TRUE(result.ok()) << result.status().ToString();
    } else if (in_block) {
      block += line + "\n";
    }
  }
  EXPECT_GE(blocks, 2);
}

TEST(ConfigTest, ErrorAtFormatsLocationKeyAndMessage) {
  const SourceLocation where{"a.toml", 12, 5};
  const Status st = ErrorAt(where, "instruments.laser.options.rate_hz", "must be > 0, got -3");
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_EQ(st.message(), "a.toml:12:5: instruments.laser.options.rate_hz: must be > 0, got -3");
  EXPECT_EQ(ErrorAt(where, "", "oops").message(), "a.toml:12:5: oops");
}

}  // namespace
}  // namespace arrowdaq::config
