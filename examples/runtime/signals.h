// SPDX-License-Identifier: BSD-3-Clause
// `co_await rt::Signals(src)`: waits for signals on a gort::SignalSource
// (include/gort/signal.h) the way fd_ops.h waits on an Fd. A source is an
// Fd underneath (its Receive() parks like a read), so the awaitable is
// fd_ops.h's IoAwait with Receive() as its operation; it resumes with the
// set of signals that arrived (N of one signal collapse into one, as Go's
// os/signal channels do).
//
//   auto src = gort::SignalSource::Open(sched.poller());
//   (*src)->Notify({SIGINT, SIGTERM});
//   rt::SignalOutcome o = co_await rt::Signals(**src);
//   if (o.status.ok() && (o.set & gort::SignalBit(SIGTERM))) ...
#ifndef GORT_EXAMPLES_RUNTIME_SIGNALS_H_
#define GORT_EXAMPLES_RUNTIME_SIGNALS_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "fd_ops.h"
#include "gort/signal.h"

namespace rt {

struct SignalOutcome {
  absl::Status status;      // ECANCELED once the source is closed
  gort::SignalSet set = 0;  // when ok: the signals that arrived
};

class SignalAwait : public IoAwait<SignalAwait> {
 public:
  explicit SignalAwait(gort::SignalSource& src) : src_(src) {}

  absl::Status Call(uintptr_t token, gort::IoResult* r) {
    gort::SignalResult sr;
    absl::Status s = src_.Receive(token, &sr);
    // Parked: touch nothing of *this (the token may be out already);
    // IoAwait only reads r->state, from its own local.
    r->state = sr.state;
    if (s.ok() && sr.state == gort::IoState::kDone) set_ = sr.set;
    return s;
  }

  SignalOutcome await_resume() {
    IoOutcome o = IoAwait<SignalAwait>::await_resume();
    return {std::move(o.status), set_};
  }

 private:
  gort::SignalSource& src_;
  gort::SignalSet set_ = 0;
};

// Waits until signals arrive on `src` (registered with the scheduler's
// poller).
inline SignalAwait Signals(gort::SignalSource& src) { return SignalAwait(src); }

}  // namespace rt

#endif  // GORT_EXAMPLES_RUNTIME_SIGNALS_H_
