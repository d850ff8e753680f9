// SPDX-License-Identifier: BSD-3-Clause
// macOS has no pidfd (Go: os/pidfd_other.go): the process layer waits
// through its SIGCHLD fallback and signals with kill(2) before the reap.
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "process_internal.h"

namespace gort::internal {

bool PidfdAvailable() { return false; }

absl::StatusOr<int> PidfdOpen(int64_t) {
  return Error::FromCode(GORT_ENOSYS).ToStatus("pidfd_open");
}

absl::Status PidfdSendSignal(int, int) {
  return Error::FromCode(GORT_ENOSYS).ToStatus("pidfd_send_signal");
}

}  // namespace gort::internal
