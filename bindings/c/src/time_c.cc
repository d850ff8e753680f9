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

namespace {

using gort::TimerHeap;

// Heaps are named by handles of (generation << 32 | index + 1) into a fixed
// table, so a freed heap's handle fails with GORT_EBADF instead of touching
// freed memory. Freeing a heap while another thread still uses it is the
// caller's bug (as closing a descriptor another thread reads).
constexpr uint32_t kMaxHeaps = 4096;
struct HeapSlot {
  std::atomic<TimerHeap*> heap{nullptr};
  std::atomic<uint32_t> gen{0};
};
HeapSlot g_heaps[kMaxHeaps];
std::mutex g_heaps_mu;

TimerHeap* FindHeap(gort_timers_t h) {
  uint64_t low = h & 0xffffffffu;
  if (low == 0 || low > kMaxHeaps) return nullptr;
  HeapSlot& s = g_heaps[low - 1];
  TimerHeap* heap = s.heap.load(std::memory_order_acquire);
  if (heap == nullptr ||
      s.gen.load(std::memory_order_acquire) != static_cast<uint32_t>(h >> 32)) {
    return nullptr;
  }
  return heap;
}

int StatusToCode(const absl::Status& s) {
  if (s.ok()) return 0;
  if (absl::IsNotFound(s)) return GORT_EBADF;
  if (absl::IsInvalidArgument(s)) return GORT_EINVAL;
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
  std::lock_guard<std::mutex> lock(g_heaps_mu);
  for (uint32_t i = 0; i < kMaxHeaps; ++i) {
    HeapSlot& s = g_heaps[i];
    if (s.heap.load(std::memory_order_relaxed) != nullptr) continue;
    uint32_t gen = s.gen.load(std::memory_order_relaxed);
    s.heap.store(heap, std::memory_order_release);
    *out = (static_cast<uint64_t>(gen) << 32) | (i + 1);
    return 0;
  }
  delete heap;
  return GORT_EMFILE;
}

int gort_timers_free(gort_timers_t h) {
  TimerHeap* heap;
  {
    std::lock_guard<std::mutex> lock(g_heaps_mu);
    heap = FindHeap(h);
    if (heap == nullptr) return GORT_EBADF;
    HeapSlot& s = g_heaps[(h & 0xffffffffu) - 1];
    s.gen.fetch_add(1, std::memory_order_acq_rel);
    s.heap.store(nullptr, std::memory_order_release);
  }
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
  *out = heap->Add(t);
  return 0;
}

int gort_timer_add_token(gort_timers_t h, uintptr_t token, gort_timer_t* out) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  gort::TimerTarget t;
  t.token = token;
  *out = heap->Add(t);
  return 0;
}

int gort_timer_reset(gort_timers_t h, gort_timer_t t, int64_t when,
                     int64_t period, int* was_pending) {
  TimerHeap* heap = FindHeap(h);
  if (heap == nullptr) return GORT_EBADF;
  if (period < 0) return GORT_EINVAL;
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
