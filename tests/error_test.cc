// SPDX-License-Identifier: BSD-3-Clause
// Real failing calls give the same portable code on every OS, with the raw
// value each OS really produced kept beside it.
#include <cstdint>
#include <string>

#include "gort.h"
#include "gort/errno.h"
#include "gtest/gtest.h"

#if defined(_WIN32)
// winsock2.h must come before windows.h.
// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
// clang-format on
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#endif

namespace {

using gort::Error;
using gort::ErrorSpace;

#if defined(_WIN32)
using Socket = SOCKET;
constexpr Socket kBadSocket = INVALID_SOCKET;
int64_t LastSocketError() { return WSAGetLastError(); }
void CloseSocket(Socket s) { closesocket(s); }

class WinsockEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    WSADATA d;
    ASSERT_EQ(WSAStartup(MAKEWORD(2, 2), &d), 0);
  }
  void TearDown() override { WSACleanup(); }
};
const auto* const kWinsock =
    ::testing::AddGlobalTestEnvironment(new WinsockEnvironment);
#else
using Socket = int;
constexpr Socket kBadSocket = -1;
int64_t LastSocketError() { return errno; }
void CloseSocket(Socket s) { close(s); }
#endif

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A TCP socket bound to 127.0.0.1 on an ephemeral port; *port receives it.
Socket BoundSocket(uint16_t* port) {
  Socket s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  if (s == kBadSocket) return s;
  sockaddr_in a = Loopback(0);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    CloseSocket(s);
    return kBadSocket;
  }
  socklen_t len = sizeof(a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return s;
}

// Opens `path` for reading and returns the OS's error (0 on success).
int64_t OpenError(const std::string& path) {
#if defined(_WIN32)
  std::wstring w(path.begin(), path.end());
  HANDLE h = CreateFileW(w.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h != INVALID_HANDLE_VALUE) {
    CloseHandle(h);
    return 0;
  }
  return GetLastError();
#else
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno;
#endif
}

std::string TempDir() {
  std::string d = ::testing::TempDir();
  if (!d.empty() && d.back() != '/' && d.back() != '\\') d += '/';
  return d;
}

TEST(RealErrors, OpenMissingFileIsENOENT) {
  Error e = Error::FromSys(OpenError(TempDir() + "gort-no-such-file"));
  EXPECT_EQ(e.code(), GORT_ENOENT) << e.ToString();
  EXPECT_EQ(e.space(), gort::NativeErrorSpace());
  // The raw value is each OS's own: on Windows ERROR_FILE_NOT_FOUND (2), on
  // Linux and macOS errno ENOENT (2 as well, by coincidence of history).
#if defined(_WIN32)
  EXPECT_EQ(e.raw_name(), "ERROR_FILE_NOT_FOUND");
#else
  EXPECT_EQ(e.raw_name(), "ENOENT");
#endif
}

TEST(RealErrors, OpenInMissingDirectoryIsENOENT) {
  Error e = Error::FromSys(OpenError(TempDir() + "gort-no-such-dir/file"));
  EXPECT_EQ(e.code(), GORT_ENOENT) << e.ToString();
  // Windows tells a missing directory apart (ERROR_PATH_NOT_FOUND, 3);
  // POSIX says ENOENT for both.
#if defined(_WIN32)
  EXPECT_EQ(e.raw_name(), "ERROR_PATH_NOT_FOUND");
  EXPECT_EQ(e.raw(), 3);
#else
  EXPECT_EQ(e.raw_name(), "ENOENT");
#endif
}

TEST(RealErrors, ConnectToClosedLoopbackPortIsECONNREFUSED) {
  uint16_t port = 0;
  Socket probe = BoundSocket(&port);
  ASSERT_NE(probe, kBadSocket);
  CloseSocket(probe);  // nothing listens on `port` now

  Socket s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  ASSERT_NE(s, kBadSocket);
  sockaddr_in a = Loopback(port);
  int rc = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  int64_t raw = rc == 0 ? 0 : LastSocketError();
  CloseSocket(s);
  Error e = Error::FromSys(raw);
  EXPECT_EQ(e.code(), GORT_ECONNREFUSED) << e.ToString();
#if defined(_WIN32)
  EXPECT_EQ(e.raw_name(), "WSAECONNREFUSED");
#else
  EXPECT_EQ(e.raw_name(), "ECONNREFUSED");
#endif
}

