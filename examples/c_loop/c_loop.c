/* SPDX-License-Identifier: BSD-3-Clause */
/* c_loop: one thread's event loop in C99 driving gort's poller and a gort
 * timer heap together, through the C ABI (gort.h) only. docs/guide-c-loop.md
 * walks through it.
 *
 * What runs on the loop: a loopback TCP echo (a listener accepts one
 * connection and echoes it; a client connects), a periodic timer whose
 * callback sends the client's next message every few milliseconds, and a
 * one-shot timer handing back a token: a watchdog that fails the run if the
 * echo has not finished in 10 s. The loop's wait is bounded by the nearest
 * timer; arming a timer earlier than that bound wakes the poller.
 *
 * Waiters are plain structs whose address is the token (gort keeps 0, 1 and
 * 2 for itself; no struct lives there). Every operation is re-entrant: a
 * waiter's step calls its gort_fd_* operation; GORT_POLL_PARKED means the
 * token comes out of gort_poller_poll() later, whatever the reason (ready,
 * deadline, closing), and the step is simply called again.
 *
 * Exits 0 when every message came back intact. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L /* sockaddr_in, htonl under -std=c99 */
#endif
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "gort.h"

/* macOS hides INADDR_LOOPBACK under strict POSIX (-std=c99 with
 * _POSIX_C_SOURCE); its value is 127.0.0.1 everywhere. */
#ifndef INADDR_LOOPBACK
#define INADDR_LOOPBACK 0x7f000001u
#endif

#define ROUNDS 20
#define TICK_NS 2000000LL         /* 2 ms between messages */
#define WATCHDOG_NS 10000000000LL /* 10 s for the whole run */

struct app;

/* A waiter: its address is its token; step resumes it. */
typedef struct waiter {
  void (*step)(struct app*, struct waiter*);
} waiter;

#define TOKEN(w) ((uintptr_t)(w))

typedef struct app {
  gort_poller_t poller;
  gort_timers_t heap;
  int parked; /* operations whose token is still to come out */
  int finished;
  int failed;

  gort_fd_t listener, client, server;
  struct sockaddr_in addr; /* the listener's address */

  waiter accept_w, srv_read_w, srv_write_w;  /* the echo server */
  waiter connect_w, cli_write_w, cli_read_w; /* the client */
  waiter watchdog_w;                         /* a timer's token */
  char srv_buf[512];
  size_t srv_n;

  int connected, busy, round;
  char msg[64], back[64];
  size_t msg_len, back_got;

  gort_timer_t tick, watchdog;
  int ticks;
} app;

static void fail(app* a, const char* what, int rc) {
  fprintf(stderr, "c_loop: %s: %s (%s)\n", what, gort_strerror(rc),
          gort_err_name(rc));
  a->failed = 1;
  a->finished = 1;
}

/* An operation's result: 1 if done, 0 if parked (counted) or failed. */
static int settle(app* a, const char* what, int rc) {
  if (rc == GORT_POLL_PARKED) {
    ++a->parked;
    return 0;
  }
  if (rc == GORT_ECANCELED && a->finished) return 0; /* closed at the end */
  if (rc != 0) {
    fail(a, what, rc);
    return 0;
  }
  return 1;
}

/* Arms timer `t` for `when`, then every `period` ns. */
static void arm(app* a, gort_timer_t t, int64_t when, int64_t period) {
  int rc = gort_timer_reset(a->heap, t, when, period, NULL);
  if (rc != 0) fail(a, "timer reset", rc);
}

/* The heap calls this when a reset makes its nearest deadline earlier: a
 * poll blocked with a later bound must see the new one, so wake it
 * (coalesced). On this one thread the wake only makes the next poll return
 * at once; a loop whose timers other threads arm needs it, as Go's
 * wakeNetPoller. */
static void on_earlier(void* arg) {
  app* a = (app*)arg;
  gort_poller_wake(a->poller);
}

