// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for versions and errors: argument checks, then the C++ core.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "capi.h"
#include "error_internal.h"
#include "gort.h"
#include "gort/errno.h"

namespace {

using gort::ErrorSpace;
using gort::capi::ExceptionToCode;

static_assert(GORT_ERRSPACE_PORTABLE ==
              static_cast<int>(ErrorSpace::kPortable));
static_assert(GORT_ERRSPACE_LINUX == static_cast<int>(ErrorSpace::kLinux));
static_assert(GORT_ERRSPACE_DARWIN == static_cast<int>(ErrorSpace::kDarwin));
static_assert(GORT_ERRSPACE_WINDOWS == static_cast<int>(ErrorSpace::kWindows));
using gort::internal::ErrorEntry;
using gort::internal::ErrorTable;

#define GORT_STR2(x) #x
#define GORT_STR(x) GORT_STR2(x)

const ErrorTable* CheckedTable(int space) {
  if (space < GORT_ERRSPACE_PORTABLE || space > GORT_ERRSPACE_WINDOWS) {
    return nullptr;
  }
  return gort::internal::TableFor(static_cast<ErrorSpace>(space));
}

bool SizeOk(const gort_syserr_t* out) {
  return out != nullptr && out->size >= sizeof(gort_syserr_t);
}

void Fill(int space, const ErrorEntry& e, gort_syserr_t* out) {
  out->space = space;
  out->code = e.portable;
  out->raw = e.raw;
  out->name = e.name;
  out->message = e.message;
}

}  // namespace

extern "C" {

unsigned gort_version(void) try { return GORT_VERSION_HEX; } catch (...) {
  return GORT_VERSION_HEX;  // a constant: nothing throws
}

const char* gort_version_string(void) try {
  return GORT_STR(GORT_VERSION_MAJOR) "." GORT_STR(
      GORT_VERSION_MINOR) "." GORT_STR(GORT_VERSION_PATCH);
} catch (...) {
  return "?";  // a literal: nothing throws
}

const char* gort_strerror(int code) try {
  return gort::ErrorCodeMessage(code);
} catch (...) {
  return "unknown error";
}

const char* gort_err_name(int code) try {
  return gort::ErrorCodeName(code);
} catch (...) {
  return "EUNKNOWN";
}

gort_errspace_t gort_err_native_space(void) try {
  return static_cast<gort_errspace_t>(gort::NativeErrorSpace());
} catch (...) {
  return static_cast<gort_errspace_t>(GORT_ERRSPACE_PORTABLE);  // never
}

int gort_err_from_sys(int64_t raw) try {
  return gort::internal::Translate(gort::NativeErrorSpace(), raw);
} catch (...) {
  return ExceptionToCode();
}

int gort_syserr_lookup(int space, int64_t raw, gort_syserr_t* out) try {
  const ErrorTable* table = CheckedTable(space);
  if (table == nullptr || !SizeOk(out)) return GORT_EINVAL;
  const ErrorEntry* e = gort::internal::FindRaw(*table, raw);
  if (e == nullptr) {
    out->space = space;
    out->code = raw == 0 ? GORT_OK : GORT_EUNKNOWN;
    out->raw = raw;
    out->name = raw == 0 ? "OK" : "EUNKNOWN";
    out->message = raw == 0 ? "success" : "unknown error";
    return raw == 0 ? 0 : GORT_ENOENT;
  }
  Fill(space, *e, out);
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_syserr_by_name(int space, const char* name, gort_syserr_t* out) try {
  const ErrorTable* table = CheckedTable(space);
  if (table == nullptr || name == nullptr || !SizeOk(out)) return GORT_EINVAL;
  const ErrorEntry* e = gort::internal::FindName(*table, name);
  if (e == nullptr) return GORT_ENOENT;
  Fill(space, *e, out);
  // An alias answers with its own name, and its value's code and message.
  const gort::internal::ErrorAlias* alias =
      gort::internal::FindAlias(*table, name);
  if (alias != nullptr) out->name = alias->name;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_syserr_at(int space, size_t index, gort_syserr_t* out) try {
  const ErrorTable* table = CheckedTable(space);
  if (table == nullptr || !SizeOk(out)) return GORT_EINVAL;
  if (index >= table->size) return GORT_ERANGE;
  Fill(space, table->entries[index], out);
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_syserr_alias_at(int space, size_t index, gort_syserr_t* out) try {
  const ErrorTable* table = CheckedTable(space);
  if (table == nullptr || !SizeOk(out)) return GORT_EINVAL;
  if (index >= table->alias_count) return GORT_ERANGE;
  const gort::internal::ErrorAlias& alias = table->aliases[index];
  const ErrorEntry* e = gort::internal::FindRaw(*table, alias.raw);
  if (e == nullptr) return GORT_ENOENT;  // never: the generator checks
  Fill(space, *e, out);
  out->name = alias.name;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

}  // extern "C"
