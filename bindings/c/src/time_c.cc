// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for clocks, sleep and timer heaps.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

#include "capi.h"
#include "gort.h"
#include "gort/time.h"
#include "gort/timer.h"
#include "handle_table.h"

namespace {

using gort::TimerHeap;
using gort::capi::ExceptionToCode;
using gort::capi::StatusToCode;

// Heaps are named by generation-checked handles: a freed heap's handle
// fails with GORT_EBADF instead of touching freed memory. Each call pins its
// heap, so gort_timers_free() waits for the calls in flight.
using HeapTable = gort::internal::HandleTable<TimerHeap>;
HeapTable g_heaps;

}  // namespace

extern "C" {

int64_t gort_nanotime(void) try { return gort::Nanotime(); } catch (...) {
  return 0;  // reads a clock: nothing throws
}

int64_t gort_walltime(void) try { return gort::Walltime(); } catch (...) {
  return 0;  // reads a clock: nothing throws
}

int gort_sleep(int64_t ns) try {
  return StatusToCode(gort::Sleep(ns));
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_new(gort_timers_t* out) try {
  if (out == nullptr) return GORT_EINVAL;
  TimerHeap* heap = new (std::nothrow) TimerHeap();
  if (heap == nullptr) return GORT_ENOMEM;
  uint64_t handle = g_heaps.Insert(heap);
  if (handle == 0) {
    delete heap;
    return GORT_EMFILE;
  }
  *out = handle;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_free(gort_timers_t h) try {
  // Waits for the calls in flight; GORT_EBUSY from the heap's own callback.
  TimerHeap* heap = nullptr;
  int err = g_heaps.Remove(h, &heap);
  if (err != 0) return err;
  delete heap;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timer_add(gort_timers_t h, gort_timer_fn fn, void* arg,
                   gort_timer_t* out) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  if (fn == nullptr || out == nullptr) return GORT_EINVAL;
  gort::TimerTarget t;
  t.fn = fn;
  t.arg = arg;
  absl::StatusOr<gort::TimerId> id = heap->Add(t);
  if (!id.ok()) return StatusToCode(id.status());
  *out = *id;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timer_add_token(gort_timers_t h, uintptr_t token,
                         gort_timer_t* out) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  gort::TimerTarget t;
  t.token = token;
  absl::StatusOr<gort::TimerId> id = heap->Add(t);
  if (!id.ok()) return StatusToCode(id.status());
  *out = *id;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timer_reset(gort_timers_t h, gort_timer_t t, int64_t when,
                     int64_t period, int* was_pending) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  if (when < 0 || period < 0) return GORT_EINVAL;
  absl::StatusOr<bool> r = heap->Reset(t, when, period);
  if (!r.ok()) return StatusToCode(r.status());
  if (was_pending != nullptr) *was_pending = *r ? 1 : 0;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timer_stop(gort_timers_t h, gort_timer_t t, int* was_pending) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  absl::StatusOr<bool> r = heap->Stop(t);
  if (!r.ok()) return StatusToCode(r.status());
  if (was_pending != nullptr) *was_pending = *r ? 1 : 0;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timer_stop_sync(gort_timers_t h, gort_timer_t t,
                         int* was_pending) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  absl::StatusOr<bool> r = heap->StopSync(t);
  if (!r.ok()) return StatusToCode(r.status());
  if (was_pending != nullptr) *was_pending = *r ? 1 : 0;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timer_remove(gort_timers_t h, gort_timer_t t) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  return StatusToCode(heap->Remove(t));
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_next_when(gort_timers_t h, int64_t* when) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  if (when == nullptr) return GORT_EINVAL;
  *when = heap->NextWhen();
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_reserve(gort_timers_t h, size_t n) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  absl::Status s = heap->Reserve(n);
  if (!s.ok()) return GORT_ENOMEM;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_set_earlier(gort_timers_t h, void (*fn)(void* arg),
                            void* arg) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  heap->SetEarlierHook(fn, arg);
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_set_batch(gort_timers_t h, size_t k) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  if (!heap->SetCallbackBatch(k).ok()) return GORT_EINVAL;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_set_owner(gort_timers_t h, int own) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  if (own != 0 && own != 1) return GORT_EINVAL;
  return heap->SetOwner(own == 1).ok() ? 0 : GORT_EBUSY;
} catch (...) {
  return ExceptionToCode();
}

int gort_timers_run(gort_timers_t h, int64_t now, uintptr_t* tokens,
                    size_t capacity, size_t* n, int64_t* next_when) try {
  auto heap = g_heaps.Acquire(h);
  if (!heap) return GORT_EBADF;
  if (n == nullptr || (tokens == nullptr && capacity != 0)) return GORT_EINVAL;
  HeapTable::ThisThreadRuns running(heap);  // its callbacks may free it
  int64_t next = heap->Run(now, tokens, capacity, n);
  if (next_when != nullptr) *next_when = next;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

}  // extern "C"
