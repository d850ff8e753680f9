/* SPDX-License-Identifier: BSD-3-Clause */
/* gort: Go's runtime portability layer, C ABI.
 *
 * This is the only interface the shared library exports. It compiles as C99
 * and as C++, and cgo can link it.
 *
 * ABI rules (see docs/design.md, "The C ABI"):
 *  - Every symbol is gort_-prefixed; everything else in the library is hidden.
 *  - Calls that can fail return 0 or a negative portable error code
 *    (GORT_E*, see gort_errno.h); no C++ exception ever crosses this boundary.
 *  - Arguments are checked: NULL pointers, bad sizes and out-of-range values
 *    give GORT_EINVAL (or the code named by the call), never a crash.
 *  - Structs that may grow begin with a `size` field the caller sets to
 *    sizeof(the struct); the library writes no further than that.
 *  - Times are int64_t nanoseconds.
 *  - Handles are opaque and carry a generation, so using a closed handle is
 *    an error code (GORT_EBADF), never undefined behaviour, also when another
 *    thread closes it during the call: closing waits for the calls in flight.
 *    A handle of one kind (a poller's) is never accepted as another (a timer
 *    heap's), nor by another object of its kind.
 *  - No C++ exception leaves a call: running out of memory is GORT_ENOMEM.
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
 *  `space`. An alias the OS headers define ("EWOULDBLOCK", "ENOTSUP" on
 *  Linux, "ELAST" on Darwin, "WSA_IO_PENDING") is found too: `out->name` is
 *  the alias, the rest that of its value. @return 0, GORT_EINVAL for bad
 *  arguments, GORT_ENOENT if the space has no error of that name. */
GORT_EXTERN int gort_syserr_by_name(int space, const char* name,
                                    gort_syserr_t* out);

/** The `index`-th error of space `space`, in ascending raw order, for listing
 *  a whole table. @return 0, GORT_EINVAL for bad arguments, GORT_ERANGE when
 *  `index` is past the end. */
GORT_EXTERN int gort_syserr_at(int space, size_t index, gort_syserr_t* out);

/** The `index`-th alias of space `space` (a second name of a value, such as
 *  Linux's EWOULDBLOCK for EAGAIN's 11), by value: `out->name` is the alias,
 *  the rest that of its value, as gort_syserr_lookup() gives it.
 *  @return 0, GORT_EINVAL for bad arguments, GORT_ERANGE past the end. */
