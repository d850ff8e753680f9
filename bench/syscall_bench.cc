// SPDX-License-Identifier: BSD-3-Clause
// getpid(2) through gort's raw assembly shim beside the same instruction as
// inline asm (the floor), the C++ and C API layers above the shim, glibc's
// syscall(), and glibc's getpid() wrapper (no caching since glibc 2.25, so
// it too enters the kernel every time), in one run. The goal: the shim
// within 2% of inline asm.
//
// Inline asm is measured twice: in the benchmark loop itself, and inside a
// function that is never inlined, so that a `ret` follows the system call as
// it does in every out-of-line wrapper (gort's shim, glibc's syscall() and
// getpid()). On kernels that fill or poison the return stack buffer on the
// way back to user space (the AMD SRSO "Safe RET" and RSB-filling Spectre
// mitigations, for instance), that first `ret` is mispredicted; the loop form
// never returns and so never pays it. The gap between the two forms is that
// misprediction, not the shim.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

#include "benchmark/benchmark.h"
#include "gort.h"
#include "gort/syscall.h"
#include "gort/zsysnum_linux.h"
#include "syscall_internal.h"

namespace {

constexpr uintptr_t kGetpid = gort::sysnum::kGetpid;

// The system call instruction inline, with exactly the registers the kernel
// uses and clobbers (as musl's syscall_arch.h).
inline uintptr_t InlineSyscall0(uintptr_t nr) {
#if defined(__x86_64__)
  uintptr_t ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register uintptr_t x8 __asm__("x8") = nr;
  register uintptr_t x0 __asm__("x0");
  __asm__ volatile("svc #0" : "=r"(x0) : "r"(x8) : "memory", "cc");
  return x0;
#elif defined(__riscv)
  register uintptr_t a7 __asm__("a7") = nr;
  register uintptr_t a0 __asm__("a0");
  __asm__ volatile("ecall" : "=r"(a0) : "r"(a7) : "memory");
  return a0;
#endif
}

void BM_InlineAsm(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(InlineSyscall0(kGetpid));
}
BENCHMARK(BM_InlineAsm);

__attribute__((noinline)) uintptr_t InlineSyscall0InAFunction(uintptr_t nr) {
  return InlineSyscall0(nr);
}

void BM_InlineAsmThenRet(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(InlineSyscall0InAFunction(kGetpid));
  }
}
BENCHMARK(BM_InlineAsmThenRet);

// The assembly shim itself (src/linux/syscall_linux_<arch>.S).
void BM_GortShim(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(gortasm_syscall6(kGetpid, 0, 0, 0, 0, 0, 0));
  }
}
BENCHMARK(BM_GortShim);

// gort::RawSyscall6: the C++ API, one call above the shim.
void BM_GortRawSyscall6(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(gort::RawSyscall6(kGetpid));
}
BENCHMARK(BM_GortRawSyscall6);

// gort::Syscall6 with no hooks installed: one atomic load more.
void BM_GortSyscall6NoHooks(benchmark::State& state) {
  gort::ClearSyscallHooks();
  for (auto _ : state) benchmark::DoNotOptimize(gort::Syscall6(kGetpid));
}
BENCHMARK(BM_GortSyscall6NoHooks);

// The C ABI: argument checks and errno translation on top.
void BM_GortCRawSyscall6(benchmark::State& state) {
  gort_sysret_t out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(gort_rawsyscall6(kGetpid, 0, 0, 0, 0, 0, 0, &out));
  }
}
BENCHMARK(BM_GortCRawSyscall6);

void BM_LibcSyscall(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getpid));
}
BENCHMARK(BM_LibcSyscall);

void BM_LibcGetpid(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(getpid());
}
BENCHMARK(BM_LibcGetpid);

}  // namespace
