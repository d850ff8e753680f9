// SPDX-License-Identifier: BSD-3-Clause
// Scale test: 10,000 concurrent loopback connections through the example
// echo server, every byte checked, no descriptor leaked, memory per idle
// connection reported.
//
// Linux only: the client is raw epoll in a forked child process (the two
// sides together need more descriptors than one process may usually have),
// and descriptors and memory are read from /proc. The server runs in this
// process on the example runtime (one worker).
//
//   GORT_SCALE_CONNS   connections (default 10000)
//   GORT_SCALE_BYTES   bytes each connection sends and gets back (default
//                      4096: the CI setting; e.g. 1048576 for a long run)
//
// Exits 0 on success, 77 (skipped) when the descriptor limit is too low.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "echo_server.h"
// After the C library's headers, which define __GLIBC__.
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "scheduler.h"

namespace {

int64_t EnvInt(const char* name, int64_t def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoll(v) : def;
}

// Heap bytes in use (glibc; 0 elsewhere, e.g. musl, and under sanitizers,
// whose allocators glibc does not see).
int64_t HeapInUse() {
#ifdef __GLIBC__
  return static_cast<int64_t>(mallinfo2().uordblks);
#else
  return 0;
#endif
}

int CountFds() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

int64_t RssBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long size = 0, rss = 0;
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &size, &rss) != 2) rss = 0;
  std::fclose(f);
  return int64_t{rss} * sysconf(_SC_PAGESIZE);
}

// The byte stream of connection `c`: xorshift64* seeded by `c`.
struct Stream {
  explicit Stream(uint64_t c) : s(0x9E3779B97F4A7C15ull * (c + 1)) {}
  unsigned char Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<unsigned char>((s * 0x2545F4914F6CDD1Dull) >> 56);
  }
  uint64_t s;
};

struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void Add(unsigned char b) { h = (h ^ b) * 1099511628211ull; }
};

struct ClientConn {
  int fd = -1;
  int64_t sent = 0, received = 0;
  Stream out{0}, in{0};
  Fnv sent_sum, recv_sum;
  bool bad = false;
};

bool WriteAll(int fd, const void* p, size_t n) {
  return write(fd, p, n) == static_cast<ssize_t>(n);
}
bool ReadAll(int fd, void* p, size_t n) {
  return read(fd, p, n) == static_cast<ssize_t>(n);
}

// The client: opens `conns` connections (at most 256 unconfirmed at once),
// each sends 1 byte and waits for it; then reports "idle" on `to_parent`,
// waits for the go-ahead on `from_parent`, and streams the rest of its
// bytes (at most 64 KiB in flight per connection) and checks every byte
// echoed. Exit status 0 if all arrived intact.
int Client(uint16_t port, int conns, int64_t bytes, int to_parent,
           int from_parent) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 10;
  sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  std::vector<ClientConn> cs(conns);
  for (int i = 0; i < conns; ++i) {
    cs[i].out = Stream(i);
    cs[i].in = Stream(i);
  }
  constexpr int64_t kWindow = 65536;
  std::vector<epoll_event> evs(1024);
  std::vector<unsigned char> buf(65536);
  int opened = 0, idle = 0, done = 0;
  int64_t limit = 1;  // phase 1: each connection's first byte only

  // Sends what the window and the limit allow; false on a hard error.
  auto pump_out = [&](ClientConn& c) {
    while (c.sent < limit && c.sent - c.received < kWindow) {
      size_t n = static_cast<size_t>(
          std::min<int64_t>({limit - c.sent, kWindow - (c.sent - c.received),
                             static_cast<int64_t>(buf.size())}));
      Stream save = c.out;
      for (size_t k = 0; k < n; ++k) buf[k] = c.out.Next();
      ssize_t w = send(c.fd, buf.data(), n, MSG_NOSIGNAL);
      if (w < 0) {
        c.out = save;
        return errno == EAGAIN;
      }
      // Rewind the generator past what was not taken.
      c.out = save;
      for (ssize_t k = 0; k < w; ++k) c.sent_sum.Add(c.out.Next());
      c.sent += w;
    }
    return true;
  };
  auto pump_in = [&](ClientConn& c) {
    for (;;) {
      ssize_t r = recv(c.fd, buf.data(), buf.size(), 0);
      if (r < 0) return errno == EAGAIN;
      if (r == 0) return false;  // the server closed early
      for (ssize_t k = 0; k < r; ++k) {
        if (buf[k] != c.in.Next()) c.bad = true;
        c.recv_sum.Add(buf[k]);
      }
      c.received += r;
    }
  };
  auto open_more = [&]() {
    while (opened < conns && opened - idle < 256) {
      ClientConn& c = cs[opened];
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) return false;
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect(c.fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 &&
          errno != EINPROGRESS) {
        return false;
      }
      epoll_event ev;
      ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
      ev.data.u32 = static_cast<uint32_t>(opened);
      if (epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev) != 0) return false;
      ++opened;
    }
    return true;
  };
  // One round of the event loop; false on an error or 10 s of silence.
  auto step = [&]() {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 10000);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    for (int k = 0; k < n; ++k) {
      ClientConn& c = cs[evs[k].data.u32];
      int64_t before = c.received;
      if (!pump_in(c) || !pump_out(c) || c.bad) return false;
      if (limit == 1 && before == 0 && c.received == 1) ++idle;
      if (limit > 1 && c.received == limit && before < limit) ++done;
    }
    return true;
  };

  // Phase 1: connect all, one byte each.
  while (idle < conns) {
    if (!open_more()) return 11;
    if (!step()) return 12;
  }
  char msg = 'i';
  if (!WriteAll(to_parent, &msg, 1) || !ReadAll(from_parent, &msg, 1)) {
    return 13;
  }
  // Phase 2: the rest of the bytes, all connections at once.
  limit = bytes;
  for (ClientConn& c : cs) {
    if (c.received >= limit) ++done;
    if (!pump_out(c)) return 14;
  }
  while (done < conns) {
    if (!step()) return 15;
  }
  int bad = 0;
  for (ClientConn& c : cs) {
    if (c.bad || c.sent_sum.h != c.recv_sum.h || c.received != bytes) ++bad;
    close(c.fd);
  }
  close(ep);
  return bad == 0 ? 0 : 16;
}

}  // namespace

