// SPDX-License-Identifier: BSD-3-Clause
// bench_echo: the example echo server (gort's FD layer, netpoller and the
// example runtime) beside a raw-epoll echo server (the floor) and a libuv
// one, in one run, interleaved per scenario. Each server is a process of
// its own pinned to CPU 0; the load generator runs here, pinned to CPU 1
// (when there are two). Scenarios: 1, 64 and 1000 connections x 64 B and
// 16 KiB messages, one message in flight per connection. Reported per
// server: round trips/s, p50/p99 latency, and the server's CPU time per
// round trip (its process CPU clock over the measured window; the ratios
// are of medians, and the smallest of the rounds is shown too, since other
// load on a shared machine only ever adds to it), and how much of the
// server's CPU time over its whole life was user space (usr%, from
// wait4's rusage): the rest is the kernel's, the same system calls for
// every server, which bounds what any user-space change can save.
//
//   bench_echo                      the table (GORT_BENCH_ECHO_SECONDS per
//                                   measurement, default 2; the CI smoke run
//                                   sets 0.1; GORT_BENCH_ECHO_REPEAT rounds,
//                                   default 1, the median is reported;
//                                   GORT_BENCH_ECHO_CONNS / _SIZES lists,
//                                   e.g. "1,64"; GORT_BENCH_ECHO_SERVERS)
//   bench_echo --serve=NAME [--close-after=N] [--port-file=F]
//                                   one server (gort, epoll, uv) on a free
//                                   port, written to F (or stdout); exits
//                                   once N connections have ended
//   bench_echo --load --port=P --conns=C --size=S --round-trips=R
//              [--think-us=T]
//                                   the load alone (bench/echo_callgrind.sh)
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "loadgen.h"
#include "servers.h"

namespace echobench {
namespace {

void Pin(int cpu) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  (void)sched_setaffinity(0, sizeof set, &set);
}

// A listening loopback socket on a free port.
int Listen(uint16_t* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sin;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
      listen(fd, 4096) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  *port = ntohs(sin.sin_port);
  return fd;
}

int Serve(const std::string& name, int fd, int64_t close_after) {
  if (name == "gort") return RunGortServer(fd, close_after);
  if (name == "epoll") return RunEpollServer(fd, close_after);
  if (name == "uv") return RunUvServer(fd, close_after);
  std::fprintf(stderr, "unknown server %s\n", name.c_str());
  return 2;
}

std::vector<long> List(const char* env, const char* def) {
  const char* v = std::getenv(env);
  std::string s = v != nullptr && *v != '\0' ? v : def;
  std::vector<long> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(std::atol(s.substr(i, j - i).c_str()));
    i = j + 1;
  }
  return out;
}

