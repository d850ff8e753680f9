// SPDX-License-Identifier: BSD-3-Clause
// A C++ consumer of an installed gort (scripts/consumers.sh): the C ABI from
// C++ always; the C++ API too when it links the static library.
#include <cstdio>
#include <cstring>
#include <string>

#include "gort.h"

#ifdef CONSUMER_USES_CXX_API
#include "gort/errno.h"
#include "gort/time.h"
#endif

int main() {
  int failures = 0;
  auto check = [&failures](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "failed: %s\n", what);
      ++failures;
    }
  };
  check(gort_version() == GORT_VERSION_HEX, "gort_version");
  check(std::strcmp(gort_err_name(GORT_EPIPE), "EPIPE") == 0, "gort_err_name");
#ifdef CONSUMER_USES_CXX_API
  const gort::Error e = gort::Error::FromRaw(gort::ErrorSpace::kWindows, 10054);
  check(e.ToString().find("WSAECONNRESET") != std::string::npos,
        "Error::ToString");
  check(e.ToStatus("connect").code() == absl::StatusCode::kUnavailable,
        "Error::ToStatus");
  check(gort::Nanotime() > 0, "Nanotime");
#endif
  if (failures == 0)
    std::printf("C++ consumer: ok (gort %s)\n", gort_version_string());
  return failures == 0 ? 0 : 1;
}
