// SPDX-License-Identifier: BSD-3-Clause
// Portable errors, written once for every OS (Go: syscall.Errno, Errno.Is).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "error_internal.h"
#include "gort/errno.h"

namespace gort {
namespace internal {

const ErrorTable* TableFor(ErrorSpace space) {
  switch (space) {
    case ErrorSpace::kPortable:
      return &kPortableErrors;
    case ErrorSpace::kLinux:
      return &kLinuxErrors;
    case ErrorSpace::kDarwin:
      return &kDarwinErrors;
    case ErrorSpace::kWindows:
      return &kWindowsErrors;
  }
  return nullptr;
}

const ErrorEntry* FindRaw(const ErrorTable& table, int64_t raw) {
  const ErrorEntry* end = table.entries + table.size;
  const ErrorEntry* it = std::lower_bound(
      table.entries, end, raw,
      [](const ErrorEntry& e, int64_t v) { return e.raw < v; });
  return it != end && it->raw == raw ? it : nullptr;
}

const ErrorEntry* FindName(const ErrorTable& table, std::string_view name) {
  for (size_t i = 0; i < table.size; ++i) {
    if (name == table.entries[i].name) return &table.entries[i];
  }
  const ErrorAlias* alias = FindAlias(table, name);
  return alias != nullptr ? FindRaw(table, alias->raw) : nullptr;
}

const ErrorAlias* FindAlias(const ErrorTable& table, std::string_view name) {
  for (size_t i = 0; i < table.alias_count; ++i) {
    if (name == table.aliases[i].name) return &table.aliases[i];
  }
  return nullptr;
}

int Translate(ErrorSpace space, int64_t raw) {
  if (raw == 0) return GORT_OK;
  const ErrorTable* table = TableFor(space);
  if (table == nullptr) return GORT_EUNKNOWN;
  const ErrorEntry* e = FindRaw(*table, raw);
  return e != nullptr ? e->portable : GORT_EUNKNOWN;
}

}  // namespace internal

namespace {

// Names of ErrorSpace values, indexed by the enum's value.
constexpr std::string_view kSpaceNames[] = {"portable", "linux", "darwin",
                                            "windows"};

std::optional<ErrorSpace> SpaceFromName(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kSpaceNames[i] == name) return static_cast<ErrorSpace>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view ErrorSpaceName(ErrorSpace space) {
  int i = static_cast<int>(space);
  return i >= 0 && i < 4 ? kSpaceNames[i] : std::string_view("invalid");
}

Error Error::FromRaw(ErrorSpace space, int64_t raw) {
  return Error(internal::Translate(space, raw), raw, space);
}

Error Error::Last() { return FromSys(internal::LastSysError()); }

Error Error::FromCode(int code) {
  return Error(code, code, ErrorSpace::kPortable);
}

const char* ErrorCodeName(int code) {
  if (code == GORT_OK) return "OK";
  const internal::ErrorEntry* e =
      internal::FindRaw(internal::kPortableErrors, code);
  return e != nullptr ? e->name : "EUNKNOWN";
}

const char* ErrorCodeMessage(int code) {
  if (code == GORT_OK) return "success";
  const internal::ErrorEntry* e =
      internal::FindRaw(internal::kPortableErrors, code);
  return e != nullptr ? e->message : "unknown error";
}

std::string_view Error::name() const { return ErrorCodeName(code_); }

std::string_view Error::message() const { return ErrorCodeMessage(code_); }

std::string_view Error::raw_name() const {
  const internal::ErrorTable* table = internal::TableFor(space_);
  if (table == nullptr) return {};
  const internal::ErrorEntry* e = internal::FindRaw(*table, raw_);
  return e != nullptr ? std::string_view(e->name) : std::string_view();
}

std::string Error::ToString() const {
  // Plain std::string concatenation: Debian's Abseil has an absl::string_view
  // of its own, which absl::StrCat will not take from std::string_view.
  std::string s(message());
  s += " (";
  s += name();
  if (space_ != ErrorSpace::kPortable) {
    std::string_view rn = raw_name();
    s += "; ";
    s += ErrorSpaceName(space_);
    s += " ";
    s += rn.empty() ? std::string_view("raw") : rn;
    s += '=';
    s += std::to_string(raw_);
  }
  s += ")";
  return s;
}

absl::Status Error::ToStatus(std::string_view context) const {
  if (ok()) return absl::OkStatus();
  std::string msg(context);
  if (!msg.empty()) msg += ": ";
  msg += ToString();
  absl::Status status(StatusCodeFor(code_), msg);
  std::string payload(ErrorSpaceName(space_));
  payload += ':';
  payload += std::to_string(raw_);
  status.SetPayload(kErrorPayloadUrl, absl::Cord(payload));
  return status;
}

std::optional<Error> Error::FromStatus(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  std::pair<std::string, std::string> parts =
      absl::StrSplit(std::string(*payload), absl::MaxSplits(':', 1));
  std::optional<ErrorSpace> space = SpaceFromName(parts.first);
  // Only what ToStatus() writes: digits with an optional minus sign.
  if (parts.second.empty() ||
      parts.second.find_first_not_of("-0123456789") != std::string::npos) {
    return std::nullopt;
  }
  int64_t raw = 0;
  if (!space.has_value() || !absl::SimpleAtoi(parts.second, &raw)) {
    return std::nullopt;
  }
  if (*space == ErrorSpace::kPortable) {
    return FromCode(static_cast<int>(raw));
  }
  return FromRaw(*space, raw);
}

absl::StatusCode StatusCodeFor(int code) {
  switch (code) {
    case GORT_OK:
      return absl::StatusCode::kOk;
    case GORT_ENOENT:
    case GORT_ENXIO:
    case GORT_ENODEV:
    case GORT_ESRCH:
      return absl::StatusCode::kNotFound;
    case GORT_EEXIST:
    case GORT_EADDRINUSE:
      return absl::StatusCode::kAlreadyExists;
    case GORT_EPERM:
    case GORT_EACCES:
    case GORT_EROFS:
      return absl::StatusCode::kPermissionDenied;
    case GORT_EINVAL:
    case GORT_EBADF:
    case GORT_ENOTDIR:
    case GORT_EISDIR:
    case GORT_ENAMETOOLONG:
    case GORT_EFAULT:
    case GORT_ENOTSOCK:
    case GORT_EAFNOSUPPORT:
      return absl::StatusCode::kInvalidArgument;
    case GORT_ERANGE:
    case GORT_EOVERFLOW:
    case GORT_EFBIG:
      return absl::StatusCode::kOutOfRange;
    case GORT_ENOMEM:
    case GORT_ENOSPC:
    case GORT_EMFILE:
    case GORT_ENFILE:
    case GORT_ENOBUFS:
    case GORT_EDQUOT:
      return absl::StatusCode::kResourceExhausted;
    case GORT_EAGAIN:
    case GORT_EINTR:
    case GORT_EBUSY:
    case GORT_ECONNREFUSED:
    case GORT_ECONNRESET:
    case GORT_ECONNABORTED:
    case GORT_ENETUNREACH:
    case GORT_EHOSTUNREACH:
    case GORT_ENETDOWN:
    case GORT_EPIPE:
      return absl::StatusCode::kUnavailable;
    case GORT_ETIMEDOUT:
      return absl::StatusCode::kDeadlineExceeded;
    case GORT_ECANCELED:
      return absl::StatusCode::kCancelled;
    case GORT_ENOSYS:
    case GORT_EOPNOTSUPP:
    case GORT_EPROTONOSUPPORT:
      return absl::StatusCode::kUnimplemented;
    case GORT_ENOTEMPTY:
    case GORT_EISCONN:
    case GORT_ENOTCONN:
    case GORT_EALREADY:
    case GORT_EINPROGRESS:
    case GORT_EDEADLK:
      return absl::StatusCode::kFailedPrecondition;
    case GORT_EOF:
      return absl::StatusCode::kOutOfRange;
    default:
      return absl::StatusCode::kUnknown;
  }
}

}  // namespace gort
