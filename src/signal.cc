// SPDX-License-Identifier: BSD-3-Clause
// The portable signal layer: sources, their pending bits, and who wants
// which signal (Go: runtime/sigqueue.go, os/signal/signal.go). The OS's
// part installs handlers and makes wake-up channels (signal_internal.h).
//
// Each source owns a slot in a fixed table the handler walks: no
// allocation and no lock on the handler's side. A slot holds the signals
// its source wants, those pending, the wake descriptor, and a count of
// handlers inside it, so that Stop() and Close() can wait until no handler
// still uses what they are about to clear.
#include "gort/signal.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/fd.h"
#include "signal_internal.h"

namespace gort {
namespace {

using internal::SigWake;

constexpr int kSlots = 64;

struct Slot {
  std::atomic<SignalSet> wanted{0};
  std::atomic<SignalSet> pending{0};
  std::atomic<intptr_t> wake{-1};
  std::atomic<int32_t> busy{0};  // handlers between their two checks
  bool used = false;             // guarded by g_mu
};

static_assert(std::atomic<SignalSet>::is_always_lock_free &&
                  std::atomic<intptr_t>::is_always_lock_free &&
                  std::atomic<int32_t>::is_always_lock_free,
              "the handler may only use lock-free atomics");

Slot g_slots[kSlots];

// Notify, Stop, Ignore, Reset and Close; never taken by the handler.
ABSL_CONST_INIT absl::Mutex g_mu(absl::kConstInit);
// Per signal, how many sources want it.
int g_want[kMaxSignal + 1] ABSL_GUARDED_BY(g_mu) = {};

// A signal gort itself watches (SIGCHLD for the process layer's fallback)
// and the descriptor to wake on each delivery: see AddSignalWake().
std::atomic<int> g_wake_sig{0};
std::atomic<intptr_t> g_wake_fd{-1};

absl::Status Err(int code, const char* context) {
  return Error::FromCode(code).ToStatus(context);
}

// `sigs` as a set: EINVAL for a number outside 1..64.
absl::Status ToSet(absl::Span<const int> sigs, SignalSet* out,
                   const char* context) {
  SignalSet set = 0;
  for (int sig : sigs) {
    if (SignalBit(sig) == 0) return Err(GORT_EINVAL, context);
    set |= SignalBit(sig);
  }
  *out = set;
  return absl::OkStatus();
}

// Stops `slot` relaying `set` (bits it does not want are ignored). When
// this returns no handler will set any of them pending there again, and
// none is pending (Go's Stop: "it is guaranteed that c will receive no
// more signals").
//
// The handler increments busy, then loads wanted; this clears wanted, then
// loads busy. Both are seq_cst, so either the handler sees the cleared bit
// (and leaves), or this sees its busy count and waits for it to leave:
// a handler can never set a bit pending after the wait below ended.
void Unwant(Slot& slot, SignalSet set) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  SignalSet had = slot.wanted.fetch_and(~set, std::memory_order_seq_cst);
  set &= had;
  if (set == 0) return;
  while (slot.busy.load(std::memory_order_seq_cst) != 0) {
    std::this_thread::yield();
  }
  slot.pending.fetch_and(~set, std::memory_order_acq_rel);
  for (int sig = 1; sig <= kMaxSignal; sig++) {
    if ((set & SignalBit(sig)) != 0 && --g_want[sig] == 0) {
      internal::SigRestore(sig);
    }
  }
}

// Stops every source relaying `set`; none wants those signals then.
void UnwantEverywhere(SignalSet set) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_mu) {
  for (Slot& slot : g_slots) {
    if (slot.used) Unwant(slot, set);
  }
}

// What Notify() with no signals means: every catchable signal that is not
// synchronous and not ignored right now.
SignalSet DefaultNotifySet() {
  SignalSet set = 0;
  for (int sig = 1; sig <= kMaxSignal; sig++) {
    if (internal::SigCatchable(sig) && !internal::SigSynchronous(sig) &&
        !internal::SigIsIgnored(sig)) {
      set |= SignalBit(sig);
    }
  }
  return set;
}

}  // namespace

