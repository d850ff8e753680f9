// SPDX-License-Identifier: BSD-3-Clause
// Awaitable Fd operations: `co_await rt::Read(fd, buf, n)` and Write,
// Accept, Connect, on gort's re-entrant FD layer (include/gort/fd.h; Go:
// internal/poll/fd_unix.go's FD.Read loop, with the goroutine parked by
// netpollblock).
//
// Read and Write first try without a token from await_ready
// (Fd::TryRead/TryWrite), so one that ends at once never suspends. Else,
// the protocol of docs/design.md, "The embedding protocol": the operation
// is called from await_suspend, once the coroutine is suspended,
// because the moment it parks its token may come out of another worker's
// Poll(). If it finishes at once (done or an error), await_suspend returns
// false and the coroutine goes on inline: no trip through the scheduler.
// If it parks, the awaitable itself is the token (a Waiter): when Poll()
// hands it back, the scheduler calls the operation again with the same
// arguments and token, and resumes the coroutine only once the operation
// has finished, so a spurious wake-up never reaches the coroutine.
//
// The result is an IoOutcome: the status (ECANCELED once the Fd is closing,
// ETIMEDOUT past its deadline, else the OS's error as a portable code) and
// the bytes transferred. Deadlines are the Fd's own (Fd::SetDeadline).
#ifndef GORT_EXAMPLES_RUNTIME_FD_OPS_H_
#define GORT_EXAMPLES_RUNTIME_FD_OPS_H_

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "gort/fd.h"
#include "scheduler.h"

namespace rt {

// Storage for an IoResult, not initialised: Fd's TryRead, TryWrite and
// WaitRead write both its fields on every return (fd.h; WaitRead but on
// EINVAL, where Readable() does not read it), so
// the two stores of IoResult's defaults before each call are not needed.
// IoResult is an aggregate, an implicit-lifetime type: the array's
// storage holds one (C++20 [intro.object]) for get() to point at.
class RawIoResult {
 public:
  RawIoResult() {}
  gort::IoResult* get() {
    return std::launder(reinterpret_cast<gort::IoResult*>(bytes_));
  }

 private:
  alignas(gort::IoResult) unsigned char bytes_[sizeof(gort::IoResult)];
};

struct IoOutcome {
  absl::Status status;
  size_t n = 0;  // bytes (for Write: also those written before an error)
};

// The awaitable's machinery, shared by the operations. `Op` provides
// `absl::Status Call(uintptr_t token, gort::IoResult* r)`.
template <typename Op>
class IoAwait : public Waiter {
 public:
  // Nothing stored until the operation would block (await_suspend): the
  // Waiter's function and the handle are set there.
  IoAwait() {}
  // status_ lives from the operation's end to await_resume() only (see
  // below): a frame destroyed while parked never made one.
  ~IoAwait() {}
  IoAwait(const IoAwait&) = delete;
  IoAwait& operator=(const IoAwait&) = delete;

  // Read and Write try first (Fd::TryRead/TryWrite; Go: the first
  // syscall of FD.Read's loop): an operation that ends at once never
  // suspends the coroutine, stores no handle and names no token. Only on
  // kWouldBlock does await_suspend() make the parking call, which tries
  // again before it parks (so nothing that arrived in between is lost).
  bool await_ready() {
    if constexpr (requires(Op & op, gort::IoResult * r) { op.Try(r); }) {
      RawIoResult raw;
      gort::IoResult& r = *raw.get();
      absl::Status s = static_cast<Op*>(this)->Try(&r);
      if (s.ok() && r.state == gort::IoState::kWouldBlock) {
        static_cast<Op*>(this)->Blocked(r.n);
        return false;
      }
      new (&status_) absl::Status(std::move(s));
      n_ = r.n;
      return true;
    } else {
      return false;
    }
  }
  bool await_suspend(std::coroutine_handle<> h) {
    set_run(&Again);
    new (&h_) std::coroutine_handle<>(h);
    return !Step();  // parked: stay suspended
  }
  IoOutcome await_resume() {
    IoOutcome o{std::move(status_), n_};
    status_.~Status();
    return o;
  }

 private:
  // Calls the operation once. Finished: records the outcome, returns true.
  // Parked: returns false without touching *this any more, since another
  // thread may already be running it again. The result is this call's own
  // for that reason (a member could be written by that thread meanwhile).
  bool Step() {
    gort::IoResult r;  // (Accept's and Connect's EINVAL leave it alone)
    absl::Status s = static_cast<Op*>(this)->Call(
        reinterpret_cast<uintptr_t>(static_cast<Waiter*>(this)), &r);
    if (s.ok() && r.state == gort::IoState::kParked) return false;
    new (&status_) absl::Status(std::move(s));
    n_ = r.n;
    return true;
  }
  // The token came out of Poll() (ready, deadline or closing): go on.
  static void Again(Waiter* w) {
    IoAwait* self = static_cast<IoAwait*>(w);
    if (self->Step()) self->h_.resume();
  }

