/* gort: Go's runtime portability layer, C ABI.
 *
 * This is the only interface the shared library exports. It compiles as C99
 * and as C++, and cgo can link it.
 *
 * ABI rules (see DESIGN.md, "The C ABI"):
 *  - Every symbol is gort_-prefixed; everything else in the library is hidden.
 *  - Calls that can fail return 0 or a negative portable error code
 *    (GORT_E*, see gort_errno.h); no C++ exception ever crosses this boundary.
 *  - Arguments are checked: NULL pointers, bad sizes and out-of-range values
 *    give GORT_EINVAL (or the code named by the call), never a crash.
 *  - Structs that may grow begin with a `size` field the caller sets to
 *    sizeof(the struct); the library writes no further than that.
 *  - Times are int64_t nanoseconds.
 *  - Handles are opaque and carry a generation, so using a closed handle is
 *    an error code, never undefined behaviour.
 *
 * Thread safety: every function declared here may be called from any thread
 * at any time; the strings returned are static and never freed.
 */
#ifndef GORT_H_
#define GORT_H_

#include <stddef.h>
#include <stdint.h>

#include "gort_errno.h"

/** @defgroup gort_abi The C ABI
 *  @{
 */

/** Major version: bumped on ABI breaks (it is the shared library's SONAME). */
#define GORT_VERSION_MAJOR 0
/** Minor version: bumped when functions are added. */
#define GORT_VERSION_MINOR 1
/** Patch version: bumped on fixes. */
#define GORT_VERSION_PATCH 0
/** The version as one number, 0xMMmmpp, comparable with gort_version(). */
#define GORT_VERSION_HEX \
  ((GORT_VERSION_MAJOR << 16) | (GORT_VERSION_MINOR << 8) | GORT_VERSION_PATCH)

/** @cond GORT_INTERNAL */
#if defined(_WIN32) || defined(__CYGWIN__)
#if defined(GORT_BUILDING_SHARED)
#define GORT_EXTERN __declspec(dllexport)
#elif defined(GORT_SHARED)
#define GORT_EXTERN __declspec(dllimport)
#else
#define GORT_EXTERN
#endif
#elif defined(__GNUC__)
#define GORT_EXTERN __attribute__((visibility("default")))
#else
#define GORT_EXTERN
#endif
/** @endcond */