/* --- the echo server --------------------------------------------------- */

static void srv_read(app* a, waiter* w);

static void srv_write(app* a, waiter* w) {
  size_t done = 0;
  (void)w;
  if (!settle(a, "server write",
              gort_fd_write(a->server, a->srv_buf, a->srv_n,
                            TOKEN(&a->srv_write_w), &done)))
    return;
  srv_read(a, &a->srv_read_w); /* all written: read the next bytes */
}

static void srv_read(app* a, waiter* w) {
  size_t n = 0;
  (void)w;
  if (!settle(a, "server read",
              gort_fd_read(a->server, a->srv_buf, sizeof a->srv_buf,
                           TOKEN(&a->srv_read_w), &n)))
    return;
  if (n == 0) { /* the client shut its side: done */
    gort_fd_close(a->server);
    a->server = 0;
    return;
  }
  a->srv_n = n;
  srv_write(a, &a->srv_write_w);
}

static void accept_step(app* a, waiter* w) {
  (void)w;
  if (!settle(a, "accept",
              gort_fd_accept(a->listener, TOKEN(&a->accept_w), &a->server, NULL,
                             NULL)))
    return;
  srv_read(a, &a->srv_read_w);
}

/* --- the client -------------------------------------------------------- */

static void connect_step(app* a, waiter* w) {
  (void)w;
  if (!settle(a, "connect",
              gort_fd_connect(a->client, &a->addr, sizeof a->addr,
                              TOKEN(&a->connect_w))))
    return;
  a->connected = 1; /* the next tick sends the first message */
}

static void cli_read(app* a, waiter* w) {
  (void)w;
  while (a->back_got < a->msg_len) {
    size_t n = 0;
    if (!settle(
            a, "client read",
            gort_fd_read(a->client, a->back + a->back_got,
                         a->msg_len - a->back_got, TOKEN(&a->cli_read_w), &n)))
      return;
    if (n == 0) {
      fail(a, "client read: early end of stream", GORT_EOF);
      return;
    }
    a->back_got += n;
  }
  if (memcmp(a->back, a->msg, a->msg_len) != 0) {
    fail(a, "echo differs", GORT_EIO);
    return;
  }
  a->busy = 0;
  if (++a->round == ROUNDS) { /* all back: end the run */
    gort_timer_stop(a->heap, a->tick, NULL);
    gort_timer_stop(a->heap, a->watchdog, NULL);
    gort_fd_shutdown(a->client, GORT_POLL_WRITE); /* the server reads EOF */
    a->finished = 1;
  }
}

static void cli_write(app* a, waiter* w) {
  size_t done = 0;
  (void)w;
  if (!settle(a, "client write",
              gort_fd_write(a->client, a->msg, a->msg_len,
                            TOKEN(&a->cli_write_w), &done)))
    return;
  a->back_got = 0;
  cli_read(a, &a->cli_read_w);
}

/* --- the timers -------------------------------------------------------- */

/* The periodic timer's callback, run by gort_timers_run() on the loop's
 * thread: it may call any gort function, fd operations included. */
static void on_tick(void* arg, int64_t now) {
  app* a = (app*)arg;
  (void)now;
  ++a->ticks;
  if (!a->connected || a->busy || a->finished) return;
  a->busy = 1;
  a->msg_len =
      (size_t)sprintf(a->msg, "message %d of %d", a->round + 1, ROUNDS);
  cli_write(a, &a->cli_write_w);
}

static void watchdog_step(app* a, waiter* w) {
  (void)w;
  fail(a, "watchdog: the echo did not finish in time", GORT_ETIMEDOUT);
}

/* --- the loop ---------------------------------------------------------- */

