// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for system calls, their tables, kernel feature probes and
// Windows DLLs: argument checks, then the C++ core.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "capi.h"
#include "gort.h"
#include "gort/syscall.h"
#include "syscall_internal.h"

namespace {

static_assert(sizeof(gort_sysret_t) == sizeof(gort::SyscallResult));
static_assert(offsetof(gort_sysret_t, r1) == offsetof(gort::SyscallResult, r1));
static_assert(offsetof(gort_sysret_t, r2) == offsetof(gort::SyscallResult, r2));
static_assert(offsetof(gort_sysret_t, err) ==
              offsetof(gort::SyscallResult, err));
static_assert(GORT_SYSCALL_MAX_ARGS == gort::kMaxSyscallArgs);

using gort::capi::ExceptionToCode;

int CodeOf(const absl::Status& s) { return gort::capi::StatusToCode(s); }

// Darwin and Windows call `trap` as a function: 0 would crash.
bool TrapOk(uintptr_t trap) {
#if defined(__linux__)
  (void)trap;
  return true;
#else
  return trap != 0;
#endif
}

// What a finished call returns: see gort_syscall6() in gort.h.
int Finish(const gort::SyscallResult& r, gort_sysret_t* out) {
  out->r1 = r.r1;
  out->r2 = r.r2;
  out->err = r.err;
#if defined(_WIN32)
  return 0;
#else
  return r.err == 0 ? 0 : gort_err_from_sys(r.err);
#endif
}

using Call6 = gort::SyscallResult (*)(uintptr_t, uintptr_t, uintptr_t,
                                      uintptr_t, uintptr_t, uintptr_t,
                                      uintptr_t);

int Do6(Call6 call, uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
        uintptr_t a4, uintptr_t a5, uintptr_t a6, gort_sysret_t* out) {
  if (out == nullptr || !TrapOk(trap)) return GORT_EINVAL;
  return Finish(call(trap, a1, a2, a3, a4, a5, a6), out);
}

int DoN(bool raw, uintptr_t trap, size_t nargs, const uintptr_t* args,
        gort_sysret_t* out) {
  if (out == nullptr || !TrapOk(trap)) return GORT_EINVAL;
  if (args == nullptr && nargs > 0) return GORT_EINVAL;
  if (nargs > GORT_SYSCALL_MAX_ARGS) return GORT_ERANGE;
  absl::Span<const uintptr_t> span(args, nargs);
  absl::StatusOr<gort::SyscallResult> r =
      raw ? gort::RawSyscallN(trap, span) : gort::SyscallN(trap, span);
  if (!r.ok()) return CodeOf(r.status());
  return Finish(*r, out);
}

}  // namespace

extern "C" {

int gort_syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                  uintptr_t a4, uintptr_t a5, uintptr_t a6,
                  gort_sysret_t* out) try {
  return Do6(gort::Syscall6, trap, a1, a2, a3, a4, a5, a6, out);
} catch (...) {
  return ExceptionToCode();
}

int gort_rawsyscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                     uintptr_t a4, uintptr_t a5, uintptr_t a6,
                     gort_sysret_t* out) try {
  return Do6(gort::RawSyscall6, trap, a1, a2, a3, a4, a5, a6, out);
} catch (...) {
  return ExceptionToCode();
}

int gort_syscall6x(uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                   uintptr_t a4, uintptr_t a5, uintptr_t a6,
                   gort_sysret_t* out) try {
  return Do6(gort::Syscall6X, trap, a1, a2, a3, a4, a5, a6, out);
} catch (...) {
  return ExceptionToCode();
}

int gort_rawsyscall6x(uintptr_t trap, uintptr_t a1, uintptr_t a2, uintptr_t a3,
                      uintptr_t a4, uintptr_t a5, uintptr_t a6,
                      gort_sysret_t* out) try {
  return Do6(gort::RawSyscall6X, trap, a1, a2, a3, a4, a5, a6, out);
} catch (...) {
  return ExceptionToCode();
}

