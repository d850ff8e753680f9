/* SPDX-License-Identifier: BSD-3-Clause */
/* Empty on purpose (workaround W1 in shared/reference/cross-targets.md):
 * Abseil includes <pthread.h> whenever __MINGW32__ is defined, and Zig's
 * mingw-w64 has no winpthreads. Abseil is built with
 * ABSL_FORCE_THREAD_IDENTITY_MODE=2 (thread_local), so nothing from it is used.
 */
