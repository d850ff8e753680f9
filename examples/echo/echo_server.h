// SPDX-License-Identifier: BSD-3-Clause
// A TCP echo server on the example runtime: one task accepts, one task per
// connection reads and writes back what it read (Go: the classic
// `for { c, _ := l.Accept(); go io.Copy(c, c) }`).
//
// It listens on the loopback address. Close() ends it from any thread: it
// closes the listener and every connection, so their tasks finish with
// ECANCELED; the Scheduler's Run() returns once they all have (if nothing
// else runs on it). Destroy the server only after that.
#ifndef GORT_EXAMPLES_ECHO_ECHO_SERVER_H_
#define GORT_EXAMPLES_ECHO_ECHO_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "gort/fd.h"
#include "scheduler.h"

namespace echo {

// Bytes each connection reads at once (its buffer, in its task's frame).
inline constexpr size_t kBufferBytes = 16384;

class EchoServer {
 public:
  struct Options {
    uint16_t port = 0;  // 0: any free port
    // If > 0, Close() itself once this many connections have ended (for
    // benchmark runs that must exit cleanly, e.g. under callgrind).
    int64_t close_after = 0;
  };

  // Listens on 127.0.0.1 and spawns the accept task on `s`.
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start(rt::Scheduler& s,
                                                           Options o);
  // Serves `listen_fd`, a socket already listening (it becomes the
  // server's; on failure it is left open).
  static absl::StatusOr<std::unique_ptr<EchoServer>> Adopt(rt::Scheduler& s,
                                                           intptr_t listen_fd,
                                                           Options o);
  ~EchoServer();

  uint16_t port() const { return port_; }
  // Closes the listener and every open connection. Any thread; idempotent.
  void Close();

  bool closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  int64_t accepted() const { return accepted_.load(); }
  int64_t ended() const { return ended_.load(); }

  // One connection, linked into the server's list while its task runs.
  struct Conn {
    gort::Fd* fd = nullptr;
    Conn* prev = nullptr;
    Conn* next = nullptr;
  };

 private:
  EchoServer(rt::Scheduler& s, Options o) : sched_(s), opts_(o) {}
  friend struct ServerTasks;
  // false once Close() ran: the connection must end at once.
  bool Link(Conn* c);
  void Unlink(Conn* c);

  rt::Scheduler& sched_;
  Options opts_;
  std::unique_ptr<gort::Fd> listener_;
  uint16_t port_ = 0;

  std::mutex mu_;
  bool closed_ = false;
  Conn* conns_ = nullptr;

  std::atomic<int64_t> accepted_{0};
  std::atomic<int64_t> ended_{0};
};

}  // namespace echo

#endif  // GORT_EXAMPLES_ECHO_ECHO_SERVER_H_