int gort_syscalln(uintptr_t trap, size_t nargs, const uintptr_t* args,
                  gort_sysret_t* out) try {
  return DoN(false, trap, nargs, args, out);
} catch (...) {
  return ExceptionToCode();
}

int gort_rawsyscalln(uintptr_t trap, size_t nargs, const uintptr_t* args,
                     gort_sysret_t* out) try {
  return DoN(true, trap, nargs, args, out);
} catch (...) {
  return ExceptionToCode();
}

int gort_syscall_set_hooks(const gort_syscall_hooks_t* hooks) try {
  if (hooks == nullptr) {
    gort::ClearSyscallHooks();
    return 0;
  }
  if (hooks->size < sizeof(gort_syscall_hooks_t)) return GORT_EINVAL;
  gort::SyscallHooks h;
  h.enter = hooks->enter;
  h.exit = hooks->exit;
  h.user = hooks->user;
  return CodeOf(gort::SetSyscallHooks(h));
} catch (...) {
  return ExceptionToCode();
}

const char* gort_syscall_native_target(void) try {
  // A literal in the library: NUL-terminated.
  return gort::NativeSyscallTarget().data();
} catch (...) {
  return "";  // a literal: nothing throws
}

int gort_syscall_lookup(const char* target, const char* name,
                        int64_t* number) try {
  if (target == nullptr || name == nullptr || number == nullptr) {
    return GORT_EINVAL;
  }
  absl::StatusOr<int64_t> n = gort::SyscallNumber(target, name);
  if (!n.ok()) return CodeOf(n.status());
  *number = *n;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_syscall_name(const char* target, int64_t number,
                      const char** name) try {
  if (target == nullptr || name == nullptr) return GORT_EINVAL;
  absl::StatusOr<std::string_view> n = gort::SyscallName(target, number);
  if (!n.ok()) return CodeOf(n.status());
  *name = n->data();  // a table literal: NUL-terminated
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_syscall_at(const char* target, size_t index, const char** name,
                    int64_t* number) try {
  if (target == nullptr || name == nullptr || number == nullptr) {
    return GORT_EINVAL;
  }
  const gort::internal::SyscallTable* t =
      gort::internal::FindSyscallTable(target);
  if (t == nullptr) return GORT_EINVAL;
  if (index >= t->size) return GORT_ERANGE;
  *name = t->entries[index].name;
  *number = t->entries[index].number;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_probe_syscall(const char* name, gort_syscall_probe_t* out) try {
  if (name == nullptr || out == nullptr ||
      out->size < sizeof(gort_syscall_probe_t)) {
    return GORT_EINVAL;
  }
  absl::StatusOr<gort::SyscallProbe> p = gort::ProbeSyscall(name);
  if (!p.ok()) return CodeOf(p.status());
  out->support = static_cast<int>(p->support);
  out->number = p->number;
  out->err = p->err;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_dll_load(const char* name, gort_dll_t* out) try {
  if (name == nullptr || out == nullptr) return GORT_EINVAL;
  absl::StatusOr<gort::DllHandle> h = gort::LoadSystemDll(name);
  if (!h.ok()) return CodeOf(h.status());
  *out = *h;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_dll_load_path(const char* path, gort_dll_t* out) try {
  if (path == nullptr || out == nullptr) return GORT_EINVAL;
  absl::StatusOr<gort::DllHandle> h = gort::LoadDllFromPath(path);
  if (!h.ok()) return CodeOf(h.status());
  *out = *h;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_dll_proc(gort_dll_t dll, const char* name, uintptr_t* proc) try {
  if (name == nullptr || proc == nullptr) return GORT_EINVAL;
  absl::StatusOr<uintptr_t> p = gort::DllProc(dll, name);
  if (!p.ok()) return CodeOf(p.status());
  *proc = *p;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_dll_release(gort_dll_t dll) try {
  return CodeOf(gort::ReleaseDll(dll));
} catch (...) {
  return ExceptionToCode();
}

}  // extern "C"
