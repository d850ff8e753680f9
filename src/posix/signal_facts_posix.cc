// SPDX-License-Identifier: BSD-3-Clause
// Signal facts on Linux and macOS: the signal numbers, the real-time range
// the C library leaves to programs, and the smallest alternate signal stack
// (Go sizes its gsignal stacks from the same numbers: os_linux.go).
#include <signal.h>
#if defined(__linux__)
#include <sys/auxv.h>
#endif

#include <cstdint>
#include <string>

#include "gort/sysinfo.h"

// gort's own constant rather than the libc header's: Linux 5.14 added it and
// older headers (and musl) may lack it (include/uapi/linux/auxvec.h).
#define GORT_AT_MINSIGSTKSZ 51

namespace gort {

SignalFacts GetSignalFacts() {
  SignalFacts f;
  f.count = NSIG;
#if defined(SIGRTMIN) && defined(SIGRTMAX)
  f.rt_min = SIGRTMIN;  // glibc keeps 32 and 33 for itself, musl 32-34
  f.rt_max = SIGRTMAX;
#endif
  f.min_altstack = MINSIGSTKSZ;
  f.min_altstack_source = "MINSIGSTKSZ";
#if defined(__linux__)
  // The kernel's figure for this CPU (it grows with AVX-512 and SME state);
  // 0 where the kernel, or qemu-user, does not say.
  unsigned long k = getauxval(GORT_AT_MINSIGSTKSZ);
  if (k > static_cast<unsigned long>(f.min_altstack)) {
    f.min_altstack = static_cast<int64_t>(k);
    f.min_altstack_source = "AT_MINSIGSTKSZ";
  }
#endif
  f.delivery =
      "POSIX signals (sigaction with SA_SIGINFO|SA_ONSTACK|SA_RESTART)";
  return f;
}

}  // namespace gort
