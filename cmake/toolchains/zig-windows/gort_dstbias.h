/* SPDX-License-Identifier: BSD-3-Clause */
/* Workaround W2 (shared/reference/cross-targets.md): Zig 0.11's arm64 msvcrt
 * import library exports only the __dstbias() accessor, not the _dstbias
 * variable that mingw's <time.h> declares. Force-included on that target. */
#ifndef GORT_ZIG_DSTBIAS_H_
#define GORT_ZIG_DSTBIAS_H_
#ifdef __cplusplus
extern "C" {
#endif
long* __cdecl __dstbias(void);
#ifdef __cplusplus
}
#endif
#define _dstbias (*__dstbias())
#endif
