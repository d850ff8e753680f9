// SPDX-License-Identifier: BSD-3-Clause
// System calls, the portable part: the embedder's hooks, the generated
// tables of system call numbers, and what every OS shares.
#include "gort/syscall.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/const_init.h"
#include "absl/synchronization/mutex.h"
#include "gort/errno.h"
#include "syscall_internal.h"
#include "tables/syscall_tables.h"

namespace gort {
namespace internal {

ABSL_CONST_INIT SyscallHookSlot g_syscall_hooks;

absl::Status CodeStatus(int code, std::string_view context) {
  return Error::FromCode(code).ToStatus(context);
}

}  // namespace internal

namespace {

using internal::SyscallEntry;
using internal::SyscallTable;

// Serialises the writers of g_syscall_hooks (its seqlock has one writer).
ABSL_CONST_INIT absl::Mutex g_hooks_mu(absl::kConstInit);

constexpr const SyscallTable* kTables[] = {
    &internal::kLinux386Syscalls,     &internal::kLinuxAmd64Syscalls,
    &internal::kLinuxArmSyscalls,     &internal::kLinuxArm64Syscalls,
    &internal::kLinuxRiscv64Syscalls,
};

}  // namespace

const SyscallTable* internal::FindSyscallTable(std::string_view target) {
  for (const SyscallTable* t : kTables) {
    if (target == t->target) return t;
  }
  return nullptr;
}

namespace {

using internal::FindSyscallTable;

absl::Status UnknownTarget(std::string_view target) {
  std::string context = "no system call table for \"";
  context += target;
  context += '"';
  return internal::CodeStatus(GORT_EINVAL, context);
}

}  // namespace

absl::Status SetSyscallHooks(const SyscallHooks& hooks) {
  if ((hooks.enter == nullptr) != (hooks.exit == nullptr)) {
    return internal::CodeStatus(GORT_EINVAL,
                                "syscall hooks: set both enter and exit");
  }
  if (hooks.enter == nullptr) {
    ClearSyscallHooks();
    return absl::OkStatus();
  }
  absl::MutexLock lock(&g_hooks_mu);
  internal::g_syscall_hooks.Store(hooks);
  return absl::OkStatus();
}

void ClearSyscallHooks() {
  absl::MutexLock lock(&g_hooks_mu);
  internal::g_syscall_hooks.Store(SyscallHooks());
}

SyscallHooks CurrentSyscallHooks() { return internal::g_syscall_hooks.Load(); }

std::vector<std::string_view> SyscallTargets() {
  std::vector<std::string_view> out;
  for (const SyscallTable* t : kTables) out.push_back(t->target);
  return out;
}

std::string_view NativeSyscallTarget() {
#if defined(_WIN32)
#define GORT_TARGET_OS "windows-"
#elif defined(__APPLE__)
#define GORT_TARGET_OS "darwin-"
#else
#define GORT_TARGET_OS "linux-"
#endif
#if defined(__x86_64__) || defined(_M_X64)
  return GORT_TARGET_OS "amd64";
#elif defined(__aarch64__) || defined(_M_ARM64)
  return GORT_TARGET_OS "arm64";
#elif defined(__riscv) && __riscv_xlen == 64
  return GORT_TARGET_OS "riscv64";
#else
#error "gort: unknown architecture"
#endif
#undef GORT_TARGET_OS
}

absl::StatusOr<int64_t> SyscallNumber(std::string_view target,
                                      std::string_view name) {
  const SyscallTable* t = FindSyscallTable(target);
  if (t == nullptr) return UnknownTarget(target);
  for (size_t i = 0; i < t->size; ++i) {
    if (name == t->entries[i].name) return t->entries[i].number;
  }
  std::string context(target);
  context += " has no system call \"";
  context += name;
  context += '"';
  return internal::CodeStatus(GORT_ENOENT, context);
}

absl::StatusOr<std::string_view> SyscallName(std::string_view target,
                                             int64_t number) {
  const SyscallTable* t = FindSyscallTable(target);
  if (t == nullptr) return UnknownTarget(target);
  const SyscallEntry* end = t->entries + t->size;
  const SyscallEntry* it = std::lower_bound(
      t->entries, end, number,
      [](const SyscallEntry& e, int64_t n) { return e.number < n; });
  if (it != end && it->number == number) return std::string_view(it->name);
  std::string context(target);
  context += " has no system call number ";
  context += std::to_string(number);
  return internal::CodeStatus(GORT_ENOENT, context);
}

absl::StatusOr<std::vector<SyscallInfo>> ListSyscalls(std::string_view target) {
  const SyscallTable* t = FindSyscallTable(target);
  if (t == nullptr) return UnknownTarget(target);
  std::vector<SyscallInfo> out;
  out.reserve(t->size);
  for (size_t i = 0; i < t->size; ++i) {
    out.push_back({t->entries[i].name, t->entries[i].number});
  }
  return out;
}

std::string_view SyscallSupportName(SyscallSupport support) {
  switch (support) {
    case SyscallSupport::kAvailable:
      return "available";
    case SyscallSupport::kNoSys:
      return "ENOSYS";
    case SyscallSupport::kBlocked:
      return "blocked";
  }
  return "invalid";
}

const std::vector<std::string_view>& ProbedSyscalls() {
  static const auto* names = new std::vector<std::string_view>{
      "epoll_pwait2", "pidfd_open",     "close_range",
      "clone3",       "io_uring_setup", "openat2",
      "accept4",      "rseq",           "futex_waitv"};
  return *names;
}

absl::StatusOr<SyscallResult> SyscallN(uintptr_t trap,
                                       absl::Span<const uintptr_t> args) {
  if (args.size() > kMaxSyscallArgs) {
    return internal::CodeStatus(GORT_ERANGE, "SyscallN: too many arguments");
  }
  return internal::WithHooks(trap, [&] { return *RawSyscallN(trap, args); });
}

}  // namespace gort
