// SPDX-License-Identifier: BSD-3-Clause
// src/fd_mutex.h directly: the slot and reference rules every Fd operation
// relies on (Go: internal/poll/fd_mutex.go), including the races between
// two operations claiming one slot and between a claim and Close.
#include "fd_mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "gort/error_codes.h"

namespace gort::internal {
namespace {

using Op = FdMutex::Op;

TEST(FdMutex, StartContinueAndFinish) {
  FdMutex mu;
  Op op;
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_EQ(op, Op::kStarted);
  EXPECT_TRUE(mu.held(FdMutex::kRead));
  EXPECT_FALSE(mu.held(FdMutex::kWrite));
  EXPECT_FALSE(mu.End(FdMutex::kRead, /*finished=*/false));  // parked
  EXPECT_TRUE(mu.held(FdMutex::kRead));
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_EQ(op, Op::kContinued);
  EXPECT_FALSE(mu.End(FdMutex::kRead, /*finished=*/true));
  EXPECT_FALSE(mu.held(FdMutex::kRead));
  // Free again: a new operation (even with the same token) starts.
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_EQ(op, Op::kStarted);
  EXPECT_FALSE(mu.End(FdMutex::kRead, true));
}

TEST(FdMutex, AnotherTokenIsBusyPerDirection) {
  FdMutex mu;
  Op op;
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_EQ(mu.Begin(FdMutex::kRead, 11, &op), -GORT_EBUSY);
  // The other direction is its own slot.
  ASSERT_EQ(mu.Begin(FdMutex::kWrite, 11, &op), 0);
  EXPECT_EQ(op, Op::kStarted);
  EXPECT_TRUE(mu.held(FdMutex::kWrite));
  EXPECT_FALSE(mu.End(FdMutex::kWrite, true));
  EXPECT_FALSE(mu.End(FdMutex::kRead, true));
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 11, &op), 0);
  EXPECT_FALSE(mu.End(FdMutex::kRead, true));
}

// TryStart() claims a free slot of an open descriptor without naming a
// token: until Name(), no token continues it (a Begin() with the holder's
// own token is EBUSY like any other); Finish() ends it. Once named it is
// Begin()'s slot in every way.
TEST(FdMutex, TryStartClaimsUnnamedUntilNamed) {
  FdMutex mu;
  Op op;
  ASSERT_TRUE(mu.TryStart(FdMutex::kRead));
  EXPECT_TRUE(mu.held(FdMutex::kRead));
  EXPECT_EQ(mu.holder(FdMutex::kRead), 0u);
  EXPECT_FALSE(mu.TryStart(FdMutex::kRead));  // held
  EXPECT_EQ(mu.Begin(FdMutex::kRead, 10, &op), -GORT_EBUSY);
  ASSERT_TRUE(mu.TryStart(FdMutex::kWrite));  // the other slot is free
  EXPECT_FALSE(mu.Finish(FdMutex::kWrite));
  EXPECT_FALSE(mu.held(FdMutex::kWrite));
  // Named (a call about to park), then continued and ended as Begin's.
  mu.Name(FdMutex::kRead, 10);
  EXPECT_FALSE(mu.End(FdMutex::kRead, /*finished=*/false));
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_EQ(op, Op::kContinued);
  EXPECT_FALSE(mu.End(FdMutex::kRead, /*finished=*/true));
  EXPECT_FALSE(mu.held(FdMutex::kRead));
  EXPECT_EQ(mu.holder(FdMutex::kRead), 0u);
  // Ended unnamed: free again, and no token was left behind.
  ASSERT_TRUE(mu.TryStart(FdMutex::kRead));
  EXPECT_FALSE(mu.Finish(FdMutex::kRead));
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_EQ(op, Op::kStarted);
  EXPECT_FALSE(mu.End(FdMutex::kRead, true));
  // Closed: TryStart() refuses; a claim held across the close destroys on
  // Finish() as the last reference.
  ASSERT_TRUE(mu.TryStart(FdMutex::kWrite));
  ASSERT_TRUE(mu.IncrefAndClose());
  EXPECT_FALSE(mu.TryStart(FdMutex::kRead));
  EXPECT_FALSE(mu.Decref());
  EXPECT_TRUE(mu.Finish(FdMutex::kWrite));
  EXPECT_TRUE(mu.idle_and_closed());
}

// The word keeps an open bit (Go's mutexClosed inverted): a fresh mutex
// is open, and only a closed one with no reference left is idle (the word
// 0, which the last release's subtract tells). A TryStart() refused for a
// held slot or a closed mutex (its CAS expects the word open and the slot
// free) changes nothing: the counts still balance to one destruction.
TEST(FdMutex, OpenBitAndRefusedTryStartsChangeNothing) {
  FdMutex mu;
  EXPECT_FALSE(mu.closed());
  EXPECT_FALSE(mu.idle_and_closed());
  ASSERT_TRUE(mu.TryStart(FdMutex::kRead));
  ASSERT_TRUE(mu.TryStart(FdMutex::kWrite));
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(mu.TryStart(FdMutex::kRead));
    EXPECT_FALSE(mu.TryStart(FdMutex::kWrite));
  }
  ASSERT_TRUE(mu.IncrefAndClose());
  EXPECT_TRUE(mu.closed());
  EXPECT_FALSE(mu.TryStart(FdMutex::kRead));  // closed and held
  EXPECT_FALSE(mu.Finish(FdMutex::kRead));
  EXPECT_FALSE(mu.TryStart(FdMutex::kRead));  // closed, free
  EXPECT_TRUE(mu.held(FdMutex::kWrite));
  EXPECT_FALSE(mu.held(FdMutex::kRead));
  EXPECT_FALSE(mu.Decref());
  EXPECT_FALSE(mu.idle_and_closed());
  EXPECT_TRUE(mu.Finish(FdMutex::kWrite));
  EXPECT_TRUE(mu.idle_and_closed());
  EXPECT_FALSE(mu.held(FdMutex::kWrite));
}

