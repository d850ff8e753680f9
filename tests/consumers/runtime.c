/* SPDX-License-Identifier: BSD-3-Clause */
/* A consumer's C99 program for gort's installed packages
 * (scripts/consumers.sh): the parts of the C ABI that run Abseil and the C++
 * runtime inside the library, so a self-contained libgort.so is shown to work
 * without them: a timer heap firing a callback and a token, a poller woken from
 * its own thread and timing a parked waiter out, and the error table. */
#include <stdio.h>
#include <string.h>

#include "gort.h"

static int failures = 0;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

static void on_fire(void* arg, int64_t now) {
  int64_t* fired_at = (int64_t*)arg;
  *fired_at = now;
}

static void timers(void) {
  gort_timers_t heap = 0;
  gort_timer_t cb = 0;
  gort_timer_t tok = 0;
  int64_t fired_at = -1;
  int64_t next = 0;
  int64_t now = gort_nanotime();
  uintptr_t tokens[4];
  size_t n = 0;
  int pending = -1;

  CHECK(gort_timers_new(&heap) == 0);
  CHECK(gort_timer_add(heap, on_fire, &fired_at, &cb) == 0);
  CHECK(gort_timer_add_token(heap, 0x5eed, &tok) == 0);
  CHECK(gort_timer_reset(heap, cb, now + 1000, 0, &pending) == 0);
  CHECK(pending == 0);
  CHECK(gort_timer_reset(heap, tok, now + 2000, 0, NULL) == 0);
  CHECK(gort_timers_next_when(heap, &next) == 0 && next == now + 1000);
  CHECK(gort_timers_run(heap, now + 5000, tokens, 4, &n, &next) == 0);
  CHECK(fired_at == now + 5000);
  CHECK(n == 1 && tokens[0] == 0x5eed);
  CHECK(next == -1);
  CHECK(gort_timer_stop(heap, cb, &pending) == 0 && pending == 0);
  CHECK(gort_timers_free(heap) == 0);
  CHECK(gort_timer_remove(heap, cb) == GORT_EBADF);
}

static void poller(void) {
  gort_poller_t p = 0;
  gort_poll_event_t ev[4];
  size_t got = 99;
  int64_t t0;

  CHECK(gort_poller_open(&p) == 0);
  CHECK(gort_poller_wake(p) == 0);
  t0 = gort_nanotime();
  /* A woken poll returns at once, with nobody to run. */
  CHECK(gort_poller_poll(p, 5 * 1000 * 1000 * 1000LL, ev, 4, &got) == 0);
  CHECK(got == 0);
  CHECK(gort_nanotime() - t0 < 4 * 1000 * 1000 * 1000LL);
  CHECK(gort_poller_poll(p, 0, NULL, 4, &got) == GORT_EINVAL);
  CHECK(gort_poller_close(p) == 0);
  CHECK(gort_poller_close(p) == GORT_EBADF);
}

int main(void) {
  gort_syserr_t e;

  CHECK(gort_version() == GORT_VERSION_HEX);
  memset(&e, 0, sizeof(e));
  e.size = sizeof(e);
  CHECK(gort_syserr_by_name(GORT_ERRSPACE_WINDOWS, "WSAECONNRESET", &e) == 0);
  CHECK(e.raw == 10054 && e.code == GORT_ECONNRESET);
  timers();
  poller();
  if (failures == 0)
    printf("runtime consumer: ok (gort %s)\n", gort_version_string());
  return failures == 0 ? 0 : 1;
}
