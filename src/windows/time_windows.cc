// SPDX-License-Identifier: BSD-3-Clause
// Clocks and sleep on Windows (Go: nanotime1/walltime in sys_windows_*.s
// read KUSER_SHARED_DATA; usleep2HighRes waits on a high-resolution
// waitable timer). gort reads QueryPerformanceCounter instead of
// InterruptTime: see include/gort/time.h for why.
#include <windows.h>

#include <cstdint>
#include <string_view>

#include "gort/errno.h"
#include "gort/time.h"

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002
#endif

namespace gort {
namespace {

// QPC ticks per second; fixed at boot, so read once.
int64_t QpcFrequency() {
  static const int64_t freq = [] {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return static_cast<int64_t>(f.QuadPart);
  }();
  return freq;
}

// One waitable timer per thread, made on first use: high resolution where
// the OS has it (Windows 10 1803+), a plain one (tick resolution) elsewhere.
class ThreadTimer {
 public:
  ThreadTimer() {
    handle_ = CreateWaitableTimerExW(nullptr, nullptr,
                                     CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                                     TIMER_ALL_ACCESS);
    if (handle_ == nullptr) {
      handle_ = CreateWaitableTimerExW(nullptr, nullptr, 0, TIMER_ALL_ACCESS);
    }
  }
  ~ThreadTimer() {
    if (handle_ != nullptr) CloseHandle(handle_);
  }
  ThreadTimer(const ThreadTimer&) = delete;
  ThreadTimer& operator=(const ThreadTimer&) = delete;
  HANDLE get() const { return handle_; }

 private:
  HANDLE handle_;
};

}  // namespace

int64_t Nanotime() {
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  int64_t freq = QpcFrequency();
  int64_t ticks = static_cast<int64_t>(c.QuadPart);
  // Split to avoid overflow of ticks * 1e9.
  return ticks / freq * 1000000000 + ticks % freq * 1000000000 / freq;
}

int64_t Walltime() {
  FILETIME ft;
  GetSystemTimePreciseAsFileTime(&ft);
  int64_t t =
      (static_cast<int64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
  // 100 ns units since 1601-01-01 -> ns since 1970-01-01.
  return (t - 116444736000000000LL) * 100;
}

absl::Status Sleep(int64_t ns) {
  if (ns <= 0) return absl::OkStatus();
  thread_local ThreadTimer timer;
  if (timer.get() == nullptr) {
    return Error::Last().ToStatus("CreateWaitableTimerExW");
  }
  int64_t deadline = Nanotime();
  deadline = ns > INT64_MAX - deadline ? INT64_MAX : deadline + ns;
  for (int64_t left = ns; left > 0; left = deadline - Nanotime()) {
    LARGE_INTEGER due;
    // Negative: relative, in 100 ns units, rounded up.
    due.QuadPart = -((left + 99) / 100);
    if (!SetWaitableTimer(timer.get(), &due, 0, nullptr, nullptr, FALSE)) {
      return Error::Last().ToStatus("SetWaitableTimer");
    }
    if (WaitForSingleObject(timer.get(), INFINITE) != WAIT_OBJECT_0) {
      return Error::Last().ToStatus("WaitForSingleObject");
    }
  }
  return absl::OkStatus();
}

std::string_view ClockSource() { return "QueryPerformanceCounter"; }

}  // namespace gort
