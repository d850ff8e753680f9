// SPDX-License-Identifier: BSD-3-Clause
// Portable errors: every OS error keeps its raw value and maps to one
// portable code (Go: syscall.Errno and Errno.Is; zerrors_*.go).
//
// A gort::Error is a value: the portable GORT_E* code, the raw value and the
// error space the raw value belongs to. ToStatus() turns it into an
// absl::Status whose code follows the portable code and whose payload keeps
// the raw value, so callers above can still tell WSAECONNRESET from
// ECONNRESET when they need to, and ignore the difference when they do not.
//
// Thread safety: everything here is a pure function of its arguments, except
// Error::Last(), which reads the calling thread's errno / GetLastError().
#ifndef GORT_GORT_ERRNO_H_
#define GORT_GORT_ERRNO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gort/error_codes.h"

namespace gort {

/// The family a raw OS error value belongs to. The C ABI's gort_errspace_t
/// has the same values (checked where the C ABI is compiled).
enum class ErrorSpace : int {
  kPortable = 0,  ///< gort's GORT_E* codes
  kLinux = 1,     ///< Linux errno
  kDarwin = 2,    ///< macOS errno
  kWindows = 3,   ///< Win32 ERROR_* and Winsock WSA*
};

/// The error space of the OS this build targets.
ErrorSpace NativeErrorSpace();

/// "portable", "linux", "darwin" or "windows".
std::string_view ErrorSpaceName(ErrorSpace space);

/// The type URL under which ToStatus() stores the raw error in the status
/// payload. Its value is "<space>:<raw>", e.g. "windows:10054".
inline constexpr char kErrorPayloadUrl[] = "gort.dev/gort.Error";

/// An OS error: its portable code plus the raw value it came from.
class Error {
 public:
  /// No error (GORT_OK).
  constexpr Error() = default;

  /// The raw value `raw` of error space `space`, mapped to its portable code
  /// (GORT_EUNKNOWN when it has none; 0 stays 0).
  static Error FromRaw(ErrorSpace space, int64_t raw);

  /// A raw error of the running OS (errno; GetLastError() or
  /// WSAGetLastError() on Windows).
  static Error FromSys(int64_t raw) { return FromRaw(NativeErrorSpace(), raw); }

  /// The calling thread's last OS error: errno on Linux and macOS,
  /// GetLastError() on Windows.
  static Error Last();

  /// An error known only by its portable code (e.g. one gort raises itself).
  static Error FromCode(int code);

  /// The portable code: 0 or a negative GORT_E* value.
  int code() const { return code_; }
  /// The raw value in space(); for FromCode() errors, the code itself.
  int64_t raw() const { return raw_; }
  /// The space raw() belongs to.
  ErrorSpace space() const { return space_; }
  /// True when this holds no error.
  bool ok() const { return code_ == 0; }

  /// The portable code's name, e.g. "ENOENT".
  std::string_view name() const;
  /// The portable code's message, e.g. "no such file or directory".
  std::string_view message() const;
  /// The raw value's own name, e.g. "ERROR_PATH_NOT_FOUND" or "ENOENT";
  /// empty if the space has no such value.
  std::string_view raw_name() const;

  /// "no such file or directory (ENOENT; windows ERROR_PATH_NOT_FOUND=3)";
  /// the raw part is left out when it adds nothing (portable errors).
  std::string ToString() const;

  /// An absl::Status with a code that follows the portable code (ENOENT ->
  /// kNotFound, EACCES -> kPermissionDenied, ...), the message
  /// "<context>: <ToString()>" and the raw value as payload. OK for no error.
  absl::Status ToStatus(std::string_view context = {}) const;

  /// The error ToStatus() stored in `status`, if any.
  static std::optional<Error> FromStatus(const absl::Status& status);

  /// Equal when code, raw value and space are all equal.
  friend bool operator==(const Error& a, const Error& b) {
    return a.code_ == b.code_ && a.raw_ == b.raw_ && a.space_ == b.space_;
  }

 private:
  constexpr Error(int code, int64_t raw, ErrorSpace space)
      : code_(code), raw_(raw), space_(space) {}

  int code_ = 0;
  int64_t raw_ = 0;
  ErrorSpace space_ = ErrorSpace::kPortable;
};

/// The absl::StatusCode that best matches portable code `code`.
absl::StatusCode StatusCodeFor(int code);

/// The name of portable code `code` without the GORT_ prefix ("ENOENT"):
/// "OK" for 0, "EUNKNOWN" for a value that is no portable code. Static
/// storage, NUL-terminated.
const char* ErrorCodeName(int code);

/// The message of portable code `code` ("no such file or directory"):
/// "success" for 0, "unknown error" for a value that is no portable code.
/// Static storage, NUL-terminated.
const char* ErrorCodeMessage(int code);

}  // namespace gort

#endif  // GORT_GORT_ERRNO_H_