GORT_EXTERN int gort_syserr_alias_at(int space, size_t index,
                                     gort_syserr_t* out);

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
 *  reset and stop report whether the timer was pending (whether they
 *  prevented a fire), the previous arming never fires after they return,
 *  equal deadlines fire in arming order, periodic timers skip missed ticks.
 *  Like Go's Timer.Stop, reset, stop and remove never wait for a callback
 *  that is running; gort_timer_stop_sync() does, and refuses with
 *  GORT_EDEADLK where the wait could deadlock. One timer's callback never
 *  runs on two threads at once. A timer runs a callback or hands back a
 *  token from gort_timers_run(). Deadlines are gort_nanotime() values, never
 *  negative: -1 means "none". Every function may be called from any thread,
 *  also while another thread runs gort_timers_run(). Stale handles (a
 *  removed timer, a freed heap) and another heap's timer handles give
 *  GORT_EBADF. Running out of memory gives GORT_ENOMEM.
 *  @{ */

/** A timer heap's handle; 0 is never valid. */
typedef uint64_t gort_timers_t;
/** A timer's handle within its heap; 0 is never valid. */
typedef uint64_t gort_timer_t;
/** A timer callback: `arg` as given to gort_timer_add(), `now` as given to
 *  gort_timers_run(). It runs without the heap's lock and may start, stop,
 *  reset or remove timers, its own included, and run the heap again; it
 *  must not free its heap (gort_timers_free() then gives GORT_EBUSY). */
typedef void (*gort_timer_fn)(void* arg, int64_t now);

/** Creates a timer heap. @return 0, GORT_EINVAL if `out` is NULL,
 *  GORT_EMFILE if 4096 heaps exist, GORT_ENOMEM. */
GORT_EXTERN int gort_timers_new(gort_timers_t* out);

/** Frees a heap and its timers. Other threads may still be using it: calls
 *  that start after this one get GORT_EBADF, and it waits until the calls
 *  already under way (a gort_timers_run() with its callbacks, a
 *  gort_timer_stop() waiting for a callback) have returned.
 *  @return 0; GORT_EBADF; GORT_EBUSY, nothing freed, when called from a
 *  callback of this heap (its gort_timers_run() is on the calling thread's
 *  stack and would be waited for forever). */
GORT_EXTERN int gort_timers_free(gort_timers_t heap);

/** Adds an unarmed timer that calls `fn(arg, now)` when it fires.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `fn` or `out` is NULL,
 *  GORT_ENOMEM. */
GORT_EXTERN int gort_timer_add(gort_timers_t heap, gort_timer_fn fn, void* arg,
                               gort_timer_t* out);

/** Adds an unarmed timer that hands `token` back from gort_timers_run().
 *  @return 0, GORT_EBADF, GORT_EINVAL if `out` is NULL, GORT_ENOMEM. */
GORT_EXTERN int gort_timer_add_token(gort_timers_t heap, uintptr_t token,
                                     gort_timer_t* out);

/** Arms timer `t` to fire at `when` (a gort_nanotime() value), then every
 *  `period` ns if `period` > 0; `*was_pending` (if not NULL) says whether it
 *  was pending. Never waits: a callback of the previous arming may still be
 *  running; the new arming fires only after it has returned.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `when` or `period` < 0,
 *  GORT_ENOMEM. */
GORT_EXTERN int gort_timer_reset(gort_timers_t heap, gort_timer_t t,
                                 int64_t when, int64_t period,
                                 int* was_pending);

/** Disarms timer `t`; `*was_pending` (if not NULL) says whether it was
 *  pending, i.e. whether this call prevented a fire. Never waits (Go's
 *  Timer.Stop): a callback already running may still be running.
 *  @return 0 or GORT_EBADF. */
GORT_EXTERN int gort_timer_stop(gort_timers_t heap, gort_timer_t t,
                                int* was_pending);

/** gort_timer_stop(), then waits until the timer's callback is not running
 *  (Linux's del_timer_sync()). If the callback is running and the calling
 *  thread is itself in a timer callback (of any heap), waiting could
 *  deadlock: it then does nothing and returns GORT_EDEADLK. Do not call it
 *  while holding a lock the callback takes.
 *  @return 0, GORT_EBADF, GORT_EDEADLK. */
GORT_EXTERN int gort_timer_stop_sync(gort_timers_t heap, gort_timer_t t,
                                     int* was_pending);

/** Stops and removes timer `t`; its handle becomes stale. Never waits: a
 *  running callback finishes first, so keep its `arg` valid until then
 *  (call gort_timer_stop_sync() first if `arg` is freed after this).
 *  @return 0 or GORT_EBADF. */
GORT_EXTERN int gort_timer_remove(gort_timers_t heap, gort_timer_t t);

/** The nearest pending deadline, -1 if none: what bounds a poller's wait.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `when` is NULL. */
GORT_EXTERN int gort_timers_next_when(gort_timers_t heap, int64_t* when);

/** Grows the heap to hold `n` timers without allocating again, so that
 *  gort_timer_add() and gort_timer_reset() stay allocation-free up to
 *  `n` timers. @return 0, GORT_EBADF, GORT_ENOMEM (what was grown stays). */
GORT_EXTERN int gort_timers_reserve(gort_timers_t heap, size_t n);

/** The earlier-deadline notification (Go's netpollBreak when a timer is
 *  armed earlier than the one the poller sleeps for): `fn(arg)` is called,
 *  without the heap's lock, on the thread of a gort_timer_reset() that
 *  made the nearest deadline earlier, so an embedder sleeping until
 *  gort_timers_next_when() can wake (e.g. gort_poller_wake()). NULL `fn`
 *  clears it. May be called at any time; a reset running meanwhile calls
 *  the old or the new one. @return 0 or GORT_EBADF. */
GORT_EXTERN int gort_timers_set_earlier(gort_timers_t heap,
                                        void (*fn)(void* arg), void* arg);

/** How many due callbacks gort_timers_run() takes before it releases the
 *  heap's lock to run them, in deadline order: 1 (the default) to 64.
 *  With 1 a callback that stops a later timer of the same run keeps it
 *  from firing (Go's behaviour); with k > 1 the timers of a batch have all
 *  fired before the first callback runs, so such a stop reports "not
 *  pending" and that callback still runs (a callback must not free what
 *  another of its batch uses). One unlock and relock then serve k
 *  callbacks. @return 0, GORT_EBADF, GORT_EINVAL (`k` outside 1..64). */
GORT_EXTERN int gort_timers_set_batch(gort_timers_t heap, size_t k);

/** Owner mode (Go's per-P timer heaps): with `own` = 1 the calling thread
 *  becomes the heap's owner and its calls on the heap take no lock; with 0
 *  the heap has no owner and every call locks (the default). Other threads'
 * calls keep working: each takes the lock and waits until the owner's call
 * under way has returned. On Linux the owner's calls then need no atomic
 * read-modify-write, and the other threads' calls pay a process-wide barrier
 * (membarrier(2), microseconds) instead; elsewhere the owner saves one of two
 * atomic operations. For a heap that one thread (an event loop) nearly always
 * uses. Only the owner changes an owned heap: to hand it over, the owner calls
 * this with 0 and the next thread with 1; a thread that exits as the owner
 * leaves the heap owned (other threads' calls still work, at the owned price).
 *  @return 0, GORT_EBADF, GORT_EINVAL (`own` not 0 or 1), GORT_EBUSY
 *  (another thread owns the heap; nothing changed). */
GORT_EXTERN int gort_timers_set_owner(gort_timers_t heap, int own);

/** Fires the timers due at `now` that were armed before the call: runs
 *  callbacks, stores tokens in `tokens[0..capacity)` and their count in
 *  `*n`; `*next_when` (if not NULL) receives the next deadline, -1 if none,
 *  <= `now` if more is due (call again): `tokens` filled up, or timers were
 *  armed while it ran (a callback re-arming its timer, a periodic timer's
 *  next tick), so every call is bounded and a periodic timer fires at most
 *  once per call. @return 0, GORT_EBADF, GORT_EINVAL if `n` is NULL or
 *  `tokens` is NULL with a non-zero capacity. */
GORT_EXTERN int gort_timers_run(gort_timers_t heap, int64_t now,
                                uintptr_t* tokens, size_t capacity, size_t* n,
                                int64_t* next_when);

/** @} */

/** @name System calls
 *  Go's Syscall6 / RawSyscall6 / SyscallN on every OS, with Go's result
 *  triple {r1, r2, err} (see include/gort/syscall.h). What `trap` names
 *  depends on the OS, as in Go:
 *   - Linux: a system call number (gort_syscall_lookup()); a result in
 *     -4095..-1 is an error: r1 = -1, r2 = 0, err = its errno.
 *   - Darwin: the address of a libSystem function (e.g. `(uintptr_t)&read`),
 *     called with integer arguments; err = errno, read in the same call,
 *     when it returns -1 (as a 32-bit int; as a 64-bit value for the `x`
 *     forms), else 0.
 *   - Windows: the address of a DLL procedure (gort_dll_proc()), called
 *     through the Win64 trampoline; err = GetLastError() after the call,
 *     cleared before it, whether or not the call failed.
 *
 *  The plain calls run the embedder's enter/exit hooks around the call
 *  (Go's entersyscall/exitsyscall; gort_syscall_set_hooks()); the `raw`
 *  ones never do.
 *  @{ */

/** Go's system call result. Fixed layout (three 8-byte words); it will not
 *  grow. */
typedef struct gort_sysret {
  uintptr_t r1; /**< first return register */
  uintptr_t r2; /**< second (Linux, Darwin) or floating-point (Windows)
                     return register */
  int64_t err;  /**< raw OS error: errno, or GetLastError() on Windows; 0 for
                     none */
} gort_sysret_t;

/** The most arguments gort_syscalln() takes on this OS (as Go's
 *  syscall.SyscallN on Windows). */
#if defined(_WIN32)
#define GORT_SYSCALL_MAX_ARGS 42
#else
#define GORT_SYSCALL_MAX_ARGS 6
#endif

/** Makes a call with six arguments (pass 0 for unused ones), running the
 *  hooks around it, and stores Go's triple in `*out`.
 *  @return On Linux and Darwin: 0 when `out->err` is 0, else the portable
 *  code of `out->err` (GORT_EUNKNOWN if it has none). On Windows: 0 once the
 *  call is made (the procedure's contract says whether `out->err` counts).
 *  GORT_EINVAL, without calling, if `out` is NULL, or `trap` is 0 on Darwin
 *  or Windows. */
GORT_EXTERN int gort_syscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                              uintptr_t a3, uintptr_t a4, uintptr_t a5,
                              uintptr_t a6, gort_sysret_t* out);

/** gort_syscall6() without the hooks (Go: RawSyscall6): for calls that never
 *  block, and for the hooks themselves. Same results. */
GORT_EXTERN int gort_rawsyscall6(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                                 uintptr_t a3, uintptr_t a4, uintptr_t a5,
                                 uintptr_t a6, gort_sysret_t* out);

/** gort_syscall6() for Darwin functions returning a 64-bit value (off_t,
 *  ssize_t, pointers): err is read when r1 is -1 as a 64-bit value (Go:
 *  syscall6X). Elsewhere the same as gort_syscall6(). */
GORT_EXTERN int gort_syscall6x(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                               uintptr_t a3, uintptr_t a4, uintptr_t a5,
                               uintptr_t a6, gort_sysret_t* out);

/** gort_syscall6x() without the hooks. */
GORT_EXTERN int gort_rawsyscall6x(uintptr_t trap, uintptr_t a1, uintptr_t a2,
                                  uintptr_t a3, uintptr_t a4, uintptr_t a5,
                                  uintptr_t a6, gort_sysret_t* out);