int main() {
  const int conns = static_cast<int>(EnvInt("GORT_SCALE_CONNS", 10000));
  const int64_t bytes = std::max<int64_t>(1, EnvInt("GORT_SCALE_BYTES", 4096));
  // Go raises the soft limit to the hard one at start-up; so does this.
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  const rlim_t need = static_cast<rlim_t>(conns) + 64;
  if (rl.rlim_cur < need) {
    std::printf("SKIP: RLIMIT_NOFILE hard limit %llu < %llu needed\n",
                static_cast<unsigned long long>(rl.rlim_max),
                static_cast<unsigned long long>(need));
    return 77;
  }
  const int fds_before = CountFds();
  int up[2], down[2];
  if (pipe(up) != 0 || pipe(down) != 0) return 1;
  int status = -1;
  int fds_idle = 0;
  int64_t rss_before = 0, rss_idle = 0, heap_before = 0, heap_idle = 0;
  {
    absl::StatusOr<std::unique_ptr<rt::Scheduler>> s = rt::Scheduler::Create(1);
    if (!s.ok()) return 1;
    absl::StatusOr<std::unique_ptr<echo::EchoServer>> srv =
        echo::EchoServer::Start(**s, {});
    if (!srv.ok()) return 1;
    // Fork before any thread exists: the child only runs Client().
    pid_t pid = fork();
    if (pid == 0) {
      close(up[0]);
      close(down[1]);
      _exit(Client((*srv)->port(), conns, bytes, up[1], down[0]));
    }
    close(up[1]);
    close(down[0]);
    rss_before = RssBytes();
    heap_before = HeapInUse();
    // The monitor: measures at idle, then waits for the client's end and
    // closes the server, which ends Run().
    std::thread monitor([&] {
      char msg;
      if (ReadAll(up[0], &msg, 1)) {
        // Every connection has echoed its first byte; the server's tasks
        // now sit parked in Read.
        rss_idle = RssBytes();
        heap_idle = HeapInUse();
        fds_idle = CountFds();
        (void)WriteAll(down[1], &msg, 1);
      }
      waitpid(pid, &status, 0);
      (*srv)->Close();
    });
    (*s)->Run();
    monitor.join();
    std::printf("server: %lld accepted, %lld ended\n",
                static_cast<long long>((*srv)->accepted()),
                static_cast<long long>((*srv)->ended()));
  }
  close(up[0]);
  close(down[1]);
  const int fds_after = CountFds();
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf(
      "scale: %d connections x %lld bytes each way: client %s (status %d)\n",
      conns, static_cast<long long>(bytes), ok ? "ok" : "FAILED",
      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  std::printf(
      "descriptors: %d before, %d with all connections idle, %d after\n",
      fds_before, fds_idle, fds_after);
  std::printf(
      "memory per idle connection (server process): %.0f B RSS, %.0f B "
      "heap in use\n",
      static_cast<double>(rss_idle - rss_before) / conns,
      static_cast<double>(heap_idle - heap_before) / conns);
  if (fds_after != fds_before) {
    std::printf("FAIL: %d descriptors leaked\n", fds_after - fds_before);
    ok = false;
  }
  return ok ? 0 : 1;
}
