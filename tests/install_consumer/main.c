// SPDX-License-Identifier: BSD-3-Clause
#include <stdio.h>

#include "gort.h"
int main(void) {
  printf("%s %s\n", gort_version_string(), gort_err_name(GORT_EPIPE));
  return 0;
}
