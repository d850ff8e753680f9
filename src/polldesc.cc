// SPDX-License-Identifier: BSD-3-Clause
// The pollDesc state machine and table (Go: runtime/netpoll.go). See
// polldesc.h for the two handshakes whose orderings this file keeps.
#include "polldesc.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>

#include "gort/error_codes.h"

namespace gort::internal {

std::atomic<BlockHook> g_block_hook{nullptr};

// Handshake 1, the waiter's side (Go's netpollblock: "need to recheck
// error states after setting gpp to pdWait ... this is necessary because
// runtime_pollUnblock/runtime_pollSetDeadline/deadlineimpl do the opposite:
// store to closing/rd/wd, publishInfo, load of rg/wg").
//
// The CAS (a store) and the load of info are both seq_cst, and so are the
// closer's store of info and its load of rg/wg in PublishAndUnblock. In the
// single total order of these four operations either our CAS comes before
// the closer's load of rg/wg, which then finds pdWait (or our token) and
// takes it, or the closer's store of info comes before our load, which then
// sees the error and we do not park. Both may happen; neither missing is
// what matters. With acquire/release only, RISC-V may perform our load of
// info before the sc of the CAS is visible, and the closer's load of rg/wg
// before its store of info: both miss, the waiter parks on a closed
// pollDesc and nothing ever hands its token out.
namespace {

// SetWait() for one direction: a path of its own per direction, so that
// each has its own constants.
template <PollMode kMode>
[[gnu::always_inline]] inline int SetWaitFor(PollDesc* pd) {
  uintptr_t expected = kPdNil;
  if (!pd->g(kMode).compare_exchange_strong(expected, kPdWait,
                                            std::memory_order_seq_cst,
                                            std::memory_order_relaxed)) {
    return kSetWaitNotNil;
  }
  // CheckErr(): the common case returns the zero it tested (no constant
  // of its own).
  const uint32_t bits =
      pd->info.load(std::memory_order_seq_cst) & PollDesc::Reported(kMode);
  if (bits != 0) [[unlikely]] {
    return PollDesc::ErrorOf(bits, kMode);
  }
  return static_cast<int>(bits);
}

// SetWait() with a test's hook set: the same, then the hook.
[[gnu::noinline, gnu::cold]] int SetWaitHooked(PollDesc* pd, PollMode mode,
                                               BlockHook hook) {
  int err = mode == PollMode::kRead ? SetWaitFor<PollMode::kRead>(pd)
                                    : SetWaitFor<PollMode::kWrite>(pd);
  if (err != kSetWaitNotNil) hook(pd, mode);
  return err;
}

}  // namespace

int PollDesc::SetWait(PollMode mode) {
  // Tests' interleaving point, here rather than in the inline Block(): the
  // callers' park paths then carry neither the load nor the call. Loaded
  // before the CAS: a plain load after it is what the fence check
  // (tests/check_fences.py) rejects on arm64, and the hook, set before the
  // test's threads start, needs no ordering.
  BlockHook hook = g_block_hook.load(std::memory_order_relaxed);
  if (hook != nullptr) [[unlikely]] {
    return SetWaitHooked(this, mode, hook);
  }
  return mode == PollMode::kRead ? SetWaitFor<PollMode::kRead>(this)
                                 : SetWaitFor<PollMode::kWrite>(this);
}

// Handshake 1, the closer's side: see SetWait.
void PollDesc::PublishAndUnblock(uint32_t modes, uintptr_t* rg_token,
                                 uintptr_t* wg_token) {
  uint32_t bits = 0;
  if (closing) bits |= kInfoClosing;
  if (rd < 0) bits |= kInfoExpiredRead;
  if (wd < 0) bits |= kInfoExpiredWrite;
  // Keep the event-error bit, which Poll() sets without the lock.
  uint32_t old = info.load(std::memory_order_relaxed);
  while (!info.compare_exchange_weak(old, (old & kInfoEventErr) | bits,
                                     std::memory_order_seq_cst,
                                     std::memory_order_relaxed)) {
  }
  // Go's netpollunblock(ioready=false): deadline and close never pre-arm a
  // direction, they only take what is parked (pdWait or a token) back to
  // nil. The first load is seq_cst: the fourth operation of handshake 1.
  uintptr_t* out[2] = {rg_token, wg_token};
  for (int i = 0; i < 2; ++i) {
    *out[i] = 0;
    if ((modes & (i == 0 ? kPollRead : kPollWrite)) == 0) continue;
    std::atomic<uintptr_t>& gp = i == 0 ? rg : wg;
    uintptr_t cur = gp.load(std::memory_order_seq_cst);
    while (cur >= kPdWait) {
      if (gp.compare_exchange_weak(cur, kPdNil, std::memory_order_seq_cst)) {
        *out[i] = cur > kPdWait ? cur : 0;
        break;
      }
    }
  }
}

PollDescTable::PollDescTable(uint32_t seq_base) : seq_base_(seq_base & ~1u) {
  pages_[0].store(&page0_, std::memory_order_relaxed);
}

PollDescTable::~PollDescTable() {
  if (leak_) return;  // see LeakOnDestroy()
  for (uint32_t i = 0; i < nchunks_; ++i) delete ChunkSlot(i).load();
  for (uint32_t i = 1; i < kPages; ++i) delete pages_[i].load();
}

std::atomic<PollDescTable::Chunk*>& PollDescTable::ChunkSlot(
    uint32_t chunk) const {
  return pages_[chunk >> kPageShift]
      .load(std::memory_order_acquire)
      ->chunks[chunk & (kPageSize - 1)];
}

// The pin and the sequence check are TryPin()'s (polldesc.h).
PollDescTable::Pin PollDescTable::Acquire(PollDescId id) const {
  return Pin(TryPin(id));
}

PollDesc* PollDescTable::Alloc(PollDescId* id) {
  PollDesc* pd;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_head_ == 0) {
      if (nchunks_ == kMaxChunks) return nullptr;
      std::atomic<ChunkPage*>& page = pages_[nchunks_ >> kPageShift];
      if (page.load(std::memory_order_relaxed) == nullptr) {
        ChunkPage* fresh = new (std::nothrow) ChunkPage;
        if (fresh == nullptr) return nullptr;
        page.store(fresh, std::memory_order_release);
      }
      Chunk* c = new (std::nothrow) Chunk;
      if (c == nullptr) return nullptr;
      uint32_t base = nchunks_ << kChunkShift;
      for (uint32_t i = 0; i < kChunkSize; ++i) {
        c->pds[i].index = base + i;
        c->pds[i].seq.store(seq_base_, std::memory_order_relaxed);
        c->pds[i].next_free = i + 1 < kChunkSize ? base + i + 2 : 0;
      }
      ChunkSlot(nchunks_).store(c, std::memory_order_release);
      ++nchunks_;
      free_head_ = base + 1;
    }
    pd = At(free_head_ - 1);
    free_head_ = pd->next_free;
    pd->next_free = 0;
  }
  in_use_.fetch_add(1, std::memory_order_relaxed);
  uint32_t seq;
  {
    // A free pollDesc is in its reset state (new, or reset by Free()).
    std::lock_guard<std::mutex> lock(pd->mu);
    pd->in_use = true;
    seq = pd->seq.load(std::memory_order_relaxed) + 1;  // odd: in use
    pd->seq.store(seq, std::memory_order_seq_cst);
  }
  *id = (static_cast<uint64_t>(seq) << 32) | (pd->index + 1);
  return pd;
}

