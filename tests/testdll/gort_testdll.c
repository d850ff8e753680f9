/* SPDX-License-Identifier: BSD-3-Clause */
/* A DLL the test suite builds (Windows targets only) to call through
 * gort's SyscallN trampoline: functions whose results prove where each
 * argument arrived, how the stack was aligned, that float registers were
 * mirrored, and that the last error is read right after the call. */
#include <stdint.h>
#include <windows.h>

#define GORT_TESTDLL_EXPORT __declspec(dllexport)

/* The value the test passes as argument i (1-based): distinct in every
 * byte that matters, with the high half set so truncation shows. */
static uint64_t Expected(int i) {
  return UINT64_C(0xA5A5000000000000) | ((uint64_t)i << 24) |
         ((uint64_t)i << 8) | (uint64_t)i;
}

static uint64_t Mask(const uint64_t* a, int n) {
  uint64_t m = 0;
  int i;
  for (i = 0; i < n; ++i) {
    if (a[i] == Expected(i + 1)) m |= UINT64_C(1) << i;
  }
  return m;
}

/* 15 arguments: bit i-1 of the result is set when argument i is
 * Expected(i). */
GORT_TESTDLL_EXPORT uint64_t gort_testdll_args15(
    uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
    uint64_t a6, uint64_t a7, uint64_t a8, uint64_t a9, uint64_t a10,
    uint64_t a11, uint64_t a12, uint64_t a13, uint64_t a14, uint64_t a15) {
  const uint64_t a[15] = {a1, a2,  a3,  a4,  a5,  a6,  a7, a8,
                          a9, a10, a11, a12, a13, a14, a15};
  return Mask(a, 15);
}

/* 42 arguments: bit i-1 of the result is set when argument i is
 * Expected(i). */
GORT_TESTDLL_EXPORT uint64_t gort_testdll_args42(
    uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
    uint64_t a6, uint64_t a7, uint64_t a8, uint64_t a9, uint64_t a10,
    uint64_t a11, uint64_t a12, uint64_t a13, uint64_t a14, uint64_t a15,
    uint64_t a16, uint64_t a17, uint64_t a18, uint64_t a19, uint64_t a20,
    uint64_t a21, uint64_t a22, uint64_t a23, uint64_t a24, uint64_t a25,
    uint64_t a26, uint64_t a27, uint64_t a28, uint64_t a29, uint64_t a30,
    uint64_t a31, uint64_t a32, uint64_t a33, uint64_t a34, uint64_t a35,
    uint64_t a36, uint64_t a37, uint64_t a38, uint64_t a39, uint64_t a40,
    uint64_t a41, uint64_t a42) {
  const uint64_t a[42] = {a1,  a2,  a3,  a4,  a5,  a6,  a7,  a8,  a9,  a10, a11,
                          a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22,
                          a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, a33,
                          a34, a35, a36, a37, a38, a39, a40, a41, a42};
  return Mask(a, 42);
}

/* x * y in the floating-point return register (XMM0 / D0): the arguments
 * arrive in XMM0-1 / D0-1 only if the trampoline mirrors them. */
GORT_TESTDLL_EXPORT double gort_testdll_mul(double x, double y) {
  return x * y;
}

/* Sets the thread's last error to `e` and returns 7. */
GORT_TESTDLL_EXPORT uint64_t gort_testdll_set_last_error(uint32_t e) {
  SetLastError(e);
  return 7;
}

/* Returns 7 and leaves the last error alone. */
GORT_TESTDLL_EXPORT uint64_t gort_testdll_seven(void) { return 7; }

/* The stack pointer as the caller had it at the call (its value before the
 * return address was pushed, on amd64). */
uint64_t gort_testdll_caller_sp(void);
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl gort_testdll_caller_sp\n"
    ".def gort_testdll_caller_sp; .scl 2; .type 32; .endef\n"
    "gort_testdll_caller_sp:\n"
    "  leaq 8(%rsp), %rax\n"
    "  ret\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".globl gort_testdll_caller_sp\n"
    ".def gort_testdll_caller_sp; .scl 2; .type 32; .endef\n"
    "gort_testdll_caller_sp:\n"
    "  mov x0, sp\n"
    "  ret\n");
#endif

/* How far from 16-byte alignment the stack was when the trampoline called
 * this function (0 if the ABI was kept). This function's own frame keeps
 * whatever misalignment it was entered with, so the helper sees it. Takes
 * any number of arguments and ignores them. */
GORT_TESTDLL_EXPORT uint64_t gort_testdll_stack_misalignment(void) {
  return gort_testdll_caller_sp() & 15;
}