TEST(FdMutex, InvalidArguments) {
  FdMutex mu;
  Op op;
  EXPECT_EQ(mu.Begin(FdMutex::kRead, 0, &op), -GORT_EINVAL);
  EXPECT_EQ(mu.Begin(2, 10, &op), -GORT_EINVAL);
  EXPECT_FALSE(mu.held(FdMutex::kRead));
}

TEST(FdMutex, ClosedRefusesNewOperationsAdmitsTheHolderAndDestroysOnce) {
  FdMutex mu;
  Op op;
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_FALSE(mu.End(FdMutex::kRead, false));  // parked, holds the slot
  ASSERT_TRUE(mu.IncrefAndClose());
  EXPECT_FALSE(mu.IncrefAndClose());  // once
  EXPECT_TRUE(mu.closed());
  EXPECT_TRUE(mu.held(FdMutex::kRead));
  // ECANCELED for anyone without the slot, whether it is free or held.
  EXPECT_EQ(mu.Begin(FdMutex::kWrite, 11, &op), -GORT_ECANCELED);
  EXPECT_EQ(mu.Begin(FdMutex::kRead, 11, &op), -GORT_ECANCELED);
  EXPECT_FALSE(mu.held(FdMutex::kWrite));
  EXPECT_FALSE(mu.Incref());
  EXPECT_FALSE(mu.Decref());  // the closer's reference; the slot's is left
  EXPECT_FALSE(mu.idle_and_closed());
  // The holder continues after the close, and its end is the last
  // reference.
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_EQ(op, Op::kContinued);
  EXPECT_TRUE(mu.End(FdMutex::kRead, true));
  EXPECT_TRUE(mu.idle_and_closed());
  EXPECT_FALSE(mu.held(FdMutex::kRead));
}

TEST(FdMutex, CloserDestroysWhenIdle) {
  FdMutex mu;
  Op op;
  ASSERT_EQ(mu.Begin(FdMutex::kRead, 10, &op), 0);
  EXPECT_FALSE(mu.End(FdMutex::kRead, true));
  ASSERT_TRUE(mu.Incref());
  EXPECT_FALSE(mu.Decref());
  ASSERT_TRUE(mu.IncrefAndClose());
  EXPECT_TRUE(mu.Decref());
  EXPECT_TRUE(mu.idle_and_closed());
}

// Two operations race for one slot, over and over: exactly one wins each
// round, the other gets EBUSY, and the counts balance at the end.
TEST(FdMutex, RacingClaimsOneWins) {
  FdMutex mu;
  constexpr int kRounds = 20000;
  std::atomic<int> round{0};
  std::atomic<int> arrived{0};
  int wins[2] = {0, 0};
  auto racer = [&](int me) {
    for (int i = 0; i < kRounds; ++i) {
      while (round.load(std::memory_order_acquire) != i) {
      }
      Op op;
      int rc = mu.Begin(FdMutex::kWrite, 100 + me, &op);
      if (rc == 0) {
        ++wins[me];
        EXPECT_EQ(op, Op::kStarted);
      } else {
        EXPECT_EQ(rc, -GORT_EBUSY);
      }
      // Both have tried before either ends: then exactly one holds it.
      arrived.fetch_add(1, std::memory_order_acq_rel);
      while (arrived.load(std::memory_order_acquire) < 2 * (i + 1)) {
      }
      if (rc == 0) {
        EXPECT_FALSE(mu.End(FdMutex::kWrite, true));
        round.store(i + 1, std::memory_order_release);
      }
    }
  };
  std::thread a(racer, 0), b(racer, 1);
  a.join();
  b.join();
  EXPECT_EQ(wins[0] + wins[1], kRounds);
  EXPECT_FALSE(mu.held(FdMutex::kWrite));
  ASSERT_TRUE(mu.IncrefAndClose());
  EXPECT_TRUE(mu.Decref());  // nothing was left behind
}

// A claim races with Close: either the claim fails with ECANCELED, or the
// closer sees the slot held right after closing (what Windows' Close uses
// to decide on CancelIoEx), and the last reference is dropped exactly once.
TEST(FdMutex, ClaimRacingCloseIsSeenOrRefused) {
  constexpr int kRounds = 5000;
  for (int i = 0; i < kRounds; ++i) {
    FdMutex mu;
    std::atomic<bool> go{false};
    int rc = 1;
    bool seen_held = false;
    std::thread claimer([&] {
      while (!go.load(std::memory_order_acquire)) {
      }
      Op op;
      rc = mu.Begin(FdMutex::kRead, 10, &op);
    });
    go.store(true, std::memory_order_release);
    ASSERT_TRUE(mu.IncrefAndClose());
    seen_held = mu.held(FdMutex::kRead);
    bool closer_destroys = mu.Decref();
    claimer.join();
    if (rc == 0) {
      // It claimed before the close, so the closer must have seen it, and
      // it (not the closer) drops the last reference.
      EXPECT_TRUE(seen_held) << "round " << i;
      EXPECT_FALSE(closer_destroys);
      EXPECT_TRUE(mu.End(FdMutex::kRead, true));
    } else {
      EXPECT_EQ(rc, -GORT_ECANCELED);
      EXPECT_FALSE(seen_held);
      EXPECT_TRUE(closer_destroys);
    }
    EXPECT_TRUE(mu.idle_and_closed());
  }
}

}  // namespace
}  // namespace gort::internal