namespace internal {

bool DeliverSignal(int sig) {
  SignalSet bit = SignalBit(sig);
  if (bit == 0) return false;
  // gort's own watcher: woken on every delivery, consuming nothing (the
  // disposition found before gort still gets the signal).
  if (sig == g_wake_sig.load(std::memory_order_acquire)) {
    intptr_t w = g_wake_fd.load(std::memory_order_acquire);
    if (w >= 0) SigWakeSend(w);
  }
  bool any = false;
  for (Slot& slot : g_slots) {
    if ((slot.wanted.load(std::memory_order_relaxed) & bit) == 0) continue;
    // See Unwant() for the argument behind this busy/wanted pair.
    slot.busy.fetch_add(1, std::memory_order_seq_cst);
    if ((slot.wanted.load(std::memory_order_seq_cst) & bit) != 0) {
      any = true;
      // Only the first signal pending wakes the source: Receive() takes
      // the whole set, so one wake-up covers every bit set before it.
      SignalSet old = slot.pending.fetch_or(bit, std::memory_order_acq_rel);
      if (old == 0) {
        intptr_t w = slot.wake.load(std::memory_order_acquire);
        if (w >= 0) SigWakeSend(w);
      }
    }
    slot.busy.fetch_sub(1, std::memory_order_seq_cst);
  }
  return any;
}

}  // namespace internal

class SignalSource::Impl {
 public:
  Impl(int slot, SigWake wake, std::unique_ptr<Fd> fd)
      : slot_(slot), wake_(wake), fd_(std::move(fd)) {}

