// SPDX-License-Identifier: BSD-3-Clause
// The example echo server (examples/echo) on the example runtime, one
// worker, over an already listening socket handed to gort's FD layer.
#include <memory>

#include "echo_server.h"
#include "scheduler.h"
#include "servers.h"

namespace echobench {

int RunGortServer(int listen_fd, int64_t close_after) {
  absl::StatusOr<std::unique_ptr<rt::Scheduler>> s = rt::Scheduler::Create(1);
  if (!s.ok()) return 1;
  echo::EchoServer::Options o;
  o.close_after = close_after;
  absl::StatusOr<std::unique_ptr<echo::EchoServer>> srv =
      echo::EchoServer::Adopt(**s, listen_fd, o);
  if (!srv.ok()) return 1;
  (*s)->Run();
  return 0;
}

}  // namespace echobench