TEST(RealErrors, BindUsedPortIsEADDRINUSE) {
  uint16_t port = 0;
  Socket first = BoundSocket(&port);
  ASSERT_NE(first, kBadSocket);
  ASSERT_EQ(listen(first, 1), 0);

  Socket second = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  ASSERT_NE(second, kBadSocket);
  sockaddr_in a = Loopback(port);
  int rc = bind(second, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  int64_t raw = rc == 0 ? 0 : LastSocketError();
  CloseSocket(second);
  CloseSocket(first);
  Error e = Error::FromSys(raw);
  EXPECT_EQ(e.code(), GORT_EADDRINUSE) << e.ToString();
#if defined(_WIN32)
  EXPECT_EQ(e.raw_name(), "WSAEADDRINUSE");
#else
  EXPECT_EQ(e.raw_name(), "EADDRINUSE");
#endif
}

TEST(RealErrors, LastReadsTheThreadsLastError) {
#if defined(_WIN32)
  SetLastError(ERROR_ACCESS_DENIED);
#else
  errno = EACCES;
#endif
  EXPECT_EQ(Error::Last().code(), GORT_EACCES);
}

// The Windows codes the foundation issue names, checked on every platform:
// the tables are data and present everywhere.
TEST(WindowsMapping, NamedCodes) {
  struct Case {
    int64_t raw;
    const char* name;
    int code;
  } cases[] = {
      {10054, "WSAECONNRESET", GORT_ECONNRESET},
      {2, "ERROR_FILE_NOT_FOUND", GORT_ENOENT},
      {3, "ERROR_PATH_NOT_FOUND", GORT_ENOENT},
      {5, "ERROR_ACCESS_DENIED", GORT_EACCES},
      {10048, "WSAEADDRINUSE", GORT_EADDRINUSE},
  };
  for (const Case& c : cases) {
    Error e = Error::FromRaw(ErrorSpace::kWindows, c.raw);
    EXPECT_EQ(e.code(), c.code) << c.name;
    EXPECT_EQ(e.raw_name(), c.name);
  }
}

TEST(WindowsMapping, ConnResetIsTheSamePortableErrorEverywhere) {
  Error wsa = Error::FromRaw(ErrorSpace::kWindows, 10054);
  Error linux_err = Error::FromRaw(ErrorSpace::kLinux, 104);
  Error darwin = Error::FromRaw(ErrorSpace::kDarwin, 54);
  EXPECT_EQ(wsa.code(), GORT_ECONNRESET);
  EXPECT_EQ(linux_err.code(), GORT_ECONNRESET);
  EXPECT_EQ(darwin.code(), GORT_ECONNRESET);
  EXPECT_NE(wsa, linux_err);  // the raw values stay apart
}

TEST(NativeSpace, MatchesTheOs) {
#if defined(_WIN32)
  EXPECT_EQ(gort::NativeErrorSpace(), ErrorSpace::kWindows);
  EXPECT_EQ(gort_err_from_sys(10054), GORT_ECONNRESET);
#elif defined(__APPLE__)
  EXPECT_EQ(gort::NativeErrorSpace(), ErrorSpace::kDarwin);
  EXPECT_EQ(gort_err_from_sys(ECONNRESET), GORT_ECONNRESET);
#else
  EXPECT_EQ(gort::NativeErrorSpace(), ErrorSpace::kLinux);
  EXPECT_EQ(gort_err_from_sys(ECONNRESET), GORT_ECONNRESET);
#endif
  EXPECT_EQ(static_cast<int>(gort_err_native_space()),
            static_cast<int>(gort::NativeErrorSpace()));
}

TEST(Translate, ZeroUnknownAndAliases) {
  EXPECT_EQ(gort_err_from_sys(0), GORT_OK);
  EXPECT_EQ(Error::FromRaw(ErrorSpace::kLinux, 99999).code(), GORT_EUNKNOWN);
  EXPECT_EQ(Error::FromRaw(ErrorSpace::kLinux, -5).code(), GORT_EUNKNOWN);
  // 35 is EAGAIN on macOS and EDEADLK on Linux: the space decides.
  EXPECT_EQ(Error::FromRaw(ErrorSpace::kDarwin, 35).code(), GORT_EAGAIN);
  EXPECT_EQ(Error::FromRaw(ErrorSpace::kLinux, 35).code(), GORT_EDEADLK);
  EXPECT_EQ(GORT_EWOULDBLOCK, GORT_EAGAIN);
  EXPECT_EQ(Error::FromRaw(ErrorSpace::kWindows, 10035).code(), GORT_EAGAIN);
}

}  // namespace