  union {  // set by await_suspend(), not constructed before (see above)
    std::coroutine_handle<> h_;
  };
  // The outcome, written by Step() once the operation finished, after the
  // call: so where the inline path meets the resumed one, the compiler
  // knows the inline path's status instead of reloading it (the call may
  // have written the awaitable, as far as it knows). Hence a union: no
  // constructor stores an OK status before the call; await_resume() ends
  // its life.
  union {
    absl::Status status_;
  };
  size_t n_;
};

class ReadAwait : public IoAwait<ReadAwait> {
 public:
  ReadAwait(gort::Fd& fd, void* buf, size_t n) : fd_(fd), n_(n), buf_(buf) {}
  absl::Status Call(uintptr_t token, gort::IoResult* r) {
    return fd_.Read(buf_, n_, token, r);
  }
  absl::Status Try(gort::IoResult* r) { return fd_.TryRead(buf_, n_, r); }
  void Blocked(size_t) {}

 private:
  // n_ between the two pointers: GCC packs stores of two adjacent pointers
  // into four SSE instructions, where two plain stores would do.
  gort::Fd& fd_;
  size_t n_;
  void* buf_;
};

class WriteAwait : public IoAwait<WriteAwait> {
 public:
  WriteAwait(gort::Fd& fd, const void* buf, size_t n)
      : fd_(fd), n_(n), buf_(buf) {}
  // The rest after TryWrite's bytes (sent_, set by Blocked()); the count
  // includes them once the operation has ended (not when it parked: then
  // another thread may be ending it, and *this is not ours to read).
  absl::Status Call(uintptr_t token, gort::IoResult* r) {
    absl::Status s =
        fd_.Write(static_cast<const char*>(buf_) + sent_, n_ - sent_, token, r);
    if (!s.ok() || r->state != gort::IoState::kParked) r->n += sent_;
    return s;
  }
  absl::Status Try(gort::IoResult* r) { return fd_.TryWrite(buf_, n_, r); }
  void Blocked(size_t sent) { sent_ = sent; }

 private:
  gort::Fd& fd_;
  size_t n_;  // between the pointers, as ReadAwait's
  const void* buf_;
  size_t sent_;  // by TryWrite, set by Blocked() before any Call()
};

class AcceptAwait : public IoAwait<AcceptAwait> {
 public:
  AcceptAwait(gort::Fd& fd, std::unique_ptr<gort::Fd>* out,
              gort::SockAddr* peer)
      : fd_(fd), out_(out), peer_(peer) {}
  absl::Status Call(uintptr_t token, gort::IoResult* r) {
    return fd_.Accept(token, r, out_, peer_);
  }

 private:
  gort::Fd& fd_;
  std::unique_ptr<gort::Fd>* out_;
  gort::SockAddr* peer_;
};

class ConnectAwait : public IoAwait<ConnectAwait> {
 public:
  ConnectAwait(gort::Fd& fd, const gort::SockAddr& addr)
      : fd_(fd), addr_(addr) {}
  absl::Status Call(uintptr_t token, gort::IoResult* r) {
    return fd_.Connect(addr_, token, r);
  }

 private:
  gort::Fd& fd_;
  const gort::SockAddr& addr_;
};

// Reads up to `n` bytes; n == 0 in the outcome is end of stream.
inline ReadAwait Read(gort::Fd& fd, void* buf, size_t n) {
  return ReadAwait(fd, buf, n);
}
// Writes all `n` bytes (or fails).
inline WriteAwait Write(gort::Fd& fd, const void* buf, size_t n) {
  return WriteAwait(fd, buf, n);
}
// Accepts a connection into `*out` (and its address into `*peer`, if set).
inline AcceptAwait Accept(gort::Fd& listener, std::unique_ptr<gort::Fd>* out,
                          gort::SockAddr* peer = nullptr) {
  return AcceptAwait(listener, out, peer);
}
// Connects to `addr` (which must outlive the co_await).
inline ConnectAwait Connect(gort::Fd& fd, const gort::SockAddr& addr) {
  return ConnectAwait(fd, addr);
}

}  // namespace rt

#endif  // GORT_EXAMPLES_RUNTIME_FD_OPS_H_
