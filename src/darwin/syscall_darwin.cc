// SPDX-License-Identifier: BSD-3-Clause
// System calls on Darwin, through libSystem (Go: syscall_syscall6 and
// syscall_syscall6X in runtime/sys_darwin.go, with the syscall6 / syscall6X
// trampolines of sys_darwin_{amd64,arm64}.s). Raw traps are not a stable
// ABI on macOS, so since Go 1.12 every call goes to a libSystem function and
// errno is read in the same call; gort does the same.
//
// `trap` is the function's address. The call passes six integer registers
// and reads two back (rax:rdx on x86_64, x0:x1 on arm64) by declaring the
// function as returning a two-word struct, which both ABIs return in those
// registers: r1 and r2 exactly as Go's trampolines store them. Variadic
// functions (open, fcntl, ioctl) take their variadic arguments on the stack
// on Apple arm64: call them through a non-variadic wrapper.
#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>

#include "gort/syscall.h"
#include "syscall_internal.h"

namespace gort {
namespace {

struct TwoWords {
  uintptr_t r1;
  uintptr_t r2;
};
using LibcFn = TwoWords (*)(uintptr_t, uintptr_t, uintptr_t, uintptr_t,
                            uintptr_t, uintptr_t);

// Go's syscall6 checks the low 32 bits for -1 (most libc functions return
// int, the high half is junk); syscall6X checks all 64 (off_t, pointers).
template <bool kWide>
SyscallResult LibcCall(uintptr_t fn, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                       uintptr_t a4, uintptr_t a5, uintptr_t a6) {
  TwoWords w = reinterpret_cast<LibcFn>(fn)(a1, a2, a3, a4, a5, a6);
  bool failed = kWide ? w.r1 == ~uintptr_t{0}
                      : static_cast<uint32_t>(w.r1) == 0xffffffffu;
  // errno right away, before anything else can touch it.
  int64_t err = failed ? errno : 0;
  return SyscallResult{w.r1, w.r2, err};
}

}  // namespace

SyscallResult RawSyscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                          uintptr_t a3, uintptr_t a4, uintptr_t a5,
                          uintptr_t a6) {
  return LibcCall<false>(trap, a1, a2, a3, a4, a5, a6);
}

SyscallResult Syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                       uintptr_t a4, uintptr_t a5, uintptr_t a6) {
  return internal::WithHooks(
      trap, [&] { return LibcCall<false>(trap, a1, a2, a3, a4, a5, a6); });
}

SyscallResult RawSyscall6X(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                           uintptr_t a3, uintptr_t a4, uintptr_t a5,
                           uintptr_t a6) {
  return LibcCall<true>(trap, a1, a2, a3, a4, a5, a6);
}

SyscallResult Syscall6X(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                        uintptr_t a3, uintptr_t a4, uintptr_t a5,
                        uintptr_t a6) {
  return internal::WithHooks(
      trap, [&] { return LibcCall<true>(trap, a1, a2, a3, a4, a5, a6); });
}

absl::StatusOr<SyscallResult> RawSyscallN(uintptr_t trap,
                                          absl::Span<const uintptr_t> args) {
  if (args.size() > kMaxSyscallArgs) {
    return internal::CodeStatus(
        GORT_ERANGE, "RawSyscallN: Darwin takes at most 6 arguments");
  }
  uintptr_t a[6] = {};
  for (size_t i = 0; i < args.size(); ++i) a[i] = args[i];
  return LibcCall<false>(trap, a[0], a[1], a[2], a[3], a[4], a[5]);
}

absl::StatusOr<SyscallProbe> ProbeSyscall(std::string_view name) {
  std::string context = "probing \"";
  context += name;
  context += "\": Linux system calls only";
  return internal::CodeStatus(GORT_ENOSYS, context);
}

}  // namespace gort
