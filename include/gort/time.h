// SPDX-License-Identifier: BSD-3-Clause
// Clocks and sleep (Go: nanotime1, walltime, usleep in os_<GOOS>.go,
// sys_<GOOS>_<GOARCH>.s).
//
// Nanotime() is the monotonic clock every deadline and timer in gort is
// measured on; Walltime() is the calendar time. Each OS's fastest precise
// source backs them:
//   - Linux: clock_gettime(CLOCK_MONOTONIC / CLOCK_REALTIME), which glibc and
//     musl serve from the vDSO without entering the kernel (qemu-user has no
//     vDSO, so there it is a real system call).
//   - macOS: clock_gettime_nsec_np(CLOCK_UPTIME_RAW), mach_absolute_time()
//     scaled to nanoseconds, as Go does; it stops while the machine sleeps.
//   - Windows: QueryPerformanceCounter, not Go's KUSER_SHARED_DATA
//     InterruptTime: that field advances only at the timer tick (15.6 ms by
//     default, on Windows and under Wine), too coarse for sub-millisecond
//     deadlines. Walltime is GetSystemTimePreciseAsFileTime.
//
// Sleep() sleeps at least the given time, with sub-millisecond precision:
// clock_nanosleep on an absolute CLOCK_MONOTONIC deadline (EINTR resumes the
// same deadline) on Linux, nanosleep on macOS, and on Windows a per-thread
// high-resolution waitable timer (CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
// Windows 10 1803+), falling back to a plain waitable timer where the flag is
// refused.
//
// Thread safety: all functions may be called from any thread.
#ifndef GORT_GORT_TIME_H_
#define GORT_GORT_TIME_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace gort {

/// Monotonic time in nanoseconds since an arbitrary, fixed point in the
/// past. Never goes backwards; unaffected by changes of the calendar clock.
int64_t Nanotime();

/// Calendar time in nanoseconds since 1970-01-01 00:00:00 UTC.
int64_t Walltime();

/// Sleeps for at least `ns` nanoseconds; returns at once for `ns` <= 0.
/// Signals do not cut it short. Returns an error only if the OS refuses
/// (e.g. no waitable timer can be created on Windows).
absl::Status Sleep(int64_t ns);

/// Sleep() for an absl::Duration (rounded up to whole nanoseconds).
absl::Status Sleep(absl::Duration d);

/// Which OS clock backs Nanotime(), e.g. "clock_gettime(CLOCK_MONOTONIC)".
std::string_view ClockSource();

}  // namespace gort

#endif  // GORT_GORT_TIME_H_