/** Makes a call with `nargs` arguments from `args` (Go: syscall.SyscallN),
 *  running the hooks. @return as gort_syscall6(); GORT_ERANGE if `nargs`
 *  exceeds GORT_SYSCALL_MAX_ARGS; GORT_EINVAL if `out` is NULL, `args` is
 *  NULL with `nargs` > 0, or `trap` is 0 on Darwin or Windows. */
GORT_EXTERN int gort_syscalln(uintptr_t trap, size_t nargs,
                              const uintptr_t* args, gort_sysret_t* out);

/** gort_syscalln() without the hooks. */
GORT_EXTERN int gort_rawsyscalln(uintptr_t trap, size_t nargs,
                                 const uintptr_t* args, gort_sysret_t* out);

/** A scheduler hook: `user` as registered, `trap` as passed to the call. */
typedef void (*gort_syscall_hook_fn)(void* user, uintptr_t trap);

/** An embedding scheduler's hooks (Go: entersyscall, exitsyscall). */
typedef struct gort_syscall_hooks {
  size_t size;                /**< in: sizeof(gort_syscall_hooks_t) */
  gort_syscall_hook_fn enter; /**< runs right before each plain call */
  gort_syscall_hook_fn exit;  /**< runs right after it, on the same thread */
  void* user;                 /**< passed to both */
} gort_syscall_hooks_t;

/** Installs the hooks every plain call runs from now on; NULL removes them.
 *  A call under way finishes with the hooks it started with, so enter and
 *  exit always pair. Hooks must not make plain gort calls (use the raw ones).
 *  @return 0; GORT_EINVAL if the size is too small or only one of `enter`
 *  and `exit` is set (both NULL removes the hooks too). */
GORT_EXTERN int gort_syscall_set_hooks(const gort_syscall_hooks_t* hooks);

/** "<GOOS>-<GOARCH>" of this build, e.g. "linux-amd64", "darwin-arm64",
 *  "windows-amd64": the target whose table gort_syscall_lookup() would use
 *  for this machine (only Linux targets have one). Static storage. */
GORT_EXTERN const char* gort_syscall_native_target(void);

/** The number of system call `name` ("epoll_pwait2") on `target`
 *  ("linux-386", "linux-amd64", "linux-arm", "linux-arm64" or
 *  "linux-riscv64"), whatever machine this runs on. @return 0; GORT_EINVAL
 *  for a NULL argument or an unknown target; GORT_ENOENT if that target has
 *  no such call. */
GORT_EXTERN int gort_syscall_lookup(const char* target, const char* name,
                                    int64_t* number);

/** The name of system call `number` on `target` (static storage).
 *  @return 0; GORT_EINVAL for a NULL argument or an unknown target;
 *  GORT_ENOENT if the number is unused. */
GORT_EXTERN int gort_syscall_name(const char* target, int64_t number,
                                  const char** name);

/** The `index`-th system call of `target`, by ascending number, for listing
 *  a whole table. @return 0; GORT_EINVAL for a NULL argument or an unknown
 *  target; GORT_ERANGE when `index` is past the end. */
GORT_EXTERN int gort_syscall_at(const char* target, size_t index,
                                const char** name, int64_t* number);

/** What a kernel feature probe found. */
typedef enum gort_syscall_support {
  GORT_SYSCALL_AVAILABLE = 0, /**< the kernel knows the call */
  GORT_SYSCALL_ENOSYS = 1,    /**< ENOSYS: the kernel or emulator lacks it
                                   (or a seccomp filter answers ENOSYS) */
  GORT_SYSCALL_BLOCKED = 2    /**< EPERM: a seccomp filter or a sysctl
                                   forbids it */
} gort_syscall_support_t;

/** A kernel feature probe's result. */
typedef struct gort_syscall_probe {
  size_t size;    /**< in: sizeof(gort_syscall_probe_t) */
  int support;    /**< a gort_syscall_support_t */
  int64_t number; /**< the call's number on this arch */
  int64_t err;    /**< errno of the harmless invocation (0 if none) */
} gort_syscall_probe_t;

/** Asks the running Linux kernel whether it serves system call `name`, with
 *  a harmless invocation the kernel rejects while checking its arguments.
 *  Known names: epoll_pwait2, pidfd_open, close_range, clone3,
 *  io_uring_setup, openat2, accept4, rseq, futex_waitv, cachestat,
 *  map_shadow_stack, futex_wait, listmount, mseal.
 *  @return 0; GORT_EINVAL for a NULL argument or a size too small;
 *  GORT_ENOENT for another name; GORT_ENOSYS on Darwin and Windows. */
GORT_EXTERN int gort_probe_syscall(const char* name, gort_syscall_probe_t* out);

/** A loaded Windows DLL: carries a generation, so a released handle gives
 *  GORT_EBADF. 0 is never valid. */
typedef uint64_t gort_dll_t;

/** Loads DLL `name` (a bare file name such as "kernel32.dll", UTF-8) from
 *  System32 only (LOAD_LIBRARY_SEARCH_SYSTEM32): a DLL planted in the working
 *  directory or on PATH is never loaded. @return 0; GORT_EINVAL for a NULL
 *  argument or a name with a path in it; the loader's error (GORT_ENOENT for
 *  ERROR_MOD_NOT_FOUND); GORT_ENOSYS on Linux and Darwin. */
GORT_EXTERN int gort_dll_load(const char* name, gort_dll_t* out);

/** Loads the DLL at absolute path `path` (UTF-8); its dependencies are
 *  searched in its folder and System32. @return as gort_dll_load();
 *  GORT_EINVAL for a relative path. */
GORT_EXTERN int gort_dll_load_path(const char* path, gort_dll_t* out);

/** The address of procedure `name` of `dll`, for gort_syscalln().
 *  @return 0; GORT_EINVAL for a NULL argument; GORT_EBADF for a stale or
 *  invalid handle; GORT_ENOENT if the DLL exports no such procedure;
 *  GORT_ENOSYS on Linux and Darwin. */
GORT_EXTERN int gort_dll_proc(gort_dll_t dll, const char* name,
                              uintptr_t* proc);

/** Unloads `dll`; its handle becomes stale. @return 0; GORT_EBADF for a
 *  stale or invalid handle; GORT_ENOSYS on Linux and Darwin. */
GORT_EXTERN int gort_dll_release(gort_dll_t dll);

/** @} */

/** @name System facts and available parallelism
 *  Container-aware CPU counts (Linux cgroup v1/v2 quotas, Windows job
 *  objects, Darwin hw.activecpu) and facts that never fail: what cannot be
 *  read is "unknown" with a reason string.
 *  @{ */

/** How a CPU quota bounds the affinity CPU count. */
typedef enum gort_parallelism_rule {
  GORT_PARALLELISM_GO125 = 0, /**< default, Go 1.25: the leaf cgroup;
                                   min(affinity, max(ceil(quota/period), 2)) */
  GORT_PARALLELISM_LIBUV = 1  /**< libuv: the tightest quota up the tree;
                                   min(affinity, ceil(quota/period)), >= 1 */
} gort_parallelism_rule_t;

