// SPDX-License-Identifier: BSD-3-Clause
// Clocks and sleep on each platform: monotonic, calendar time, and how
// precisely each OS sleeps (measured and printed; asserted only loosely).
#include "absl/time/time.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "gort.h"
#include "gort/platform.h"
#include "gort/time.h"
#include "gtest/gtest.h"

namespace {

TEST(Clock, NanotimeNeverGoesBackwards) {
  int64_t prev = gort::Nanotime();
  for (int i = 0; i < 100000; ++i) {
    int64_t now = gort::Nanotime();
    ASSERT_GE(now, prev);
    prev = now;
  }
}

TEST(Clock, WalltimeIsTheCalendar) {
  int64_t ours = gort::Walltime();
  int64_t std_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LT(std::abs(ours - std_ns), 1000000000) << "more than 1 s apart";
  EXPECT_GT(ours, int64_t{1700000000} * 1000000000);  // after Nov 2023
}

TEST(Clock, CApiMatchesCxx) {
  int64_t a = gort_nanotime();
  int64_t b = gort::Nanotime();
  int64_t c = gort_nanotime();
  EXPECT_LE(a, b);
  EXPECT_LE(b, c);
  EXPECT_LT(std::abs(gort_walltime() - gort::Walltime()), 1000000000);
}

TEST(Clock, ResolutionIsBelowAMicrosecond) {
  // The smallest step Nanotime() shows between two reads. QPC (10 MHz on
  // Windows and Wine), vDSO clock_gettime and qemu's real syscall all step
  // far below a microsecond.
  int64_t best = INT64_MAX;
  for (int i = 0; i < 1000; ++i) {
    int64_t a = gort::Nanotime();
    int64_t b;
    do {
      b = gort::Nanotime();
    } while (b == a);
    best = std::min(best, b - a);
  }
  std::printf("clock %s: smallest step %lld ns\n",
              std::string(gort::ClockSource()).c_str(),
              static_cast<long long>(best));
  EXPECT_LT(best, 1000);
}

TEST(Sleep, NonPositiveReturnsAtOnce) {
  int64_t t0 = gort::Nanotime();
  EXPECT_TRUE(gort::Sleep(0).ok());
  EXPECT_TRUE(gort::Sleep(-5).ok());
  EXPECT_TRUE(gort::Sleep(absl::Nanoseconds(-1)).ok());
  EXPECT_TRUE(gort::Sleep(absl::ZeroDuration()).ok());
  EXPECT_EQ(gort_sleep(-1), 0);
  EXPECT_EQ(gort_sleep(INT64_MIN), 0);
  EXPECT_LT(gort::Nanotime() - t0, 50000000);
}

// Sleeps `ns` several times; prints min / median / max oversleep.
void MeasureSleep(int64_t ns) {
  std::vector<int64_t> over;
  for (int i = 0; i < 15; ++i) {
    int64_t t0 = gort::Nanotime();
    ASSERT_TRUE(gort::Sleep(ns).ok());
    int64_t slept = gort::Nanotime() - t0;
    ASSERT_GE(slept, ns) << "woke early";
    over.push_back(slept - ns);
  }
  std::sort(over.begin(), over.end());
  gort::PlatformInfo p = gort::GetPlatformInfo();
  std::printf(
      "sleep %7.3f ms on %s/%s%s%s: oversleep min %.3f median %.3f "
      "max %.3f ms\n",
      ns / 1e6, p.os.c_str(), p.arch.c_str(),
      p.emulator.empty() ? "" : " under ", p.emulator.c_str(),
      over.front() / 1e6, over[over.size() / 2] / 1e6, over.back() / 1e6);
  // Loose: a loaded 2-core CI machine, emulators, sanitizers. The median
  // oversleep shows whether sub-millisecond sleeps really are.
  EXPECT_LT(over[over.size() / 2], 50000000) << "absurdly late";
}

TEST(Sleep, IsNeverEarlyAndPrintsItsAccuracy) {
  for (int64_t ns : {100000, 500000, 1000000, 5000000}) MeasureSleep(ns);
}

TEST(Sleep, DurationOverloadRoundsUp) {
  int64_t t0 = gort::Nanotime();
  ASSERT_TRUE(gort::Sleep(absl::Microseconds(200)).ok());
  EXPECT_GE(gort::Nanotime() - t0, 200000);
}

}  // namespace
