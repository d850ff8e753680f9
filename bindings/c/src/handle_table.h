// SPDX-License-Identifier: BSD-3-Clause
// The C ABI's table of objects named by handles (timer heaps, pollers).
#ifndef GORT_BINDINGS_C_SRC_HANDLE_TABLE_H_
#define GORT_BINDINGS_C_SRC_HANDLE_TABLE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include "gort.h"

namespace gort::internal {

// A random odd 32-bit number, different at each call: the first generation
// of a handle-table slot (handle_table.cc).
uint32_t RandomOddGeneration();

// Objects of type T named by handles of (generation << 32 | index + 1) into
// a fixed table of N slots.
//
// Every call through a handle pins the slot (Acquire) for as long as it uses
// the object, as a pollDesc is pinned in src/polldesc.cc. Remove() bumps the
// slot's generation, so later calls find nothing (the C ABI answers
// GORT_EBADF), then waits until the calls in flight have unpinned the slot
// before it hands the object back to be freed: closing a handle another
// thread is using is never a use-after-free.
//
// The pin and the removal meet in the store-buffering pattern: Acquire
// increments `pins` then loads `gen`; Remove increments `gen` then loads
// `pins`. All four are sequentially consistent, so at least one side sees
// the other: either the call sees the new generation and backs off, or
// Remove sees its pin and waits. (Acquire/release would let both miss each
// other on arm64 and riscv64.)
//
// Generations start at a random odd value per slot and step by 2, so they
// are never 0 and a handle of one table (or of a freed object) matches an
// object of another table only by a 1 in 2^31 chance, not because both
// tables started counting at 0.
//
// Calls that run the embedder's code while pinned (gort_timers_run()'s
// callbacks) also put a ThisThreadRuns on their stack: it links the pin into
// a per-thread list, so that Remove() from that code on the same thread
// answers GORT_EBUSY instead of waiting for itself forever. Only those calls
// pay for the thread-local access.
//
// Insert and Remove take a lock (Remove not while it waits); Acquire is
// lock-free (two atomic read-modify-writes on the slot). Constant-initialised,
// so a namespace-scope table is safe to use from any static initialiser.
template <typename T, uint32_t N = 4096>
class HandleTable {
  struct Slot;

 public:
  // A pinned object: the slot cannot be emptied while it lives. Unpins when
  // destroyed. Empty (false) for a stale or unknown handle. Neither copied
  // nor moved: it lives where Acquire() returns it.
  class Pin {
   public:
    Pin() = default;
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    ~Pin() {
      if (slot_ != nullptr) slot_->pins.fetch_sub(1, std::memory_order_release);
    }

    explicit operator bool() const { return obj_ != nullptr; }
    T* get() const { return obj_; }
    T* operator->() const { return obj_; }

   private:
    friend class HandleTable;
    Pin(typename HandleTable::Slot* slot, T* obj) : slot_(slot), obj_(obj) {}

    typename HandleTable::Slot* slot_ = nullptr;
    T* obj_ = nullptr;
  };

  // Marks a pin as held by this thread while it runs the embedder's code
  // (gort_timers_run()'s callbacks), so that Remove() of the same object from
  // that code answers GORT_EBUSY instead of waiting for itself forever. A
  // stack object, nested as the calls are.
  class ThisThreadRuns {
   public:
    explicit ThisThreadRuns(const Pin& pin) : slot_(pin.slot_), prev_(top_) {
      top_ = this;
    }
    ThisThreadRuns(const ThisThreadRuns&) = delete;
    ThisThreadRuns& operator=(const ThisThreadRuns&) = delete;
    ~ThisThreadRuns() { top_ = prev_; }

   private:
    friend class HandleTable;
    const typename HandleTable::Slot* slot_;
    const ThisThreadRuns* prev_;
    static thread_local const ThisThreadRuns* top_;
  };