/** Whether a limit applies. */
typedef enum gort_limit_state {
  GORT_LIMIT_UNKNOWN = 0, /**< could not be read: see `reason` */
  GORT_LIMIT_NONE = 1,    /**< readable, no limit ("max", -1) */
  GORT_LIMIT_LIMITED = 2  /**< a limit applies */
} gort_limit_state_t;

/** A CPU or memory limit and where it came from. */
typedef struct gort_limit {
  size_t size;            /**< in: sizeof(gort_limit_t) (gort sets it in
                               gort_sysinfo_t) */
  int32_t state;          /**< a gort_limit_state_t */
  int32_t cgroup_version; /**< 1 or 2 when found in a cgroup, else 0 */
  int64_t quota_us;       /**< CPU: quota per period (us); -1 if none */
  int64_t period_us;      /**< CPU: period (us); 0 if none */
  double cpus;            /**< CPU: quota/period in CPUs; 0 if none */
  int64_t bytes;          /**< memory: the limit in bytes; -1 if none */
  char source[256];       /**< the file or API that gave the answer */
  char reason[256];       /**< why unknown or none, in words */
} gort_limit_t;

/** The system facts. */
typedef struct gort_sysinfo {
  size_t size;                   /**< in: sizeof(gort_sysinfo_t) */
  int32_t available_parallelism; /**< with the default rule; >= 1 */
  int32_t affinity_cpus;         /**< CPUs this process may run on */
  char affinity_source[64];      /**< e.g. "sched_getaffinity" */
  gort_limit_t cpu_limit;        /**< cgroup quota or job-object CPU-rate cap */
  gort_limit_t memory_limit;     /**< cgroup (or job object) memory limit */
  int64_t page_size;             /**< bytes; 0 if unknown */
  int64_t physical_memory;       /**< bytes; 0 if unknown */
  char physical_memory_reason[128]; /**< why unknown; "" when known */
  int64_t cpu_freq_khz;             /**< CPU 0's frequency; 0 if unknown */
  char cpu_freq_reason[512];        /**< why unknown; "" when known */
  char os_name[32];                 /**< "Linux", "macOS", "Windows" */
  char os_version[128];             /**< as in gort_platform_info_t */
  char hostname[256];               /**< "" if unknown */
  char hostname_reason[128];        /**< why unknown; "" when known */
} gort_sysinfo_t;

/** Fills `out` with the system facts (re-reading the CPU quota from
 *  descriptors kept open). @return 0; GORT_EINVAL if `out` is NULL or its
 *  size too small; GORT_ENOMEM. */
GORT_EXTERN int gort_sysinfo_query(gort_sysinfo_t* out);

/** The number of CPUs worth running threads on, with `rule` (a
 *  gort_parallelism_rule_t). @return 0; GORT_EINVAL for a NULL `out` or an
 *  unknown rule; GORT_ENOMEM. */
GORT_EXTERN int gort_available_parallelism(int rule, int32_t* out);

/** The cgroup CPU limit of this process as seen below filesystem root
 *  `root` ("/" for the real one; a fake tree in tests), with `rule`.
 *  @return 0 (an unreadable limit is GORT_LIMIT_UNKNOWN with a reason);
 *  GORT_EINVAL for a NULL argument, a size too small or an unknown rule;
 *  GORT_ENOMEM. */
GORT_EXTERN int gort_cgroup_cpu_limit(const char* root, int rule,
                                      gort_limit_t* out);

/** The tightest cgroup memory limit of this process and its ancestors below
 *  filesystem root `root`. @return as gort_cgroup_cpu_limit(). */
GORT_EXTERN int gort_cgroup_memory_limit(const char* root, gort_limit_t* out);

/** @} */

/** @name Netpoller
 *  Go's netpoller contract over epoll (Linux), kqueue (macOS) and a
 *  completion port (Windows); see include/gort/netpoll.h. A pollDesc per
 *  descriptor holds, per direction, nil / ready / one parked waiter token,
 *  and a deadline. For an operation that would block: gort_poller_prepare()
 *  once, then try the I/O; on EAGAIN suspend the waiter and, from a point
 *  where another thread may resume it, call gort_poller_wait(): 0 means
 *  ready (resume now and retry), GORT_POLL_PARKED means gort_poller_poll()
 *  will hand the token back. On Windows, start an overlapped operation with
 *  the record gort_poller_overlapped() hands out first: its completion
 *  readies the direction.
 *
 *  Every function may be called from any thread, concurrently, also while
 *  other threads block in gort_poller_poll(). Errors: GORT_EBADF for a stale
 *  or unknown handle (a closed pollDesc, a closed poller), GORT_EINVAL for a
 *  bad mode, token or pointer, GORT_ECANCELED once the pollDesc is closing,
 *  GORT_ETIMEDOUT once the direction's deadline passed, GORT_EBUSY for a
 *  second waiter on one direction, GORT_EIO when the kernel reported only an
 *  error condition (reads). Two threads may race to wait on one direction:
 *  one parks, the other gets GORT_EBUSY.
 *  @{ */

/** A poller's handle; 0 is never valid. */
typedef uint64_t gort_poller_t;
/** A pollDesc's handle within its poller; 0 is never valid, and a handle
 *  of one poller is GORT_EBADF in every other. */
typedef uint64_t gort_pd_t;

/** The read direction (Go's 'r'). */
#define GORT_POLL_READ 1
/** The write direction (Go's 'w'). */
#define GORT_POLL_WRITE 2
/** Both directions: gort_poller_set_deadline() only. */
#define GORT_POLL_READWRITE 3

/** Why a token was handed out (Go's poll error codes). */
#define GORT_POLL_READY 0    /**< readiness or a completed operation */
#define GORT_POLL_CLOSING 1  /**< the pollDesc was evicted or closed */
#define GORT_POLL_DEADLINE 2 /**< the direction's deadline passed */

/** gort_poller_wait()'s result when the token was parked. */
#define GORT_POLL_PARKED 1

/** A waiter made runnable. Fixed layout (16 bytes); it will not grow. */
typedef struct gort_poll_event {
  uintptr_t token; /**< as given to gort_poller_wait() */
  int32_t mode;    /**< GORT_POLL_READ or GORT_POLL_WRITE */
  int32_t reason;  /**< GORT_POLL_READY, _CLOSING or _DEADLINE */
} gort_poll_event_t;

/** Opens a poller. @return 0, GORT_EINVAL if `out` is NULL, GORT_EMFILE if
 *  4096 pollers are open, GORT_ENOMEM, or the OS's error. */
GORT_EXTERN int gort_poller_open(gort_poller_t* out);

