// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for the netpoller (include/gort/netpoll.h).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <type_traits>

#include "capi.h"
#include "gort.h"
#include "gort/netpoll.h"
#include "handle_table.h"
#include "pollers_c.h"

// gort_poller_poll() hands the caller's gort_poll_event_t array to
// Poller::Poll() as PollEvents: the same layout and the same values.
static_assert(sizeof(gort::PollEvent) == sizeof(gort_poll_event_t));
static_assert(alignof(gort::PollEvent) == alignof(gort_poll_event_t));
static_assert(offsetof(gort::PollEvent, token) ==
              offsetof(gort_poll_event_t, token));
static_assert(offsetof(gort::PollEvent, mode) ==
              offsetof(gort_poll_event_t, mode));
static_assert(offsetof(gort::PollEvent, reason) ==
              offsetof(gort_poll_event_t, reason));
static_assert(std::is_standard_layout_v<gort::PollEvent> &&
              std::is_trivially_copyable_v<gort::PollEvent>);
static_assert(static_cast<int>(gort::PollMode::kRead) == GORT_POLL_READ &&
              static_cast<int>(gort::PollMode::kWrite) == GORT_POLL_WRITE);
static_assert(static_cast<int>(gort::PollReason::kReady) == GORT_POLL_READY &&
              static_cast<int>(gort::PollReason::kClosing) ==
                  GORT_POLL_CLOSING &&
              static_cast<int>(gort::PollReason::kDeadline) ==
                  GORT_POLL_DEADLINE);

namespace {

using gort::PollDescId;
using gort::Poller;
using gort::PollMode;

using gort::capi::ExceptionToCode;

using gort::capi::g_pollers;

int Code(const absl::Status& s) { return gort::capi::StatusToCode(s); }

}  // namespace

namespace gort::capi {
// Pollers are named by generation-checked handles, as timer heaps are: a
// closed poller's handle gives GORT_EBADF. Each call pins its poller, so
// gort_poller_close() waits for the calls in flight.
internal::HandleTable<Poller> g_pollers;
}  // namespace gort::capi

// Modes and tokens are checked by the C++ calls (EINVAL); here only what C
// adds: handles and pointers.
extern "C" {

int gort_poller_open(gort_poller_t* out) try {
  if (out == nullptr) return GORT_EINVAL;
  absl::StatusOr<std::unique_ptr<Poller>> p = Poller::Open();
  if (!p.ok()) return Code(p.status());
  uint64_t handle = g_pollers.Insert(p->get());
  if (handle == 0) return GORT_EMFILE;  // the poller is closed again
  p->release();
  *out = handle;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_close(gort_poller_t h) try {
  // Not while fd handles use it (fd_c.cc): their Fds hold the Poller.
  int busy = gort::capi::BeginPollerClose(h);
  if (busy != 0) return busy;
  // Wake()s until the calls in flight have returned: a thread blocked in
  // gort_poller_poll() wakes up and returns what it has (often nothing).
  Poller* p = nullptr;
  int err = g_pollers.Remove(h, &p, [](Poller* q) { (void)q->Wake(); });
  gort::capi::EndPollerClose(h);
  if (err != 0) return err;
  delete p;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_register(gort_poller_t h, intptr_t fd, gort_pd_t* out) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  absl::StatusOr<PollDescId> pd = p->Register(fd);
  if (!pd.ok()) return Code(pd.status());
  *out = *pd;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_evict(gort_poller_t h, gort_pd_t pd) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  return Code(p->Evict(pd));
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_unregister(gort_poller_t h, gort_pd_t pd) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  return Code(p->Unregister(pd));
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_prepare(gort_poller_t h, gort_pd_t pd, int mode) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  return Code(p->Prepare(pd, static_cast<PollMode>(mode)));
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_wait(gort_poller_t h, gort_pd_t pd, int mode,
                     uintptr_t token) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  absl::StatusOr<gort::WaitResult> r =
      p->Wait(pd, static_cast<PollMode>(mode), token);
  if (!r.ok()) return Code(r.status());
  return *r == gort::WaitResult::kParked ? GORT_POLL_PARKED : 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_set_deadline(gort_poller_t h, gort_pd_t pd, int64_t d,
                             int mode) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  return Code(p->SetDeadline(pd, d, static_cast<PollMode>(mode)));
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_poll(gort_poller_t h, int64_t delay, gort_poll_event_t* out,
                     size_t n, size_t* got) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  if (out == nullptr || got == nullptr || n == 0) return GORT_EINVAL;
  // Straight into the caller's array (the layouts are one, checked above):
  // one Poll, one kernel wait for up to `n` events, no copy.
  absl::StatusOr<size_t> r =
      p->Poll(delay, reinterpret_cast<gort::PollEvent*>(out), n);
  if (!r.ok()) return Code(r.status());
  *got = *r;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_wake(gort_poller_t h) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  return Code(p->Wake());
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_overlapped(gort_poller_t h, gort_pd_t pd, int mode,
                           void** out) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  absl::StatusOr<void*> r = p->Overlapped(pd, static_cast<PollMode>(mode));
  if (!r.ok()) return Code(r.status());
  *out = *r;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_overlapped_result(gort_poller_t h, gort_pd_t pd, int mode,
                                  uint32_t* bytes, uint32_t* error) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  if (bytes == nullptr || error == nullptr) return GORT_EINVAL;
  absl::StatusOr<gort::OverlappedResult> r =
      p->GetOverlappedResult(pd, static_cast<PollMode>(mode));
  if (!r.ok()) return Code(r.status());
  *bytes = r->bytes;
  *error = r->error;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_overlapped_not_queued(gort_poller_t h, gort_pd_t pd, int mode,
                                      uint32_t bytes, uint32_t error) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  return Code(p->OverlappedNotQueued(pd, static_cast<PollMode>(mode),
                                     gort::OverlappedResult{bytes, error}));
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_wait_canceled(gort_poller_t h, gort_pd_t pd, int mode,
                              uintptr_t token) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  absl::StatusOr<gort::WaitResult> r =
      p->WaitCanceled(pd, static_cast<PollMode>(mode), token);
  if (!r.ok()) return Code(r.status());
  return *r == gort::WaitResult::kParked ? GORT_POLL_PARKED : 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_poller_skips_completion_on_success(gort_poller_t h, gort_pd_t pd,
                                            int* out) try {
  auto p = g_pollers.Acquire(h);
  if (!p) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  absl::StatusOr<bool> r = p->SkipsCompletionOnSuccess(pd);
  if (!r.ok()) return Code(r.status());
  *out = *r ? 1 : 0;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

}  // extern "C"