#ifdef __cplusplus
extern "C" {
#endif

/** The library's version as GORT_VERSION_HEX was when it was built: compare
 *  it with the header's GORT_VERSION_HEX to detect a mismatched library. */
GORT_EXTERN unsigned gort_version(void);

/** The library's version as "MAJOR.MINOR.PATCH". Static storage. */
GORT_EXTERN const char* gort_version_string(void);

/** The message for a portable error code (GORT_E*), lower-case, e.g.
 *  "no such file or directory". An unknown code gives "unknown error";
 *  never NULL. Static storage. */
GORT_EXTERN const char* gort_strerror(int code);

/** The name of a portable error code without its GORT_ prefix, e.g.
 *  "ENOENT"; 0 gives "OK", an unknown code "EUNKNOWN". Never NULL. */
GORT_EXTERN const char* gort_err_name(int code);

/** The families of raw OS error values gort knows. A raw value only means
 *  something together with its space: 35 is EAGAIN on Darwin and EDEADLK on
 *  Linux. */
typedef enum gort_errspace {
  GORT_ERRSPACE_PORTABLE = 0, /**< gort's own GORT_E* codes */
  GORT_ERRSPACE_LINUX = 1,    /**< Linux errno (asm-generic values) */
  GORT_ERRSPACE_DARWIN = 2,   /**< macOS errno */
  GORT_ERRSPACE_WINDOWS = 3   /**< Win32 ERROR_* and Winsock WSA* codes */
} gort_errspace_t;

/** The error space of the OS this library was built for: what errno holds on
 *  Linux and macOS, what GetLastError()/WSAGetLastError() return on Windows. */
GORT_EXTERN gort_errspace_t gort_err_native_space(void);

/** Maps a raw error of the running OS (errno; GetLastError() or
 *  WSAGetLastError() on Windows) to its portable code: 0 for 0, GORT_EUNKNOWN
 *  for a value with no portable equivalent. WSAECONNRESET and ECONNRESET both
 *  give GORT_ECONNRESET. Never fails. */
GORT_EXTERN int gort_err_from_sys(int64_t raw);

/** One raw OS error, as described by gort_syserr_lookup(). */
typedef struct gort_syserr {
  size_t size;      /**< in: sizeof(gort_syserr_t) */
  int space;        /**< gort_errspace_t of `raw` */
  int code;         /**< the portable code it maps to (GORT_EUNKNOWN if none) */
  int64_t raw;      /**< the OS's own value */
  const char* name; /**< e.g. "ERROR_FILE_NOT_FOUND"; static storage */
  const char* message; /**< e.g. "file not found"; static storage */
} gort_syserr_t;

/** Describes raw error `raw` of error space `space`, whatever OS this runs on.
 *  @return 0; GORT_EINVAL if `out` is NULL, its size too small or `space`
 *  unknown; GORT_ENOENT if the space has no such value (`out->code` is then
 *  GORT_EUNKNOWN and the strings describe an unknown error). */
GORT_EXTERN int gort_syserr_lookup(int space, int64_t raw, gort_syserr_t* out);

/** Finds a raw error by name ("WSAECONNRESET", "EAGAIN") in error space
 *  `space`. @return 0, GORT_EINVAL for bad arguments, GORT_ENOENT if the
 *  space has no error of that name. */
GORT_EXTERN int gort_syserr_by_name(int space, const char* name,
                                    gort_syserr_t* out);

/** The `index`-th error of space `space`, in ascending raw order, for listing
 *  a whole table. @return 0, GORT_EINVAL for bad arguments, GORT_ERANGE when
 *  `index` is past the end. */
GORT_EXTERN int gort_syserr_at(int space, size_t index, gort_syserr_t* out);

/** What gort knows of the platform it runs on. */
typedef struct gort_platform_info {
  size_t size;   /**< in: sizeof(gort_platform_info_t) */
  char os[16];   /**< GOOS of this build: "linux", "darwin", "windows" */
  char arch[16]; /**< GOARCH of this build: "amd64", "arm64", "riscv64" */
  char
      os_version[128]; /**< e.g. "Linux 6.1.0-18-amd64", "Windows 10.0.19045" */
  char machine[32];    /**< the machine as the OS reports it ("x86_64"); under
                            an emulator this is the host's */
  char emulator[64];   /**< "" natively; "qemu-user" or "wine 8.0" when
                            detected */
  int64_t page_size;   /**< bytes; 0 if unknown */
  int32_t cpu_count;   /**< CPUs this process may run on; 0 if unknown */
} gort_platform_info_t;

/** Fills `out` with the platform report's basic facts. @return 0, or
 *  GORT_EINVAL if `out` is NULL or its size too small. */
GORT_EXTERN int gort_platform_query(gort_platform_info_t* out);


/** @name Clocks and sleep
 *  Go: nanotime, walltime, usleep. See include/gort/time.h for the source of
 *  each clock per OS.
 *  @{ */

/** Monotonic time in nanoseconds since an arbitrary fixed point; never goes
 *  backwards. Every gort deadline is a value of this clock. */
GORT_EXTERN int64_t gort_nanotime(void);

/** Calendar time in nanoseconds since 1970-01-01 00:00:00 UTC. */
GORT_EXTERN int64_t gort_walltime(void);

/** Sleeps at least `ns` nanoseconds (returns at once for `ns` <= 0), with
 *  sub-millisecond precision. @return 0, or the OS's error. */
GORT_EXTERN int gort_sleep(int64_t ns);

/** @} */

/** @name Timer heaps
 *  A 4-ary heap of timers with Go 1.23 semantics (see include/gort/timer.h):
 *  reset and stop report whether the timer was pending, nothing fires after
 *  they return, equal deadlines fire in arming order, periodic timers skip
 *  missed ticks. A timer runs a callback or hands back a token from
 *  gort_timers_run(). Every function may be called from any thread, also
 *  while another thread runs gort_timers_run(). Stale handles (a removed
 *  timer, a freed heap) give GORT_EBADF.
 *  @{ */

/** A timer heap's handle; 0 is never valid. */
typedef uint64_t gort_timers_t;
/** A timer's handle within its heap; 0 is never valid. */
typedef uint64_t gort_timer_t;
/** A timer callback: `arg` as given to gort_timer_add(), `now` as given to
 *  gort_timers_run(). It runs without the heap's lock and may start, stop,
 *  reset or remove timers, its own included. */
typedef void (*gort_timer_fn)(void* arg, int64_t now);

/** Creates a timer heap. @return 0, GORT_EINVAL if `out` is NULL,
 *  GORT_EMFILE if 4096 heaps exist, GORT_ENOMEM. */
GORT_EXTERN int gort_timers_new(gort_timers_t* out);

/** Frees a heap and its timers; the caller must make sure no other thread
 *  still uses it. @return 0 or GORT_EBADF. */
GORT_EXTERN int gort_timers_free(gort_timers_t heap);

/** Adds an unarmed timer that calls `fn(arg, now)` when it fires.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `fn` or `out` is NULL. */
GORT_EXTERN int gort_timer_add(gort_timers_t heap, gort_timer_fn fn, void* arg,
                               gort_timer_t* out);

/** Adds an unarmed timer that hands `token` back from gort_timers_run().
 *  @return 0, GORT_EBADF, GORT_EINVAL if `out` is NULL. */
GORT_EXTERN int gort_timer_add_token(gort_timers_t heap, uintptr_t token,
                                     gort_timer_t* out);

/** Arms timer `t` to fire at `when` (a gort_nanotime() value), then every
 *  `period` ns if `period` > 0; `*was_pending` (if not NULL) says whether it
 *  was pending. Waits for the timer's callback if another thread runs it.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `period` < 0. */
GORT_EXTERN int gort_timer_reset(gort_timers_t heap, gort_timer_t t,
                                 int64_t when, int64_t period,
                                 int* was_pending);

/** Disarms timer `t`; `*was_pending` (if not NULL) says whether it was
 *  pending. When it returns, the timer's callback is not running (unless
 *  called from that callback) and will not run. @return 0 or GORT_EBADF. */
GORT_EXTERN int gort_timer_stop(gort_timers_t heap, gort_timer_t t,
                                int* was_pending);

/** Stops and removes timer `t`; its handle becomes stale.
 *  @return 0 or GORT_EBADF. */
GORT_EXTERN int gort_timer_remove(gort_timers_t heap, gort_timer_t t);

/** The nearest pending deadline, -1 if none: what bounds a poller's wait.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `when` is NULL. */
GORT_EXTERN int gort_timers_next_when(gort_timers_t heap, int64_t* when);

/** Fires every timer due at `now`: runs callbacks, stores tokens in
 *  `tokens[0..capacity)` and their count in `*n`; `*next_when` (if not NULL)
 *  receives the next deadline, -1 if none, <= `now` if `tokens` filled up
 *  (call again). @return 0, GORT_EBADF, GORT_EINVAL if `n` is NULL or
 *  `tokens` is NULL with a non-zero capacity. */
GORT_EXTERN int gort_timers_run(gort_timers_t heap, int64_t now,
                                uintptr_t* tokens, size_t capacity, size_t* n,
                                int64_t* next_when);

/** @} */

#ifdef __cplusplus
} /* extern "C" */
#endif

/** @} */

#endif /* GORT_H_ */
