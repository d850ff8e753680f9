// SPDX-License-Identifier: BSD-3-Clause
// bench_echo's load generator: see loadgen.h.
#include "loadgen.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

namespace echobench {
namespace {

int64_t Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t CpuNs(clockid_t cid) {
  timespec ts;
  if (clock_gettime(cid, &ts) != 0) return 0;
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct Conn {
  int fd = -1;
  size_t sent = 0, received = 0;
  int64_t t0 = 0;
  bool active = false;  // a message is in flight
  int64_t round_trips = 0;
};

}  // namespace

LoadResult RunLoad(const LoadSpec& spec) {
  LoadResult res;
  sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(spec.port);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return res;
  std::vector<Conn> cs(spec.conns);
  auto close_all = [&] {
    for (Conn& c : cs) {
      if (c.fd >= 0) close(c.fd);
    }
    close(ep);
  };
  for (int i = 0; i < spec.conns; ++i) {
    Conn& c = cs[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0 ||
        connect(c.fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
      close_all();
      return res;
    }
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      close_all();
      return res;
    }
  }
  clockid_t cpu_clock = 0;
  bool have_cpu =
      spec.server != 0 && clock_getcpuclockid(spec.server, &cpu_clock) == 0;

  std::vector<unsigned char> msg(spec.size, 'x'), in(65536);
  std::vector<uint32_t> lat;
  lat.reserve(1 << 20);
  const bool fixed = spec.round_trips >= 0;
  int64_t started = 0, done = 0;
  bool failed = false;

  // Sends what is left of c's message; false on an error.
  auto push = [&](Conn& c) {
    while (c.sent < spec.size) {
      ssize_t w =
          send(c.fd, msg.data() + c.sent, spec.size - c.sent, MSG_NOSIGNAL);
      if (w < 0) return errno == EAGAIN;
      c.sent += static_cast<size_t>(w);
    }
    return true;
  };
  auto start = [&](Conn& c, int64_t now) {
    if (fixed && started >= spec.round_trips) return true;
    ++started;
    c.active = true;
    c.sent = c.received = 0;
    c.t0 = now;
    return push(c);
  };

  int64_t t_begin = Now();
  int64_t warm = fixed ? 0 : static_cast<int64_t>(spec.seconds * 1e8);
  int64_t measure_from = t_begin + warm;
  int64_t stop_at = measure_from + static_cast<int64_t>(spec.seconds * 1e9);
  // The window opens after the warm-up and once every connection has
  // completed a round trip (1000 x 16 KiB takes a while to get going).
  bool measuring = fixed;
  int warmed = 0;
  int64_t t_start = t_begin;
  int64_t cpu_start = have_cpu ? CpuNs(cpu_clock) : 0;
  for (Conn& c : cs) {
    if (!start(c, t_begin)) failed = true;
  }
  epoll_event evs[1024];
  std::deque<std::pair<int64_t, Conn*>> thinking;  // FIFO: equal pauses
  while (!failed) {
    if (fixed && done >= spec.round_trips) break;
    int timeout = 5000;
    if (!thinking.empty()) {
      int64_t left = thinking.front().first - Now();
      timeout = left <= 0 ? 0 : static_cast<int>((left + 999999) / 1000000);
    }
    int n = epoll_wait(ep, evs, 1024, timeout);
    if (n == 0 && !thinking.empty()) {
      int64_t now = Now();
      while (!thinking.empty() && thinking.front().first <= now) {
        if (!start(*thinking.front().second, now)) failed = true;
        thinking.pop_front();
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "load: 5 s without a reply\n");
      failed = true;
      break;
    }
    int64_t now = Now();
    for (int k = 0; k < n; ++k) {
      Conn& c = cs[evs[k].data.u32];
      if (!c.active) continue;
      if (!push(c)) {
        std::fprintf(stderr, "load: send: %s\n", std::strerror(errno));
        failed = true;
        break;
      }
      for (;;) {
        ssize_t r = recv(c.fd, in.data(), in.size(), 0);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) {
          std::fprintf(stderr, "load: recv: %s\n",
                       r == 0 ? "EOF" : std::strerror(errno));
          failed = true;
          break;
        }
        c.received += static_cast<size_t>(r);
      }
      if (failed) break;
      if (c.received >= spec.size && c.sent >= spec.size) {
        c.active = false;
        if (c.round_trips++ == 0) ++warmed;
        if (measuring) {
          ++done;
          int64_t l = now - c.t0;
          lat.push_back(
              static_cast<uint32_t>(std::min<int64_t>(l, UINT32_MAX)));
        }
        if (spec.think_ns > 0) {
          thinking.emplace_back(now + spec.think_ns, &c);
        } else if (!start(c, now)) {
          failed = true;
        }
      }
    }
    if (!fixed) {
      if (!measuring && now >= measure_from && warmed == spec.conns) {
        measuring = true;
        t_start = now;
        stop_at = now + static_cast<int64_t>(spec.seconds * 1e9);
        cpu_start = have_cpu ? CpuNs(cpu_clock) : 0;
      } else if (measuring && now >= stop_at && done >= spec.conns) {
        // (at least one round trip per connection in the window)
        break;
      }
    }
  }
  int64_t t_end = Now();
  int64_t cpu_end = have_cpu ? CpuNs(cpu_clock) : 0;
  close_all();
  res.ok = !failed;
  res.round_trips = done;
  res.seconds = static_cast<double>(t_end - t_start) / 1e9;
  res.server_cpu_ns = static_cast<double>(cpu_end - cpu_start);
  if (!lat.empty()) {
    auto pct = [&](double p) {
      size_t i = static_cast<size_t>(p * static_cast<double>(lat.size() - 1));
      std::nth_element(lat.begin(), lat.begin() + i, lat.end());
      return static_cast<double>(lat[i]) / 1e3;
    };
    res.p50_us = pct(0.50);
    res.p99_us = pct(0.99);
  }
  return res;
}

}  // namespace echobench