  absl::Status Notify(absl::Span<const int> sigs) {
    SignalSet set = 0;
    absl::Status s = ToSet(sigs, &set, "signal notify");
    if (!s.ok()) return s;
    absl::MutexLock lock(&g_mu);
    if (closed_) return Err(GORT_EBADF, "signal notify: closed");
    if (sigs.empty()) {
      set = DefaultNotifySet();
    } else {
      for (int sig : sigs) {
        if (!internal::SigCatchable(sig)) {
          return Err(GORT_EINVAL, "signal notify: cannot catch it");
        }
      }
    }
    Slot& slot = g_slots[slot_];
    set &= ~slot.wanted.load(std::memory_order_relaxed);
    for (int sig = 1; sig <= kMaxSignal; sig++) {
      if ((set & SignalBit(sig)) == 0) continue;
      // Wanted before the handler goes in: a signal arriving in between
      // is then delivered, not passed to the old disposition.
      slot.wanted.fetch_or(SignalBit(sig), std::memory_order_seq_cst);
      if (g_want[sig]++ == 0) {
        s = internal::SigHandle(sig);
        if (!s.ok()) {
          Unwant(slot, SignalBit(sig));
          return s;
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status Stop(absl::Span<const int> sigs) {
    SignalSet set = 0;
    absl::Status s = ToSet(sigs, &set, "signal stop");
    if (!s.ok()) return s;
    absl::MutexLock lock(&g_mu);
    if (closed_) return Err(GORT_EBADF, "signal stop: closed");
    Unwant(g_slots[slot_], sigs.empty() ? ~SignalSet{0} : set);
    return absl::OkStatus();
  }

  SignalSet Wanted() const {
    return g_slots[slot_].wanted.load(std::memory_order_acquire);
  }

  SignalSet Pending() const {
    if (closed_flag_.load(std::memory_order_acquire)) return 0;
    return g_slots[slot_].pending.load(std::memory_order_acquire);
  }

  // Go's signal_recv, without its goroutine: take the pending set, or
  // drain the wake channel and park on it. The wake write follows the
  // pending bit that caused it (DeliverSignal), and a set taken here is
  // only ever taken after the channel was found empty or drained, so a bit
  // set after the exchange below is followed by a write that readies the
  // channel again: no wake-up is lost. A write whose bit an earlier
  // exchange already took only causes one more empty round.
  //
  // reading_ is true from the moment a read is started until it is done:
  // a read that parked is continued before anything else (its token came
  // out; the Fd expects the same call again). It is set before the read
  // publishes the token and not touched after a parked return, so the
  // continuing call, on whatever thread, sees it.
  absl::Status Receive(uintptr_t token, SignalResult* r) {
    if (r == nullptr) return Err(GORT_EINVAL, "signal receive");
    Slot& slot = g_slots[slot_];
    for (;;) {
      if (!reading_.load(std::memory_order_acquire)) {
        if (closed_flag_.load(std::memory_order_acquire)) {
          return Err(GORT_ECANCELED, "signal receive: closed");
        }
        SignalSet p = slot.pending.exchange(0, std::memory_order_acq_rel);
        if (p != 0) {
          r->state = IoState::kDone;
          r->set = p;
          return absl::OkStatus();
        }
        reading_.store(true, std::memory_order_release);
      }
      // Parked is written before the read can publish the token; nothing
      // is written to *r after a parked return (fd.h's rule).
      r->state = IoState::kParked;
      r->set = 0;
      IoResult io;
      absl::Status s = fd_->Read(buf_, sizeof(buf_), token, &io);
      if (!s.ok()) {
        reading_.store(false, std::memory_order_release);
        r->state = IoState::kDone;
        return s;
      }
      if (io.state == IoState::kParked) return absl::OkStatus();
      reading_.store(false, std::memory_order_release);
      if (io.n == 0) {
        // End of stream: only once the write end is closed, by Close().
        r->state = IoState::kDone;
        return Err(GORT_ECANCELED, "signal receive: closed");
      }
    }
  }

  absl::Status Close() {
    {
      absl::MutexLock lock(&g_mu);
      if (closed_) return Err(GORT_EBADF, "signal close");
      closed_ = true;
      closed_flag_.store(true, std::memory_order_release);
      Slot& slot = g_slots[slot_];
      Unwant(slot, ~SignalSet{0});
      // No handler is inside the slot now (Unwant waited) and none enters
      // it (it wants nothing), so the wake descriptor can go.
      slot.wake.store(-1, std::memory_order_release);
      slot.pending.store(0, std::memory_order_relaxed);
      slot.used = false;
    }
    internal::SigWakeClose(wake_, /*with_read=*/false);
    return fd_->Close();
  }

  bool closed() {
    absl::MutexLock lock(&g_mu);
    return closed_;
  }

  Fd& fd() { return *fd_; }

 private:
  const int slot_;
  const SigWake wake_;
  std::unique_ptr<Fd> fd_;
  bool closed_ ABSL_GUARDED_BY(g_mu) = false;
  std::atomic<bool> closed_flag_{false};
  std::atomic<bool> reading_{false};
  unsigned char buf_[64] = {};  // drained wake bytes (an eventfd's count)
};

absl::StatusOr<std::unique_ptr<SignalSource>> SignalSource::Open(
    Poller& poller) {
  int slot = -1;
  {
    absl::MutexLock lock(&g_mu);
    for (int i = 0; i < kSlots; i++) {
      if (!g_slots[i].used) {
        g_slots[i].used = true;
        slot = i;
        break;
      }
    }
  }
  auto release_slot = [slot] {
    absl::MutexLock lock(&g_mu);
    g_slots[slot].used = false;
  };
  if (slot < 0) return Err(GORT_EMFILE, "signal source: 64 in use");
  absl::StatusOr<SigWake> wake = internal::SigWakeOpen();
  if (!wake.ok()) {
    release_slot();
    return wake.status();
  }
  absl::StatusOr<std::unique_ptr<Fd>> fd =
      Fd::Open(poller, wake->read, FdKind::kPipe);
  if (!fd.ok()) {
    // Fd::Open leaves the descriptor open on failure: close both ends.
    internal::SigWakeClose(*wake, /*with_read=*/true);
    release_slot();
    return fd.status();
  }
  std::unique_ptr<Impl> impl(new (std::nothrow)
                                 Impl(slot, *wake, std::move(*fd)));
  std::unique_ptr<SignalSource> src(
      impl ? new (std::nothrow) SignalSource(std::move(impl)) : nullptr);
  if (src == nullptr) {
    // ~Impl (if it was made) closed the Fd; the write end is ours.
    internal::SigWakeClose(*wake, /*with_read=*/false);
    release_slot();
    return Err(GORT_ENOMEM, "signal source");
  }
  g_slots[slot].pending.store(0, std::memory_order_relaxed);
  g_slots[slot].wake.store(wake->write, std::memory_order_release);
  return src;
}

SignalSource::SignalSource(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

SignalSource::~SignalSource() {
  if (impl_ != nullptr && !impl_->closed()) (void)impl_->Close();
}

absl::Status SignalSource::Notify(absl::Span<const int> sigs) {
  return impl_->Notify(sigs);
}

absl::Status SignalSource::Stop(absl::Span<const int> sigs) {
  return impl_->Stop(sigs);
}

SignalSet SignalSource::Wanted() const { return impl_->Wanted(); }

SignalSet SignalSource::Pending() const { return impl_->Pending(); }

absl::Status SignalSource::Receive(uintptr_t token, SignalResult* r) {
  return impl_->Receive(token, r);
}

absl::Status SignalSource::Close() { return impl_->Close(); }

Fd& SignalSource::fd() { return impl_->fd(); }

absl::Status IgnoreSignals(absl::Span<const int> sigs) {
  SignalSet set = 0;
  absl::Status s = ToSet(sigs, &set, "signal ignore");
  if (!s.ok()) return s;
  absl::MutexLock lock(&g_mu);
  if (sigs.empty()) {
    for (int sig = 1; sig <= kMaxSignal; sig++) {
      if (internal::SigCatchable(sig) && !internal::SigSynchronous(sig)) {
        set |= SignalBit(sig);
      }
    }
  } else {
    for (int sig : sigs) {
      if (!internal::SigCatchable(sig)) {
        return Err(GORT_EINVAL, "signal ignore: cannot catch it");
      }
    }
  }
  UnwantEverywhere(set);
  for (int sig = 1; sig <= kMaxSignal; sig++) {
    if ((set & SignalBit(sig)) == 0) continue;
    s = internal::SigIgnore(sig);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SignalIgnored(int sig) {
  if (SignalBit(sig) == 0) return Err(GORT_EINVAL, "signal ignored");
  absl::MutexLock lock(&g_mu);
  return internal::SigIsIgnored(sig);
}

namespace internal {

absl::Status AddSignalWake(int sig, intptr_t wake) {
  if (SignalBit(sig) == 0 || !SigCatchable(sig)) {
    return Err(GORT_EINVAL, "signal wake: cannot catch it");
  }
  absl::MutexLock lock(&g_mu);
  int had = g_wake_sig.load(std::memory_order_relaxed);
  if (had == sig) return absl::OkStatus();
  if (had != 0) return Err(GORT_EBUSY, "signal wake: one signal only");
  g_wake_fd.store(wake, std::memory_order_release);
  g_wake_sig.store(sig, std::memory_order_release);
  if (g_want[sig]++ == 0) {
    absl::Status s = SigHandle(sig);
    if (!s.ok()) {
      g_want[sig]--;
      g_wake_sig.store(0, std::memory_order_release);
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::Status ResetSignals(absl::Span<const int> sigs) {
  SignalSet set = 0;
  absl::Status s = ToSet(sigs, &set, "signal reset");
  if (!s.ok()) return s;
  if (sigs.empty()) set = ~SignalSet{0};
  absl::MutexLock lock(&g_mu);
  UnwantEverywhere(set);
  int kept = g_wake_sig.load(std::memory_order_relaxed);
  for (int sig = 1; sig <= kMaxSignal; sig++) {
    if (sig == kept) continue;  // gort's own watcher keeps its handler
    if ((set & SignalBit(sig)) != 0) internal::SigRestore(sig);
  }
  return absl::OkStatus();
}

}  // namespace gort
