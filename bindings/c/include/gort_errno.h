/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file gort_errno.h
 * @brief gort's portable error codes, for C programs.
 *
 * The codes belong to the core and are generated into gort/error_codes.h
 * (tools/gen_errors.py); this header only includes it, so the C ABI and the
 * C++ API can never disagree on a value. Plain C99 and C++.
 */
#ifndef GORT_ERRNO_H_
#define GORT_ERRNO_H_

#include "gort/error_codes.h"

#endif /* GORT_ERRNO_H_ */