/** Closes a poller and frees its pollDescs (parked tokens are dropped;
 *  descriptors stay open). Other threads may still be using it: calls that
 *  start after this one get GORT_EBADF, and it waits until the calls already
 *  under way have returned. A thread blocked in gort_poller_poll() on it is
 *  woken for that: its call returns 0 with the events it had already taken
 *  (usually none), and its next call gets GORT_EBADF. A poller that fd
 *  handles (gort_fd_t) still use is not closed: GORT_EBUSY, and it stays
 *  usable; close those fds first (and end their operations, see
 *  gort_fd_close()).
 *  @return 0, GORT_EBADF or GORT_EBUSY. */
GORT_EXTERN int gort_poller_close(gort_poller_t p);

/** Watches descriptor `fd` (a SOCKET or HANDLE on Windows), edge-triggered.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `out` is NULL, or the OS's error
 *  (e.g. GORT_EPERM for a regular file on Linux). */
GORT_EXTERN int gort_poller_register(gort_poller_t p, intptr_t fd,
                                     gort_pd_t* out);

/** Marks `pd` closing and hands its waiters out with GORT_POLL_CLOSING (the
 *  first step of closing a descriptor). Idempotent. @return 0 or
 *  GORT_EBADF. */
GORT_EXTERN int gort_poller_evict(gort_poller_t p, gort_pd_t pd);

/** Evicts, deregisters and frees `pd`; its handle goes stale. Close the
 *  descriptor itself afterwards. @return 0 or GORT_EBADF. */
GORT_EXTERN int gort_poller_unregister(gort_poller_t p, gort_pd_t pd);

/** Prepares an operation in direction `mode` (Go's pollReset).
 *  @return 0, GORT_ECANCELED, GORT_ETIMEDOUT, GORT_EIO, GORT_EBUSY if a
 *  waiter is parked, GORT_EBADF, GORT_EINVAL. */
GORT_EXTERN int gort_poller_prepare(gort_poller_t p, gort_pd_t pd, int mode);

/** Consumes readiness or parks `token` (not 0, 1 or 2; a pointer is fine).
 *  @return 0 (ready: resume the waiter now), GORT_POLL_PARKED, or an error
 *  as for gort_poller_prepare(). */
GORT_EXTERN int gort_poller_wait(gort_poller_t p, gort_pd_t pd, int mode,
                                 uintptr_t token);

/** Sets the deadline of `mode` (GORT_POLL_READ, _WRITE or _READWRITE): `d`
 *  ns from now if > 0, expired if < 0, none if 0 (Go's
 *  pollSetDeadline). @return 0, GORT_EBADF, GORT_EINVAL. */
GORT_EXTERN int gort_poller_set_deadline(gort_poller_t p, gort_pd_t pd,
                                         int64_t d, int mode);

/** Go's netpoll(delay): waits up to `delay` ns (< 0 until something
 *  happens, 0 not at all), stores up to `n` runnable waiters in `out` and
 *  their count in `*got`. Waiters that do not fit stay queued for the next
 *  call (another thread blocked here is woken to take them). May return
 *  0 waiters before `delay` has passed: after gort_poller_wake() (also the
 *  one gort_poller_set_deadline() sends when it arms a deadline earlier
 *  than the nearest one, and the one a poll sends when it leaves waiters
 *  queued), when a signal interrupts a timed wait, when a deadline fires
 *  that readies nobody, and when the OS reports an event that readies
 *  nobody (no waiter parked, or the pollDesc closed since), and when
 *  gort_poller_close() closes the poller from another thread.
 *  @return 0, GORT_EBADF, GORT_EINVAL if `out` or `got` is NULL or `n` is 0,
 *  or the OS's error. */
GORT_EXTERN int gort_poller_poll(gort_poller_t p, int64_t delay,
                                 gort_poll_event_t* out, size_t n, size_t* got);

/** Makes a blocked gort_poller_poll() return; coalesced until a blocking
 *  poll consumes it (Go's netpollBreak). @return 0, GORT_EBADF, or the OS's
 *  error if the wake-up could not be sent (the next call tries again). */
GORT_EXTERN int gort_poller_wake(gort_poller_t p);

/** Windows: hands out direction `mode`'s operation record, the OVERLAPPED
 *  (as void*) to start one overlapped call with, and marks it in flight
 *  until its completion packet was taken by gort_poller_poll() (which then
 *  readies the direction) or gort_poller_overlapped_not_queued() was
 *  called. @return 0, GORT_EBUSY while the record is in flight (after a
 *  cancel, wait for its packet with gort_poller_wait_canceled()),
 *  GORT_EBADF, GORT_EINVAL, GORT_ENOTSUP on other systems. */
GORT_EXTERN int gort_poller_overlapped(gort_poller_t p, gort_pd_t pd, int mode,
                                       void** out);

/** Windows: the call started with the record of `mode` queued no packet
 *  (it failed at once, or succeeded at once on a handle with
 *  skip-on-success): stores `bytes` and `error` (Win32) as its result,
 *  makes the record idle and readies the direction.
 *  @return 0, GORT_EINVAL if the record is not in flight or `mode` is bad,
 *  GORT_EBADF, GORT_ENOTSUP on other systems. */
GORT_EXTERN int gort_poller_overlapped_not_queued(gort_poller_t p, gort_pd_t pd,
                                                  int mode, uint32_t bytes,
                                                  uint32_t error);

/** Windows: the bytes and Win32 error of the last completed operation in
 *  direction `mode`. @return 0, GORT_EBUSY while one is in flight,
 *  GORT_EBADF, GORT_EINVAL, GORT_ENOTSUP on other systems. */
GORT_EXTERN int gort_poller_overlapped_result(gort_poller_t p, gort_pd_t pd,
                                              int mode, uint32_t* bytes,
                                              uint32_t* error);

/** Windows (Go's runtime_pollWaitCanceled): after CancelIoEx, parks
 *  `token` until the packet of the operation in flight in `mode` was taken,
 *  ignoring closing and deadlines; only then are its OVERLAPPED and buffer
 *  free. The token may also come out early with GORT_POLL_CLOSING or
 *  _DEADLINE: call again. @return 0 (the packet was taken),
 *  GORT_POLL_PARKED, GORT_EBUSY, GORT_EBADF, GORT_EINVAL, GORT_ENOTSUP on
 *  other systems. */
GORT_EXTERN int gort_poller_wait_canceled(gort_poller_t p, gort_pd_t pd,
                                          int mode, uintptr_t token);

/** Windows: `*out` = 1 if registration set FILE_SKIP_COMPLETION_PORT_ON_
 *  SUCCESS on the handle (a call that succeeds at once then queues no
 *  packet), else 0. @return 0, GORT_EBADF, GORT_EINVAL if `out` is NULL,
 *  GORT_ENOTSUP on other systems. */
GORT_EXTERN int gort_poller_skips_completion_on_success(gort_poller_t p,
                                                        gort_pd_t pd, int* out);

/** @} */

