/* SPDX-License-Identifier: BSD-3-Clause */
/* The C ABI seen from C99, compiled with -std=c99 -pedantic -Werror and
 * linked against the shared library. */
#include <stdio.h>
#include <string.h>

#include "gort.h"

static int failures = 0;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

int main(void) {
  gort_syserr_t e;
  gort_platform_info_t p;
  gort_sysret_t r;
  gort_syscall_probe_t probe;
  gort_sysinfo_t sys;
  int32_t ncpu = 0;
  int64_t nr = -1;
  const char* name = NULL;

  CHECK(gort_version() == GORT_VERSION_HEX);
  CHECK(strcmp(gort_version_string(), "0.1.0") == 0);
  CHECK(strcmp(gort_err_name(GORT_ENOENT), "ENOENT") == 0);
  CHECK(strcmp(gort_strerror(GORT_ENOENT), "no such file or directory") == 0);
  CHECK(strcmp(gort_err_name(12345), "EUNKNOWN") == 0);

  memset(&e, 0, sizeof(e));
  e.size = sizeof(e);
  CHECK(gort_syserr_lookup(GORT_ERRSPACE_WINDOWS, 10054, &e) == 0);
  CHECK(e.code == GORT_ECONNRESET);
  CHECK(strcmp(e.name, "WSAECONNRESET") == 0);
  CHECK(gort_syserr_by_name(GORT_ERRSPACE_LINUX, "ECONNRESET", &e) == 0);
  CHECK(e.raw == 104 && e.code == GORT_ECONNRESET);
  CHECK(gort_syserr_lookup(GORT_ERRSPACE_LINUX, 2, NULL) == GORT_EINVAL);
  CHECK(gort_syserr_lookup(99, 2, &e) == GORT_EINVAL);

  memset(&p, 0, sizeof(p));
  CHECK(gort_platform_query(&p) == GORT_EINVAL); /* size not set */
  p.size = sizeof(p);
  CHECK(gort_platform_query(&p) == 0);
  CHECK(p.page_size > 0);
  CHECK(p.cpu_count > 0);
  CHECK(gort_platform_query(NULL) == GORT_EINVAL);

  /* System call tables, any arch on any machine; the calls themselves. */
  CHECK(gort_syscall_lookup("linux-arm64", "epoll_pwait2", &nr) == 0);
  CHECK(nr == 441);
  CHECK(gort_syscall_name("linux-amd64", 39, &name) == 0);
  CHECK(name != NULL && strcmp(name, "getpid") == 0);
  CHECK(gort_syscall_lookup(NULL, "read", &nr) == GORT_EINVAL);
  CHECK(gort_syscall6(0, 0, 0, 0, 0, 0, 0, NULL) == GORT_EINVAL);
  CHECK(gort_syscall_set_hooks(NULL) == 0);
  memset(&probe, 0, sizeof(probe));
  probe.size = sizeof(probe);
  CHECK(gort_probe_syscall(NULL, &probe) == GORT_EINVAL);
#if defined(__linux__)
  CHECK(gort_syscall_lookup(gort_syscall_native_target(), "getpid", &nr) == 0);
  CHECK(gort_rawsyscall6((uintptr_t)nr, 0, 0, 0, 0, 0, 0, &r) == 0);
  CHECK(r.err == 0 && r.r1 > 0);
  CHECK(gort_probe_syscall("accept4", &probe) == 0);
  CHECK(probe.support == GORT_SYSCALL_AVAILABLE);
#else
  (void)r;
  CHECK(gort_probe_syscall("accept4", &probe) == GORT_ENOSYS);
#endif

  /* System facts: never an error; unknown facts carry a reason. */
  memset(&sys, 0, sizeof(sys));
  CHECK(gort_sysinfo_query(&sys) == GORT_EINVAL); /* size not set */
  sys.size = sizeof(sys);
  CHECK(gort_sysinfo_query(&sys) == 0);
  CHECK(sys.available_parallelism >= 1);
  CHECK(sys.cpu_freq_khz > 0 || sys.cpu_freq_reason[0] != '\0');
  CHECK(gort_available_parallelism(GORT_PARALLELISM_GO125, &ncpu) == 0);
  CHECK(ncpu == sys.available_parallelism);
  CHECK(gort_available_parallelism(GORT_PARALLELISM_LIBUV, NULL) ==
        GORT_EINVAL);

  if (failures == 0) printf("c99 ABI test: ok (%s %s)\n", p.os, p.arch);
  return failures == 0 ? 0 : 1;
}
