// The timer heap, written once for every OS (Go: runtime/time.go, the
// 4-ary heap of {timer, when} of Go 1.23). See include/gort/timer.h.
#include "gort/timer.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gort {

// What handle checks, Stop() and the heap's liveness checks read.
struct TimerHeap::Meta {
  uint32_t order;  // arming number of its live slot; free list link if free
  uint32_t state;  // gen << 2 | kRemoved | kPending
};

// What firing reads; aligned so it never straddles two cache lines.
struct alignas(32) TimerHeap::Record {
  void (*fn)(void*, int64_t);
  uintptr_t arg;   // callback argument, or the token
  int64_t period;  // > 0 for a periodic timer
};

struct TimerHeap::Chunk {
  Meta meta[size_t{1} << kChunkShift];
  Record rec[size_t{1} << kChunkShift];
};

namespace {

constexpr uint32_t kPending = 1;  // armed and not yet fired or stopped
constexpr uint32_t kRemoved = 2;  // removed while its callback ran
constexpr uint32_t kGenOne = 4;   // the generation counts in state's top bits
constexpr size_t kArity = 4;
// Stale slots are swept out when they outnumber live ones, and this many.
constexpr size_t kMinStaleToSweep = 64;
constexpr std::align_val_t kLine{64};

// The record whose callback this thread is running (nested Run() calls are
// allowed, so it is saved and restored around each callback).
thread_local const void* tls_running = nullptr;

uint32_t GenOf(uint32_t state) { return state >> 2; }

TimerId MakeId(uint32_t index, uint32_t state) {
  return (static_cast<uint64_t>(GenOf(state)) << 32) |
         (static_cast<uint64_t>(index) + 1);
}

}  // namespace

TimerHeap::TimerHeap() { running_.reserve(16); }

TimerHeap::~TimerHeap() {
  if (slots_ != nullptr) ::operator delete(slots_, kLine);
}

TimerHeap::Meta& TimerHeap::M(uint32_t index) const {
  return chunks_[index >> kChunkShift]->meta[index & ((1u << kChunkShift) - 1)];
}

TimerHeap::Record& TimerHeap::R(uint32_t index) const {
  return chunks_[index >> kChunkShift]->rec[index & ((1u << kChunkShift) - 1)];
}

TimerHeap::Meta* TimerHeap::Lookup(TimerId id) {
  uint64_t low = id & 0xffffffffu;
  if (low == 0 || low > records_) return nullptr;
  Meta& r = M(static_cast<uint32_t>(low - 1));
  // Remove() bumps the generation, so every handle to it is stale.
  if (GenOf(r.state) != static_cast<uint32_t>(id >> 32) ||
      (r.state & kRemoved) != 0) {
    return nullptr;
  }
  return &r;
}

bool TimerHeap::Less(const Slot& a, const Slot& b) {
  if (a.when != b.when) return a.when < b.when;
  // Arming numbers wrap; live ones are far less than 2^31 apart.
  return static_cast<int32_t>(a.order - b.order) < 0;
}

bool TimerHeap::Live(const Slot& s) const {
  const Meta& m = M(s.index);
  return (m.state & kPending) != 0 && m.order == s.order;
}

void TimerHeap::Grow(size_t need) {
  if (need <= cap_) return;
  size_t cap = cap_ < 64 ? 64 : cap_ * 2;
  while (cap < need) cap *= 2;
  auto* slots =
      static_cast<Slot*>(::operator new((cap + kPad) * sizeof(Slot), kLine));
  if (slots_ != nullptr) {
    std::memcpy(slots + kPad, slots_ + kPad, size_ * sizeof(Slot));
    ::operator delete(slots_, kLine);
  }
  slots_ = slots;
  cap_ = cap;
}

void TimerHeap::SiftUp(size_t i) {
  Slot s = H(i);
  while (i > 0) {
    size_t parent = (i - 1) / kArity;
    if (!Less(s, H(parent))) break;
    H(i) = H(parent);
    i = parent;
  }
  H(i) = s;
}

void TimerHeap::SiftDown(size_t i) {
  const size_t n = size_;
  Slot s = H(i);
  for (;;) {
    size_t first = i * kArity + 1;
    if (first >= n) break;
    size_t best = first;
    size_t end = first + kArity < n ? first + kArity : n;
    for (size_t c = first + 1; c < end; ++c) {
      if (Less(H(c), H(best))) best = c;
    }
    if (!Less(H(best), s)) break;
    H(i) = H(best);
    i = best;
  }
  H(i) = s;
}

