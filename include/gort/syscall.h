// SPDX-License-Identifier: BSD-3-Clause
// Raw system calls with Go's result convention, on every OS gort supports
// (Go: syscall.Syscall6 / RawSyscall6, runtime/internal/syscall,
// syscall.SyscallN on Windows, the libSystem trampolines on Darwin).
//
// A call returns Go's triple {r1, r2, err}. What `trap` names and what `err`
// holds depend on the OS, as in Go:
//   - Linux: `trap` is a system call number (gort::sysnum, or
//     SyscallNumber()); an assembly shim per arch enters the kernel (amd64
//     `syscall`, arm64 `svc #0`, riscv64 `ecall`). A result in -4095..-1 is
//     an error: r1 = -1, r2 = 0, err = its errno; otherwise err = 0.
//   - Darwin: raw traps are not a stable ABI there, so, as Go does since
//     1.12, `trap` is the address of a libSystem function (`&::read`), called
//     with up to six integer arguments; when it returns -1 (as a 32-bit int
//     for Syscall6, as a 64-bit value for Syscall6X) err is errno, read in
//     the same call, else 0. r1 and r2 are the two integer return registers.
//   - Windows: `trap` is the address of a DLL procedure (DllProc()), called
//     through an assembly trampoline for the Win64 ABI (amd64 and arm64) with
//     up to kMaxSyscallArgs arguments; the thread's last error is cleared
//     before and read right after the call, so err is GetLastError() even
//     when the call succeeded (the procedure's own contract says whether r1
//     means failure). r2 is the floating-point return register.
//
// The plain calls (Syscall6, SyscallN) run the embedder's enter/exit hooks
// around the call, Go's entersyscall/exitsyscall, so a runtime can hand its
// processor to another thread while this one blocks; the raw calls
// (RawSyscall6, RawSyscallN) never run them.
//
// Thread safety: every function may be called from any thread at any time.
#ifndef GORT_GORT_SYSCALL_H_
#define GORT_GORT_SYSCALL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gort/errno.h"

namespace gort {

/// Go's system call result {r1, r2, err}. The layout is gort_sysret_t's.
struct SyscallResult {
  uintptr_t r1;  ///< the first return register
  uintptr_t r2;  ///< the second (Linux, Darwin) or floating-point (Windows)
                 ///< return register
  int64_t err;   ///< the raw OS error (errno; GetLastError() on Windows);
                 ///< 0 for none

