// A plugin whose driver `test.motor_<kind>` is a trivial one-axis motor (axis `x` in mm, soft
// limits [0, 10], moves that end at once), built twice (tests/plugins/plugin_motion_test.cc):
//   TEST_MOTION_OLD=0  with ARROWDAQ_PLUGIN, as every plugin built with this SDK: it exports
//                      arrowdaq_plugin_v1 and the motion table arrowdaq_plugin_motion_v1;
//   TEST_MOTION_OLD=1  exporting arrowdaq_plugin_v1 only, as ARROWDAQ_PLUGIN did before the
//                      Movable capability: the loader must never ask its drivers for motion,
//                      although this one's class would answer (a real old plugin's vtable
//                      has no movable() slot at all).
#include <cmath>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/instruments/plugin_api.h"

namespace {

namespace ad = arrowdaq;
using ad::instruments::AxisInfo;
using ad::instruments::DriverInfo;
using ad::instruments::InstrumentDriver;
using ad::instruments::Movable;

class NoHardware final : public ad::hardware::InstrumentHardware {
 public:
  ad::Status Connect(const std::string&, ad::hardware::Timeout) override {
    return ad::Status::OK();
  }
  ad::Status Disconnect() override { return ad::Status::OK(); }
  ad::Result<std::string> SendCommand(const std::string&, ad::hardware::Timeout) override {
    return std::string();
  }
  ad::Result<std::shared_ptr<arrow::Buffer>> ReadRawData(ad::hardware::Timeout) override {
    return ad::Status::NotImplemented("test.motor streams nothing");
  }
};

class Motor final : public InstrumentDriver, public Movable {
 public:
  std::shared_ptr<arrow::Schema> schema() const override {
    return arrow::schema({arrow::field("x", arrow::float64())});
  }
  ad::hardware::InstrumentHardware& hardware() override { return hardware_; }
  ad::hardware::Timeout read_timeout() const override { return ad::hardware::Timeout{1000}; }
  ad::Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer>) override {
    return ad::Status::NotImplemented("test.motor decodes nothing");
  }
  Movable* movable() override { return this; }

  const std::vector<AxisInfo>& Axes() const override { return axes_; }
  ad::Status MoveTo(int axis, double position) override {
    if (axis != 0) return ad::Status::Invalid("test.motor: no axis ", axis);
    if (!(position >= axes_[0].min && position <= axes_[0].max)) {
      return ad::Status::Invalid("test.motor: x: target ", position, " outside [0, 10]");
    }
    position_ = position;
    return ad::Status::OK();
  }
  ad::Result<bool> IsMoving(int) override { return false; }
  ad::Result<double> Position(int) override { return position_; }
  ad::Status Stop(int) override { return ad::Status::OK(); }

 private:
  NoHardware hardware_;
  std::vector<AxisInfo> axes_{AxisInfo{"x", "mm", 0.0, 10.0}};
  double position_ = 0;
};

void Drivers(std::vector<DriverInfo>* out) {
  DriverInfo info;
  info.name = TEST_MOTION_OLD ? "test.motor_old" : "test.motor_new";
  info.description = "a trivial one-axis motor";
  info.default_resource = "SIM::motor";
  info.factory = [](const ad::ResolvedOptions&) -> ad::Result<std::unique_ptr<InstrumentDriver>> {
    return std::unique_ptr<InstrumentDriver>(new Motor());
  };
  out->push_back(std::move(info));
}

}  // namespace

#if TEST_MOTION_OLD
extern "C" __attribute__((visibility("default"))) const ArrowdaqPluginV1* arrowdaq_plugin_v1() {
  static const ArrowdaqPluginV1 plugin{ARROWDAQ_PLUGIN_ABI_VERSION, "motor-old", "0.0.1",
                                       ARROWDAQ_VERSION_STRING, Drivers};
  return &plugin;
}
#else
ARROWDAQ_PLUGIN("motor-new", "0.0.1", Drivers)
#endif
