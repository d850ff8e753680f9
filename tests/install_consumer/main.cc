// SPDX-License-Identifier: BSD-3-Clause
#include <cstdio>

#include "gort/errno.h"
int main() {
  std::printf("%s\n", gort::Error::FromRaw(gort::ErrorSpace::kWindows, 10054)
                          .ToString()
                          .c_str());
}
