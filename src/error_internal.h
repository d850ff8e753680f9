// SPDX-License-Identifier: BSD-3-Clause
// Lookups in the error tables, shared by the C++ API (src/error.cc) and the
// C ABI (bindings/c). Pure functions of static data: safe from any thread.
#ifndef GORT_SRC_ERROR_INTERNAL_H_
#define GORT_SRC_ERROR_INTERNAL_H_

#include <cstdint>
#include <string_view>

#include "gort/errno.h"
#include "tables/error_tables.h"

namespace gort::internal {

// The table of `space`, or nullptr for a value outside ErrorSpace.
const ErrorTable* TableFor(ErrorSpace space);

// The entry for `raw` (binary search), or nullptr.
const ErrorEntry* FindRaw(const ErrorTable& table, int64_t raw);

// The entry named `name` (exact, case-sensitive), or nullptr. An alias
// (EWOULDBLOCK) finds the entry of its value (EAGAIN's).
const ErrorEntry* FindName(const ErrorTable& table, std::string_view name);

// The alias named `name`, or nullptr (also for the entries' own names).
const ErrorAlias* FindAlias(const ErrorTable& table, std::string_view name);

// The portable code for `raw` in `space`: 0 for 0, GORT_EUNKNOWN when the
// space has no such value or it has no portable equivalent.
int Translate(ErrorSpace space, int64_t raw);

// The calling thread's last OS error (errno, GetLastError()). Per OS.
int64_t LastSysError();

}  // namespace gort::internal

#endif  // GORT_SRC_ERROR_INTERNAL_H_