void TimerHeap::Push(Slot s) {
  Grow(size_ + 1);
  H(size_++) = s;
  SiftUp(size_ - 1);
}

void TimerHeap::PopTop() {
  H(0) = H(--size_);
  if (size_ > 0) {
    SiftDown(0);
    __builtin_prefetch(&R(H(0).index));
  }
}

void TimerHeap::Disarm(Meta& m) {
  if ((m.state & kPending) != 0) {
    m.state &= ~kPending;
    --pending_;
  }
}

void TimerHeap::Clean() {
  size_t stale = size_ - pending_;
  if (stale > pending_ && stale >= kMinStaleToSweep) {
    // Go's zombie sweep: keep the live slots, rebuild the heap bottom-up.
    size_t out = 0;
    for (size_t i = 0; i < size_; ++i) {
      if (Live(H(i))) H(out++) = H(i);
    }
    size_ = out;
    for (size_t i = size_ / kArity + 1; i-- > 0;) {
      if (i < size_) SiftDown(i);
    }
  }
  while (size_ > 0 && !Live(H(0))) PopTop();
}

void TimerHeap::Publish() {
  next_when_.store(size_ == 0 ? -1 : H(0).when, std::memory_order_release);
}

uint32_t TimerHeap::RunningCount(uint32_t index) const {
  for (const Running& r : running_) {
    if (r.index == index) return r.count;
  }
  return 0;
}

void TimerHeap::WaitNotRunning(std::unique_lock<std::mutex>& lock,
                               uint32_t index) {
  const Meta* m = &M(index);
  while (tls_running != m && RunningCount(index) > 0) done_running_.wait(lock);
}

void TimerHeap::Free(uint32_t index) {
  Meta& m = M(index);
  m.state = (m.state & ~(kPending | kRemoved)) + kGenOne;
  m.order = free_head_;
  free_head_ = index + 1;
}

uint32_t TimerHeap::NewRecord() {
  if (free_head_ != 0) {
    uint32_t index = free_head_ - 1;
    free_head_ = M(index).order;
    return index;
  }
  uint32_t index = records_;
  if ((index >> kChunkShift) >= chunks_.size()) {
    chunks_.push_back(std::make_unique<Chunk>());
  }
  ++records_;
  M(index) = Meta{};
  return index;
}

TimerId TimerHeap::Add(TimerTarget target) {
  std::unique_lock<std::mutex> lock(mu_);
  uint32_t index = NewRecord();
  Record& r = R(index);
  r.fn = target.fn;
  r.arg = target.fn != nullptr ? reinterpret_cast<uintptr_t>(target.arg)
                               : target.token;
  r.period = 0;
  M(index).order = 0;
  return MakeId(index, M(index).state);
}

absl::StatusOr<TimerId> TimerHeap::Start(int64_t when, int64_t period,
                                         TimerTarget target) {
  if (period < 0) return absl::InvalidArgumentError("negative timer period");
  TimerId id = Add(target);
  absl::StatusOr<bool> armed = Reset(id, when, period);
  if (!armed.ok()) return armed.status();
  return id;
}

absl::StatusOr<bool> TimerHeap::Reset(TimerId id, int64_t when,
                                      int64_t period) {
  if (period < 0) return absl::InvalidArgumentError("negative timer period");
  const uint32_t index = static_cast<uint32_t>((id & 0xffffffffu) - 1);
  bool earlier;
  bool was;
  {
    std::unique_lock<std::mutex> lock(mu_);
    Meta* r = Lookup(id);
    if (r == nullptr) return absl::NotFoundError("stale or removed timer");
    if (!running_.empty()) {
      WaitNotRunning(lock, index);
      r = Lookup(id);  // the wait released the lock: it may be gone
      if (r == nullptr) return absl::NotFoundError("stale or removed timer");
    }
    was = (r->state & kPending) != 0;
    Disarm(*r);
    R(index).period = period;
    r->order = order_++;
    r->state |= kPending;
    ++pending_;
    int64_t before = next_when_.load(std::memory_order_relaxed);
    Push(Slot{when, r->order, index});
    Clean();
    Publish();
    earlier = before < 0 || when < before;
  }
  if (earlier && earlier_fn_ != nullptr) earlier_fn_(earlier_arg_);
  return was;
}