/** @name Descriptors (the FD layer)
 *  Go's internal/poll.FD over a poller; see include/gort/fd.h. An fd
 *  handle owns a socket or pipe registered with the poller it was made
 *  with. Every operation is re-entrant and never blocks: it returns 0
 *  (done), GORT_POLL_PARKED (the token comes out of gort_poller_poll()
 *  later, whatever its reason: then call the same operation again with
 *  the same arguments and token) or an error: GORT_ECANCELED once the fd
 *  is closing, GORT_ETIMEDOUT once the direction's deadline passed, or the
 *  OS's error as a portable code (GORT_ECONNRESET, GORT_EPIPE,
 *  GORT_ECONNREFUSED, ...; SIGPIPE is never raised). One operation per
 *  direction at a time: reads (read, read_from, accept) and writes (write,
 *  write_to, connect); a call with another token while one is parked gets
 *  GORT_EBUSY. Tokens are as for gort_poller_wait(): not 0, 1 or 2.
 *  A call that returns GORT_POLL_PARKED writes none of its out arguments
 *  (`*done_n`, addresses): the token may already be out and the
 *  operation continuing on another thread with the same pointers.
 *  From a GORT_POLL_PARKED until the operation's call that returns done or
 *  an error, its buffers belong to gort (on Windows the kernel writes into
 *  them).
 *
 *  Addresses are the OS's own sockaddr structures (sockaddr_in, ...),
 *  1 to 128 bytes; `*addrlen` is the buffer's size in and the address's
 *  length out (a longer address is truncated). Families, types, levels and
 *  option names are the OS's values (AF_INET, SOCK_STREAM, SOL_SOCKET).
 *
 *  Handles: a closed fd's handle stays valid while an operation of it is
 *  parked (calls then get GORT_ECANCELED: call the parked operation once
 *  more to end it); once the fd is closed and every operation has ended,
 *  the descriptor is closed and the handle released: every later call,
 *  gort_fd_close() included, gets GORT_EBADF. Every function may be called
 *  from any thread. Errors common to all: GORT_EBADF for a stale or
 *  unknown handle, GORT_EINVAL for a NULL or out-of-range argument.
 *  @{ */

/** An fd's handle; 0 is never valid. */
typedef uint64_t gort_fd_t;

/** What a descriptor is (gort_fd_open()'s `kind`). */
#define GORT_FD_STREAM 1   /**< a stream socket: recv/send */
#define GORT_FD_DATAGRAM 2 /**< a datagram socket: also read_from/write_to */
#define GORT_FD_LISTENER 3 /**< a listening stream socket: accept */
#define GORT_FD_PIPE 4     /**< a pipe (Unix) or named-pipe HANDLE */

/** Takes `sysfd` (a Unix descriptor, a SOCKET or HANDLE on Windows) and
 *  registers it with poller `p`; on Unix it is made non-blocking and
 *  close-on-exec. On failure `sysfd` stays open and the caller's.
 *  @return 0, GORT_EBADF (poller), GORT_EINVAL (NULL `out`, a negative
 *  `sysfd`, a bad `kind`), GORT_EMFILE (65536 fd handles), or the OS's
 *  error (e.g. GORT_EPERM for a regular file on Linux). */
GORT_EXTERN int gort_fd_open(gort_poller_t p, intptr_t sysfd, int kind,
                             gort_fd_t* out);

/** A new socket registered with poller `p`: non-blocking, close-on-exec,
 *  SIGPIPE-free (Go's sysSocket). A SOCK_STREAM socket is a
 *  GORT_FD_STREAM until gort_fd_listen(); anything else a
 *  GORT_FD_DATAGRAM. @return 0, GORT_EBADF, GORT_EINVAL, GORT_EMFILE, or
 *  the OS's error (GORT_EAFNOSUPPORT, ...). */
GORT_EXTERN int gort_fd_socket(gort_poller_t p, int family, int type,
                               int protocol, gort_fd_t* out);

/** Reads up to `n` bytes into `buf` (NULL only when `n` is 0). Done with
 *  `*done_n` 0 and `n` > 0 is end of stream. @return 0 (done, `*done_n`
 *  bytes), GORT_POLL_PARKED, or an error. */
GORT_EXTERN int gort_fd_read(gort_fd_t fd, void* buf, size_t n, uintptr_t token,
                             size_t* done_n);

/** Writes all `n` bytes (Go's FD.Write). `*done_n` is all `n` when done
 *  and the bytes written before the error on an error. @return 0,
 *  GORT_POLL_PARKED, or an error. */
GORT_EXTERN int gort_fd_write(gort_fd_t fd, const void* buf, size_t n,
                              uintptr_t token, size_t* done_n);

/** Waits until `fd` may be readable, without reading (Go's pd.waitRead,
 *  FD.RawRead's wait): 0 at once if readiness came in since the last read
 *  operation, else GORT_POLL_PARKED: the token comes out when it may be
 *  readable, or on the read deadline or a close, and the wait is over
 *  (nothing to call again). Call it between read operations. Readiness is
 *  a hint: the read after it may still find nothing. Windows:
 *  GORT_ENOTSUP. @return 0, GORT_POLL_PARKED, GORT_ECANCELED (closing),
 *  GORT_ETIMEDOUT (deadline passed), GORT_EBUSY (a read is parked),
 *  GORT_EINVAL (a token of 0, 1 or 2), GORT_EBADF. */
GORT_EXTERN int gort_fd_wait_read(gort_fd_t fd, uintptr_t token);

/** Accepts a connection on a listener. The new fd (in `*out`) is a
 *  GORT_FD_STREAM of the same poller, non-blocking and close-on-exec. The
 *  peer's address goes to `addr` (`*addrlen` bytes at most) unless `addr`
 *  is NULL. @return 0, GORT_POLL_PARKED, or an error (GORT_EMFILE: out of
 *  fd handles; the connection was closed). */
GORT_EXTERN int gort_fd_accept(gort_fd_t fd, uintptr_t token, gort_fd_t* out,
                               void* addr, uint32_t* addrlen);

/** Connects to `addr`; the write deadline bounds it. @return 0,
 *  GORT_POLL_PARKED, or an error (GORT_ECONNREFUSED, GORT_ETIMEDOUT,
 *  ...). */
GORT_EXTERN int gort_fd_connect(gort_fd_t fd, const void* addr,
                                uint32_t addrlen, uintptr_t token);

/** Receives one datagram of up to `n` bytes and its sender's address (to
 *  `addr` unless NULL). @return 0 (`*done_n` bytes), GORT_POLL_PARKED, or
 *  an error. */
GORT_EXTERN int gort_fd_read_from(gort_fd_t fd, void* buf, size_t n, void* addr,
                                  uint32_t* addrlen, uintptr_t token,
                                  size_t* done_n);

/** Sends one datagram of `n` bytes to `addr`. @return 0 (`*done_n`
 *  bytes), GORT_POLL_PARKED, or an error. */
GORT_EXTERN int gort_fd_write_to(gort_fd_t fd, const void* buf, size_t n,
                                 const void* addr, uint32_t addrlen,
                                 uintptr_t token, size_t* done_n);

/** shutdown(2): `how` is GORT_POLL_READ, GORT_POLL_WRITE or
 *  GORT_POLL_READWRITE. @return 0, GORT_ECANCELED once closing, or an
 *  error. */
GORT_EXTERN int gort_fd_shutdown(gort_fd_t fd, int how);

