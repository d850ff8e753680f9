// SPDX-License-Identifier: BSD-3-Clause
// The signal C ABI (gort_signal_*): a signal through the C ABI alone, and
// every entry point with NULL, stale, closed and out-of-range arguments
// returning a code, never crashing.
#include <gtest/gtest.h>

#include <cstdint>

#include "gort.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <signal.h>
#endif

namespace {

constexpr uintptr_t kTok = 0x700;

// Polls until `token` comes out (at most ~10 s); false if it did not.
bool TokenOut(gort_poller_t p, uintptr_t token) {
  for (int i = 0; i < 100; i++) {
    gort_poll_event_t evs[8];
    size_t got = 0;
    if (gort_poller_poll(p, 100 * 1000 * 1000, evs, 8, &got) != 0) {
      return false;
    }
    for (size_t k = 0; k < got; k++) {
      if (evs[k].token == token) return true;
    }
  }
  return false;
}

#ifndef _WIN32
TEST(CApiSignal, NotifyRaiseReceiveThroughTheCAbi) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  gort_signal_t s = 0;
  ASSERT_EQ(gort_signal_open(p, &s), 0);
  EXPECT_EQ(gort_signal_disposition(SIGUSR1), GORT_SIG_DEFAULT);
  const int sigs[] = {SIGUSR1, SIGUSR2};
  ASSERT_EQ(gort_signal_notify(s, sigs, 2), 0);
  EXPECT_EQ(gort_signal_disposition(SIGUSR1), GORT_SIG_GORT);
  uint64_t wanted = 0;
  ASSERT_EQ(gort_signal_wanted(s, &wanted), 0);
  EXPECT_EQ(wanted, (1ull << (SIGUSR1 - 1)) | (1ull << (SIGUSR2 - 1)));
  uint64_t set = 0;
  EXPECT_EQ(gort_signal_receive(s, kTok, &set), GORT_POLL_PARKED);
  EXPECT_EQ(gort_poller_close(p), GORT_EBUSY);  // the source uses it
  ASSERT_EQ(raise(SIGUSR2), 0);
  ASSERT_TRUE(TokenOut(p, kTok));
  EXPECT_EQ(gort_signal_receive(s, kTok, &set), 0);
  EXPECT_EQ(set, 1ull << (SIGUSR2 - 1));
  EXPECT_EQ(gort_signal_stop(s, nullptr, 0), 0);
  EXPECT_EQ(gort_signal_disposition(SIGUSR1), GORT_SIG_DEFAULT);
  // Ignore / Ignored / Reset.
  const int usr1[] = {SIGUSR1};
  EXPECT_EQ(gort_signal_ignored(SIGUSR1), 0);
  EXPECT_EQ(gort_signal_ignore(usr1, 1), 0);
  EXPECT_EQ(gort_signal_ignored(SIGUSR1), 1);
  EXPECT_EQ(gort_signal_disposition(SIGUSR1), GORT_SIG_IGNORED);
  EXPECT_EQ(gort_signal_reset(usr1, 1), 0);
  EXPECT_EQ(gort_signal_ignored(SIGUSR1), 0);
  // A parked receive, then close: it comes out and gets ECANCELED; the
  // handle is then released.
  EXPECT_EQ(gort_signal_receive(s, kTok, &set), GORT_POLL_PARKED);
  EXPECT_EQ(gort_signal_close(s), 0);
  ASSERT_TRUE(TokenOut(p, kTok));
  EXPECT_EQ(gort_signal_receive(s, kTok, &set), GORT_ECANCELED);
  EXPECT_EQ(gort_signal_close(s), GORT_EBADF);  // released
  EXPECT_EQ(gort_poller_close(p), 0);
}
#endif

