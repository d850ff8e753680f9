// SPDX-License-Identifier: BSD-3-Clause
// The pollDesc and the table that owns them (Go: runtime/netpoll.go's
// pollDesc, pollCache, netpollblock, netpollunblock, netpollcheckerr and
// publishInfo). Every memory-ordering invariant of the netpoller lives in
// this file and polldesc.cc; src/netpoll.cc builds the poller on top.
//
// The two handshakes, both "store, then load" on each side:
//
//  1. Park vs. close/deadline. A waiter moves rg/wg from nil to pdWait, then
//     re-reads `info` (SetWait). A closer or deadline updates `info`, then
//     reads rg/wg to take a parked waiter (PublishAndUnblock). Each side
//     must see the other's store, or the waiter parks after the descriptor
//     closed and nobody wakes it.
//  2. Pin vs. free. A call, and Poll() for each harvested event, pins a
//     pollDesc (refs += 1), then re-reads `seq` (PollDescTable::TryPin,
//     inline; Acquire() is its out-of-line form, which the fence check
//     reads). A closer moves `seq` on, then waits for `refs` to reach 0
//     (PollDescTable::Free). Go's netpoll only compares the event's tag
//     with fdseq and lets a late event ready a reused pollDesc (a spurious
//     wake-up); gort pins, so Unregister() returning means no event for
//     the old descriptor is still being handled (netpoll.h: events
//     harvested for it are dropped).
//
// This is the store-buffering pattern: acquire/release orders neither side,
// and arm64 and riscv64 really reorder a store with a later load (RISC-V
// compiles an acq_rel CAS to lr.aq/sc.rl, after which a plain load may be
// performed before the sc is visible). All four operations of each
// handshake are sequentially consistent, as all of Go's atomics are; .ci/run
// checks the arm64 and riscv64 code of SetWait and PublishAndUnblock
// (tests/check_fences.py).
#ifndef GORT_SRC_POLLDESC_H_
#define GORT_SRC_POLLDESC_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "gort/error_codes.h"
#include "gort/netpoll.h"
#include "gort/timer.h"
#include "netpoll_internal.h"

// Out of line on purpose: the fence check disassembles these functions.
#define GORT_NOINLINE __attribute__((noinline))

namespace gort::internal {

struct PollDesc;

// rg/wg values (Go's pdNil, pdReady, pdWait); anything else is a parked
// waiter's token.
inline constexpr uintptr_t kPdNil = 0;
inline constexpr uintptr_t kPdReady = 1;
inline constexpr uintptr_t kPdWait = 2;

// Bits of PollDesc::info, read without the lock (Go's atomicInfo).
inline constexpr uint32_t kInfoClosing = 1;
inline constexpr uint32_t kInfoEventErr = 2;
inline constexpr uint32_t kInfoExpiredRead = 4;
inline constexpr uint32_t kInfoExpiredWrite = 8;

// What Block() did (its other results are negative GORT_E* codes).
inline constexpr int kBlockReady = 0;
inline constexpr int kBlockParked = 1;

// SetWait()'s result when the direction was not nil (errors are <= 0).
inline constexpr int kSetWaitNotNil = 1;
static_assert(GORT_ECANCELED < 0 && GORT_ETIMEDOUT < 0 && GORT_EIO < 0,
              "SetWait's errors and kSetWaitNotNil must not meet");

// Tests only: when set, SetWait() calls it once the direction is pdWait,
// before Block() publishes the token, so a test can interleave another
// thread's work exactly there. One relaxed load in SetWait when unset.
using BlockHook = void (*)(PollDesc* pd, PollMode mode);
extern std::atomic<BlockHook> g_block_hook;

// One watched descriptor. Its small lock-free steps that every Read, Write
// and harvested event runs (ErrorOf, Reset, Ready, SetEventErr) are defined
// here so that fd_posix.cc and netpoll.cc inline them; the two handshake
// halves stay out of line (GORT_NOINLINE) for the fence check.
// Type-stable: once allocated it stays valid memory
// for the poller's life, whatever happens to the descriptor.
struct PollDesc {
  // Lock-free part (Go: rg, wg, atomicInfo, fdseq). seq is odd while the
  // pollDesc is in use and even while it is free; a handle carries it.
  std::atomic<uintptr_t> rg{kPdNil};
  std::atomic<uintptr_t> wg{kPdNil};
  std::atomic<uint32_t> info{0};
  std::atomic<uint32_t> seq{0};
  // Calls in flight on this pollDesc; Free() waits for them to leave
  // before the pollDesc is reset and reused.
  std::atomic<uint32_t> refs{0};
  uint32_t index = 0;

