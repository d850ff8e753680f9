// SPDX-License-Identifier: BSD-3-Clause
// The echo server: see echo_server.h.
#include "echo_server.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#endif

#include <cstring>
#include <utility>

#include "absl/time/time.h"
#include "fd_ops.h"
#include "gort/errno.h"
#include "readable.h"
#include "sleep.h"
#include "task.h"

namespace echo {

// The server's coroutines, friends of EchoServer.
struct ServerTasks {
  static rt::Task AcceptLoop(EchoServer* s);
  static rt::Task Serve(EchoServer* s, std::unique_ptr<gort::Fd> fd);
};

namespace {

int CodeOf(const absl::Status& s) {
  std::optional<gort::Error> e = gort::Error::FromStatus(s);
  return e.has_value() ? e->code() : 0;
}

// A read's bytes, or 0 when it failed: for a caller to whom an error and the
// end of the stream mean the same (the connection is over).
size_t BytesOrZero(const rt::IoOutcome& o) { return o.status.ok() ? o.n : 0; }

}  // namespace

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start(rt::Scheduler& s,
                                                              Options o) {
  std::unique_ptr<EchoServer> srv(new EchoServer(s, o));
  absl::StatusOr<std::unique_ptr<gort::Fd>> l =
      gort::Fd::Socket(s.poller(), AF_INET, SOCK_STREAM, 0);
  if (!l.ok()) return l.status();
  srv->listener_ = std::move(*l);
  gort::SockAddr addr;
  sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(o.port);
  std::memcpy(addr.bytes, &sin, sizeof sin);
  addr.len = sizeof sin;
  absl::Status st = srv->listener_->Bind(addr);
  if (st.ok()) st = srv->listener_->Listen(SOMAXCONN);
  if (!st.ok()) return st;
  absl::StatusOr<gort::SockAddr> local = srv->listener_->LocalAddr();
  if (!local.ok()) return local.status();
  std::memcpy(&sin, local->bytes, sizeof sin);
  srv->port_ = ntohs(sin.sin_port);
  rt::Spawn(s, ServerTasks::AcceptLoop(srv.get()));
  return srv;
}

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Adopt(
    rt::Scheduler& s, intptr_t listen_fd, Options o) {
  std::unique_ptr<EchoServer> srv(new EchoServer(s, o));
  absl::StatusOr<std::unique_ptr<gort::Fd>> l =
      gort::Fd::Open(s.poller(), listen_fd, gort::FdKind::kListener);
  if (!l.ok()) return l.status();
  srv->listener_ = std::move(*l);
  absl::StatusOr<gort::SockAddr> local = srv->listener_->LocalAddr();
  if (local.ok() && local->len >= sizeof(sockaddr_in)) {
    sockaddr_in sin;
    std::memcpy(&sin, local->bytes, sizeof sin);
    srv->port_ = ntohs(sin.sin_port);
  }
  rt::Spawn(s, ServerTasks::AcceptLoop(srv.get()));
  return srv;
}

EchoServer::~EchoServer() = default;

void EchoServer::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  (void)listener_->Close();
  for (Conn* c = conns_; c != nullptr; c = c->next) (void)c->fd->Close();
}

bool EchoServer::Link(Conn* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  c->next = conns_;
  if (conns_ != nullptr) conns_->prev = c;
  conns_ = c;
  return true;
}

void EchoServer::Unlink(Conn* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (c->prev != nullptr) c->prev->next = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  if (conns_ == c) conns_ = c->next;
}

rt::Task ServerTasks::AcceptLoop(EchoServer* s) {
  for (;;) {
    std::unique_ptr<gort::Fd> c;
    rt::IoOutcome o = co_await rt::Accept(*s->listener_, &c);
    if (!o.status.ok()) {
      if (CodeOf(o.status) == GORT_ECANCELED || s->closed()) break;
      // Out of descriptors and the like: back off and try again, as Go's
      // net/http server does.
      (void)co_await rt::Sleep(s->sched_, absl::Milliseconds(5));
      continue;
    }
    s->accepted_.fetch_add(1, std::memory_order_relaxed);
    // Echoed replies go out at once, not after the peer's delayed ACK.
    (void)c->SetSockOptInt(IPPROTO_TCP, TCP_NODELAY, 1);
    rt::Spawn(s->sched_, Serve(s, std::move(c)));
  }
}

rt::Task ServerTasks::Serve(EchoServer* s, std::unique_ptr<gort::Fd> fd) {
  EchoServer::Conn conn;
  conn.fd = fd.get();
  if (s->Link(&conn)) {
    unsigned char buf[kBufferBytes];
    for (;;) {
      // The outcome unnamed: GCC keeps a coroutine's every named local in
      // its frame, and would store it there only to test it.
      size_t n = BytesOrZero(co_await rt::Read(*fd, buf, sizeof buf));
      if (n == 0) break;  // error, closed, or EOF
      {  // scoped: the outcome is checked and gone before the next co_await
        rt::IoOutcome w = co_await rt::Write(*fd, buf, n);
        if (!w.status.ok()) break;
      }
      // A short read emptied the socket: wait for the next edge rather
      // than read again only to hear EAGAIN (see readable.h).
      if (n < sizeof buf) co_await rt::Readable(s->sched_, *fd);
    }
    s->Unlink(&conn);
  }
  (void)fd->Close();  // EBADF when Close() closed it first: fine
  fd.reset();
  int64_t ended = s->ended_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (s->opts_.close_after > 0 && ended >= s->opts_.close_after) s->Close();
}

}  // namespace echo