TEST(CApiSignal, BadArgumentsReturnCodes) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  gort_signal_t s = 0;
  EXPECT_EQ(gort_signal_open(p, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_signal_open(0, &s), GORT_EBADF);
  EXPECT_EQ(gort_signal_open(p + 12345, &s), GORT_EBADF);
  ASSERT_EQ(gort_signal_open(p, &s), 0);
  const int bad[] = {0};
  const int too_big[] = {65};
  const int kill_sig[] = {9};  // SIGKILL, here and in Go's Windows numbers
  EXPECT_EQ(gort_signal_notify(s, nullptr, 1), GORT_EINVAL);
  EXPECT_EQ(gort_signal_notify(s, bad, 1), GORT_EINVAL);
  EXPECT_EQ(gort_signal_notify(s, too_big, 1), GORT_EINVAL);
  EXPECT_EQ(gort_signal_notify(s, kill_sig, 1), GORT_EINVAL);
  EXPECT_EQ(gort_signal_stop(s, nullptr, 3), GORT_EINVAL);
  EXPECT_EQ(gort_signal_stop(s, too_big, 1), GORT_EINVAL);
  EXPECT_EQ(gort_signal_wanted(s, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_signal_receive(s, kTok, nullptr), GORT_EINVAL);
  uint64_t set = 0;
  EXPECT_EQ(gort_signal_receive(s, 0, &set), GORT_EINVAL);  // token 0
  EXPECT_EQ(gort_signal_ignore(nullptr, 2), GORT_EINVAL);
  EXPECT_EQ(gort_signal_ignore(kill_sig, 1), GORT_EINVAL);
  EXPECT_EQ(gort_signal_reset(nullptr, 2), GORT_EINVAL);
  EXPECT_EQ(gort_signal_reset(too_big, 1), GORT_EINVAL);
  EXPECT_EQ(gort_signal_ignored(0), GORT_EINVAL);
  EXPECT_EQ(gort_signal_ignored(65), GORT_EINVAL);
  EXPECT_EQ(gort_signal_disposition(0), GORT_EINVAL);
  EXPECT_EQ(gort_signal_disposition(65), GORT_EINVAL);
  EXPECT_EQ(gort_signal_console_close_done(), 0);
  // Stale and unknown handles.
  EXPECT_EQ(gort_signal_close(0), GORT_EBADF);
  EXPECT_EQ(gort_signal_close(s + 1), GORT_EBADF);
  EXPECT_EQ(gort_signal_receive(s + 1, kTok, &set), GORT_EBADF);
  EXPECT_EQ(gort_signal_set_deadline(s + 1, 1), GORT_EBADF);
  EXPECT_EQ(gort_signal_notify(s + 1, nullptr, 0), GORT_EBADF);
  EXPECT_EQ(gort_signal_close(s), 0);  // nothing parked: released at once
  EXPECT_EQ(gort_signal_close(s), GORT_EBADF);
  EXPECT_EQ(gort_signal_notify(s, nullptr, 0), GORT_EBADF);
  EXPECT_EQ(gort_signal_receive(s, kTok, &set), GORT_EBADF);
  EXPECT_EQ(gort_signal_wanted(s, &set), GORT_EBADF);
  EXPECT_EQ(gort_poller_close(p), 0);
}

TEST(CApiSignal, ReceiveDeadline) {
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  gort_signal_t s = 0;
  ASSERT_EQ(gort_signal_open(p, &s), 0);
  uint64_t set = 0;
  EXPECT_EQ(gort_signal_set_deadline(s, 20 * 1000 * 1000), 0);  // 20 ms
  int rc = gort_signal_receive(s, kTok, &set);
  if (rc == GORT_POLL_PARKED) {
    ASSERT_TRUE(TokenOut(p, kTok));
    rc = gort_signal_receive(s, kTok, &set);
#ifdef _WIN32
    // The read was cancelled: the token comes out once more for its
    // cancelled completion (Go's pollWaitCanceled) before the error.
    if (rc == GORT_POLL_PARKED) {
      ASSERT_TRUE(TokenOut(p, kTok));
      rc = gort_signal_receive(s, kTok, &set);
    }
#endif
  }
  EXPECT_EQ(rc, GORT_ETIMEDOUT);
  EXPECT_EQ(gort_signal_close(s), 0);
  EXPECT_EQ(gort_poller_close(p), 0);
}

}  // namespace
