// SPDX-License-Identifier: BSD-3-Clause
// The echo example's program:
//   gort_echo serve [port]          serves on 127.0.0.1 until SIGINT or
//                                   SIGTERM, then stops gracefully
//   gort_echo selftest [workers] [conns] [rounds]
//                                   serves and, on the same runtime, runs
//                                   `conns` clients that each send `rounds`
//                                   messages of sizes from 1 B to 64 KiB and
//                                   check every byte that comes back; exits
//                                   0 if all came back intact
// The clients use the runtime's Connect, Write and Read awaitables too.
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "echo_server.h"
#include "fd_ops.h"
#include "gort/fd.h"
#include "gort/signal.h"
#include "scheduler.h"
#include "signals.h"
#include "task.h"

namespace {

struct Totals {
  std::atomic<int64_t> round_trips{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int> failures{0};
  std::atomic<int> clients_left{0};
};

gort::SockAddr Loopback(uint16_t port) {
  sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  gort::SockAddr a;
  std::memcpy(a.bytes, &sin, sizeof sin);
  a.len = sizeof sin;
  return a;
}

void Fail(Totals* t, const char* what, const absl::Status& s) {
  std::fprintf(stderr, "client: %s: %s\n", what, s.ToString().c_str());
  t->failures.fetch_add(1);
}

// One client: connects, then sends messages of varying size and checks
// that the same bytes come back. Closes the server when the last ends.
rt::Task Client(rt::Scheduler* sched, echo::EchoServer* srv, int id, int rounds,
                Totals* t) {
  static constexpr size_t kSizes[] = {1, 64, 1000, 16384, 65536};
  gort::SockAddr addr = Loopback(srv->port());
  absl::StatusOr<std::unique_ptr<gort::Fd>> fd =
      gort::Fd::Socket(sched->poller(), AF_INET, SOCK_STREAM, 0);
  if (!fd.ok()) {
    Fail(t, "socket", fd.status());
  } else {
    gort::Fd& c = **fd;
    (void)c.SetSockOptInt(IPPROTO_TCP, TCP_NODELAY, 1);
    rt::IoOutcome o = co_await rt::Connect(c, addr);
    if (!o.status.ok()) Fail(t, "connect", o.status);
    std::vector<unsigned char> out(65536), in(65536);
    for (int r = 0; o.status.ok() && r < rounds; ++r) {
      size_t n = kSizes[(id + r) % 5];
      for (size_t i = 0; i < n; ++i) {
        out[i] = static_cast<unsigned char>(id * 131 + r * 31 + i * 7);
      }
      o = co_await rt::Write(c, out.data(), n);
      if (!o.status.ok()) {
        Fail(t, "write", o.status);
        break;
      }
      size_t got = 0;
      while (got < n) {
        o = co_await rt::Read(c, in.data() + got, n - got);
        if (!o.status.ok() || o.n == 0) {
          Fail(t, "read",
               o.status.ok() ? absl::DataLossError("EOF") : o.status);
          break;
        }
        got += o.n;
      }
      if (got < n) break;
      if (std::memcmp(in.data(), out.data(), n) != 0) {
        Fail(t, "compare", absl::DataLossError("echoed bytes differ"));
        break;
      }
      t->round_trips.fetch_add(1);
      t->bytes.fetch_add(static_cast<int64_t>(n));
    }
    (void)c.Close();
  }
  if (t->clients_left.fetch_sub(1) == 1) srv->Close();
}

int SelfTest(int workers, int conns, int rounds) {
  absl::StatusOr<std::unique_ptr<rt::Scheduler>> s =
      rt::Scheduler::Create(workers);
  if (!s.ok()) {
    std::fprintf(stderr, "scheduler: %s\n", s.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<echo::EchoServer>> srv =
      echo::EchoServer::Start(**s, {});
  if (!srv.ok()) {
    std::fprintf(stderr, "server: %s\n", srv.status().ToString().c_str());
    return 1;
  }
  Totals t;
  t.clients_left = conns;
  for (int i = 0; i < conns; ++i) {
    rt::Spawn(**s, Client(s->get(), srv->get(), i, rounds, &t));
  }
  (*s)->Run();  // returns when every client and server task has ended
  std::printf(
      "echo selftest: %d workers, %d connections, %lld round trips, %lld "
      "bytes, %lld accepted, %d failures\n",
      workers, conns, static_cast<long long>(t.round_trips.load()),
      static_cast<long long>(t.bytes.load()),
      static_cast<long long>((*srv)->accepted()), t.failures.load());
  bool ok = t.failures.load() == 0 &&
            t.round_trips.load() == int64_t{conns} * rounds &&
            (*srv)->accepted() == conns && (*srv)->ended() == conns;
  return ok ? 0 : 1;
}

// Ends the server gracefully on SIGINT or SIGTERM (on Windows: Ctrl-C,
// Ctrl-Break, or the console closing), as a pod's runtime must on SIGTERM.
rt::Task StopOnSignal(gort::SignalSource* src, echo::EchoServer* srv) {
  rt::SignalOutcome o = co_await rt::Signals(*src);
  if (o.status.ok()) {
    const char* name = (o.set & gort::SignalBit(SIGTERM)) != 0
                           ? gort::SignalName(SIGTERM)
                           : gort::SignalName(SIGINT);
    std::printf("stopping on %s\n", name);
    std::fflush(stdout);
  }
  (void)src->Close();
  srv->Close();
  gort::ConsoleCloseDone();  // Windows: clean-up is done
}

int Serve(uint16_t port) {
  absl::StatusOr<std::unique_ptr<rt::Scheduler>> s = rt::Scheduler::Create(1);
  if (!s.ok()) return 1;
  echo::EchoServer::Options o;
  o.port = port;
  absl::StatusOr<std::unique_ptr<echo::EchoServer>> srv =
      echo::EchoServer::Start(**s, o);
  if (!srv.ok()) {
    std::fprintf(stderr, "server: %s\n", srv.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<gort::SignalSource>> sig =
      gort::SignalSource::Open((*s)->poller());
  if (!sig.ok() || !(*sig)->Notify({SIGINT, SIGTERM}).ok()) {
    std::fprintf(stderr, "signals: %s\n", sig.status().ToString().c_str());
    return 1;
  }
  rt::Spawn(**s, StopOnSignal(sig->get(), srv->get()));
  std::printf("listening on 127.0.0.1:%u\n", (*srv)->port());
  std::fflush(stdout);
  (*s)->Run();  // returns once a signal closed the server
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef _WIN32
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) return 1;
#endif
  std::string mode = argc > 1 ? argv[1] : "selftest";
  auto arg = [&](int i, int def) {
    return argc > i ? std::atoi(argv[i]) : def;
  };
  if (mode == "serve") return Serve(static_cast<uint16_t>(arg(2, 0)));
  if (mode == "selftest") return SelfTest(arg(2, 1), arg(3, 16), arg(4, 50));
  std::fprintf(stderr,
               "usage: %s serve [port] | selftest [workers] [conns] "
               "[rounds]\n",
               argv[0]);
  return 2;
}
