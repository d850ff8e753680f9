// SPDX-License-Identifier: BSD-3-Clause
// The libuv echo server, written as libuv's users write one: uv_read_start
// with a per-connection buffer, uv_try_write for the reply, and uv_write
// (reading paused) only when the socket cannot take it all at once.
#include <cstdlib>

#include "servers.h"

#ifdef GORT_HAVE_LIBUV
#include <uv.h>

namespace echobench {
namespace {

struct Server {
  uv_loop_t* loop;
  uv_tcp_t listener;
  int64_t close_after;
  int64_t ended = 0;
};

struct Conn {
  uv_tcp_t tcp;
  uv_write_t req;
  Server* srv;
  char buf[16384];
};

void OnClosed(uv_handle_t* h) {
  Conn* c = static_cast<Conn*>(h->data);
  Server* s = c->srv;
  delete c;
  if (s->close_after > 0 && ++s->ended >= s->close_after) {
    uv_close(reinterpret_cast<uv_handle_t*>(&s->listener), nullptr);
  }
}

void OnAlloc(uv_handle_t* h, size_t, uv_buf_t* b) {
  Conn* c = static_cast<Conn*>(h->data);
  *b = uv_buf_init(c->buf, sizeof c->buf);
}

void OnRead(uv_stream_t* st, ssize_t n, const uv_buf_t* b);

void OnWritten(uv_write_t* req, int status) {
  Conn* c = static_cast<Conn*>(req->data);
  if (status < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnClosed);
    return;
  }
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
}

void OnRead(uv_stream_t* st, ssize_t n, const uv_buf_t* b) {
  Conn* c = static_cast<Conn*>(st->data);
  if (n < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(st), OnClosed);
    return;
  }
  if (n == 0) return;
  uv_buf_t out = uv_buf_init(b->base, static_cast<unsigned>(n));
  int w = uv_try_write(st, &out, 1);
  if (w == n) return;
  if (w < 0 && w != UV_EAGAIN) {
    uv_close(reinterpret_cast<uv_handle_t*>(st), OnClosed);
    return;
  }
  if (w > 0) out = uv_buf_init(b->base + w, static_cast<unsigned>(n - w));
  uv_read_stop(st);  // the buffer is in use until written
  c->req.data = c;
  uv_write(&c->req, st, &out, 1, OnWritten);
}

void OnConnection(uv_stream_t* l, int status) {
  if (status < 0) return;
  Server* s = static_cast<Server*>(l->data);
  Conn* c = new Conn;
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(l, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), OnClosed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), OnAlloc, OnRead);
}

}  // namespace

bool HaveUv() { return true; }

int RunUvServer(int listen_fd, int64_t close_after) {
  Server s;
  s.loop = uv_default_loop();
  s.close_after = close_after;
  uv_tcp_init(s.loop, &s.listener);
  s.listener.data = &s;
  if (uv_tcp_open(&s.listener, listen_fd) != 0) return 1;
  if (uv_listen(reinterpret_cast<uv_stream_t*>(&s.listener), 4096,
                OnConnection) != 0) {
    return 1;
  }
  uv_run(s.loop, UV_RUN_DEFAULT);
  uv_loop_close(s.loop);
  return 0;
}

}  // namespace echobench

#else  // !GORT_HAVE_LIBUV

namespace echobench {
bool HaveUv() { return false; }
int RunUvServer(int, int64_t) { return 2; }
}  // namespace echobench

#endif
