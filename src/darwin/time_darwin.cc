// SPDX-License-Identifier: BSD-3-Clause
// Clocks and sleep on macOS (Go: nanotime1 via mach_absolute_time scaled by
// mach_timebase_info, walltime via clock_gettime, usleep; all through
// libSystem). clock_gettime_nsec_np(CLOCK_UPTIME_RAW) is mach_absolute_time
// already scaled to nanoseconds.
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <string_view>

#include "gort/errno.h"
#include "gort/time.h"

namespace gort {

int64_t Nanotime() {
  return static_cast<int64_t>(clock_gettime_nsec_np(CLOCK_UPTIME_RAW));
}

int64_t Walltime() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

absl::Status Sleep(int64_t ns) {
  if (ns <= 0) return absl::OkStatus();
  int64_t deadline = Nanotime();
  deadline = ns > INT64_MAX - deadline ? INT64_MAX : deadline + ns;
  // macOS has no clock_nanosleep: sleep the remainder until the deadline.
  for (int64_t left = ns; left > 0; left = deadline - Nanotime()) {
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(left / 1000000000);
    ts.tv_nsec = static_cast<long>(left % 1000000000);
    if (nanosleep(&ts, nullptr) != 0 && errno != EINTR) {
      return Error::Last().ToStatus("nanosleep");
    }
  }
  return absl::OkStatus();
}

std::string_view ClockSource() {
  return "clock_gettime_nsec_np(CLOCK_UPTIME_RAW) (mach_absolute_time)";
}

}  // namespace gort
