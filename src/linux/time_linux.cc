// SPDX-License-Identifier: BSD-3-Clause
// Clocks and sleep on Linux (Go: nanotime1/walltime in sys_linux_*.s, which
// call the vDSO's clock_gettime; usleep). glibc and musl route
// clock_gettime to the vDSO themselves.
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <string_view>

#include "gort/errno.h"
#include "gort/time.h"

namespace gort {
namespace {

int64_t Read(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

int64_t Nanotime() { return Read(CLOCK_MONOTONIC); }

int64_t Walltime() { return Read(CLOCK_REALTIME); }

absl::Status Sleep(int64_t ns) {
  if (ns <= 0) return absl::OkStatus();
  // An absolute deadline: a signal's EINTR resumes the same deadline rather
  // than restarting the whole interval.
  int64_t deadline = Nanotime();
  deadline = ns > INT64_MAX - deadline ? INT64_MAX : deadline + ns;
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(deadline / 1000000000);
  ts.tv_nsec = static_cast<long>(deadline % 1000000000);
  int rc;
  while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr)) ==
         EINTR) {
  }
  // clock_nanosleep returns the error number rather than setting errno.
  return Error::FromSys(rc).ToStatus("clock_nanosleep");
}

std::string_view ClockSource() { return "clock_gettime(CLOCK_MONOTONIC)"; }

}  // namespace gort