/** Sets the deadline of `mode` (GORT_POLL_READ, _WRITE or _READWRITE): `d`
 *  ns from now if > 0, already passed if < 0, none if 0. A parked
 *  operation whose deadline passes comes out with GORT_POLL_DEADLINE and
 *  fails with GORT_ETIMEDOUT when called again. @return 0,
 *  GORT_ECANCELED once closing, GORT_EINVAL, GORT_EBADF. */
GORT_EXTERN int gort_fd_set_deadline(gort_fd_t fd, int64_t d, int mode);

/** Binds the socket to `addr`. @return 0 or an error. */
GORT_EXTERN int gort_fd_bind(gort_fd_t fd, const void* addr, uint32_t addrlen);

/** Listens; the fd becomes a GORT_FD_LISTENER. @return 0 or an error. */
GORT_EXTERN int gort_fd_listen(gort_fd_t fd, int backlog);

/** The socket's own address (getsockname). @return 0 or an error. */
GORT_EXTERN int gort_fd_local_addr(gort_fd_t fd, void* addr, uint32_t* addrlen);

/** setsockopt(2) with an int value. @return 0 or an error. */
GORT_EXTERN int gort_fd_setsockopt_int(gort_fd_t fd, int level, int name,
                                       int value);

/** Closes the fd (Go's FD.Close): new calls get GORT_ECANCELED, parked
 *  operations come out of gort_poller_poll() with GORT_POLL_CLOSING (call
 *  them again: GORT_ECANCELED), and the descriptor is closed once the
 *  last operation has ended, at once if none is in progress; then the
 *  handle is released. @return 0, GORT_EBADF for a second close, or the
 *  OS's error from closing the descriptor now. */
GORT_EXTERN int gort_fd_close(gort_fd_t fd);

/** The descriptor (a SOCKET or HANDLE on Windows) while the fd is open.
 *  @return 0 or GORT_EBADF, GORT_EINVAL. */
GORT_EXTERN int gort_fd_sysfd(gort_fd_t fd, intptr_t* out);

/** gort_pipe_open() flag: the read end is for gort_fd_open() (GORT_FD_PIPE). */
#define GORT_PIPE_READ_POLLABLE 1u
/** gort_pipe_open() flag: the write end is for gort_fd_open() (GORT_FD_PIPE).
 */
#define GORT_PIPE_WRITE_POLLABLE 2u

/** A new pipe for a child's standard descriptors (Go's os.Pipe, libuv's
 *  uv_pipe): `fds[0]` the read end, `fds[1]` the write end, both
 *  close-on-exec / not inheritable (gort_process_spawn() gives the child
 *  its copy of the end named in gort_spawn_attr.stdio). An end flagged
 *  pollable is ready for gort_fd_open() (non-blocking; on Windows a named
 *  pipe opened for overlapped I/O); the other is blocking, as a child
 *  expects its stdio. Close the child's end after spawning
 *  (gort_pipe_close_end()) so the parent sees end of stream when the child
 *  exits. @return 0, GORT_EINVAL (NULL `fds`, unknown flags), or the OS's
 *  error (GORT_EMFILE, ...). */
GORT_EXTERN int gort_pipe_open(uint32_t flags, intptr_t fds[2]);

/** Closes a pipe end the caller owns and did not give to gort_fd_open().
 *  @return 0, GORT_EBADF (-1, or a descriptor not open). */
GORT_EXTERN int gort_pipe_close_end(intptr_t end);

/** @} */

/** @name Signals
 *  os/signal's Notify, Stop, Ignore, Ignored and Reset, delivered through
 *  a poller; see include/gort/signal.h for the rules gort keeps inside
 *  someone else's process (nothing installed until notified; the
 *  disposition found before gort saved, chained and restored exactly;
 *  faults never swallowed; an inherited SIG_IGN kept unless named).
 *
 *  A signal source is registered with a poller. gort_signal_receive()
 *  returns 0 with the signals that arrived since the last call (bit
 *  `sig - 1` of `*set`, never empty), or GORT_POLL_PARKED: the token comes
 *  out of gort_poller_poll() when a signal arrives; then call it again
 *  with the same token. N deliveries of a signal before a receive
 *  collapse into one. Signal numbers are the OS's (1..64); on Windows,
 *  Go's: SIGINT 2 (Ctrl-C, Ctrl-Break) and SIGTERM 15 (console close,
 *  logoff, shutdown) are the ones delivered. A source's handle counts as
 *  one of its poller's fd handles (gort_poller_close() is GORT_EBUSY
 *  while it is open). Every function may be called from any thread; one
 *  receive per source at a time. Errors common to all: GORT_EBADF for a
 *  stale or unknown handle, GORT_EINVAL for a NULL pointer or a number
 *  outside 1..64.
 *  @{ */

/** A signal source's handle; 0 is never valid. */
typedef uint64_t gort_signal_t;

/** Who handles a signal (gort_signal_disposition()). */
#define GORT_SIG_DEFAULT 0 /**< SIG_DFL */
#define GORT_SIG_IGNORED 1 /**< SIG_IGN */
#define GORT_SIG_FOREIGN 2 /**< a handler that is not gort's */
#define GORT_SIG_GORT 3    /**< gort's handler */

/** A source registered with poller `p`, wanting nothing yet.
 *  @return 0, GORT_EBADF (poller), GORT_EINVAL, GORT_EMFILE (64 sources
 *  in the process), or the OS's error. */
GORT_EXTERN int gort_signal_open(gort_poller_t p, gort_signal_t* out);

/** Stops every signal and closes the source. A parked receive comes out
 *  of the poller and then gets GORT_ECANCELED; the handle is released
 *  once no receive is parked. @return 0, GORT_EBADF. */
GORT_EXTERN int gort_signal_close(gort_signal_t s);

/** Relays the `n` signals of `sigs` to the source (n == 0: every signal
 *  that can be caught except those ignored now and the synchronous
 *  ones). @return 0, GORT_EBADF, GORT_EINVAL (SIGKILL, SIGSTOP, a number
 *  the OS refuses; nothing changed). */
GORT_EXTERN int gort_signal_notify(gort_signal_t s, const int* sigs, size_t n);

/** Relays the `n` signals of `sigs` no more (n == 0: all). When it
 *  returns none of them is reported; a signal nobody wants gets back the
 *  disposition it had before gort. @return 0, GORT_EBADF, GORT_EINVAL. */
GORT_EXTERN int gort_signal_stop(gort_signal_t s, const int* sigs, size_t n);

/** The signals the source relays, as a set. @return 0, GORT_EBADF,
 *  GORT_EINVAL. */
GORT_EXTERN int gort_signal_wanted(gort_signal_t s, uint64_t* set);

/** Takes the signals that arrived, or parks `token` (see above). `*set`
 *  is written only when done. @return 0, GORT_POLL_PARKED, GORT_EBUSY
 *  (another receive with another token is parked), GORT_ECANCELED
 *  (closed), GORT_ETIMEDOUT (the deadline passed), GORT_EBADF,
 *  GORT_EINVAL. */
