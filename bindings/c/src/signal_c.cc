// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for signals (include/gort/signal.h).
//
// A signal handle names a SignalSource and the poller handle it was made
// with; it counts as one of that poller's fd handles (pollers_c.h), since a
// source is an Fd underneath. As an fd handle, a closed source's handle
// stays valid while its Receive is parked (the call then gets
// GORT_ECANCELED) and is released once the source's Fd is destroyed.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "capi.h"
#include "gort.h"
#include "gort/fd.h"
#include "gort/netpoll.h"
#include "gort/signal.h"
#include "handle_table.h"
#include "pollers_c.h"

namespace {

using gort::IoState;
using gort::SignalResult;
using gort::SignalSource;
using gort::capi::ExceptionToCode;

struct CSignal {
  std::unique_ptr<SignalSource> src;
  uint64_t poller;  // the gort_poller_t it was made with
};

// As many as the library allows (64 sources per process).
gort::internal::HandleTable<CSignal, 64> g_signals;

int Code(const absl::Status& s) { return gort::capi::StatusToCode(s); }

// Runs `f(SignalSource&)` with the handle pinned (pollers_c.h's
// WithPollerObject): released once the source's Fd was destroyed.
template <typename F>
int WithSource(gort_signal_t h, F&& f) {
  return gort::capi::WithPollerObject(
      g_signals, h, [&](CSignal& c) -> int { return f(*c.src); },
      [](const CSignal& c) { return c.src->fd().Destroyed(); });
}

// A C list of signals: EINVAL for a NULL list of non-zero length.
bool ToSpan(const int* sigs, size_t n, absl::Span<const int>* out) {
  if (sigs == nullptr && n != 0) return false;
  *out = absl::Span<const int>(sigs, n);
  return true;
}

}  // namespace

extern "C" {

int gort_signal_open(gort_poller_t poller, gort_signal_t* out) try {
  auto p = gort::capi::g_pollers.Acquire(poller);
  if (!p) return GORT_EBADF;
  if (out == nullptr) return GORT_EINVAL;
  absl::StatusOr<std::unique_ptr<SignalSource>> src =
      SignalSource::Open(*p.get());
  if (!src.ok()) return Code(src.status());
  if (!gort::capi::AddPollerFd(poller)) return GORT_EBADF;  // ~src closes
  CSignal* c = new (std::nothrow) CSignal{std::move(*src), poller};
  uint64_t h = c != nullptr ? g_signals.Insert(c) : 0;
  if (h == 0) {
    int err = c == nullptr ? GORT_ENOMEM : GORT_EMFILE;
    delete c;
    gort::capi::RemovePollerFd(poller);
    return err;
  }
  *out = h;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_close(gort_signal_t s) try {
  return WithSource(
      s, [&](SignalSource& src) -> int { return Code(src.Close()); });
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_notify(gort_signal_t s, const int* sigs, size_t n) try {
  return WithSource(s, [&](SignalSource& src) -> int {
    absl::Span<const int> list;
    if (!ToSpan(sigs, n, &list)) return GORT_EINVAL;
    return Code(src.Notify(list));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_stop(gort_signal_t s, const int* sigs, size_t n) try {
  return WithSource(s, [&](SignalSource& src) -> int {
    absl::Span<const int> list;
    if (!ToSpan(sigs, n, &list)) return GORT_EINVAL;
    return Code(src.Stop(list));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_wanted(gort_signal_t s, uint64_t* set) try {
  return WithSource(s, [&](SignalSource& src) -> int {
    if (set == nullptr) return GORT_EINVAL;
    *set = src.Wanted();
    return 0;
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_receive(gort_signal_t s, uintptr_t token, uint64_t* set) try {
  return WithSource(s, [&](SignalSource& src) -> int {
    if (set == nullptr) return GORT_EINVAL;
    SignalResult r;
    absl::Status st = src.Receive(token, &r);
    if (!st.ok()) return Code(st);
    if (r.state == IoState::kParked) return GORT_POLL_PARKED;
    *set = r.set;
    return 0;
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_set_deadline(gort_signal_t s, int64_t d) try {
  return WithSource(s, [&](SignalSource& src) -> int {
    return Code(src.fd().SetDeadline(d, gort::PollMode::kRead));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_ignore(const int* sigs, size_t n) try {
  absl::Span<const int> list;
  if (!ToSpan(sigs, n, &list)) return GORT_EINVAL;
  return Code(gort::IgnoreSignals(list));
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_ignored(int sig) try {
  absl::StatusOr<bool> ignored = gort::SignalIgnored(sig);
  if (!ignored.ok()) return Code(ignored.status());
  return *ignored ? 1 : 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_reset(const int* sigs, size_t n) try {
  absl::Span<const int> list;
  if (!ToSpan(sigs, n, &list)) return GORT_EINVAL;
  return Code(gort::ResetSignals(list));
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_disposition(int sig) try {
  if (gort::SignalBit(sig) == 0) return GORT_EINVAL;
  for (const gort::SignalState& st : gort::SignalStates()) {
    if (st.sig == sig) return static_cast<int>(st.disposition);
  }
  return GORT_EINVAL;  // a number the OS refuses
} catch (...) {
  return ExceptionToCode();
}

int gort_signal_console_close_done(void) try {
  gort::ConsoleCloseDone();
  return 0;
} catch (...) {
  return ExceptionToCode();
}

}  // extern "C"
