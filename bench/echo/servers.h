// SPDX-License-Identifier: BSD-3-Clause
// The echo servers bench_echo compares, each serving a listening socket on
// the calling thread until `close_after` connections have ended (0: until
// the process is killed). Every server reads into a 16 KiB buffer per
// connection (echo::kBufferBytes) and sets TCP_NODELAY on accepted sockets.
#ifndef GORT_BENCH_ECHO_SERVERS_H_
#define GORT_BENCH_ECHO_SERVERS_H_

#include <cstdint>

namespace echobench {

// The floor: raw epoll, edge-triggered, read until EAGAIN (epoll_server.cc).
int RunEpollServer(int listen_fd, int64_t close_after);
// libuv's idiomatic echo: uv_read_start + uv_try_write (uv_server.cc).
// Returns 2 if bench_echo was built without libuv.
int RunUvServer(int listen_fd, int64_t close_after);
// The example echo server on the example runtime over gort (gort_server.cc).
int RunGortServer(int listen_fd, int64_t close_after);

bool HaveUv();

}  // namespace echobench

#endif  // GORT_BENCH_ECHO_SERVERS_H_
