#include "arrowdaq/app/run_plan.h"

#include <string>

#include <arrow/type.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::app {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<RunPlan> Plan(const std::string& text) {
  ARROW_ASSIGN_OR_RAISE(auto config, config::ParseConfig(text, "plan.toml"));
  return PlanRun(config);
}

// Asserts that PlanRun refuses `text` with a message starting with `prefix` (location and key)
// and holding `also`.
void ExpectRefused(const std::string& text, const std::string& prefix,
                   const std::string& also = "") {
  const auto plan = Plan(text);
  ASSERT_FALSE(plan.ok()) << "accepted:\n" << text;
  EXPECT_TRUE(plan.status().IsInvalid()) << plan.status().ToString();
  EXPECT_THAT(plan.status().message(), StartsWith(prefix));
  if (!also.empty()) {
    EXPECT_THAT(plan.status().message(), HasSubstr(also));
  }
}

TEST(RunPlan, ProcessorsComeInDependencyOrderWithTheirSchemas) {
  ASSERT_OK_AND_ASSIGN(auto plan, Plan(R"([instruments.a]
driver = "sim.sine"
options = { channels = 2 }

[[processors]]
kind = "stats"
input = "a.slow"
output = "a.stats"

[[processors]]
kind = "decimate"
input = "a"
output = "a.slow"
)"));
  ASSERT_EQ(plan.instruments.size(), 1u);
  EXPECT_EQ(plan.instruments[0].resource, "SIM::sine");
  EXPECT_EQ(plan.instruments[0].stream->schema->num_fields(), 3);
  ASSERT_EQ(plan.processors.size(), 2u);
  EXPECT_EQ(plan.processors[0].config.output, "a.slow");
  EXPECT_EQ(plan.processors[1].config.output, "a.stats");
  // stats: five columns per input channel after the timestamp.
  EXPECT_EQ(plan.processors[1].stream->schema->num_fields(), 1 + 2 * 5);
  EXPECT_EQ(plan.stored_streams, (std::vector<std::string>{"a", "a.slow", "a.stats"}));
  EXPECT_EQ(plan.storage.formats, std::vector<std::string>{"hdf5"});
}

// Plans are checked against the motors' axes and soft limits before anything moves.
TEST(RunPlan, PlanTargetsOutsideTheSoftLimitsAreRefusedAtTheValue) {
  const std::string head =
      "[instruments.stage]\ndriver = \"sim.motor\"\n"
      "options = { axes = \"x,y\", min = -5, max = 5 }\n"
      "[instruments.pm]\ndriver = \"sim.noise\"\n"
      "[instruments.cam]\ndriver = \"sim.camera\"\n";
  const std::string det = "[[plans.detectors]]\nstream = \"pm\"\n";
  auto line = [&](const std::string& axis_keys) {
    return head + "[[plans]]\nname = \"l\"\nkind = \"line\"\n[[plans.axes]]\n" +
           axis_keys + det;
  };
  ASSERT_OK_AND_ASSIGN(auto ok, Plan(line("motor = \"stage\"\naxis = \"y\"\nstart = -5\n"
                                          "stop = 5\nnum = 3\n")));
  ASSERT_EQ(ok.motor_axes.at("stage").size(), 2u);
  EXPECT_EQ(ok.motor_axes.at("stage")[1].max, 5);
  ExpectRefused(line("motor = \"stage\"\nstart = 0\nstop = 5.5\nnum = 3\n"),
                "plan.toml:14:8: plans[0].axes[0].stop: target 5.5 is outside the soft limits "
                "[-5, 5] mm of stage.x (nothing has moved)");
  ExpectRefused(line("motor = \"stage\"\naxis = \"z\"\nstart = 0\nstop = 1\nnum = 3\n"),
                "plan.toml:13:8: plans[0].axes[0].axis: instrument 'stage' has no axis 'z' "
                "(axes: x, y)");
  ExpectRefused(line("motor = \"pm\"\nstart = 0\nstop = 1\nnum = 3\n"),
                "plan.toml:12:9: plans[0].axes[0].motor: instrument 'pm' (driver sim.noise) "
                "moves nothing");
  ExpectRefused(head + "[[plans]]\nname = \"l\"\nkind = \"list\"\n[[plans.axes]]\n"
                       "motor = \"stage\"\npositions = [1, -7]\n" + det,
                "plan.toml:13:17: plans[0].axes[0].positions[1]: target -7 is outside");
  ExpectRefused(head + "[[plans]]\nname = \"c\"\nkind = \"count\"\n"
                       "[[plans.detectors]]\nstream = \"pm\"\ncolumn = \"ch7\"\n",
                "plan.toml:13:10: plans[0].detectors[0].column: stream 'pm' has no column 'ch7'");
  ExpectRefused(head + "[[plans]]\nname = \"c\"\nkind = \"count\"\n"
                       "[[plans.detectors]]\nstream = \"cam\"\n",
                "plan.toml:12:10: plans[0].detectors[0].column: column 'frame' of stream 'cam'");
}

TEST(RunPlan, DriverErrorsPointAtTheValueAtFault) {
  ExpectRefused("[instruments.a]\ndriver = \"sim.nope\"\n",
                "plan.toml:2:10: instruments.a.driver: unknown driver 'sim.nope' (known: ");
  ExpectRefused("[instruments.a]\ndriver = \"sim.sine\"\noptions = { rat_hz = 5 }\n",
                "plan.toml:3:22: instruments.a.options.rat_hz: unknown option 'rat_hz'");
  // A range the driver's factory checks: the message points at the option, not the table.
  ExpectRefused("[instruments.a]\ndriver = \"sim.sine\"\n\noptions = { batch_size = 100, "
                "rate_hz = -3.0 }\n",
                "plan.toml:4:41: instruments.a.options.rate_hz: ", "rate_hz");
}

TEST(RunPlan, ResourcesMustSuitTheDriver) {
  ExpectRefused("[instruments.a]\ndriver = \"sim.sine\"\n"
                "resource = \"TCPIP::localhost::5025::SOCKET\"\n",
                "plan.toml:3:12: instruments.a.resource: driver 'sim.sine' is simulated and takes "
                "a SIM::<model> resource");
  ExpectRefused("[instruments.dmm]\ndriver = \"keysight.34461a\"\n",
                "plan.toml:1:1: instruments.dmm: missing required key \"resource\": driver "
                "'keysight.34461a' talks to a real device");
  ExpectRefused("[instruments.dmm]\ndriver = \"keysight.34461a\"\nresource = \"SIM::dmm\"\n",
                "plan.toml:3:12: instruments.dmm.resource: driver 'keysight.34461a' talks to a "
                "real device over TCPIP");
  ExpectRefused("[instruments.dmm]\ndriver = \"keysight.34461a\"\nresource = \"TCPIP::x::SOCKET\"\n",
                "plan.toml:3:12: instruments.dmm.resource: invalid resource");
  ASSERT_OK_AND_ASSIGN(auto plan, Plan("[instruments.dmm]\ndriver = \"keysight.34461a\"\n"
                                       "resource = \"TCPIP::127.0.0.1::5025::SOCKET\"\n"));
  EXPECT_EQ(plan.instruments[0].resource, "TCPIP::127.0.0.1::5025::SOCKET");
  ASSERT_OK_AND_ASSIGN(plan, Plan("[instruments.a]\ndriver = \"sim.sine\"\nresource = "
                                  "\"SIM::other\"\n"));
  EXPECT_EQ(plan.instruments[0].resource, "SIM::other");
}

TEST(RunPlan, ProcessorErrorsPointAtTheValueAtFault) {
  const std::string a = "[instruments.a]\ndriver = \"sim.ramp\"\n";
  ExpectRefused(a + "[[processors]]\nkind = \"median\"\ninput = \"a\"\noutput = \"b\"\n",
                "plan.toml:4:8: processors[0].kind: unknown processor kind 'median'");
  ExpectRefused(a + "[[processors]]\nkind = \"fir\"\ninput = \"a\"\noutput = \"b\"\n"
                    "options = { cutoff_hz = 600.0 }\n",
                "plan.toml:7:25: processors[0].options.cutoff_hz: ", "Nyquist");
  ExpectRefused(a + "[[processors]]\nkind = \"decimate\"\ninput = \"a\"\noutput = \"b\"\n"
                    "options = { factor = \"4\" }\n",
                "plan.toml:7:22: processors[0].options.factor: option 'factor': expected an "
                "integer, got a string");
}

TEST(RunPlan, AStreamCsvCannotHoldIsRefusedAtTheFormat) {
  ExpectRefused("[instruments.cam]\ndriver = \"sim.camera\"\n[storage]\n"
                "formats = [\"hdf5\", \"csv\"]\n",
                "plan.toml:4:20: storage.formats[1]: stream 'cam' cannot be written as CSV: "
                "column 'frame' holds ");
  // The same camera is fine when CSV stores only the other streams.
  ASSERT_OK(Plan("[instruments.cam]\ndriver = \"sim.camera\"\n[instruments.v]\n"
                 "driver = \"sim.sine\"\n[storage]\nformats = [\"hdf5\", \"csv\"]\n"
                 "streams = [\"v\"]\n")
                .status());
}

TEST(RunPlan, AnOutputPathThatCannotHoldARunIsRefused) {
  const std::string a = "[instruments.a]\ndriver = \"sim.ramp\"\n";
  ExpectRefused("[run]\noutput = \"runs/" + std::string(256, 'd') + "\"\n" + a,
                "plan.toml:2:10: run.output: the directory name \"ddd",
                "limited to 255 bytes");
  std::string deep;
  while (deep.size() < 4000) deep += std::string(100, 'p') + "/";
  ExpectRefused("[run]\noutput = \"" + deep + "\"\n" + a, "plan.toml:2:10: run.output: the path ",
                "the system's limit of 4096 bytes");
  // Overridden on the command line: the message names the option.
  ASSERT_OK_AND_ASSIGN(auto config, config::ParseConfig(a, "plan.toml"));
  ASSERT_OK(config::ApplyOverrides({.output = std::string(300, 'o')}, &config));
  EXPECT_THAT(PlanRun(config).status().message(), StartsWith("--output: the directory name"));
}

// Issue 11 item 5: what the config accepts, the run must be able to hold.
TEST(RunPlan, ABatchOverTheLimitIsRefusedAtTheOptionThatSetsIt) {
  ExpectRefused("[instruments.a]\ndriver = \"sim.sine\"\n"
                "options = { channels = 1024, batch_size = 10000000 }\n",
                "plan.toml:3:43: instruments.a.options.batch_size: one batch of 'a' would hold "
                "10000000 rows x 8200 bytes = 76.4 GiB, more than limits.batch_bytes (256 MiB)");
  // The limit is the config's to raise; then the queues are what does not fit.
  ExpectRefused("[instruments.a]\ndriver = \"sim.sine\"\n"
                "options = { channels = 1024, batch_size = 10000000 }\n"
                "[limits]\nbatch_bytes = \"100GB\"\n",
                "plan.toml:3:43: instruments.a.options.batch_size: stream 'a' may hold 64 "
                "(storage.capacity) = 64 batches of 10000000 rows x 8200 bytes = 76.4 GiB in "
                "queues: 4.77 TiB, more than limits.stream_queue_bytes (4 GiB)");
}

TEST(RunPlan, QueuedBytesCountEveryQueueOfTheStream) {
  // A 1 GiB camera batch (8 frames of 8192x8192 uint16) times storage capacity 64.
  const std::string camera =
      "[instruments.cam]\ndriver = \"sim.camera\"\n"
      "options = { width = 8192, height = 8192, frames_per_batch = 8 }\n";
  ExpectRefused(camera + "[storage]\ncapacity = 64\n[limits]\nbatch_bytes = \"2GiB\"\n",
                "plan.toml:5:12: storage.capacity: stream 'cam' may hold 64 (storage.capacity) "
                "= 64 batches of 8 rows x 134217736 bytes = 1 GiB in queues: 64 GiB, more than "
                "limits.stream_queue_bytes (4 GiB)");
  ASSERT_OK_AND_ASSIGN(
      auto plan,
      Plan(camera + "[[subscriptions]]\nname = \"live\"\nstreams = [\"cam\"]\ncapacity = 2\n"
                    "[storage]\ncapacity = 1\n[limits]\nbatch_bytes = \"2GiB\"\n"));
  EXPECT_EQ(plan.instruments[0].memory.batch_bytes, 8 * (8 + 8192 * 8192 * 2));
  EXPECT_EQ(plan.instruments[0].memory.queued_batches, 1 + 2);
  // Processor inputs and a source's FIFO hold batches too; stats makes one row per batch.
  ASSERT_OK_AND_ASSIGN(plan, Plan("[instruments.a]\ndriver = \"sim.ramp\"\n"
                                  "options = { channels = 2, batch_size = 1000, fifo_batches = 5 }\n"
                                  "[[processors]]\nkind = \"stats\"\ninput = \"a\"\noutput = \"s\"\n"
                                  "[[processors]]\nkind = \"decimate\"\ninput = \"a\"\n"
                                  "output = \"d\"\noptions = { factor = 3 }\n"));
  EXPECT_EQ(plan.instruments[0].memory.batch_bytes, 1000 * 24);
  EXPECT_EQ(plan.instruments[0].memory.queued_batches, 64 + 16 + 16 + 5);
  EXPECT_EQ(plan.processors[0].memory.batch_rows, 1);
  EXPECT_EQ(plan.processors[1].memory.batch_rows, 334);
  EXPECT_EQ(plan.processors[1].memory.queued_batches, 64);
}

}  // namespace
}  // namespace arrowdaq::app