  // Go's pd.lock and what it guards.
  std::mutex mu;
  bool in_use = false;
  bool closing = false;
  // Here, in the padding after the flags, so that a pollDesc is 128 bytes
  // where std::mutex is 40 (64-bit glibc): a handle's pollDesc is then
  // found with a shift, not a multiply (every Acquire).
  uint32_t next_free = 0;  // 1-based index; 0 ends the list
  intptr_t fd = -1;
  uint32_t rseq = 0;
  uint32_t wseq = 0;
  int64_t rd = 0;  // read deadline: 0 none, -1 expired
  int64_t wd = 0;
  TimerId rt = 0;  // read timer (also serves writes when rd == wd > 0)
  TimerId wt = 0;

#ifdef _WIN32
  WinOp ops[2] = {};  // read, write
  // References that keep the pollDesc from being freed and reused: one
  // for the registration (dropped by Unregister) and one per operation
  // record in flight (dropped when its packet was taken). Whoever drops
  // the last one frees it, so the kernel never writes an OVERLAPPED that
  // belongs to another descriptor by then. Never raised from zero.
  std::atomic<uint32_t> io_refs{0};
  // Register() set skip-on-success on the handle (under mu).
  bool skip_sync = false;
#endif

  std::atomic<uintptr_t>& g(PollMode mode) {
    return mode == PollMode::kRead ? rg : wg;
  }

  // Go's netpollcheckerr: the error a direction reports (0 or a negative
  // GORT_E* code), from the lock-free info word alone. The load is seq_cst:
  // the second operation of handshake 1 when SetWait makes it.
  int CheckErr(PollMode mode) const {
    return ErrorOf(info.load(std::memory_order_seq_cst), mode);
  }
  // The info bits a direction reports an error for.
  static constexpr uint32_t Reported(PollMode mode) {
    return mode == PollMode::kRead
               ? kInfoClosing | kInfoExpiredRead | kInfoEventErr
               : kInfoClosing | kInfoExpiredWrite;
  }
  static int ErrorOf(uint32_t info_bits, PollMode mode) {
    // The common case, no error, in one test of the bits `mode` reports
    // (every Read, Write and park runs this; the tests below take three).
    if ((info_bits & Reported(mode)) == 0) return 0;
    if (info_bits & kInfoClosing) return GORT_ECANCELED;
    if ((mode == PollMode::kRead && (info_bits & kInfoExpiredRead)) ||
        (mode == PollMode::kWrite && (info_bits & kInfoExpiredWrite))) {
      return GORT_ETIMEDOUT;
    }
    if (mode == PollMode::kRead && (info_bits & kInfoEventErr)) return GORT_EIO;
    return 0;
  }

  // Go's poll_runtime_pollReset after its error check: forgets a readiness
  // notification. EBUSY if a waiter is parked.
  int Reset(PollMode mode) {
    std::atomic<uintptr_t>& gp = g(mode);
    uintptr_t old = gp.load(std::memory_order_acquire);
    while (old == kPdReady) {
      if (gp.compare_exchange_weak(old, kPdNil, std::memory_order_acq_rel)) {
        return 0;
      }
    }
    return old > kPdReady ? GORT_EBUSY : 0;
  }

