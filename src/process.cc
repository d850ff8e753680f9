// SPDX-License-Identifier: BSD-3-Clause
// The portable process layer: one Wait/Terminate at a time, the status kept
// once reaped, and Terminate's steps (Go: os/exec.go's Wait and the
// SIGTERM-then-SIGKILL shape of exec.Cmd.Cancel with WaitDelay; the OS
// parts mirror syscall/exec_*.go, see process_internal.h).
#include "gort/process.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "process_internal.h"

namespace gort {
namespace {

// The same numbers on Linux, macOS and gort's Windows numbering.
constexpr int kSigKill = 9;
constexpr int kSigTerm = 15;

std::atomic<bool> g_force_sigchld{false};

absl::Status Err(int code, const char* context) {
  return Error::FromCode(code).ToStatus(context);
}

int CodeOf(const absl::Status& s) {
  std::optional<Error> e = Error::FromStatus(s);
  return e.has_value() ? e->code() : -1;
}

enum class Step : int32_t { kWait, kTermSent, kKillSent };

}  // namespace

namespace internal {
bool ForceSigchldFallbackForTest(bool on) {
  return g_force_sigchld.exchange(on);
}
bool SigchldFallbackForced() { return g_force_sigchld.load(); }
}  // namespace internal

class Process::Impl {
 public:
  explicit Impl(std::unique_ptr<internal::ProcessOs> os) : os_(std::move(os)) {}

  absl::Status Wait(uintptr_t token, ProcessResult* r) {
    return Run(token, r, /*terminate=*/false, absl::ZeroDuration());
  }

  absl::Status Terminate(absl::Duration grace, uintptr_t token,
                         ProcessResult* r) {
    return Run(token, r, /*terminate=*/true, grace);
  }

  absl::Status Signal(int sig) { return os_->Signal(sig); }
  absl::Status SetDeadline(int64_t d) { return os_->SetDeadline(d); }
  int64_t Pid() const { return os_->Pid(); }
  bool Busy() const { return op_.load(std::memory_order_acquire) != 0; }
  ExitSource source() const { return os_->source(); }

 private:
  // Claims the operation for `token` (a parked call's continuation holds
  // it already); EBUSY while another token holds it.
  bool Claim(uintptr_t token) {
    uintptr_t cur = 0;
    if (op_.compare_exchange_strong(cur, token, std::memory_order_acq_rel)) {
      return true;
    }
    return cur == token;
  }

  absl::Status Finish(ProcessResult* r, absl::Status s) {
    r->state = IoState::kDone;
    step_ = Step::kWait;
    op_.store(0, std::memory_order_release);
    return s;
  }

  absl::Status Run(uintptr_t token, ProcessResult* r, bool terminate,
                   absl::Duration grace) {
    if (r == nullptr || token <= 2) return Err(GORT_EINVAL, "process wait");
    if (done_.load(std::memory_order_acquire)) {
      r->state = IoState::kDone;
      r->status = status_;
      r->ended_by = ended_by_;
      return absl::OkStatus();
    }
    if (!Claim(token)) return Err(GORT_EBUSY, "process wait: in progress");
    if (terminate && step_ == Step::kWait) {
      // SIGTERM; where it cannot be sent (Windows without a shared
      // console), SIGKILL at once. ESRCH: it is gone already, so reap.
      absl::Status s = os_->Signal(kSigTerm);
      if (s.ok()) {
        step_ = Step::kTermSent;
        s = os_->SetDeadline(grace > absl::ZeroDuration()
                                 ? absl::ToInt64Nanoseconds(grace)
                                 : -1);
        if (!s.ok()) return Finish(r, s);
      } else if (CodeOf(s) != GORT_ESRCH) {
        step_ = Step::kKillSent;
        s = os_->Signal(kSigKill);
        if (!s.ok() && CodeOf(s) != GORT_ESRCH) {
          return Finish(r, s);
        }
      } else {
        step_ = Step::kTermSent;
      }
    }
    for (;;) {
      ExitStatus st;
      bool parked = false;
      r->state = IoState::kParked;  // before the token can be published
      absl::Status s = os_->Wait(token, &st, &parked);
      if (s.ok() && parked) return s;  // nothing written after this
      if (!s.ok()) {
        if (step_ == Step::kTermSent && CodeOf(s) == GORT_ETIMEDOUT) {
          // The grace period is over.
          step_ = Step::kKillSent;
          (void)os_->SetDeadline(0);
          absl::Status k = os_->Signal(kSigKill);
          if (!k.ok() && CodeOf(k) != GORT_ESRCH) {
            return Finish(r, k);
          }
          continue;
        }
        return Finish(r, s);
      }
      if (step_ != Step::kWait) (void)os_->SetDeadline(0);
      status_ = st;
      ended_by_ = step_ == Step::kTermSent   ? EndedBy::kTerm
                  : step_ == Step::kKillSent ? EndedBy::kKill
                                             : EndedBy::kNone;
      done_.store(true, std::memory_order_release);
      r->status = status_;
      r->ended_by = ended_by_;
      return Finish(r, absl::OkStatus());
    }
  }

  std::unique_ptr<internal::ProcessOs> os_;
  std::atomic<uintptr_t> op_{0};  // the token of the operation in progress
  Step step_ = Step::kWait;       // owned by the operation in progress
  std::atomic<bool> done_{false};
  ExitStatus status_;  // written before done_
  EndedBy ended_by_ = EndedBy::kNone;
};

absl::StatusOr<std::unique_ptr<Process>> Process::Spawn(
    Poller& poller, const SpawnOptions& opts) {
  if (opts.path.empty()) return Err(GORT_EINVAL, "spawn: empty path");
  absl::StatusOr<std::unique_ptr<internal::ProcessOs>> os =
      internal::SpawnOs(poller, opts);
  if (!os.ok()) return os.status();
  std::unique_ptr<Impl> impl(new (std::nothrow) Impl(std::move(*os)));
  if (impl == nullptr) return Err(GORT_ENOMEM, "spawn");
  std::unique_ptr<Process> p(new (std::nothrow) Process(std::move(impl)));
  if (p == nullptr) return Err(GORT_ENOMEM, "spawn");
  return p;
}

Process::Process(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Process::~Process() = default;

absl::Status Process::Wait(uintptr_t token, ProcessResult* r) {
  return impl_->Wait(token, r);
}

absl::Status Process::Signal(int sig) { return impl_->Signal(sig); }

absl::Status Process::Terminate(absl::Duration grace, uintptr_t token,
                                ProcessResult* r) {
  return impl_->Terminate(grace, token, r);
}

absl::Status Process::SetDeadline(int64_t d) { return impl_->SetDeadline(d); }

int64_t Process::Pid() const { return impl_->Pid(); }

bool Process::Busy() const { return impl_->Busy(); }

ExitSource Process::source() const { return impl_->source(); }

}  // namespace gort