GORT_EXTERN int gort_signal_receive(gort_signal_t s, uintptr_t token,
                                    uint64_t* set);

/** The receive deadline, relative as gort_poller_set_deadline(): `d` ns
 *  from now if > 0, passed if < 0, none if 0. @return 0, GORT_EBADF. */
GORT_EXTERN int gort_signal_set_deadline(gort_signal_t s, int64_t d);

/** Go's Ignore: no source relays the signals and their disposition is
 *  SIG_IGN (Windows: the console handler swallows them). n == 0: every
 *  catchable signal but the synchronous ones. @return 0, GORT_EINVAL. */
GORT_EXTERN int gort_signal_ignore(const int* sigs, size_t n);

/** Go's Ignored: 1 if `sig`'s disposition is SIG_IGN now (an inherited
 *  one counts), 0 if not, GORT_EINVAL outside 1..64. */
GORT_EXTERN int gort_signal_ignored(int sig);

/** Go's Reset: no source relays the signals, and each gets back the
 *  disposition it had before gort first changed it, exactly. n == 0:
 *  every signal gort changed. @return 0, GORT_EINVAL. */
GORT_EXTERN int gort_signal_reset(const int* sigs, size_t n);

/** Who handles `sig` now: GORT_SIG_DEFAULT, GORT_SIG_IGNORED,
 *  GORT_SIG_FOREIGN or GORT_SIG_GORT; GORT_EINVAL outside 1..64 or for a
 *  number the OS refuses (glibc's own 32 and 33). Windows knows SIGINT
 *  and SIGTERM only. */
GORT_EXTERN int gort_signal_disposition(int sig);

/** Windows: ends the console handler's wait after a close, logoff or
 *  shutdown event (it waits at most 5 s after handing SIGTERM over, since
 *  Windows ends the process when it returns). Elsewhere does nothing.
 *  @return 0. */
GORT_EXTERN int gort_signal_console_close_done(void);

/** @} */

/** @defgroup process Child processes (include/gort/process.h)
 *  Go's os/exec core: spawn with nothing inherited but the three named
 *  descriptors; the child's exit readies a poller source (a pidfd on
 *  Linux, SIGCHLD as the fallback; the process handle's wait on Windows).
 *  gort_process_wait() returns 0 (done: `*st` holds the exit status, the
 *  child was reaped), GORT_POLL_PARKED (the token comes out of
 *  gort_poller_poll(): call again with the same token), or an error.
 *  A process handle counts as one of its poller's fd handles.
 *  @{ */

/** A process handle; 0 is never valid. */
typedef uint64_t gort_process_t;

/** gort_spawn_attr.stdio: the null device. */
#define GORT_STDIO_NULL ((intptr_t)-1)
/** gort_spawn_attr.flags: a new process group (Windows:
 *  CREATE_NEW_PROCESS_GROUP). */
#define GORT_SPAWN_NEW_PROCESS_GROUP 1u
/** gort_spawn_attr.flags: a new session (setsid; GORT_EINVAL on Windows). */
#define GORT_SPAWN_NEW_SESSION 2u

/** What to start. Set `size` to sizeof(gort_spawn_attr). */
typedef struct gort_spawn_attr {
  size_t size;             /**< sizeof(gort_spawn_attr) */
  const char* path;        /**< the program (UTF-8; no PATH search) */
  const char* const* argv; /**< NULL-terminated, argv[0] included; NULL:
                                just `path` */
  const char* const* env;  /**< NULL-terminated "KEY=value"; may be NULL */
  int inherit_env;         /**< nonzero: `env` adds to the caller's */
  const char* dir;         /**< working directory; NULL or "": the caller's */
  intptr_t stdio[3];       /**< stdin/out/err: a descriptor (HANDLE) of the
                                caller's, or GORT_STDIO_NULL */
  uint32_t flags;          /**< GORT_SPAWN_* */
} gort_spawn_attr;

/** How a child ended. */
typedef struct gort_exit_status {
  int32_t exited;   /**< 1: it exited by itself and `code` is valid */
  int32_t signal;   /**< Unix: the signal that killed it, else 0 */
  int64_t code;     /**< exit code; -1 when killed by a signal */
  int32_t ended_by; /**< gort_process_terminate(): 1 SIGTERM, 2 SIGKILL;
                         0 for gort_process_wait() */
  int32_t reserved; /**< 0 */
} gort_exit_status;

/** Starts a child watched through poller `p`. @return 0, GORT_EBADF
 *  (poller), GORT_EINVAL (NULL `attr`, `out` or path, a bad `size` or
 *  flag, a NUL inside a string), GORT_EMFILE (out of handles), or the
 *  spawn's error (GORT_ENOENT, GORT_EACCES: the exec's, never an exit
 *  status). */
GORT_EXTERN int gort_process_spawn(gort_poller_t p, const gort_spawn_attr* attr,
                                   gort_process_t* out);

/** Reaps the child or parks `token` (not 0, 1 or 2). Once done, later
 *  calls give the same status. @return 0, GORT_POLL_PARKED, GORT_ETIMEDOUT
 *  (its deadline passed), GORT_ECHILD (someone else reaped it),
 *  GORT_EBUSY (another token's wait is in progress), GORT_EINVAL,
 *  GORT_EBADF. */
GORT_EXTERN int gort_process_wait(gort_process_t proc, uintptr_t token,
                                  gort_exit_status* st);

/** SIGTERM (Windows: CTRL_BREAK to the child's group, where possible),
 *  up to `grace_ns` (<= 0: none), then SIGKILL (TerminateProcess);
 *  re-entrant like gort_process_wait(); `st->ended_by` says which ended
 *  it. */
GORT_EXTERN int gort_process_terminate(gort_process_t proc, int64_t grace_ns,
                                       uintptr_t token, gort_exit_status* st);

/** Sends `sig` (1..64): by pidfd on Linux, so a reused pid is never hit.
 *  Windows: 9 -> TerminateProcess, 2 and 15 -> CTRL_BREAK to the child's
 *  group (needs GORT_SPAWN_NEW_PROCESS_GROUP and a shared console), others
 *  GORT_ENOTSUP. @return 0, GORT_ESRCH (reaped), GORT_EINVAL, GORT_EBADF,
 *  or the OS's error. */
GORT_EXTERN int gort_process_signal(gort_process_t proc, int sig);

/** A deadline for the wait, relative as gort_fd_set_deadline(). */
GORT_EXTERN int gort_process_set_deadline(gort_process_t proc, int64_t d);

/** The child's process id. @return 0, GORT_EINVAL (NULL), GORT_EBADF. */
GORT_EXTERN int gort_process_pid(gort_process_t proc, int64_t* pid);

/** Frees the handle (the child is not signalled; unreaped, it stays a
 *  zombie on Unix until this process ends, as in Go without Wait).
 *  @return 0, GORT_EBUSY (a wait is parked: finish it first),
 *  GORT_EBADF. */
GORT_EXTERN int gort_process_close(gort_process_t proc);

/** @} */

#ifdef __cplusplus
} /* extern "C" */
#endif

/** @} */

#endif /* GORT_H_ */