bool PollDescTable::Retire(PollDesc* pd, PollDescId id) {
  uint32_t seq = static_cast<uint32_t>(id >> 32);
  return pd->seq.compare_exchange_strong(seq, seq + 1,
                                         std::memory_order_seq_cst);
}

void PollDescTable::Free(PollDesc* pd, uintptr_t* rg_token,
                         uintptr_t* wg_token) {
  // Handshake 2, the closer's side (see Acquire).
  while (pd->refs.load(std::memory_order_seq_cst) != 0) {
    std::this_thread::yield();
  }
  {
    std::lock_guard<std::mutex> lock(pd->mu);
    uintptr_t r = pd->rg.exchange(kPdNil, std::memory_order_acq_rel);
    uintptr_t w = pd->wg.exchange(kPdNil, std::memory_order_acq_rel);
    *rg_token = r > kPdWait ? r : 0;
    *wg_token = w > kPdWait ? w : 0;
    pd->in_use = false;
    pd->closing = false;
    pd->fd = -1;
    pd->rd = pd->wd = 0;
#ifdef _WIN32
    pd->skip_sync = false;
#endif
    pd->info.store(0, std::memory_order_release);
  }
  in_use_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu_);
  pd->next_free = free_head_;
  free_head_ = pd->index + 1;
}

}  // namespace gort::internal
