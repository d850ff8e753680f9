// SPDX-License-Identifier: BSD-3-Clause
// The raw-epoll echo server: the floor the others are measured against.
// Edge-triggered like gort's backend (and Go's): on readiness it reads until
// EAGAIN, writing back each chunk at once; a write that cannot finish keeps
// the rest and waits for EPOLLOUT before reading again.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "servers.h"

namespace echobench {
namespace {

struct Conn {
  int fd = -1;
  size_t off = 0, len = 0;  // bytes of buf still to write
  unsigned char buf[16384];
};

// Flushes what is pending; false on EAGAIN (wait for EPOLLOUT), closes on
// an error (c.fd = -1).
bool Flush(Conn& c) {
  while (c.off < c.len) {
    ssize_t w = send(c.fd, c.buf + c.off, c.len - c.off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) return false;
      close(c.fd);
      c.fd = -1;
      return false;
    }
    c.off += static_cast<size_t>(w);
  }
  c.off = c.len = 0;
  return true;
}

}  // namespace

int RunEpollServer(int lfd, int64_t close_after) {
  fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 1;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = nullptr;  // the listener
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) return 1;
  epoll_event evs[128];
  int64_t ended = 0;
  while (close_after == 0 || ended < close_after) {
    int n = epoll_wait(ep, evs, 128, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      Conn* c = static_cast<Conn*>(evs[i].data.ptr);
      if (c == nullptr) {
        for (;;) {
          int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          Conn* nc = new Conn;
          nc->fd = fd;
          epoll_event e{};
          e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          e.data.ptr = nc;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
        continue;
      }
      if (!Flush(*c)) {
        if (c->fd >= 0) continue;  // still pending: wait for EPOLLOUT
      } else {
        for (;;) {
          ssize_t r = recv(c->fd, c->buf, sizeof c->buf, 0);
          if (r < 0 && errno == EAGAIN) break;
          if (r <= 0) {
            close(c->fd);  // also removes it from the epoll set
            c->fd = -1;
            break;
          }
          c->len = static_cast<size_t>(r);
          if (!Flush(*c)) break;
        }
      }
      if (c->fd < 0) {
        delete c;
        ++ended;
      }
    }
  }
  close(ep);
  return 0;
}

}  // namespace echobench
