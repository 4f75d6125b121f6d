#include "arrowdaq/hardware/serial_transport.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace arrowdaq::hardware {

namespace {

constexpr std::pair<std::int64_t, speed_t> kBauds[] = {
    {50, B50},         {75, B75},         {110, B110},       {134, B134},
    {150, B150},       {200, B200},       {300, B300},       {600, B600},
    {1200, B1200},     {1800, B1800},     {2400, B2400},     {4800, B4800},
    {9600, B9600},     {19200, B19200},   {38400, B38400},   {57600, B57600},
    {115200, B115200}, {230400, B230400}, {460800, B460800}, {500000, B500000},
    {576000, B576000}, {921600, B921600}, {1000000, B1000000}, {1152000, B1152000},
    {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
    {3500000, B3500000}, {4000000, B4000000},
};

Result<speed_t> BaudConstant(std::int64_t baud) {
  for (const auto& [rate, constant] : kBauds) {
    if (rate == baud) return constant;
  }
  return Status::Invalid("serial option 'baud' must be a standard rate (9600, 19200, 38400, ",
                         "57600, 115200, ...), got ", baud);
}

}  // namespace

Status ValidateSerialOptions(const SerialOptions& o) {
  ARROW_RETURN_NOT_OK(ValidateTransportOptions(o.framing));
  ARROW_RETURN_NOT_OK(BaudConstant(o.baud).status());
  if (o.data_bits < 5 || o.data_bits > 8) {
    return Status::Invalid("serial option 'data_bits' must be 5..8, got ", o.data_bits);
  }
  if (o.parity != "none" && o.parity != "even" && o.parity != "odd") {
    return Status::Invalid("serial option 'parity' must be \"none\", \"even\" or \"odd\", got \"",
                           o.parity, "\"");
  }
  if (o.stop_bits != 1 && o.stop_bits != 2) {
    return Status::Invalid("serial option 'stop_bits' must be 1 or 2, got ", o.stop_bits);
  }
  if (o.flow_control != "none" && o.flow_control != "xonxoff" && o.flow_control != "rtscts") {
    return Status::Invalid("serial option 'flow_control' must be \"none\", \"xonxoff\" or ",
                           "\"rtscts\", got \"", o.flow_control, "\"");
  }
  return Status::OK();
}

Result<std::unique_ptr<SerialTransport>> SerialTransport::Make(SerialOptions options) {
  ARROW_RETURN_NOT_OK(ValidateSerialOptions(options));
  return std::make_unique<SerialTransport>(PrivateTag{}, std::move(options));
}

void SerialTransport::BeforeClose(int fd) { ::ioctl(fd, TIOCNXCL); }

std::string SerialTransport::TimeoutHint() const {
  const char parity = serial_.parity == "even" ? 'E' : serial_.parity == "odd" ? 'O' : 'N';
  return "; line set to " + std::to_string(serial_.baud) + " Bd " +
         std::to_string(serial_.data_bits) + parity + std::to_string(serial_.stop_bits) +
         ", flow control " + serial_.flow_control +
         " (a device set to other line settings does not answer)";
}

Result<int> SerialTransport::Open(const Resource& resource, Timeout /*timeout*/) {
  const std::string where = resource.ToString();
  if (resource.device.empty() || resource.device.front() != '/') {
    return Status::Invalid(where, ": give the serial device as a path ",
                           "(ASRL/dev/ttyUSB0::INSTR), not a board number");
  }
  const int fd = ::open(resource.device.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return Status::IOError(where, ": cannot open '", resource.device, "': ",
                           std::strerror(errno));
  }
  auto fail = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    return Status::IOError(where, ": ", step, " failed on '", resource.device,
                           "': ", std::strerror(err));
  };
  if (::ioctl(fd, TIOCEXCL) != 0) return fail("TIOCEXCL (exclusive access)");
  termios tio{};
  if (::tcgetattr(fd, &tio) != 0) return fail("tcgetattr (is it a serial device?)");
  ::cfmakeraw(&tio);
  ARROW_ASSIGN_OR_RAISE(const speed_t speed, BaudConstant(serial_.baud));
  ::cfsetispeed(&tio, speed);
  ::cfsetospeed(&tio, speed);
  tio.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
  switch (serial_.data_bits) {
    case 5: tio.c_cflag |= CS5; break;
    case 6: tio.c_cflag |= CS6; break;
    case 7: tio.c_cflag |= CS7; break;
    default: tio.c_cflag |= CS8; break;
  }
  if (serial_.parity == "even") tio.c_cflag |= PARENB;
  if (serial_.parity == "odd") tio.c_cflag |= PARENB | PARODD;
  if (serial_.stop_bits == 2) tio.c_cflag |= CSTOPB;
  tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
  if (serial_.flow_control == "xonxoff") tio.c_iflag |= IXON | IXOFF;
  if (serial_.flow_control == "rtscts") tio.c_cflag |= CRTSCTS;
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSANOW, &tio) != 0) return fail("tcsetattr");
  ::tcflush(fd, TCIOFLUSH);
  return fd;
}

}  // namespace arrowdaq::hardware
