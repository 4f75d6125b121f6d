// The motion part of the plugin ABI (plugin_api.h, "Motion"): a plugin built with this SDK
// exports a motion table and its drivers' Movable is reached through it; a plugin without the
// table (built before Movable) still loads and runs, and its drivers move nothing: the loader
// never calls movable() on them. Plugins: tests/plugins/motion_plugin.cc, built twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arrow/type.h>

#include "arrowdaq/instruments/plugins.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::instruments {
namespace {

TEST(PluginMotion, ADriverOfAPluginWithAMotionTableMoves) {
  DriverRegistry registry;
  ASSERT_OK_AND_ASSIGN(PluginInfo info, LoadPlugin(TEST_MOTOR_NEW_PLUGIN, registry));
  EXPECT_EQ(info.motion_version, 1u);
  ASSERT_OK_AND_ASSIGN(auto driver, registry.Create("test.motor_new", {}));
  Movable* m = driver->movable();
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->Axes().size(), 1u);
  EXPECT_EQ(m->Axes()[0].name, "x");
  EXPECT_EQ(m->Axes()[0].max, 10.0);
  ASSERT_OK(m->MoveTo(0, 2.5));
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_FALSE(moving);
  ASSERT_OK_AND_ASSIGN(double p, m->Position(0));
  EXPECT_EQ(p, 2.5);
  EXPECT_TRUE(m->MoveTo(0, 11.0).IsInvalid());
  ASSERT_OK(m->Stop(0));
  // Everything else is forwarded to the plugin's driver.
  EXPECT_EQ(driver->schema()->field(0)->name(), "x");
  ASSERT_OK(driver->Configure());
  EXPECT_TRUE(driver->Decode(nullptr).status().IsNotImplemented());
}

TEST(PluginMotion, APluginWithoutTheTableLoadsAndItsDriversMoveNothing) {
  DriverRegistry registry;
  ASSERT_OK_AND_ASSIGN(PluginInfo info, LoadPlugin(TEST_MOTOR_OLD_PLUGIN, registry));
  EXPECT_EQ(info.motion_version, 0u);
  ASSERT_OK_AND_ASSIGN(auto driver, registry.Create("test.motor_old", {}));
  EXPECT_EQ(driver->movable(), nullptr)
      << "a plugin built before Movable must never be asked for it";
  EXPECT_EQ(driver->schema()->field(0)->name(), "x");
  ASSERT_OK(driver->hardware().Connect("SIM::motor", hardware::Timeout{100}));
  ASSERT_OK(driver->Configure());
}

}  // namespace
}  // namespace arrowdaq::instruments