std::vector<std::string> Names(const char* env, const char* def) {
  const char* v = std::getenv(env);
  std::string s = v != nullptr && *v != '\0' ? v : def;
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// One measurement: a fresh server process, the load, the server's exit.
// *usr: the server's user-space share of its CPU time over its life.
LoadResult Measure(const std::string& server, int conns, size_t size,
                   double seconds, double* usr) {
  uint16_t port;
  int lfd = Listen(&port);
  pid_t pid = fork();
  if (pid == 0) {
    Pin(0);
    _exit(Serve(server, lfd, conns));
  }
  close(lfd);
  LoadSpec spec;
  spec.port = port;
  spec.conns = conns;
  spec.size = size;
  spec.seconds = seconds;
  spec.server = pid;
  LoadResult r = RunLoad(spec);
  // The server exits once every connection has ended; give it 10 s.
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    rusage ru;
    if (wait4(pid, &status, WNOHANG, &ru) == pid) {
      double u = static_cast<double>(ru.ru_utime.tv_sec) * 1e6 +
                 static_cast<double>(ru.ru_utime.tv_usec);
      double k = static_cast<double>(ru.ru_stime.tv_sec) * 1e6 +
                 static_cast<double>(ru.ru_stime.tv_usec);
      *usr = u + k > 0 ? u / (u + k) : 0;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "%s server: exit status %d\n", server.c_str(),
                     status);
        r.ok = false;
      }
      return r;
    }
    usleep(10000);
  }
  std::fprintf(stderr, "%s server: still running 10 s after the load\n",
               server.c_str());
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  r.ok = false;
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Table() {
  const char* sec = std::getenv("GORT_BENCH_ECHO_SECONDS");
  double seconds = sec != nullptr && *sec != '\0' ? std::atof(sec) : 2.0;
  const char* rep = std::getenv("GORT_BENCH_ECHO_REPEAT");
  int repeat = rep != nullptr && *rep != '\0' ? std::atoi(rep) : 1;
  std::vector<long> conns = List("GORT_BENCH_ECHO_CONNS", "1,64,1000");
  std::vector<long> sizes = List("GORT_BENCH_ECHO_SIZES", "64,16384");
  std::vector<std::string> servers =
      Names("GORT_BENCH_ECHO_SERVERS", "epoll,uv,gort");
  if (!HaveUv()) {
    std::printf("libuv: not found at build time: the uv server is skipped\n");
    servers.erase(std::remove(servers.begin(), servers.end(), "uv"),
                  servers.end());
  }
  Pin(1);
  std::printf(
      "bench_echo: %.2f s per measurement, %d round(s), median; servers "
      "pinned to CPU 0, load to CPU 1\n",
      seconds, repeat);
  std::printf("%-6s %-6s %-6s %12s %9s %9s %11s %9s %9s %11s %6s\n", "conns",
              "size", "server", "rt/s", "p50_us", "p99_us", "cpu_us/rt",
              "x_epoll", "x_uv", "min_cpu/rt", "usr%");
  int failures = 0;
  for (long c : conns) {
    for (long s : sizes) {
      struct Agg {
        std::vector<double> rps, p50, p99, cpu, usr;
      };
      std::map<std::string, Agg> agg;
      for (int k = 0; k < repeat; ++k) {
        for (const std::string& srv : servers) {  // interleaved
          double usr = 0;
          LoadResult r = Measure(srv, static_cast<int>(c),
                                 static_cast<size_t>(s), seconds, &usr);
          if (!r.ok || r.round_trips == 0) {
            std::printf("%-6ld %-6ld %-6s FAILED\n", c, s, srv.c_str());
            ++failures;
            continue;
          }
          Agg& a = agg[srv];
          a.rps.push_back(static_cast<double>(r.round_trips) / r.seconds);
          a.p50.push_back(r.p50_us);
          a.p99.push_back(r.p99_us);
          a.usr.push_back(usr * 100);
          a.cpu.push_back(r.server_cpu_ns / 1e3 /
                          static_cast<double>(r.round_trips));
        }
      }
      double epoll_cpu = agg.count("epoll") ? Median(agg["epoll"].cpu) : 0;
      double uv_cpu = agg.count("uv") ? Median(agg["uv"].cpu) : 0;
      for (const std::string& srv : servers) {
        if (!agg.count(srv) || agg[srv].cpu.empty()) continue;
        Agg& a = agg[srv];
        double cpu = Median(a.cpu);
        std::printf(
            "%-6ld %-6ld %-6s %12.0f %9.1f %9.1f %11.3f %9.3f %9.3f %11.3f "
            "%6.1f\n",
            c, s, srv.c_str(), Median(a.rps), Median(a.p50), Median(a.p99), cpu,
            epoll_cpu > 0 ? cpu / epoll_cpu : 0, uv_cpu > 0 ? cpu / uv_cpu : 0,
            *std::min_element(a.cpu.begin(), a.cpu.end()), Median(a.usr));
      }
      std::fflush(stdout);
    }
  }
  return failures == 0 ? 0 : 1;
}

std::string Flag(int argc, char** argv, const char* name, const char* def) {
  std::string prefix = std::string("--") + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) {
      return argv[i] + prefix.size();
    }
  }
  return def;
}

bool Has(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return true;
  }
  return false;
}

}  // namespace
}  // namespace echobench

int main(int argc, char** argv) {
  using namespace echobench;
  signal(SIGPIPE, SIG_IGN);
  std::string serve = Flag(argc, argv, "serve", "");
  if (!serve.empty()) {
    uint16_t port;
    int fd = Listen(&port);
    std::string pf = Flag(argc, argv, "port-file", "");
    FILE* out = pf.empty() ? stdout : std::fopen(pf.c_str(), "w");
    if (out == nullptr) return 1;
    std::fprintf(out, "%u\n", port);
    std::fflush(out);
    if (out != stdout) std::fclose(out);
    return Serve(serve, fd,
                 std::atoll(Flag(argc, argv, "close-after", "0").c_str()));
  }
  if (Has(argc, argv, "--load")) {
    LoadSpec spec;
    spec.port =
        static_cast<uint16_t>(std::atoi(Flag(argc, argv, "port", "0").c_str()));
    spec.conns = std::atoi(Flag(argc, argv, "conns", "1").c_str());
    spec.size =
        static_cast<size_t>(std::atol(Flag(argc, argv, "size", "64").c_str()));
    spec.round_trips =
        std::atoll(Flag(argc, argv, "round-trips", "1000").c_str());
    spec.think_ns =
        1000 * std::atoll(Flag(argc, argv, "think-us", "0").c_str());
    LoadResult r = RunLoad(spec);
    std::printf("%s %lld round trips\n", r.ok ? "ok" : "FAILED",
                static_cast<long long>(r.round_trips));
    return r.ok ? 0 : 1;
  }
  return Table();
}
