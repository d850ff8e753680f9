// SPDX-License-Identifier: BSD-3-Clause
// Signal facts on Windows: no POSIX signals reach a process; console control
// events stand in for them, mapped as Go maps them (signal_windows.go).
#include <signal.h>

#include "gort/sysinfo.h"

namespace gort {

SignalFacts GetSignalFacts() {
  SignalFacts f;
  f.count = NSIG;  // the C runtime's signal() numbers, raised in-process only
  f.delivery =
      "console control events: CTRL_C, CTRL_BREAK -> SIGINT; CTRL_CLOSE, "
      "CTRL_LOGOFF, CTRL_SHUTDOWN -> SIGTERM";
  return f;
}

}  // namespace gort
