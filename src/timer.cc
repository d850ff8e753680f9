// The timer heap, written once for every OS (Go: runtime/time.go, the
// 4-ary heap of {timer, when} of Go 1.23). See include/gort/timer.h.
#include "gort/timer.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gort {

struct TimerHeap::Record {
  void (*fn)(void*, int64_t);
  uintptr_t arg;       // callback argument, or the token
  int64_t period;      // > 0 for a periodic timer
  uint32_t order;      // arming number of its live slot, if pending
  uint32_t gen;        // bumped on Remove: handles carry it
  uint32_t next_free;  // free list link (1-based), while free
  uint16_t running;    // callbacks of this timer running now
  uint8_t pending;     // armed and not yet fired or stopped
  uint8_t removed;     // Remove()d while its callback ran: free afterwards
};

namespace {

constexpr size_t kArity = 4;
// Stale slots are swept out when they outnumber live ones by this much.
constexpr size_t kMinStaleToSweep = 64;

// The record whose callback this thread is running (nested Run() calls are
// allowed, so it is saved and restored around each callback).
thread_local const void* tls_running = nullptr;

TimerId MakeId(uint32_t index, uint32_t gen) {
  return (static_cast<uint64_t>(gen) << 32) | (static_cast<uint64_t>(index) + 1);
}

}  // namespace

TimerHeap::TimerHeap() = default;
TimerHeap::~TimerHeap() = default;

TimerHeap::Record& TimerHeap::At(uint32_t index) const {
  return chunks_[index >> kChunkShift][index & ((1u << kChunkShift) - 1)];
}

TimerHeap::Record* TimerHeap::Lookup(TimerId id) {
  uint64_t low = id & 0xffffffffu;
  if (low == 0 || low > records_) return nullptr;
  Record& r = At(static_cast<uint32_t>(low - 1));
  // Remove() bumps gen, so every handle to a removed record is stale.
  if (r.gen != static_cast<uint32_t>(id >> 32) || r.removed) {
    return nullptr;
  }
  return &r;
}

bool TimerHeap::Less(const Slot& a, const Slot& b) const {
  if (a.when != b.when) return a.when < b.when;
  // Arming numbers wrap; live ones are far less than 2^31 apart.
  return static_cast<int32_t>(a.order - b.order) < 0;
}

bool TimerHeap::Live(const Slot& s) const {
  const Record& r = At(s.index);
  return r.pending && r.order == s.order;
}

