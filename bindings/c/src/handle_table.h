// The C ABI's table of objects named by handles (timer heaps, pollers).
#ifndef GORT_BINDINGS_C_SRC_HANDLE_TABLE_H_
#define GORT_BINDINGS_C_SRC_HANDLE_TABLE_H_

#include <atomic>
#include <cstdint>
#include <mutex>

namespace gort::internal {

// Objects of type T named by handles of (generation << 32 | index + 1) into
// a fixed table of N slots. Removing an object bumps its slot's generation,
// so its handle then finds nothing (the C ABI answers GORT_EBADF) instead of
// freed memory or the slot's next object. Removing an object while another
// thread still uses it is the caller's bug, as closing a descriptor another
// thread reads. Lookups are lock-free; Insert and Remove take a lock.
// Constant-initialised, so a namespace-scope table is safe to use from any
// static initialiser.
template <typename T, uint32_t N = 4096>
class HandleTable {
 public:
  constexpr HandleTable() = default;
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  // Stores `obj` and returns its handle; 0 (and `obj` not stored) if all N
  // slots are taken.
  uint64_t Insert(T* obj) {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint32_t i = 0; i < N; ++i) {
      Slot& s = slots_[i];
      if (s.obj.load(std::memory_order_relaxed) != nullptr) continue;
      uint32_t gen = s.gen.load(std::memory_order_relaxed);
      s.obj.store(obj, std::memory_order_release);
      return (static_cast<uint64_t>(gen) << 32) | (i + 1);
    }
    return 0;
  }

  // The object named by `h`, or nullptr for a stale or never-issued handle.
  T* Find(uint64_t h) const {
    uint64_t low = h & 0xffffffffu;
    if (low == 0 || low > N) return nullptr;
    const Slot& s = slots_[low - 1];
    T* obj = s.obj.load(std::memory_order_acquire);
    if (obj == nullptr || s.gen.load(std::memory_order_acquire) !=
                              static_cast<uint32_t>(h >> 32)) {
      return nullptr;
    }
    return obj;
  }

  // Takes the object named by `h` out of the table and returns it (the
  // caller frees it); nullptr if `h` names nothing.
  T* Remove(uint64_t h) {
    std::lock_guard<std::mutex> lock(mu_);
    T* obj = Find(h);
    if (obj == nullptr) return nullptr;
    Slot& s = slots_[(h & 0xffffffffu) - 1];
    s.gen.fetch_add(1, std::memory_order_acq_rel);
    s.obj.store(nullptr, std::memory_order_release);
    return obj;
  }

 private:
  struct Slot {
    std::atomic<T*> obj{nullptr};
    std::atomic<uint32_t> gen{0};
  };
  Slot slots_[N];
  std::mutex mu_;
};

}  // namespace gort::internal

#endif  // GORT_BINDINGS_C_SRC_HANDLE_TABLE_H_
