// SPDX-License-Identifier: BSD-3-Clause
// What every C ABI entry point shares: the one mapping from the core's
// absl::Status to a portable GORT_E* code, and the guard that keeps C++
// exceptions from crossing the C ABI (docs/design.md, "The C ABI").
//
// The guard is a function-try-block around each entry point's body, so the
// body keeps its indentation:
//
//   int gort_x(...) try {
//     ...body...
//   } catch (...) {
//     return gort::capi::ExceptionToCode();
//   }
//
// Entry points returning a pointer or a value return their documented
// failure value from the handler instead.
#ifndef GORT_BINDINGS_C_SRC_CAPI_H_
#define GORT_BINDINGS_C_SRC_CAPI_H_

#include "absl/status/status.h"

namespace gort::capi {

// The portable code of `s`: 0 for OK; the code of the gort::Error a status
// made by the core carries (GORT_EUNKNOWN if that code is 0); otherwise the
// code closest to its absl::StatusCode. kNotFound without a gort::Error is
// a stale handle (TimerHeap's), hence GORT_EBADF.
int StatusToCode(const absl::Status& s);

// The code for the exception being handled: GORT_ENOMEM for std::bad_alloc
// (and its kin), GORT_EUNKNOWN for anything else. Call it only from a catch
// handler.
int ExceptionToCode() noexcept;

}  // namespace gort::capi

#endif  // GORT_BINDINGS_C_SRC_CAPI_H_