  /// err as a gort::Error of the OS this runs on.
  Error error() const { return Error::FromSys(err); }
};

/// The most arguments SyscallN() takes: 6 on Linux and Darwin, 42 on
/// Windows (as Go's syscall.SyscallN).
#if defined(_WIN32)
inline constexpr size_t kMaxSyscallArgs = 42;
#else
inline constexpr size_t kMaxSyscallArgs = 6;
#endif

/// A plain call's trap (system call number or procedure address) runs the
/// enter hook before and the exit hook after, on the calling thread.
using SyscallHook = void (*)(void* user, uintptr_t trap);

/// An embedding scheduler's hooks (Go: entersyscall, exitsyscall).
struct SyscallHooks {
  SyscallHook enter = nullptr;  ///< called right before the call
  SyscallHook exit = nullptr;   ///< called right after it
  void* user = nullptr;         ///< passed to both
};

/// Installs the hooks every plain call runs from now on; a call already
/// under way finishes with the hooks it started with, so enter and exit
/// always pair. Hooks must not make plain gort calls themselves (use the raw
/// ones). InvalidArgument unless both or neither of enter and exit are set;
/// both unset is ClearSyscallHooks().
absl::Status SetSyscallHooks(const SyscallHooks& hooks);

/// Removes the hooks: plain calls behave as raw ones.
void ClearSyscallHooks();

/// The hooks installed now (both null when none).
SyscallHooks CurrentSyscallHooks();

/// A system call with up to six arguments, running the hooks around it.
SyscallResult Syscall6(uintptr_t trap, uintptr_t a1 = 0, uintptr_t a2 = 0,
                       uintptr_t a3 = 0, uintptr_t a4 = 0, uintptr_t a5 = 0,
                       uintptr_t a6 = 0);

/// Syscall6 without the hooks (Go: RawSyscall6): for calls that never block,
/// and for the hooks themselves.
SyscallResult RawSyscall6(uintptr_t trap, uintptr_t a1 = 0, uintptr_t a2 = 0,
                          uintptr_t a3 = 0, uintptr_t a4 = 0, uintptr_t a5 = 0,
                          uintptr_t a6 = 0);

/// Syscall6 for Darwin functions returning a 64-bit value (off_t, ssize_t,
/// pointers): err is read when r1 is -1 as a 64-bit value (Go: syscall6X).
/// Elsewhere the same as Syscall6.
SyscallResult Syscall6X(uintptr_t trap, uintptr_t a1 = 0, uintptr_t a2 = 0,
                        uintptr_t a3 = 0, uintptr_t a4 = 0, uintptr_t a5 = 0,
                        uintptr_t a6 = 0);

/// Syscall6X without the hooks.
SyscallResult RawSyscall6X(uintptr_t trap, uintptr_t a1 = 0, uintptr_t a2 = 0,
                           uintptr_t a3 = 0, uintptr_t a4 = 0, uintptr_t a5 = 0,
                           uintptr_t a6 = 0);

/// A call with args.size() arguments (Go: syscall.SyscallN), running the
/// hooks. OutOfRange (GORT_ERANGE) for more than kMaxSyscallArgs.
absl::StatusOr<SyscallResult> SyscallN(uintptr_t trap,
                                       absl::Span<const uintptr_t> args);

/// SyscallN without the hooks.
absl::StatusOr<SyscallResult> RawSyscallN(uintptr_t trap,
                                          absl::Span<const uintptr_t> args);

/// @name System call tables
/// Name <-> number for Linux on 386, amd64, arm, arm64 and riscv64,
/// generated from the kernels' uapi headers (tools/gen_syscalls.py). Every
/// table is in every build, so any machine can look up any architecture.
/// @{

/// The tables' targets, "<GOOS>-<GOARCH>": "linux-386", "linux-amd64",
/// "linux-arm", "linux-arm64", "linux-riscv64".
std::vector<std::string_view> SyscallTargets();

/// "<GOOS>-<GOARCH>" of this build, e.g. "linux-arm64" or "windows-amd64"
/// (only Linux targets have a table).
std::string_view NativeSyscallTarget();

/// One system call of a table.
struct SyscallInfo {
  std::string_view name;  ///< e.g. "epoll_pwait2"; static storage
  int64_t number;         ///< e.g. 441
};

/// The number of system call `name` on `target`. InvalidArgument for an
/// unknown target, NotFound for a name that target does not have.
absl::StatusOr<int64_t> SyscallNumber(std::string_view target,
                                      std::string_view name);

/// The name of system call `number` on `target` (the first of two names for
/// one number). InvalidArgument for an unknown target, NotFound for an
/// unused number.
absl::StatusOr<std::string_view> SyscallName(std::string_view target,
                                             int64_t number);

/// Every system call of `target`, by number. InvalidArgument for an unknown
/// target.
absl::StatusOr<std::vector<SyscallInfo>> ListSyscalls(std::string_view target);

/// What a table is and how new it is.
struct SyscallTableInfo {
  std::string_view target;   ///< "linux-amd64"
  std::string_view kernel;   ///< the Linux release it is current to: "7.0"
  std::string_view headers;  ///< the release of the uapi headers it was
                             ///< generated from ("6.12"); the calls after
                             ///< them were added by hand, each with the
                             ///< release that added it
  int64_t headers_highest;   ///< the highest number of the headers' calls;
                             ///< those above it were added by hand
  size_t count;              ///< its system calls (names)
  int64_t highest;           ///< its highest number
};

/// The facts of `target`'s table. InvalidArgument for an unknown target.
absl::StatusOr<SyscallTableInfo> DescribeSyscallTable(std::string_view target);

/// @}

/// @name Kernel feature probes
/// Whether the running kernel serves a newer system call, asked with a
/// harmless invocation that the kernel rejects while checking its arguments
/// (a bad size, a bad descriptor), so nothing happens either way. libc's
/// headers say what libc was built against, not what the kernel has;
/// emulators and seccomp filters differ again (qemu-user 7.2 answers ENOSYS
/// to epoll_pwait2, clone3, io_uring_setup, openat2, rseq, futex_waitv and
/// every call newer than those).
/// @{

/// A probe's answer.
enum class SyscallSupport : int {
  kAvailable = 0,  ///< the kernel knows the call
  kNoSys = 1,      ///< ENOSYS: the kernel (or emulator) does not have it, or
                   ///< a seccomp filter answers ENOSYS for it
  kBlocked = 2,    ///< EPERM: a seccomp filter (or a sysctl, such as
                   ///< kernel.io_uring_disabled) forbids it
};

/// "available", "ENOSYS" or "blocked".
std::string_view SyscallSupportName(SyscallSupport support);

/// One probe's result.
struct SyscallProbe {
  std::string_view name;   ///< the system call, e.g. "clone3"
  SyscallSupport support;  ///< the answer
  int64_t number;          ///< its number on this build's arch
  int64_t err;  ///< errno of the harmless invocation (0 if it succeeded)
};

/// The calls ProbeSyscall() knows: epoll_pwait2, pidfd_open, close_range,
/// clone3, io_uring_setup, openat2, accept4, rseq, futex_waitv, cachestat
/// (6.5), map_shadow_stack (6.6 on x86-64 with user shadow stacks,
/// 6.13 on arm64 with GCS; ENOSYS where the kernel is built without),
/// futex_wait (6.7), listmount (6.8), mseal (6.10, 64-bit only).
const std::vector<std::string_view>& ProbedSyscalls();

/// Probes system call `name` on the running kernel. NotFound for a name not
/// in ProbedSyscalls(); Unimplemented (GORT_ENOSYS) on other OSes than Linux.
absl::StatusOr<SyscallProbe> ProbeSyscall(std::string_view name);

/// The skew between gort's table and the running kernel: which numbers
/// above the table's highest the kernel serves.
struct SyscallSkew {
  SyscallTableInfo table;        ///< the table of this build's arch
  std::vector<int64_t> served;   ///< numbers above table.highest that the
                                 ///< kernel answers with anything but ENOSYS
                                 ///< or EPERM, ascending
  std::vector<int64_t> blocked;  ///< numbers there answered EPERM (a
                                 ///< seccomp filter: served or not, unknown)
  int64_t probed_to;             ///< the last number probed
  /// The table's calls newer than its headers (above table.headers_highest)
  /// that the kernel answers ENOSYS: the table is newer than the kernel.
  std::vector<int64_t> lacking;
  /// Those the kernel serves (answers anything but ENOSYS).
  std::vector<int64_t> later_served;
};

/// How many consecutive numbers answering ENOSYS (or EPERM) end
/// ProbeBeyondTable().
inline constexpr int kSkewEnosysRun = 8;

/// Probes the numbers above this build's table, table.highest + 1 upwards,
/// until kSkewEnosysRun of them in a row answer ENOSYS or EPERM (or number
/// 1023, past every Linux arch's calls). Each is called raw with -1 in every
/// argument, which no call can act on: a descriptor of -1 is EBADF, a
/// pointer of -1 (the top of the address space) EFAULT, a size or count of
/// -1 EINVAL or E2BIG, and flags of all ones have unknown bits set, which
/// every call since 5.x rejects with EINVAL before doing anything. Calls
/// without arguments (rseq_slice_yield) ignore them and change nothing
/// visible. The table's own calls above its headers (added by hand, and
/// chosen so that such a call is harmless) are probed the same way, for
/// `lacking` and `later_served`. Unimplemented (GORT_ENOSYS) on other OSes
/// than Linux.
absl::StatusOr<SyscallSkew> ProbeBeyondTable();

/// One line for a person: "kernel serves 0 calls newer than gort's table
/// (linux-amd64, current to Linux 7.0, highest 471; probed 472..479)", or
/// "kernel serves 2 calls newer than gort's table (472..473)" and so on.
std::string SyscallSkewLine(const SyscallSkew& skew);

/// The other way: "the kernel serves 7 of the table's 9 calls after its 6.12
/// headers (463..469) and lacks 2 (470..471)".
std::string SyscallLaterLine(const SyscallSkew& skew);

/// @}

/// @name Windows DLLs
/// Procedures for SyscallN(), found in DLLs loaded safely: by name from
/// System32 only (LoadLibraryExW with LOAD_LIBRARY_SEARCH_SYSTEM32, as Go's
/// x/sys NewLazySystemDLL), so a DLL planted in the working directory or on
/// PATH is never picked up. Unimplemented (GORT_ENOSYS) on other OSes.
/// @{

/// A loaded DLL: a slot and a generation, so a released handle gives
/// GORT_EBADF (InvalidArgument) and touches nothing. 0 is never valid.
using DllHandle = uint64_t;

/// Loads DLL `name` ("kernel32.dll"; a bare file name, UTF-8) from System32.
/// InvalidArgument for a name with a path in it; the loader's error
/// (NotFound for ERROR_MOD_NOT_FOUND) otherwise.
absl::StatusOr<DllHandle> LoadSystemDll(std::string_view name);

/// Loads the DLL at an absolute `path` (UTF-8); its own dependencies are
/// searched in its folder and in System32. InvalidArgument for a relative
/// path.
absl::StatusOr<DllHandle> LoadDllFromPath(std::string_view path);

/// The address of procedure `name` of `dll`, for SyscallN(). NotFound if
/// the DLL has no such export, GORT_EBADF for a stale handle.
absl::StatusOr<uintptr_t> DllProc(DllHandle dll, std::string_view name);

/// Unloads `dll` (FreeLibrary) and makes its handle stale.
absl::Status ReleaseDll(DllHandle dll);

/// @}

}  // namespace gort

#endif  // GORT_GORT_SYSCALL_H_
