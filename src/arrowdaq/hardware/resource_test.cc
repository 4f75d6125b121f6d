#include "arrowdaq/hardware/resource.h"

#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::hardware {
namespace {

void ExpectInvalid(const std::string& text, const std::string& fragment) {
  auto r = ParseResource(text);
  ASSERT_FALSE(r.ok()) << text << " parsed";
  EXPECT_TRUE(r.status().IsInvalid());
  // Every message quotes the bad string and says what was wrong or expected.
  EXPECT_NE(r.status().message().find("'" + text + "'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(Resource, ParsesTcpipSocket) {
  ASSERT_OK_AND_ASSIGN(auto r, ParseResource("TCPIP::192.168.1.5::5025::SOCKET"));
  EXPECT_EQ(r.kind, ResourceKind::kTcpipSocket);
  EXPECT_EQ(r.host, "192.168.1.5");
  EXPECT_EQ(r.port, 5025);
  EXPECT_EQ(r.ToString(), "TCPIP::192.168.1.5::5025::SOCKET");
  // Board number and lower-case keywords, as VISA allows; the host keeps its case.
  ASSERT_OK_AND_ASSIGN(auto r2, ParseResource("tcpip0::Scope-A.lab::65535::socket"));
  EXPECT_EQ(r2.host, "Scope-A.lab");
  EXPECT_EQ(r2.port, 65535);
}

TEST(Resource, ParsesSerialAndSim) {
  ASSERT_OK_AND_ASSIGN(auto a, ParseResource("ASRL/dev/ttyUSB0::INSTR"));
  EXPECT_EQ(a.kind, ResourceKind::kAsrl);
  EXPECT_EQ(a.device, "/dev/ttyUSB0");
  EXPECT_EQ(a.ToString(), "ASRL/dev/ttyUSB0::INSTR");
  ASSERT_OK_AND_ASSIGN(auto com, ParseResource("ASRL3::INSTR"));
  EXPECT_EQ(com.device, "3");
  ASSERT_OK_AND_ASSIGN(auto s, ParseResource("SIM::sine"));
  EXPECT_EQ(s.kind, ResourceKind::kSim);
  EXPECT_EQ(s.model, "sine");
  ASSERT_OK_AND_ASSIGN(auto s2, ParseResource("sim::camera::fast"));
  EXPECT_EQ(s2.model, "camera::fast");
}

TEST(Resource, BadStringsGetClearErrors) {
  ExpectInvalid("TCPIP::host::SOCKET", "expected TCPIP[board]::<host>::<port>::SOCKET");
  ExpectInvalid("TCPIP::::5025::SOCKET", "empty host");
  ExpectInvalid("TCPIP::host::0::SOCKET", "port '0' is not an integer in 1..65535");
  ExpectInvalid("TCPIP::host::65536::SOCKET", "port '65536'");
  ExpectInvalid("TCPIP::host::50x5::SOCKET", "port '50x5'");
  ExpectInvalid("TCPIP::host::-1::SOCKET", "port '-1'");
  ExpectInvalid("TCPIP::host::5025::RAW", "expected TCPIP");
  ExpectInvalid("TCPIP::host::INSTR", "not supported");
  ExpectInvalid("TCPIPx::host::5025::SOCKET", "expected TCPIP");
  ExpectInvalid("ASRL::INSTR", "empty device");
  ExpectInvalid("ASRL/dev/ttyS0", "expected ASRL<device>::INSTR");
  ExpectInvalid("SIM::", "empty model");
  ExpectInvalid("GPIB0::12::INSTR", "unknown interface 'GPIB0'");
  ExpectInvalid(" SIM::sine", "blanks");
  auto empty = ParseResource("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty"), std::string::npos);
}

}  // namespace
}  // namespace arrowdaq::hardware
