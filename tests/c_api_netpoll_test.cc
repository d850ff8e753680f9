// SPDX-License-Identifier: BSD-3-Clause
// The netpoller's C ABI: argument checks on every entry point, stale and
// closed handles, and one park / wake round trip.
#include <gtest/gtest.h>

#include <cstdint>

#include "gort.h"
#include "netpoll_test_util.h"

namespace {

TEST(CApiNetpoll, NullAndClosedHandles) {
  EXPECT_EQ(gort_poller_open(nullptr), GORT_EINVAL);
  gort_poller_t p = 0;
  ASSERT_EQ(gort_poller_open(&p), 0);
  ASSERT_NE(p, 0u);
  gort_pd_t pd = 0;
  gort_poll_event_t ev[4];
  size_t got = 0;
  void* ov = nullptr;
  uint32_t bytes = 0, err = 0;

  EXPECT_EQ(gort_poller_register(p, 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_poller_poll(p, 0, nullptr, 4, &got), GORT_EINVAL);
  EXPECT_EQ(gort_poller_poll(p, 0, ev, 0, &got), GORT_EINVAL);
  EXPECT_EQ(gort_poller_poll(p, 0, ev, 4, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_poller_poll(p, 0, ev, 4, &got), 0);
  EXPECT_EQ(got, 0u);
  EXPECT_EQ(gort_poller_wake(p), 0);

  // Unknown pollDescs.
  for (gort_pd_t bad : {gort_pd_t{0}, gort_pd_t{1}, ~gort_pd_t{0}}) {
    EXPECT_EQ(gort_poller_prepare(p, bad, GORT_POLL_READ), GORT_EBADF);
    EXPECT_EQ(gort_poller_wait(p, bad, GORT_POLL_READ, 0x10), GORT_EBADF);
    EXPECT_EQ(gort_poller_set_deadline(p, bad, 1, GORT_POLL_READ), GORT_EBADF);
    EXPECT_EQ(gort_poller_evict(p, bad), GORT_EBADF);
    EXPECT_EQ(gort_poller_unregister(p, bad), GORT_EBADF);
    EXPECT_EQ(gort_poller_overlapped(p, bad, GORT_POLL_READ, &ov), GORT_EBADF);
    EXPECT_EQ(
        gort_poller_overlapped_result(p, bad, GORT_POLL_READ, &bytes, &err),
        GORT_EBADF);
    int skip = 0;
    EXPECT_EQ(gort_poller_skips_completion_on_success(p, bad, &skip),
              GORT_EBADF);
    EXPECT_EQ(gort_poller_wait_canceled(p, bad, GORT_POLL_READ, 0x10),
              GORT_EBADF);
#ifdef _WIN32
    EXPECT_EQ(gort_poller_overlapped_not_queued(p, bad, GORT_POLL_READ, 0, 0),
              GORT_EBADF);
#else
    EXPECT_EQ(gort_poller_overlapped_not_queued(p, bad, GORT_POLL_READ, 0, 0),
              GORT_ENOTSUP);
#endif
  }

  ASSERT_EQ(gort_poller_close(p), 0);
  // Everything with a closed poller, and with handles never issued.
  for (gort_poller_t bad :
       {p, gort_poller_t{0}, gort_poller_t{4097}, ~gort_poller_t{0}}) {
    EXPECT_EQ(gort_poller_close(bad), GORT_EBADF);
    EXPECT_EQ(gort_poller_register(bad, 0, &pd), GORT_EBADF);
    EXPECT_EQ(gort_poller_evict(bad, 1), GORT_EBADF);
    EXPECT_EQ(gort_poller_unregister(bad, 1), GORT_EBADF);
    EXPECT_EQ(gort_poller_prepare(bad, 1, GORT_POLL_READ), GORT_EBADF);
    EXPECT_EQ(gort_poller_wait(bad, 1, GORT_POLL_READ, 0x10), GORT_EBADF);
    EXPECT_EQ(gort_poller_set_deadline(bad, 1, 1, GORT_POLL_READ), GORT_EBADF);
    EXPECT_EQ(gort_poller_poll(bad, 0, ev, 4, &got), GORT_EBADF);
    EXPECT_EQ(gort_poller_wake(bad), GORT_EBADF);
    EXPECT_EQ(gort_poller_overlapped(bad, 1, GORT_POLL_READ, &ov), GORT_EBADF);
    EXPECT_EQ(
        gort_poller_overlapped_result(bad, 1, GORT_POLL_READ, &bytes, &err),
        GORT_EBADF);
    int skip = 0;
    EXPECT_EQ(gort_poller_skips_completion_on_success(bad, 1, &skip),
              GORT_EBADF);
    EXPECT_EQ(gort_poller_wait_canceled(bad, 1, GORT_POLL_READ, 0x10),
              GORT_EBADF);
    EXPECT_EQ(gort_poller_overlapped_not_queued(bad, 1, GORT_POLL_READ, 0, 0),
              GORT_EBADF);
  }
}

TEST(CApiNetpoll, ParkWakeDeadlineAndClose) {
  gort::testing::Pair pair;
  ASSERT_TRUE(gort::testing::MakePair(&pair));
  gort_poller_t p;
  ASSERT_EQ(gort_poller_open(&p), 0);
  gort_pd_t pd;
  ASSERT_EQ(gort_poller_register(p, pair.a, &pd), 0);

  // Out-of-range modes and tokens.
  for (int bad : {0, 3, 4, -1, int{'r'}}) {
    EXPECT_EQ(gort_poller_prepare(p, pd, bad), GORT_EINVAL) << bad;
    EXPECT_EQ(gort_poller_wait(p, pd, bad, 0x10), GORT_EINVAL) << bad;
  }
  EXPECT_EQ(gort_poller_set_deadline(p, pd, 1, 0), GORT_EINVAL);
  EXPECT_EQ(gort_poller_set_deadline(p, pd, 1, 4), GORT_EINVAL);
  EXPECT_EQ(gort_poller_wait(p, pd, GORT_POLL_READ, 0), GORT_EINVAL);
  EXPECT_EQ(gort_poller_wait(p, pd, GORT_POLL_READ, 2), GORT_EINVAL);
  void* ov = nullptr;
  uint32_t bytes, err;
  EXPECT_EQ(gort_poller_overlapped(p, pd, GORT_POLL_READ, nullptr),
            GORT_EINVAL);
  EXPECT_EQ(gort_poller_overlapped_result(p, pd, GORT_POLL_READ, nullptr, &err),
            GORT_EINVAL);
  EXPECT_EQ(gort_poller_skips_completion_on_success(p, pd, nullptr),
            GORT_EINVAL);
  for (int bad : {0, 3, -1}) {
    EXPECT_EQ(gort_poller_wait_canceled(p, pd, bad, 0x10), GORT_EINVAL) << bad;
    EXPECT_EQ(gort_poller_overlapped_not_queued(p, pd, bad, 0, 0), GORT_EINVAL)
        << bad;
  }
#ifdef _WIN32
  EXPECT_EQ(gort_poller_wait_canceled(p, pd, GORT_POLL_READ, 2), GORT_EINVAL);
  // Not in flight: nothing to report, nothing to wait for.
  EXPECT_EQ(gort_poller_overlapped_not_queued(p, pd, GORT_POLL_WRITE, 0, 0),
            GORT_EINVAL);
  EXPECT_EQ(gort_poller_wait_canceled(p, pd, GORT_POLL_WRITE, 0x10), 0);
  int skip = -1;
  EXPECT_EQ(gort_poller_skips_completion_on_success(p, pd, &skip), 0);
  EXPECT_TRUE(skip == 0 || skip == 1);
  EXPECT_EQ(gort_poller_overlapped(p, pd, GORT_POLL_WRITE, &ov), 0);
  EXPECT_NE(ov, nullptr);
  // In flight until its packet was taken or it is reported as not queued.
  void* ov2 = nullptr;
  EXPECT_EQ(gort_poller_overlapped(p, pd, GORT_POLL_WRITE, &ov2), GORT_EBUSY);
  EXPECT_EQ(gort_poller_overlapped_result(p, pd, GORT_POLL_WRITE, &bytes, &err),
            GORT_EBUSY);
  EXPECT_EQ(gort_poller_overlapped_not_queued(p, pd, GORT_POLL_WRITE, 3, 87),
            0);
  EXPECT_EQ(gort_poller_overlapped_result(p, pd, GORT_POLL_WRITE, &bytes, &err),
            0);
  EXPECT_EQ(bytes, 3u);
  EXPECT_EQ(err, 87u);
#else
  EXPECT_EQ(gort_poller_overlapped(p, pd, GORT_POLL_READ, &ov), GORT_ENOTSUP);
  EXPECT_EQ(gort_poller_overlapped_result(p, pd, GORT_POLL_READ, &bytes, &err),
            GORT_ENOTSUP);
  EXPECT_EQ(gort_poller_wait_canceled(p, pd, GORT_POLL_READ, 0x10),
            GORT_ENOTSUP);
  int skip = -1;
  EXPECT_EQ(gort_poller_skips_completion_on_success(p, pd, &skip),
            GORT_ENOTSUP);
  EXPECT_EQ(gort_poller_overlapped_not_queued(p, pd, GORT_POLL_READ, 0, 0),
            GORT_ENOTSUP);
#endif

  // A deadline in the past.
  EXPECT_EQ(gort_poller_set_deadline(p, pd, -1, GORT_POLL_READ), 0);
  EXPECT_EQ(gort_poller_prepare(p, pd, GORT_POLL_READ), GORT_ETIMEDOUT);
  EXPECT_EQ(gort_poller_set_deadline(p, pd, 0, GORT_POLL_READ), 0);

  // Park, then close: the token comes out once with GORT_POLL_CLOSING.
  ASSERT_EQ(gort_poller_prepare(p, pd, GORT_POLL_READ), 0);
#ifndef _WIN32  // Windows completions: tests/netpoll_windows_test.cc
  ASSERT_EQ(gort_poller_wait(p, pd, GORT_POLL_READ, 0x1234), GORT_POLL_PARKED);
  EXPECT_EQ(gort_poller_wait(p, pd, GORT_POLL_READ, 0x1235), GORT_EBUSY);
  ASSERT_TRUE(gort::testing::Send(pair.b, "a", 1));
  gort_poll_event_t ev[4];
  size_t got = 0;
  for (int i = 0; i < 100 && got == 0; ++i) {
    ASSERT_EQ(gort_poller_poll(p, 100000000, ev, 4, &got), 0);
  }
  ASSERT_EQ(got, 1u);
  EXPECT_EQ(ev[0].token, 0x1234u);
  EXPECT_EQ(ev[0].mode, GORT_POLL_READ);
  EXPECT_EQ(ev[0].reason, GORT_POLL_READY);
  // The token consumed the readiness; the byte is the embedder's to read.
  char c;
  EXPECT_EQ(read(static_cast<int>(pair.a), &c, 1), 1);
  ASSERT_EQ(gort_poller_wait(p, pd, GORT_POLL_READ, 0x1236), GORT_POLL_PARKED);
  EXPECT_EQ(gort_poller_unregister(p, pd), 0);
  got = 0;
  ASSERT_EQ(gort_poller_poll(p, 0, ev, 4, &got), 0);
  ASSERT_EQ(got, 1u);
  EXPECT_EQ(ev[0].token, 0x1236u);
  EXPECT_EQ(ev[0].reason, GORT_POLL_CLOSING);
  EXPECT_EQ(gort_poller_prepare(p, pd, GORT_POLL_READ), GORT_EBADF);
  EXPECT_EQ(gort_poller_unregister(p, pd), GORT_EBADF);
#endif
  EXPECT_EQ(gort_poller_close(p), 0);
  gort::testing::ClosePair(&pair);
}

}  // namespace