absl::StatusOr<bool> TimerHeap::Stop(TimerId id) {
  std::unique_lock<std::mutex> lock(mu_);
  Meta* r = Lookup(id);
  if (r == nullptr) return absl::NotFoundError("stale or removed timer");
  bool was = (r->state & kPending) != 0;
  Disarm(*r);
  Clean();
  Publish();
  // Disarmed first, so a periodic timer cannot re-arm while we wait.
  if (!running_.empty()) {
    WaitNotRunning(lock, static_cast<uint32_t>((id & 0xffffffffu) - 1));
  }
  return was;
}

absl::Status TimerHeap::Remove(TimerId id) {
  const uint32_t index = static_cast<uint32_t>((id & 0xffffffffu) - 1);
  std::unique_lock<std::mutex> lock(mu_);
  Meta* r = Lookup(id);
  if (r == nullptr) return absl::NotFoundError("stale or removed timer");
  Disarm(*r);
  WaitNotRunning(lock, index);
  r = Lookup(id);
  if (r == nullptr) return absl::NotFoundError("stale or removed timer");
  Disarm(*r);  // in case it was re-armed while we waited
  Clean();
  Publish();
  if (RunningCount(index) > 0) {
    // Removed from its own callback: Run() frees it when the callback ends.
    r->state = (r->state | kRemoved) + kGenOne;
  } else {
    Free(index);
  }
  return absl::OkStatus();
}

int64_t TimerHeap::Run(int64_t now, uintptr_t* tokens, size_t capacity,
                       size_t* n) {
  size_t count = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (size_ > 0) {
    // Full: stop before touching the next timer's record (a cache miss at
    // a million timers); the caller calls again.
    if (capacity != 0 && count == capacity) break;
    Slot top = H(0);
    if (top.when > now) break;
    // Both per-timer reads miss the cache at a million timers: overlap them.
    __builtin_prefetch(&R(top.index));
    Meta& m = M(top.index);
    if ((m.state & kPending) == 0 || m.order != top.order) {
      PopTop();  // stale: stopped or re-armed since
      continue;
    }
    Record& r = R(top.index);
    if (r.fn == nullptr) {
      if (count == capacity) break;  // capacity 0: a token stops the run
      tokens[count++] = r.arg;
    }
    if (r.period > 0) {
      // Skip the ticks missed since `when`: next = when + k*period > now.
      int64_t k = 1 + (now - top.when) / r.period;
      int64_t next = r.period > (INT64_MAX - top.when) / k
                         ? INT64_MAX
                         : top.when + k * r.period;
      m.order = order_++;
      H(0) = Slot{next, m.order, top.index};
      SiftDown(0);
    } else {
      Disarm(m);
      PopTop();
    }
    if (r.fn != nullptr) {
      auto fn = r.fn;
      void* arg = reinterpret_cast<void*>(r.arg);
      size_t slot = running_.size();
      for (size_t i = 0; i < running_.size(); ++i) {
        if (running_[i].index == top.index) slot = i;
      }
      if (slot == running_.size()) running_.push_back({top.index, 0});
      ++running_[slot].count;
      const void* outer = tls_running;
      tls_running = &m;
      lock.unlock();
      fn(arg, now);
      lock.lock();
      tls_running = outer;
      for (size_t i = 0; i < running_.size(); ++i) {
        if (running_[i].index != top.index) continue;
        if (--running_[i].count == 0) {
          running_[i] = running_.back();
          running_.pop_back();
          if ((m.state & kRemoved) != 0) Free(top.index);
          done_running_.notify_all();
        }
        break;
      }
    }
  }
  // The next timer to fire is known: start loading its record while Clean
  // reads its liveness.
  if (size_ > 0) __builtin_prefetch(&R(H(0).index));
  Clean();
  Publish();
  *n = count;
  return size_ == 0 ? -1 : H(0).when;
}

size_t TimerHeap::pending() const {
  std::unique_lock<std::mutex> lock(mu_);
  return pending_;
}

void TimerHeap::Reserve(size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  Grow(n);
  size_t chunks = (n + (size_t{1} << kChunkShift) - 1) >> kChunkShift;
  chunks_.reserve(chunks);
  while (chunks_.size() < chunks) {
    chunks_.push_back(std::make_unique<Chunk>());
  }
}

size_t TimerHeap::MemoryUsage() const {
  std::unique_lock<std::mutex> lock(mu_);
  return chunks_.size() * sizeof(Chunk) +
         (cap_ + (cap_ > 0 ? kPad : 0)) * sizeof(Slot) +
         chunks_.capacity() * sizeof(chunks_[0]) +
         running_.capacity() * sizeof(Running);
}

}  // namespace gort
