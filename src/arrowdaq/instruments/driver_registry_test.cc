#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/sim_driver.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::instruments {
namespace {

const OptionSpec* FindOption(const DriverInfo& info, const std::string& name) {
  for (const auto& spec : info.options) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

void ExpectCreateError(const std::string& driver, OptionMap options,
                       const std::vector<std::string>& fragments) {
  auto r = DriverRegistry::Default().Create(driver, options);
  ASSERT_FALSE(r.ok()) << driver;
  EXPECT_TRUE(r.status().IsInvalid()) << r.status().ToString();
  const std::string& msg = r.status().message();
  EXPECT_EQ(msg.rfind(driver + ": ", 0), 0u) << "prefixed with the driver name: " << msg;
  for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << msg;
}

TEST(DriverRegistry, ListsTheThreeSimDriversWithOptions) {
  std::vector<const DriverInfo*> list;
  for (const auto* d : DriverRegistry::Default().List()) {
    // The sample-stream sources; sim.camera (frames) and sim.motor (a stage) have their own.
    if (d->name.rfind("sim.", 0) == 0 && d->name != "sim.camera" && d->name != "sim.motor") {
      list.push_back(d);
    }
  }
  std::vector<std::string> names;
  for (const auto* d : list) names.push_back(d->name);
  EXPECT_EQ(names, (std::vector<std::string>{"sim.noise", "sim.ramp", "sim.sine"}));
  for (const auto* d : list) {
    EXPECT_FALSE(d->description.empty());
    EXPECT_EQ(d->default_resource, "SIM::" + d->name.substr(4));
    for (const char* common :
         {"rate_hz", "batch_size", "channels", "amplitude", "offset", "unit"}) {
      const OptionSpec* spec = FindOption(*d, common);
      ASSERT_NE(spec, nullptr) << d->name << " lacks " << common;
      EXPECT_FALSE(spec->description.empty());
    }
    EXPECT_EQ(std::get<double>(FindOption(*d, "rate_hz")->default_value), 1000.0);
    EXPECT_EQ(FindOption(*d, "rate_hz")->unit, "Hz");
    EXPECT_EQ(std::get<std::int64_t>(FindOption(*d, "batch_size")->default_value), 100);
    EXPECT_EQ(std::get<std::int64_t>(FindOption(*d, "channels")->default_value), 1);
    EXPECT_EQ(std::get<double>(FindOption(*d, "amplitude")->default_value), 1.0);
    EXPECT_EQ(std::get<double>(FindOption(*d, "offset")->default_value), 0.0);
    EXPECT_EQ(std::get<std::string>(FindOption(*d, "unit")->default_value), "V");
    EXPECT_EQ(FindOption(*d, "frequency_hz") != nullptr, d->name == "sim.sine");
    EXPECT_EQ(FindOption(*d, "seed") != nullptr, d->name == "sim.noise");
    EXPECT_EQ(FindOption(*d, "wrap") != nullptr, d->name == "sim.ramp");
  }
  const auto* sine = *DriverRegistry::Default().Find("sim.sine");
  EXPECT_EQ(std::get<double>(FindOption(*sine, "frequency_hz")->default_value), 10.0);
  const auto* ramp = *DriverRegistry::Default().Find("sim.ramp");
  EXPECT_EQ(std::get<std::int64_t>(FindOption(*ramp, "wrap")->default_value),
            std::int64_t{1} << 40);
}

TEST(DriverRegistry, CreatesADriverWithDefaultsAndGivenOptions) {
  ASSERT_OK_AND_ASSIGN(auto driver,
                       DriverRegistry::Default().Create(
                           "sim.sine", {{"rate_hz", std::int64_t{500}},  // integer for a number
                                        {"channels", std::int64_t{2}},
                                        {"unit", std::string("mV")}}));
  auto* sim = dynamic_cast<SimDriver*>(driver.get());
  ASSERT_NE(sim, nullptr);
  EXPECT_EQ(sim->options().rate_hz, 500.0);
  EXPECT_EQ(sim->options().batch_size, 100);
  EXPECT_EQ(sim->options().frequency_hz, 10.0);
  EXPECT_EQ(driver->schema()->num_fields(), 3);
  EXPECT_EQ(driver->schema()->field(2)->metadata()->Get("unit").ValueOrDie(), "mV");
  ASSERT_OK_AND_ASSIGN(auto noise,
                       DriverRegistry::Default().Create("sim.noise", {{"seed", std::int64_t{7}}}));
  EXPECT_EQ(static_cast<SimDriver&>(*noise).options().seed, 7u);
}

TEST(DriverRegistry, UnknownDriverListsTheKnownOnes) {
  auto r = DriverRegistry::Default().Create("sim.square", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown driver 'sim.square'"), std::string::npos);
  EXPECT_NE(r.status().message().find("sim.noise, sim.ramp, sim.sine"), std::string::npos)
      << r.status().message();
}

TEST(DriverRegistry, BadOptionsNameTheOption) {
  ExpectCreateError("sim.sine", {{"rate_hz", std::string("fast")}},
                    {"option 'rate_hz'", "expected a number, got a string"});
  ExpectCreateError("sim.sine", {{"batch_size", 2.5}}, {"option 'batch_size'", "an integer"});
  ExpectCreateError("sim.sine", {{"rat_hz", 5.0}}, {"unknown option 'rat_hz'", "rate_hz"});
  ExpectCreateError("sim.ramp", {{"frequency_hz", 5.0}}, {"unknown option 'frequency_hz'"});
  ExpectCreateError("sim.sine", {{"rate_hz", 0.0}}, {"option 'rate_hz'", "got 0"});
  ExpectCreateError("sim.sine", {{"rate_hz", 2e8}}, {"option 'rate_hz'"});
  ExpectCreateError("sim.sine", {{"rate_hz", -3.0}}, {"option 'rate_hz'", "got -3"});
  ExpectCreateError("sim.noise", {{"batch_size", std::int64_t{0}}}, {"option 'batch_size'"});
  ExpectCreateError("sim.noise", {{"batch_size", std::int64_t{10'000'001}}},
                    {"option 'batch_size'"});
  ExpectCreateError("sim.ramp", {{"channels", std::int64_t{1025}}},
                    {"option 'channels'", "1..1024", "got 1025"});
  ExpectCreateError("sim.ramp", {{"channels", std::int64_t{0}}}, {"option 'channels'"});
  ExpectCreateError("sim.ramp", {{"wrap", std::int64_t{0}}}, {"option 'wrap'"});
  ExpectCreateError("sim.noise", {{"seed", std::int64_t{-1}}}, {"option 'seed'"});
  // Limits themselves are accepted.
  EXPECT_OK(DriverRegistry::Default().Create("sim.ramp",
                                             {{"rate_hz", 1e8}, {"channels", std::int64_t{1024}}}));
}

TEST(DriverRegistry, RegisterRefusesDuplicatesAndIncompleteInfo) {
  DriverRegistry registry;
  ASSERT_OK(RegisterSimDrivers(registry));
  EXPECT_TRUE(RegisterSimDrivers(registry).IsInvalid()) << "names are taken";
  DriverInfo no_factory;
  no_factory.name = "x";
  EXPECT_TRUE(registry.Register(no_factory).IsInvalid());
  DriverInfo no_name;
  no_name.factory = [](const ResolvedOptions&) -> Result<std::unique_ptr<InstrumentDriver>> {
    return Status::NotImplemented("");
  };
  EXPECT_TRUE(registry.Register(no_name).IsInvalid());
  auto twice = no_name;
  twice.name = "twice";
  twice.options = {{"a", 1.0, "", ""}, {"a", 2.0, "", ""}};
  EXPECT_TRUE(registry.Register(twice).IsInvalid());
  EXPECT_EQ(registry.List().size(), 3u);
}

TEST(DriverRegistry, RegisterAllAddsAllOrNoneAndNamesWhatHoldsAName) {
  DriverRegistry registry;
  ASSERT_OK(RegisterSimDrivers(registry));
  DriverInfo info;
  info.factory = [](const ResolvedOptions&) -> Result<std::unique_ptr<InstrumentDriver>> {
    return Status::NotImplemented("");
  };
  info.origin = "plugin acme 1.0 (/opt/acme.so)";
  auto fresh = info, clash = info;
  fresh.name = "acme.fresh";
  clash.name = "sim.sine";
  Status st = registry.RegisterAll({fresh, clash});
  EXPECT_EQ(st.message(), "driver 'sim.sine' is already registered (built-in)");
  EXPECT_FALSE(registry.Find("acme.fresh").ok()) << "nothing of a refused list is added";
  EXPECT_EQ(registry.RegisterAll({fresh, fresh}).message(), "driver 'acme.fresh' is declared twice");
  ASSERT_OK(registry.RegisterAll({fresh}));
  ASSERT_OK_AND_ASSIGN(const DriverInfo* found, registry.Find("acme.fresh"));
  EXPECT_EQ(found->origin, "plugin acme 1.0 (/opt/acme.so)");
  EXPECT_EQ(registry.Register(fresh).message(),
            "driver 'acme.fresh' is already registered (plugin acme 1.0 (/opt/acme.so))");
}

TEST(DriverRegistry, DefaultIsSafeToUseFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<std::size_t> sizes(8);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    threads.emplace_back([&sizes, i] { sizes[i] = DriverRegistry::Default().List().size(); });
  }
  for (auto& t : threads) t.join();
  const auto expected = DriverRegistry::Default().List().size();
  EXPECT_GE(expected, 3u);
  for (auto s : sizes) EXPECT_EQ(s, expected);
}

}  // namespace
}  // namespace arrowdaq::instruments
