// SPDX-License-Identifier: BSD-3-Clause
// System calls on Linux (Go: syscall.Syscall6 / RawSyscall6 in
// syscall_linux.go, over runtime/internal/syscall.Syscall6): the assembly
// shim per arch, the hooks around the plain calls, and the kernel feature
// probes.
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "gort/syscall.h"
#include "gort/zsysnum_linux.h"
#include "linux/kernel_abi_linux.h"
#include "syscall_internal.h"

namespace gort {
namespace {

// A harmless invocation: arguments the kernel rejects while checking them,
// before doing anything, so any answer but ENOSYS or EPERM proves the call
// exists and nothing changes either way.
struct Probe {
  std::string_view name;
  uintptr_t number;
  uintptr_t args[6];
};

constexpr uintptr_t kMinusOne = ~uintptr_t{0};

// What each call answers when it exists (kernel 6.x), in comments.
constexpr Probe kProbes[] = {
    // epoll_pwait2(-1, NULL, maxevents 0, NULL, NULL, 0): EBADF (6.x
    // checks the descriptor first) or EINVAL (maxevents).
    {"epoll_pwait2", sysnum::kEpollPwait2, {kMinusOne, 0, 0, 0, 0, 0}},
    // pidfd_open(pid 0, 0): EINVAL.
    {"pidfd_open", sysnum::kPidfdOpen, {0, 0, 0, 0, 0, 0}},
    // close_range(1, 0, 0): first > last, EINVAL; closes nothing.
    {"close_range", sysnum::kCloseRange, {1, 0, 0, 0, 0, 0}},
    // clone3(NULL, size 0): size below CLONE_ARGS_SIZE_VER0, EINVAL.
    {"clone3", sysnum::kClone3, {0, 0, 0, 0, 0, 0}},
    // io_uring_setup(0, NULL): EFAULT (params) or EINVAL (entries).
    {"io_uring_setup", sysnum::kIoUringSetup, {0, 0, 0, 0, 0, 0}},
    // openat2(AT_FDCWD, NULL, NULL, size 0): size below
    // OPEN_HOW_SIZE_VER0, EINVAL.
    {"openat2",
     sysnum::kOpenat2,
     {static_cast<uintptr_t>(internal::kabi::kAtFdcwd), 0, 0, 0, 0, 0}},
    // accept4(-1, NULL, NULL, 0): EBADF.
    {"accept4", sysnum::kAccept4, {kMinusOne, 0, 0, 0, 0, 0}},
    // rseq(NULL, len 0, flags 0, sig 0): EINVAL (a bad length, or not the
    // area the C library registered).
    {"rseq", sysnum::kRseq, {0, 0, 0, 0, 0, 0}},
    // futex_waitv(NULL, 0 waiters, 0, NULL, 0): EINVAL.
    {"futex_waitv", sysnum::kFutexWaitv, {0, 0, 0, 0, 0, 0}},
    // cachestat(-1, NULL, NULL, flags ~0): EBADF (the descriptor is checked
    // first) or EINVAL (flags).
    {"cachestat", sysnum::kCachestat, {kMinusOne, 0, 0, kMinusOne, 0, 0}},
    // map_shadow_stack(0, size 0, flags ~0): EOPNOTSUPP where the CPU or
    // the process has no shadow stacks, else EINVAL (flags); ENOSYS where
    // the kernel is built without them (riscv64 so far).
    {"map_shadow_stack", sysnum::kMapShadowStack, {0, 0, kMinusOne, 0, 0, 0}},
    // futex_wait(NULL, 0, 0, flags ~0, NULL, 0): unknown flags, EINVAL.
    {"futex_wait", sysnum::kFutexWait, {0, 0, 0, kMinusOne, 0, 0}},
    // listmount(NULL, NULL, 0, flags ~0): unknown flags, EINVAL (else
    // EFAULT for the request).
    {"listmount", sysnum::kListmount, {0, 0, 0, kMinusOne, 0, 0}},
    // mseal(1, 0, flags ~0): flags, then the unaligned start, EINVAL; seals
    // nothing.
    {"mseal", sysnum::kMseal, {1, 0, kMinusOne, 0, 0, 0}},
};

}  // namespace

SyscallResult RawSyscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                          uintptr_t a3, uintptr_t a4, uintptr_t a5,
                          uintptr_t a6) {
  return gortasm_syscall6(trap, a1, a2, a3, a4, a5, a6);
}

SyscallResult Syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                       uintptr_t a4, uintptr_t a5, uintptr_t a6) {
  return internal::WithHooks(
      trap, [&] { return gortasm_syscall6(trap, a1, a2, a3, a4, a5, a6); });
}

// Linux results are always register-sized: the X forms are the plain ones.
SyscallResult RawSyscall6X(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                           uintptr_t a3, uintptr_t a4, uintptr_t a5,
                           uintptr_t a6) {
  return gortasm_syscall6(trap, a1, a2, a3, a4, a5, a6);
}

SyscallResult Syscall6X(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                        uintptr_t a3, uintptr_t a4, uintptr_t a5,
                        uintptr_t a6) {
  return Syscall6(trap, a1, a2, a3, a4, a5, a6);
}

absl::StatusOr<SyscallResult> RawSyscallN(uintptr_t trap,
                                          absl::Span<const uintptr_t> args) {
  if (args.size() > kMaxSyscallArgs) {
    return internal::CodeStatus(GORT_ERANGE,
                                "RawSyscallN: Linux takes at most 6 arguments");
  }
  uintptr_t a[6] = {};
  for (size_t i = 0; i < args.size(); ++i) a[i] = args[i];
  return gortasm_syscall6(trap, a[0], a[1], a[2], a[3], a[4], a[5]);
}

absl::StatusOr<SyscallProbe> ProbeSyscall(std::string_view name) {
  for (const Probe& p : kProbes) {
    if (p.name != name) continue;
    // Raw: the probe never blocks, and an embedder's hooks need not see it.
    SyscallResult r =
        gortasm_syscall6(p.number, p.args[0], p.args[1], p.args[2], p.args[3],
                         p.args[4], p.args[5]);
    SyscallProbe out;
    out.name = p.name;
    out.number = static_cast<int64_t>(p.number);
    out.err = r.err;
    if (r.err == ENOSYS) {
      out.support = SyscallSupport::kNoSys;
    } else if (r.err == EPERM) {
      out.support = SyscallSupport::kBlocked;
    } else {
      out.support = SyscallSupport::kAvailable;
    }
    return out;
  }
  std::string context = "no probe for system call \"";
  context += name;
  context += '"';
  return internal::CodeStatus(GORT_ENOENT, context);
}

}  // namespace gort
