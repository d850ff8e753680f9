// SPDX-License-Identifier: BSD-3-Clause
// Clock conveniences written once for every OS.
#include "absl/time/time.h"

#include <cstdint>

#include "gort/time.h"

namespace gort {

absl::Status Sleep(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return absl::OkStatus();
  if (d >= absl::Nanoseconds(INT64_MAX)) return Sleep(INT64_MAX);
  return Sleep(absl::ToInt64Nanoseconds(absl::Ceil(d, absl::Nanoseconds(1))));
}

}  // namespace gort