void TimerHeap::SiftUp(size_t i) {
  Slot s = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / kArity;
    if (!Less(s, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = s;
}

void TimerHeap::SiftDown(size_t i) {
  const size_t n = heap_.size();
  Slot s = heap_[i];
  for (;;) {
    size_t first = i * kArity + 1;
    if (first >= n) break;
    size_t best = first;
    size_t end = first + kArity < n ? first + kArity : n;
    for (size_t c = first + 1; c < end; ++c) {
      if (Less(heap_[c], heap_[best])) best = c;
    }
    if (!Less(heap_[best], s)) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = s;
}

void TimerHeap::Push(Slot s) {
  heap_.push_back(s);
  SiftUp(heap_.size() - 1);
}

void TimerHeap::PopTop() {
  heap_[0] = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) SiftDown(0);
}

void TimerHeap::Disarm(Record& r) {
  if (r.pending) {
    r.pending = 0;
    --pending_;
  }
}

void TimerHeap::Clean() {
  size_t stale = heap_.size() - pending_;
  if (stale > pending_ && stale >= kMinStaleToSweep) {
    // Go's zombie sweep: keep the live slots, rebuild the heap bottom-up.
    size_t out = 0;
    for (const Slot& s : heap_) {
      if (Live(s)) heap_[out++] = s;
    }
    heap_.resize(out);
    for (size_t i = heap_.size() / kArity + 1; i-- > 0;) {
      if (i < heap_.size()) SiftDown(i);
    }
  }
  while (!heap_.empty() && !Live(heap_[0])) PopTop();
}

void TimerHeap::Publish() {
  next_when_.store(heap_.empty() ? -1 : heap_[0].when,
                   std::memory_order_release);
}

void TimerHeap::WaitNotRunning(std::unique_lock<std::mutex>& lock,
                               Record& r) {
  while (r.running > 0 && tls_running != &r) done_running_.wait(lock);
}

uint32_t TimerHeap::NewRecord() {
  if (free_head_ != 0) {
    uint32_t index = free_head_ - 1;
    Record& r = At(index);
    free_head_ = r.next_free;
    r.next_free = 0;
    return index;
  }
  uint32_t index = records_;
  if ((index >> kChunkShift) >= chunks_.size()) {
    chunks_.push_back(std::make_unique<Record[]>(size_t{1} << kChunkShift));
  }
  ++records_;
  At(index) = Record{};
  return index;
}

TimerId TimerHeap::Add(TimerTarget target) {
  std::unique_lock<std::mutex> lock(mu_);
  uint32_t index = NewRecord();
  Record& r = At(index);
  r.fn = target.fn;
  r.arg = target.fn != nullptr ? reinterpret_cast<uintptr_t>(target.arg)
                               : target.token;
  r.period = 0;
  r.pending = 0;
  r.removed = 0;
  r.running = 0;
  return MakeId(index, r.gen);
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
  bool earlier;
  bool was;
  {
    std::unique_lock<std::mutex> lock(mu_);
    Record* r = Lookup(id);
    if (r == nullptr) return absl::NotFoundError("stale or removed timer");
    WaitNotRunning(lock, *r);
    r = Lookup(id);  // Wait released the lock: it may have been removed.
    if (r == nullptr) return absl::NotFoundError("stale or removed timer");
    was = r->pending;
    Disarm(*r);
    r->period = period;
    r->order = order_++;
    r->pending = 1;
    ++pending_;
    uint32_t index = static_cast<uint32_t>((id & 0xffffffffu) - 1);
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
  Record* r = Lookup(id);
  if (r == nullptr) return absl::NotFoundError("stale or removed timer");
  bool was = r->pending;
  Disarm(*r);
  Clean();
  Publish();
  // Disarmed first, so a periodic timer cannot re-arm while we wait.
  WaitNotRunning(lock, *r);
  return was;
}

absl::Status TimerHeap::Remove(TimerId id) {
  std::unique_lock<std::mutex> lock(mu_);
  Record* r = Lookup(id);
  if (r == nullptr) return absl::NotFoundError("stale or removed timer");
  Disarm(*r);
  Clean();
  Publish();
  WaitNotRunning(lock, *r);
  r = Lookup(id);
  if (r == nullptr) return absl::NotFoundError("stale or removed timer");
  Disarm(*r);  // in case it was re-armed while we waited
  Clean();
  Publish();
  ++r->gen;
  if (r->running > 0) {
    // Removed from its own callback: Run() frees it when the callback ends.
    r->removed = 1;
  } else {
    r->next_free = free_head_;
    free_head_ = static_cast<uint32_t>(id & 0xffffffffu);  // index + 1
  }
  return absl::OkStatus();
}

int64_t TimerHeap::Run(int64_t now, uintptr_t* tokens, size_t capacity,
                       size_t* n) {
  size_t count = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!heap_.empty()) {
    Slot top = heap_[0];
    if (!Live(top)) {
      PopTop();
      continue;
    }
    if (top.when > now) break;
    Record& r = At(top.index);
    if (r.fn == nullptr) {
      if (count == capacity) break;  // the caller must call again
      tokens[count++] = r.arg;
    }
    if (r.period > 0) {
      // Skip the ticks missed since `when`: next = when + k*period > now.
      int64_t k = 1 + (now - top.when) / r.period;
      int64_t next = r.period > (INT64_MAX - top.when) / k
                         ? INT64_MAX
                         : top.when + k * r.period;
      r.order = order_++;
      heap_[0] = Slot{next, r.order, top.index};
      SiftDown(0);
    } else {
      Disarm(r);
      PopTop();
    }
    if (r.fn != nullptr) {
      auto fn = r.fn;
      void* arg = reinterpret_cast<void*>(r.arg);
      ++r.running;
      const void* outer = tls_running;
      tls_running = &r;
      lock.unlock();
      fn(arg, now);
      lock.lock();
      tls_running = outer;
      if (--r.running == 0) {
        if (r.removed) {
          r.removed = 0;
          r.next_free = free_head_;
          free_head_ = top.index + 1;
        }
        done_running_.notify_all();
      }
    }
  }
  Clean();
  Publish();
  *n = count;
  return heap_.empty() ? -1 : heap_[0].when;
}

size_t TimerHeap::pending() const {
  std::unique_lock<std::mutex> lock(mu_);
  return pending_;
}

void TimerHeap::Reserve(size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  heap_.reserve(n);
  size_t chunks = (n + (size_t{1} << kChunkShift) - 1) >> kChunkShift;
  chunks_.reserve(chunks);
  while (chunks_.size() < chunks) {
    chunks_.push_back(std::make_unique<Record[]>(size_t{1} << kChunkShift));
  }
}

size_t TimerHeap::MemoryUsage() const {
  std::unique_lock<std::mutex> lock(mu_);
  return chunks_.size() * (sizeof(Record) << kChunkShift) +
         heap_.capacity() * sizeof(Slot) +
         chunks_.capacity() * sizeof(chunks_[0]);
}

}  // namespace gort