  constexpr HandleTable() = default;
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  // Stores `obj` and returns its handle; 0 (and `obj` not stored) if all N
  // slots are taken.
  uint64_t Insert(T* obj) {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint32_t i = 0; i < N; ++i) {
      Slot& s = slots_[i];
      // Acquire: pairs with Remove()'s release of the slot, so the bumped
      // generation is what we read next.
      if (s.obj.load(std::memory_order_acquire) != nullptr) continue;
      uint32_t gen = s.gen.load(std::memory_order_relaxed);
      if (gen == 0) {  // first use of the slot
        gen = RandomOddGeneration();
        s.gen.store(gen, std::memory_order_seq_cst);
      }
      s.obj.store(obj, std::memory_order_release);
      return (static_cast<uint64_t>(gen) << 32) | (i + 1);
    }
    return 0;
  }

  // Pins the object named by `h`; an empty Pin for a stale or never-issued
  // handle.
  Pin Acquire(uint64_t h) {
    Slot* s = SlotOf(h);
    if (s == nullptr) return Pin();
    s->pins.fetch_add(1, std::memory_order_seq_cst);
    T* obj = s->obj.load(std::memory_order_acquire);
    if (s->gen.load(std::memory_order_seq_cst) !=
            static_cast<uint32_t>(h >> 32) ||
        obj == nullptr) {
      s->pins.fetch_sub(1, std::memory_order_release);
      return Pin();
    }
    return Pin(s, obj);
  }

  // Takes the object named by `h` out of the table and stores it in `*out`
  // for the caller to free. Later Acquire()s of `h` fail at once; then
  // Remove waits until every call that pinned the object has returned,
  // calling `poke(obj)` between checks (a poller's Wake(), so that a call
  // blocked in it returns). Returns 0, GORT_EBADF if `h` names nothing, or
  // GORT_EBUSY (nothing removed) if this thread is inside a ThisThreadRuns
  // of the object: a timer callback freeing its own heap.
  template <typename Poke>
  int Remove(uint64_t h, T** out, Poke&& poke) {
    *out = nullptr;
    Slot* s = SlotOf(h);
    if (s == nullptr) return GORT_EBADF;
    T* obj = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      obj = s->obj.load(std::memory_order_acquire);
      if (obj == nullptr || s->gen.load(std::memory_order_relaxed) !=
                                static_cast<uint32_t>(h >> 32)) {
        return GORT_EBADF;
      }
      for (const ThisThreadRuns* r = ThisThreadRuns::top_; r != nullptr;
           r = r->prev_) {
        if (r->slot_ == s) return GORT_EBUSY;
      }
      // From here `h` names nothing: no other Remove() of it can start, and
      // the slot stays taken (obj != nullptr) until the pins drain.
      s->gen.fetch_add(2, std::memory_order_seq_cst);
    }
    // Without the lock: a pinned call may open or close other objects of
    // this table (a timer callback making a heap) while we wait for it.
    for (int spins = 0; s->pins.load(std::memory_order_seq_cst) != 0; ++spins) {
      poke(obj);
      if (spins < 64) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
    s->obj.store(nullptr, std::memory_order_release);  // Insert may reuse it
    *out = obj;
    return 0;
  }

  // Remove() with nothing to poke.
  int Remove(uint64_t h, T** out) {
    return Remove(h, out, [](T*) {});
  }

 private:
  struct Slot {
    std::atomic<T*> obj{nullptr};
    std::atomic<uint32_t> gen{0};   // 0 until first used, then odd
    std::atomic<uint32_t> pins{0};  // calls using obj now (and stale
                                    // lookups backing off)
  };

  Slot* SlotOf(uint64_t h) {
    uint64_t low = h & 0xffffffffu;
    if (low == 0 || low > N) return nullptr;
    return &slots_[low - 1];
  }

  Slot slots_[N];
  std::mutex mu_;
};

template <typename T, uint32_t N>
thread_local const typename HandleTable<T, N>::ThisThreadRuns*
    HandleTable<T, N>::ThisThreadRuns::top_ = nullptr;

}  // namespace gort::internal

#endif  // GORT_BINDINGS_C_SRC_HANDLE_TABLE_H_
