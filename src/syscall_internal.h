// SPDX-License-Identifier: BSD-3-Clause
// What the per-OS system call files share with the portable code: the hooks
// of the embedding scheduler and the assembly entry points.
#ifndef GORT_SRC_SYSCALL_INTERNAL_H_
#define GORT_SRC_SYSCALL_INTERNAL_H_

#include <atomic>
#include <cstdint>

#include "gort/syscall.h"
#include "tables/syscall_tables.h"

namespace gort::internal {

// The installed hooks, as one value a call copies (SyscallHookSlot::Load):
// a call that started with a pair finishes with it, whatever is installed
// meanwhile, and nothing needs to be kept alive for it. Memory is this one
// object however many distinct hooks come and go; a load is a few plain
// loads (a seqlock), no read-modify-write, so concurrent calls do not
// contend on it.
class SyscallHookSlot {
 public:
  constexpr SyscallHookSlot() = default;

  // A consistent copy of the installed hooks (both null when none).
  //
  // No fences (TSan does not model them): the fields are read with acquire,
  // so the second read of `seq_` cannot move before them, and written with
  // release, so the odd `seq_` a writer stores first is visible to a reader
  // that sees any of its fields. A reader that saw a field of an unfinished
  // or later write therefore sees `seq_` change, and retries.
  SyscallHooks Load() const {
    for (;;) {
      uint64_t before = seq_.load(std::memory_order_acquire);
      SyscallHooks h;
      h.enter = enter_.load(std::memory_order_acquire);
      h.exit = exit_.load(std::memory_order_acquire);
      h.user = user_.load(std::memory_order_acquire);
      if ((before & 1) == 0 && seq_.load(std::memory_order_relaxed) == before) {
        return h;
      }
    }
  }

  // Installs `h`. Writers must be serialised by the caller (a mutex).
  void Store(const SyscallHooks& h) {
    uint64_t s = seq_.load(std::memory_order_relaxed);
    seq_.store(s + 1, std::memory_order_relaxed);  // odd: being written
    enter_.store(h.enter, std::memory_order_release);
    exit_.store(h.exit, std::memory_order_release);
    user_.store(h.user, std::memory_order_release);
    seq_.store(s + 2, std::memory_order_release);
  }

 private:
  std::atomic<uint64_t> seq_{0};
  std::atomic<SyscallHook> enter_{nullptr};
  std::atomic<SyscallHook> exit_{nullptr};
  std::atomic<void*> user_{nullptr};
};

// The installed hooks.
extern SyscallHookSlot g_syscall_hooks;

// Runs `call` between the installed hooks (Go: entersyscall, exitsyscall).
// The hooks are copied once, so enter and exit always pair.
template <typename Call>
inline SyscallResult WithHooks(uintptr_t trap, Call&& call) {
  const SyscallHooks hooks = g_syscall_hooks.Load();
  if (hooks.enter == nullptr) return call();
  hooks.enter(hooks.user, trap);
  SyscallResult r = call();
  hooks.exit(hooks.user, trap);
  return r;
}

// A status carrying portable error `code` (Error::FromCode(code).ToStatus).
absl::Status CodeStatus(int code, std::string_view context);

// The generated table of `target` ("linux-amd64"), or nullptr.
const SyscallTable* FindSyscallTable(std::string_view target);

}  // namespace gort::internal

extern "C" {

#if defined(__linux__)
// src/linux/syscall_linux_<arch>.S (Go: runtime/internal/syscall
// asm_linux_<arch>.s): enters the kernel with system call `trap` and six
// arguments, and decodes the kernel's -4095..-1 error range. The result is
// returned in memory, as the C ABI of each arch does for 24 bytes.
gort::SyscallResult gortasm_syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                                     uintptr_t a3, uintptr_t a4, uintptr_t a5,
                                     uintptr_t a6);
#endif

#if defined(_WIN32)
// A call through the Windows trampoline (Go: runtime.libcall).
struct GortWinCall {
  uintptr_t fn;           // the procedure
  uintptr_t n;            // number of arguments, at most kMaxSyscallArgs
  const uintptr_t* args;  // n arguments (may be null when n is 0)
  uintptr_t r1;           // out: RAX / X0
  uintptr_t r2;           // out: XMM0 / D0
  uintptr_t err;          // out: the thread's last error after the call
};

// src/windows/syscall_windows_<arch>.S (Go: runtime.asmstdcall in
// sys_windows_<arch>.s): clears the last error, calls call->fn with the
// arguments laid out for the Win64 ABI, stores the results.
void gortasm_stdcall(GortWinCall* call);
#endif

}  // extern "C"

#endif  // GORT_SRC_SYSCALL_INTERNAL_H_