static int setup(app* a) {
  uint32_t len = sizeof a->addr;
  int rc;
  if ((rc = gort_poller_open(&a->poller)) != 0 ||
      (rc = gort_timers_new(&a->heap)) != 0 ||
      /* Only this thread uses the heap: it owns it, and its calls on the
         heap take no lock. */
      (rc = gort_timers_set_owner(a->heap, 1)) != 0 ||
      (rc = gort_timers_set_earlier(a->heap, on_earlier, a)) != 0) {
    fail(a, "open", rc);
    return rc;
  }
  memset(&a->addr, 0, sizeof a->addr);
  a->addr.sin_family = AF_INET;
  a->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if ((rc = gort_fd_socket(a->poller, AF_INET, SOCK_STREAM, 0, &a->listener)) !=
          0 ||
      (rc = gort_fd_bind(a->listener, &a->addr, sizeof a->addr)) != 0 ||
      (rc = gort_fd_listen(a->listener, 16)) != 0 ||
      (rc = gort_fd_local_addr(a->listener, &a->addr, &len)) != 0 ||
      (rc = gort_fd_socket(a->poller, AF_INET, SOCK_STREAM, 0, &a->client)) !=
          0) {
    fail(a, "listener", rc);
    return rc;
  }
  if ((rc = gort_timer_add(a->heap, on_tick, a, &a->tick)) != 0 ||
      (rc = gort_timer_add_token(a->heap, TOKEN(&a->watchdog_w),
                                 &a->watchdog)) != 0) {
    fail(a, "timer add", rc);
    return rc;
  }
  return 0;
}

/* Fires what is due. gort_timers_run() is bounded: it says in *next when
 * more is already due (a periodic timer fires at most once per call). */
static void run_timers(app* a) {
  uintptr_t tokens[8];
  size_t n, i;
  int64_t now, next;
  do {
    now = gort_nanotime();
    if (gort_timers_run(a->heap, now, tokens, 8, &n, &next) != 0) return;
    for (i = 0; i < n; ++i) ((waiter*)tokens[i])->step(a, (waiter*)tokens[i]);
  } while (next >= 0 && next <= now);
}

int main(void) {
  static app a; /* zeroed: handles 0 are "none" */
  gort_poll_event_t ev[16];
  size_t got, i;
  int64_t start;

  a.accept_w.step = accept_step;
  a.srv_read_w.step = srv_read;
  a.srv_write_w.step = srv_write;
  a.connect_w.step = connect_step;
  a.cli_write_w.step = cli_write;
  a.cli_read_w.step = cli_read;
  a.watchdog_w.step = watchdog_step;
  if (setup(&a) != 0) return 1;

  start = gort_nanotime();
  arm(&a, a.tick, start + TICK_NS, TICK_NS);
  arm(&a, a.watchdog, start + WATCHDOG_NS, 0);
  accept_step(&a, &a.accept_w);
  connect_step(&a, &a.connect_w);

  /* Until the run is over and every parked operation has come out. */
  while (!a.finished || a.parked > 0 || a.server != 0) {
    int64_t next = -1, delay = -1;
    int rc;
    gort_timers_next_when(a.heap, &next);
    if (next >= 0) {
      int64_t now = gort_nanotime();
      delay = next > now ? next - now : 0;
    }
    rc = gort_poller_poll(a.poller, delay, ev, 16, &got);
    if (rc != 0) {
      fail(&a, "poll", rc);
      break;
    }
    for (i = 0; i < got; ++i) {
      waiter* w = (waiter*)ev[i].token;
      --a.parked;
      w->step(&a, w); /* whatever the reason: the operation says */
    }
    run_timers(&a);
    if (a.failed) break;
  }

  if (a.server) gort_fd_close(a.server);
  gort_fd_close(a.client);
  gort_fd_close(a.listener);
  gort_timers_free(a.heap);
  if (gort_poller_close(a.poller) != 0) a.failed = 1;
  if (a.failed) return 1;
  printf("c_loop: %d messages echoed, %d ticks, %.1f ms\n", a.round, a.ticks,
         (double)(gort_nanotime() - start) / 1e6);
  return 0;
}
