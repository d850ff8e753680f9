// SPDX-License-Identifier: BSD-3-Clause
// The C ABI's status mapper and exception guard (capi.h).
#include "capi.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>
#include <optional>

#include "absl/status/status.h"
#include "gort.h"
#include "gort/errno.h"
#include "handle_table.h"

namespace gort::capi {

int StatusToCode(const absl::Status& s) {
  if (s.ok()) return GORT_OK;
  if (std::optional<Error> e = Error::FromStatus(s)) {
    return e->code() != GORT_OK ? e->code() : GORT_EUNKNOWN;
  }
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
      return GORT_EINVAL;
    case absl::StatusCode::kNotFound:
      return GORT_EBADF;
    case absl::StatusCode::kOutOfRange:
      return GORT_ERANGE;
    case absl::StatusCode::kUnimplemented:
      return GORT_ENOSYS;
    case absl::StatusCode::kResourceExhausted:
      return GORT_ENOMEM;
    case absl::StatusCode::kDeadlineExceeded:
      return GORT_ETIMEDOUT;
    case absl::StatusCode::kCancelled:
      return GORT_ECANCELED;
    case absl::StatusCode::kAlreadyExists:
      return GORT_EEXIST;
    case absl::StatusCode::kPermissionDenied:
      return GORT_EPERM;
    case absl::StatusCode::kUnavailable:
      return GORT_EAGAIN;
    default:
      return GORT_EUNKNOWN;
  }
}

int ExceptionToCode() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {  // bad_array_new_length included
    return GORT_ENOMEM;
  } catch (...) {
    return GORT_EUNKNOWN;
  }
}

}  // namespace gort::capi

namespace gort::internal {

uint32_t RandomOddGeneration() {
  // splitmix64 over the clock, a per-process address (ASLR) and a counter:
  // unpredictable enough that two tables, or two runs, do not start alike.
  static std::atomic<uint64_t> calls{0};
  uint64_t x = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  x ^= reinterpret_cast<uintptr_t>(&calls) * 0x9e3779b97f4a7c15u;
  x += calls.fetch_add(1, std::memory_order_relaxed) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  x ^= x >> 31;
  return static_cast<uint32_t>(x >> 32) | 1u;
}

}  // namespace gort::internal
