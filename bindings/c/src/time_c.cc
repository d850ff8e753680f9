// The C ABI for clocks, sleep and timer heaps.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>

#include "gort.h"
#include "gort/errno.h"
#include "gort/time.h"
#include "gort/timer.h"
#include "handle_table.h"

namespace {

using gort::TimerHeap;

// Heaps are named by generation-checked handles: a freed heap's handle
// fails with GORT_EBADF instead of touching freed memory.
gort::internal::HandleTable<TimerHeap> g_heaps;

TimerHeap* FindHeap(gort_timers_t h) { return g_heaps.Find(h); }

int StatusToCode(const absl::Status& s) {
  if (s.ok()) return 0;
  if (absl::IsNotFound(s)) return GORT_EBADF;
  if (absl::IsInvalidArgument(s)) return GORT_EINVAL;
  if (absl::IsResourceExhausted(s)) return GORT_ENOMEM;
  if (absl::IsFailedPrecondition(s)) return GORT_EDEADLK;
  return GORT_EUNKNOWN;
}

}  // namespace

extern "C" {

int64_t gort_nanotime(void) { return gort::Nanotime(); }

int64_t gort_walltime(void) { return gort::Walltime(); }

int gort_sleep(int64_t ns) {
  absl::Status s = gort::Sleep(ns);
  if (s.ok()) return 0;
  auto e = gort::Error::FromStatus(s);
  return e.has_value() ? e->code() : GORT_EUNKNOWN;
}

int gort_timers_new(gort_timers_t* out) {
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
}

int gort_timers_free(gort_timers_t h) {
  // Freeing a heap from one of its callbacks, or while a thread runs it,
  // would make that Run() use freed memory.
  TimerHeap* in_use = FindHeap(h);
  if (in_use != nullptr && in_use->InUse()) return GORT_EBUSY;
  TimerHeap* heap = g_heaps.Remove(h);
  if (heap == nullptr) return GORT_EBADF;
  delete heap;
  return 0;
}

int gort_timer_add(gort_timers_t h, gort_timer_fn fn, void* arg,
                   gort_timer_t* out) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  if (fn == nullptr || out == nullptr) return GORT_EINVAL;
  gort::TimerTarget t;
  t.fn = fn;
  t.arg = arg;
  absl::StatusOr<gort::TimerId> id = heap->Add(t);
  if (!id.ok()) return StatusToCode(id.status());
  *out = *id;
  return 0;
}

int gort_timer_add_token(gort_timers_t h, uintptr_t token, gort_timer_t* out) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  gort::TimerTarget t;
  t.token = token;
  absl::StatusOr<gort::TimerId> id = heap->Add(t);
  if (!id.ok()) return StatusToCode(id.status());
  *out = *id;
  return 0;
}

int gort_timer_reset(gort_timers_t h, gort_timer_t t, int64_t when,
                     int64_t period, int* was_pending) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  if (when < 0 || period < 0) return GORT_EINVAL;
  absl::StatusOr<bool> r = heap->Reset(t, when, period);
  if (!r.ok()) return StatusToCode(r.status());
  if (was_pending != nullptr) *was_pending = *r ? 1 : 0;
  return 0;
}

int gort_timer_stop(gort_timers_t h, gort_timer_t t, int* was_pending) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  absl::StatusOr<bool> r = heap->Stop(t);
  if (!r.ok()) return StatusToCode(r.status());
  if (was_pending != nullptr) *was_pending = *r ? 1 : 0;
  return 0;
}

int gort_timer_stop_sync(gort_timers_t h, gort_timer_t t, int* was_pending) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  absl::StatusOr<bool> r = heap->StopSync(t);
  if (!r.ok()) return StatusToCode(r.status());
  if (was_pending != nullptr) *was_pending = *r ? 1 : 0;
  return 0;
}

int gort_timer_remove(gort_timers_t h, gort_timer_t t) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  return StatusToCode(heap->Remove(t));
}

int gort_timers_next_when(gort_timers_t h, int64_t* when) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  if (when == nullptr) return GORT_EINVAL;
  *when = heap->NextWhen();
  return 0;
}

int gort_timers_run(gort_timers_t h, int64_t now, uintptr_t* tokens,
                    size_t capacity, size_t* n, int64_t* next_when) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  if (n == nullptr || (tokens == nullptr && capacity != 0)) return GORT_EINVAL;
  int64_t next = heap->Run(now, tokens, capacity, n);
  if (next_when != nullptr) *next_when = next;
  return 0;
}

}  // extern "C"