  // Go's netpollblock with netpollblockcommit: consumes readiness
  // (kBlockReady) or publishes `token` (kBlockParked), else the error the
  // direction reports (ECANCELED, ETIMEDOUT, EIO) or EBUSY when another
  // waiter holds the direction. The caller has checked errors once.
  // `waitio` (Go's waitio, for runtime_pollWaitCanceled): park whatever
  // errors say; only readiness or EBUSY ends the wait.
  int Block(PollMode mode, uintptr_t token, bool waitio = false);

  // The waiter's half of handshake 1: moves the direction from nil to
  // pdWait and, if that succeeded, returns the error visible afterwards (0
  // or a negative GORT_E* code, CheckErr's) after calling g_block_hook;
  // returns kSetWaitNotNil (changing nothing) if the direction was not nil.
  // The result is one register, not a flag and an out-parameter in memory.
  GORT_NOINLINE int SetWait(PollMode mode);

  // The closer's half of handshake 1, with `mu` held after closing, rd or
  // wd changed (Go's publishInfo, then netpollunblock(ioready=false) for
  // each direction in `modes`, kPollRead/kPollWrite bits): stores the new
  // info word, then takes the parked waiters, returned in rg/wg (0: none).
  GORT_NOINLINE void PublishAndUnblock(uint32_t modes, uintptr_t* rg_token,
                                       uintptr_t* wg_token);

