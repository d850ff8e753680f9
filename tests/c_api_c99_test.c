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

  if (failures == 0) printf("c99 ABI test: ok (%s %s)\n", p.os, p.arch);
  return failures == 0 ? 0 : 1;
}
