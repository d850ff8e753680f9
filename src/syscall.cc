// SPDX-License-Identifier: BSD-3-Clause
// System calls, the portable part: the embedder's hooks, the generated
// tables of system call numbers, and what every OS shares.
#include "gort/syscall.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
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
      "epoll_pwait2",   "pidfd_open", "close_range",      "clone3",
      "io_uring_setup", "openat2",    "accept4",          "rseq",
      "futex_waitv",    "cachestat",  "map_shadow_stack", "futex_wait",
      "listmount",      "mseal"};
  return *names;
}

absl::StatusOr<SyscallTableInfo> DescribeSyscallTable(std::string_view target) {
  const SyscallTable* t = FindSyscallTable(target);
  if (t == nullptr) return UnknownTarget(target);
  SyscallTableInfo info;
  info.target = t->target;
  info.kernel = t->kernel;
  info.headers = t->headers;
  info.headers_highest = t->headers_highest;
  info.count = t->size;
  info.highest = t->size > 0 ? t->entries[t->size - 1].number : -1;
  return info;
}

absl::StatusOr<SyscallSkew> ProbeBeyondTable() {
#if defined(__linux__)
  absl::StatusOr<SyscallTableInfo> table =
      DescribeSyscallTable(NativeSyscallTarget());
  if (!table.ok()) return table.status();
  SyscallSkew skew;
  skew.table = *table;
  skew.probed_to = table->highest;
  // Above every Linux arch's numbers (and below x86-64's x32 block at 512,
  // which a run of ENOSYS stops well short of).
  constexpr int64_t kLimit = 1023;
  constexpr uintptr_t kBad = ~uintptr_t{0};
  for (int64_t n = table->headers_highest + 1; n <= table->highest; ++n) {
    if (!SyscallName(table->target, n).ok()) continue;
    SyscallResult r = RawSyscall6(static_cast<uintptr_t>(n), kBad, kBad, kBad,
                                  kBad, kBad, kBad);
    (r.err == ENOSYS ? skew.lacking : skew.later_served).push_back(n);
  }
  int run = 0;
  for (int64_t n = table->highest + 1; n <= kLimit && run < kSkewEnosysRun;
       ++n) {
    // Raw: never blocks, and an embedder's hooks need not see it.
    SyscallResult r = RawSyscall6(static_cast<uintptr_t>(n), kBad, kBad, kBad,
                                  kBad, kBad, kBad);
    skew.probed_to = n;
    if (r.err == ENOSYS) {
      ++run;
    } else if (r.err == EPERM) {
      ++run;
      skew.blocked.push_back(n);
    } else {
      run = 0;
      skew.served.push_back(n);
    }
  }
  return skew;
#else
  return internal::CodeStatus(GORT_ENOSYS,
                              "probing beyond the table: Linux only");
#endif
}

namespace {

// "463..469" or "470" for ascending numbers.
std::string Span(const std::vector<int64_t>& numbers) {
  std::string s = std::to_string(numbers.front());
  if (numbers.size() > 1) {
    s += "..";
    s += std::to_string(numbers.back());
  }
  return s;
}

}  // namespace

std::string SyscallLaterLine(const SyscallSkew& skew) {
  size_t total = skew.lacking.size() + skew.later_served.size();
  std::string line = "the kernel serves ";
  line += std::to_string(skew.later_served.size());
  line += " of the table's ";
  line += std::to_string(total);
  line += total == 1 ? " call" : " calls";
  line += " after its ";
  line += skew.table.headers;
  line += " headers";
  if (!skew.later_served.empty()) line += " (" + Span(skew.later_served) + ")";
  line += " and lacks ";
  line += std::to_string(skew.lacking.size());
  if (!skew.lacking.empty()) line += " (" + Span(skew.lacking) + ")";
  return line;
}

std::string SyscallSkewLine(const SyscallSkew& skew) {
  std::string line = "kernel serves ";
  line += std::to_string(skew.served.size());
  line += skew.served.size() == 1 ? " call" : " calls";
  line += " newer than gort's table (";
  if (skew.served.empty()) {
    line += skew.table.target;
    line += ", current to Linux ";
    line += skew.table.kernel;
    line += ", highest ";
    line += std::to_string(skew.table.highest);
    line += "; probed ";
    line += std::to_string(skew.table.highest + 1);
    line += "..";
    line += std::to_string(skew.probed_to);
  } else {
    line += Span(skew.served);
  }
  line += ")";
  if (!skew.blocked.empty()) {
    line += "; ";
    line += std::to_string(skew.blocked.size());
    line += " more answered EPERM (a seccomp filter?)";
  }
  return line;
}

absl::StatusOr<SyscallResult> SyscallN(uintptr_t trap,
                                       absl::Span<const uintptr_t> args) {
  if (args.size() > kMaxSyscallArgs) {
    return internal::CodeStatus(GORT_ERANGE, "SyscallN: too many arguments");
  }
  return internal::WithHooks(trap, [&] { return *RawSyscallN(trap, args); });
}

}  // namespace gort