  // Go's netpollunblock(ioready=true), from Poll() for a harvested event:
  // readies the direction, or takes a parked token (which then consumes
  // the notification) and calls `take(token)` with it.
  // The parked waiter first, with its own CAS: the common case where Poll()
  // finds a direction waited on (a waiter parks, then its event comes).
  // `take` is called on that path alone, so the token needs no test
  // against 0 after the CAS (a returned token would). `kReadyFirst`: test
  // for a direction already ready before that (Poll()'s write direction,
  // which mostly stays writable, no writer waiting), the same steps in
  // another order.
  template <bool kReadyFirst = false, typename Take>
  [[gnu::always_inline]] void Ready(PollMode mode, Take&& take) {
    std::atomic<uintptr_t>& gp = g(mode);
    uintptr_t old = gp.load(std::memory_order_acquire);
    for (;;) {
      if (kReadyFirst && old == kPdReady) return;
      if (old > kPdWait) {
        if (gp.compare_exchange_weak(old, kPdNil, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
          take(old);
          return;
        }
        continue;
      }
      if (old == kPdReady) return;
      if (gp.compare_exchange_weak(old, kPdReady, std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
        return;
      }
    }
  }
  // The same, returning the token taken (0: none).
  uintptr_t Ready(PollMode mode) {
    uintptr_t token = 0;
    Ready(mode, [&token](uintptr_t t) { token = t; });
    return token;
  }

  // Go's setEventErr: only an event that is nothing but an error marks
  // reads as failed; any other event clears the mark.
  void SetEventErr(bool error_only) {
    if (error_only) {
      info.fetch_or(kInfoEventErr, std::memory_order_acq_rel);
    } else if (info.load(std::memory_order_relaxed) & kInfoEventErr) {
      info.fetch_and(~kInfoEventErr, std::memory_order_acq_rel);
    }
  }
};
#ifndef _WIN32
static_assert(sizeof(void*) != 8 || sizeof(std::mutex) != 40 ||
                  sizeof(PollDesc) == 128,
              "a pollDesc of 128 bytes is indexed with a shift");
#endif

// Inline (it is most of every park: the embedder's Wait, an Fd operation
// that found EAGAIN, WaitRead); its ordering half is SetWait's, out of line.
inline int PollDesc::Block(PollMode mode, uintptr_t token, bool waitio) {
  std::atomic<uintptr_t>& gp = g(mode);
  for (;;) {
    int err = SetWait(mode);
    // 0 first (pdWait set, no error: the common park), one test; the rest
    // is rare.
    if (err != 0) [[unlikely]] {
      if (err == kSetWaitNotNil) {
        uintptr_t old = gp.load(std::memory_order_acquire);
        if (old == kPdReady) {
          if (gp.compare_exchange_weak(old, kPdNil,
                                       std::memory_order_acq_rel)) {
            return kBlockReady;
          }
          continue;
        }
        if (old == kPdNil) continue;  // changed under us: try again
        return GORT_EBUSY;            // pdWait or a token: another waiter
      }
      if (waitio) err = 0;  // Go: park if waitio || no error
    }
    if (err == 0) {
      // Go's netpollblockcommit: publish the token unless something
      // unblocked the direction since SetWait.
      uintptr_t wait = kPdWait;
      if (gp.compare_exchange_strong(wait, token, std::memory_order_seq_cst)) {
        return kBlockParked;
      }
    }
    // Readiness, a deadline or close came in between, or an error is
    // visible. Take back only what is ours: our pdWait, or the pdReady that
    // readiness put in its place. nil or a token means our wait was already
    // undone and another waiter may have parked since: leave it (Go swaps
    // blindly because its fdMutex admits one waiter; gort lets two race).
    uintptr_t cur = gp.load(std::memory_order_acquire);
    while (cur == kPdWait || cur == kPdReady) {
      if (gp.compare_exchange_weak(cur, kPdNil, std::memory_order_acq_rel)) {
        if (cur == kPdReady) return kBlockReady;
        break;
      }
    }
    err = waitio ? 0 : CheckErr(mode);
    if (err != 0) return err;
  }
}

// The pollDescs of one poller (Go's pollCache). Handles are
// (seq << 32) | (index + 1). pollDescs live in chunks that are never freed
// before the table: a two-level table of chunk pointers, grown but never
// shrunk, lets a handle's index find its pollDesc without a lock: 64
// directory entries, each a page of 256 chunk pointers (allocated when
// first needed), each chunk 256 pollDescs: 4M pollDescs in all. The first
// page is part of the table (2.5 KB in all), so the first 64K pollDescs,
// which every poller uses before any other, are found with one load fewer
// and no directory bound test (At(), on every harvested event).
class PollDescTable {
 public:
  // `seq_base` is the sequence number of every pollDesc before its first
  // use (even): tables with different bases hand out different handles, so
  // a handle of one poller is EBADF in another.
  explicit PollDescTable(uint32_t seq_base);
  ~PollDescTable();
  PollDescTable(const PollDescTable&) = delete;
  PollDescTable& operator=(const PollDescTable&) = delete;

  // A pollDesc pinned for one call: its handle was valid when pinned, and
  // Free() waits for the pin to go before reusing the pollDesc.
  class Pin {
   public:
    explicit Pin(PollDesc* pd) : pd_(pd) {}
    ~Pin() {
      if (pd_ != nullptr) pd_->refs.fetch_sub(1, std::memory_order_release);
    }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    PollDesc* get() const { return pd_; }
    PollDesc* operator->() const { return pd_; }
    PollDesc& operator*() const { return *pd_; }
    explicit operator bool() const { return pd_ != nullptr; }

   private:
    PollDesc* pd_;
  };

  // The pollDesc at `index`, in use or not; nullptr if never allocated.
  // Inline: Poll() looks one up for every harvested event.
  PollDesc* At(uint32_t index) const {
    uint32_t chunk = index >> kChunkShift;
    Chunk* c;
    if (chunk < kPageSize) {
      c = page0_.chunks[chunk].load(std::memory_order_acquire);
    } else {
      c = FarChunk(chunk);
    }
    if (c == nullptr) return nullptr;
    return &c->pds[index & (kChunkSize - 1)];
  }

  // Pins the pollDesc `id` names; an empty Pin for a stale or unknown
  // handle. Out of line: the fence check disassembles it (its body is
  // TryPin's).
  GORT_NOINLINE Pin Acquire(PollDescId id) const;

  // Acquire() without the Pin, inline for Poll()'s loop (every harvested
  // event; a call and a Pin in memory cost more than the pin itself): the
  // pinned pollDesc, or nullptr for a stale or unknown handle. Whoever got
  // a pollDesc drops the pin with Unpin().
  [[gnu::always_inline]] inline PollDesc* TryPin(PollDescId id) const;
  static void Unpin(PollDesc* pd) {
    pd->refs.fetch_sub(1, std::memory_order_release);
  }

  // Tagged keys (Go: runtime/tagptr_64bit.go, the taggedPointer that
  // netpoll_epoll.go registers with the kernel): the pollDesc's address
  // shifted up by 16 bits, over the low kTagBits bits of its sequence. An
  // event then finds its pollDesc with a shift and a mask, no table
  // lookup. Addresses must fit 48 bits (user space on x86-64, arm64 and
  // riscv64 unless mmap is asked for more, as Go assumes) and pollDescs
  // lie sizeof(PollDesc) apart in 128-byte aligned chunks, so the
  // address's low kAlignBits bits are free too: 23 tag bits where a
  // pollDesc is 128 bytes (x86-64 glibc), 19 (Go's) where it is 136.
  // Never 0 (the epoll backend's wake-up key): the address is not null.
  static constexpr int kAddrBits = 48;
  static constexpr int kAlignBits = std::countr_zero(sizeof(PollDesc)) < 7
                                        ? std::countr_zero(sizeof(PollDesc))
                                        : 7;
  static constexpr uint64_t kAlignMask = (uint64_t{1} << kAlignBits) - 1;
  static constexpr int kTagBits = 64 - kAddrBits + kAlignBits;
  static constexpr uint64_t kTagMask = (uint64_t{1} << kTagBits) - 1;
  // The tagged key of `pd` under the handle `id`; 0 if its address does
  // not fit (Go throws "taggedPointerPack").
  static uint64_t TaggedKey(const PollDesc* pd, PollDescId id) {
    uint64_t addr = reinterpret_cast<uintptr_t>(pd);
    if ((addr >> kAddrBits) != 0 || (addr & kAlignMask) != 0) return 0;
    return (addr << (64 - kAddrBits)) |
           (static_cast<uint32_t>(id >> 32) & kTagMask);
  }
  // TryPin() for a tagged key, in two steps so that the caller tests a
  // flag, not the pointer (never null): TaggedDesc() is the pollDesc a key
  // names, PinTagged() pins it and checks the tag; false (and unpinned)
  // for a stale key. The same pin and sequence check as TryPin()'s, on
  // the sequence's low kTagBits bits. A key outlives its handle only in
  // the kernel (an event harvested before EPOLL_CTL_DEL, or a
  // registration close() could not remove because a dup() keeps the file
  // open); it names a pollDesc that is never freed while the poller
  // lives, so the pin is always on valid memory. The check fails for the
  // retired sequence (even) and for every reuse but the
  // 2^(kTagBits-1)-th: 4M register/unregister cycles of one pollDesc (256K
  // with 19 bits) while a stale key is still being reported. Go's tag is
  // 19 bits and checked without a pin.
  static PollDesc* TaggedDesc(uint64_t key) {
    return reinterpret_cast<PollDesc*>((key >> (64 - kAddrBits)) & ~kAlignMask);
  }
  [[gnu::always_inline]] static inline bool PinTagged(PollDesc* pd,
                                                      uint64_t key);

  // A free pollDesc, marked in use with a new (odd) sequence; its handle in
  // *id. nullptr when out of memory or when 4M pollDescs are in use.
  PollDesc* Alloc(PollDescId* id);

  // Ends the handle `id` (only one caller wins; false for the others and
  // for a stale handle). New pins then fail; Free() must follow.
  bool Retire(PollDesc* pd, PollDescId id);

  // After Retire(): waits for the calls that pinned the pollDesc before,
  // then resets it for reuse. Returns the tokens still parked (Go throws
  // "blocked read on closing polldesc"; the caller hands them out).
  void Free(PollDesc* pd, uintptr_t* rg_token, uintptr_t* wg_token);

  // pollDescs in use now.
  uint32_t in_use() const { return in_use_.load(std::memory_order_relaxed); }

  // Keeps every chunk allocated when the table is destroyed: the kernel
  // may still write into an OVERLAPPED in them (Windows, a Poller
  // destroyed with an operation in flight).
  void LeakOnDestroy() { leak_ = true; }

 private:
  static constexpr int kChunkShift = 8;
  static constexpr uint32_t kChunkSize = 1u << kChunkShift;
  static constexpr int kPageShift = 8;
  static constexpr uint32_t kPageSize = 1u << kPageShift;
  static constexpr uint32_t kPages = 64;
  static constexpr uint32_t kMaxChunks = kPages * kPageSize;

  // A pollDesc's address has its low 7 bits zero (tagged keys).
  static constexpr uintptr_t kPdAlign = 128;
  struct alignas(kPdAlign) Chunk {
    PollDesc pds[kChunkSize];
  };
  struct ChunkPage {
    std::atomic<Chunk*> chunks[kPageSize] = {};
  };
  std::atomic<Chunk*>& ChunkSlot(uint32_t chunk) const;
  // At() past the first page: nullptr if out of range or not allocated.
  // Inline too: a call in Poll()'s loop costs it more registers than the
  // few instructions here.
  Chunk* FarChunk(uint32_t chunk) const {
    if (chunk >= kMaxChunks) return nullptr;
    ChunkPage* page =
        pages_[chunk >> kPageShift].load(std::memory_order_acquire);
    if (page == nullptr) return nullptr;
    return page->chunks[chunk & (kPageSize - 1)].load(
        std::memory_order_acquire);
  }

  // First: At() then indexes it at the table's own address.
  ChunkPage page0_;
  std::atomic<ChunkPage*> pages_[kPages] = {};  // [0] is &page0_
  const uint32_t seq_base_;
  std::mutex mu_;  // guards the free list and growing
  uint32_t free_head_ = 0;
  uint32_t nchunks_ = 0;
  std::atomic<uint32_t> in_use_{0};
  bool leak_ = false;
};

// Handshake 2, the caller's side: pin, then check the sequence. Retire()
// moves the sequence on, then Free() waits for pins; all four operations
// are seq_cst, so either our check sees the new sequence (and we unpin) or
// Free() sees our pin (and waits for it).
inline PollDesc* PollDescTable::TryPin(PollDescId id) const {
  uint32_t low = static_cast<uint32_t>(id);
  uint32_t seq = static_cast<uint32_t>(id >> 32);
  if ((seq & 1) == 0) return nullptr;
  // A zero low half (no pollDesc) wraps to an index At() rejects: one test
  // fewer on every harvested event.
  static_assert(kMaxChunks * kChunkSize - 1 < UINT32_MAX,
                "index UINT32_MAX must be out of range");
  PollDesc* pd = At(low - 1);
  if (pd == nullptr) return nullptr;
  pd->refs.fetch_add(1, std::memory_order_seq_cst);
  if (pd->seq.load(std::memory_order_seq_cst) != seq) {
    Unpin(pd);
    return nullptr;
  }
  return pd;
}

inline bool PollDescTable::PinTagged(PollDesc* pd, uint64_t key) {
  // Handshake 2 exactly as in TryPin(): pin, then re-read the sequence.
  pd->refs.fetch_add(1, std::memory_order_seq_cst);
  if (((pd->seq.load(std::memory_order_seq_cst) ^ key) & kTagMask) != 0) {
    Unpin(pd);
    return false;
  }
  return true;
}

}  // namespace gort::internal

#endif  // GORT_SRC_POLLDESC_H_
