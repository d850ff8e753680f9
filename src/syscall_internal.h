// What the per-OS system call files share with the portable code: the hooks
// of the embedding scheduler and the assembly entry points.
#ifndef GORT_SRC_SYSCALL_INTERNAL_H_
#define GORT_SRC_SYSCALL_INTERNAL_H_

#include <atomic>
#include <cstdint>

#include "gort/syscall.h"
#include "tables/syscall_tables.h"

namespace gort::internal {

// One installed pair of hooks. Never freed: a call that loaded it may still
// be between enter and exit when the hooks change (src/syscall.cc).
struct HookSet {
  SyscallHook enter;
  SyscallHook exit;
  void* user;
};

// The installed hooks, or nullptr.
extern std::atomic<const HookSet*> g_syscall_hooks;

// Runs `call` between the installed hooks (Go: entersyscall, exitsyscall).
// The hooks are loaded once, so enter and exit always pair.
template <typename Call>
inline SyscallResult WithHooks(uintptr_t trap, Call&& call) {
  const HookSet* hooks = g_syscall_hooks.load(std::memory_order_acquire);
  if (hooks == nullptr) return call();
  hooks->enter(hooks->user, trap);
  SyscallResult r = call();
  hooks->exit(hooks->user, trap);
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
