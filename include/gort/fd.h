// SPDX-License-Identifier: BSD-3-Clause
// Portable descriptor operations over the netpoller: Go's internal/poll.FD
// (fd_unix.go, fd_windows.go, fd_mutex.go, fd_poll_runtime.go).
//
// An Fd is a socket or pipe registered with a Poller. Its operations have
// the same results on every OS: readiness + EAGAIN underneath on Unix,
// overlapped operations completing on the port on Windows.
//
// Every operation is re-entrant and never blocks the caller:
//
//   absl::Status s = fd->Read(buf, n, token, &r);
//   !s.ok()                      error: ECANCELED (the Fd is closing),
//                                ETIMEDOUT (its deadline passed), or the
//                                OS's error as a portable code
//   r.state == IoState::kDone    finished: r.n bytes
//   r.state == IoState::kParked  the token comes out of Poller::Poll()
//                                later (whatever its reason); then call the
//                                same operation again, with the same
//                                arguments and token, to go on
//
// On Unix "parked" means the call met EAGAIN and parked the token; calling
// again retries. On Windows it means an overlapped operation was started and
// is in flight; calling again collects its completion. The token identifies
// the operation: one operation per direction (read, write) is in progress
// at a time; a call with another token while one is in progress gets EBUSY
// (Go's fdMutex queues the second caller; gort leaves queueing to the
// embedder's scheduler). Accept and ReadFrom are reads, Connect and WriteTo
// writes. Tokens follow Poller::Wait()'s rule (not 0, 1 or 2).
//
// Buffers: from a call that returned kParked until a later call for the
// same operation returns kDone or an error, the caller's buffer (and
// address buffer) belongs to gort: on Windows the kernel writes into it.
// Do not free or reuse it before then, even after Close(). The token may
// come out, and the operation be continued on another thread, before the
// call that parked it has returned: that call writes kParked to its
// IoResult before it publishes the token and nothing after, and its caller
// reads it on return, so give the continuing call an IoResult of its own.
//
// Deadlines are per direction and relative, as Poller::SetDeadline(): an
// operation whose deadline passes fails with ETIMEDOUT. On Windows the
// operation in flight is cancelled (CancelIoEx) and the call that reports
// the error first waits (parks again) for the cancelled completion, so the
// buffer is free when the error is returned; if the operation completed
// before the cancel took effect, its result is returned instead (Go's
// execIO does the same).
//
// Close (Go's FD.Close, without its wait): marks the Fd closing, so new
// operations fail with ECANCELED and parked ones are handed out by Poll()
// (call them again: they then fail with ECANCELED, on Windows after their
// cancelled completion arrived), and closes the descriptor once the last
// call and operation in progress has left: at once if none is. A second
// Close() fails with EBADF; the descriptor is never closed twice.
//
// Errors, one portable code each whatever the OS says: a peer that reset
// the connection gives ECONNRESET (WSAECONNRESET, ERROR_NETNAME_DELETED),
// a write after the peer went away EPIPE or ECONNRESET (as the OS decides;
// SIGPIPE is never raised), a refused connect ECONNREFUSED
// (ERROR_CONNECTION_REFUSED on Windows). End of stream is a kDone read of
// 0 bytes into a non-empty buffer.
//
// Thread safety: every method may be called from any thread; one operation
// per direction at a time (EBUSY otherwise), as described above. The
// Poller must outlive its Fds. Hot paths (Read, Write and their re-entry)
// do not allocate.
#ifndef GORT_GORT_FD_H_
#define GORT_GORT_FD_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gort/netpoll.h"

namespace gort {

/// What a descriptor is, which decides the calls an Fd makes on it.
enum class FdKind : int32_t {
  kStream = 1,    ///< a stream socket (TCP, Unix stream): recv/send
  kDatagram = 2,  ///< a datagram socket (UDP): also ReadFrom/WriteTo
  kListener = 3,  ///< a listening stream socket: Accept
  kPipe = 4,      ///< a pipe (Unix) or named-pipe HANDLE: read/write
};

/// How an operation call ended when it did not fail.
enum class IoState : int32_t {
  kDone = 0,    ///< finished; IoResult::n holds its count
  kParked = 1,  ///< the token comes out of Poll() later: call again
  /// TryRead()/TryWrite() only: nothing more can move now (EAGAIN, or on
  /// Windows always); nothing was parked. Go on with Read()/Write().
  kWouldBlock = 2,
};

/// The result of one operation call. Read(), Write(), TryRead() and
/// TryWrite() write both fields of a non-null *r on every return, errors
/// included, and WaitRead() on every return but EINVAL (a refused call
/// leaves *r alone), so a caller may pass one it has not initialised
/// (storage for it, say: the example runtime does, to spare two stores
/// per call); the defaults are for everyone else.
struct IoResult {
  IoState state = IoState::kDone;  ///< done, or parked (call again)
  /// Bytes transferred. For Write also on error: the bytes written before
  /// it.
  size_t n = 0;
};

/// A socket address in the OS's own layout (a sockaddr_in, sockaddr_in6,
/// sockaddr_un), as the caller's headers define it.
struct SockAddr {
  alignas(8) unsigned char bytes[128] = {};  ///< the sockaddr itself
  uint32_t len = 0;                          ///< bytes used
};

/// The two ends of a pipe made by OpenPipe().
struct PipeEnds {
  intptr_t read = -1;   ///< the read end (a descriptor; Windows: a HANDLE)
  intptr_t write = -1;  ///< the write end
};

/// OpenPipe() flag: the read end is for Fd::Open() (FdKind::kPipe).
inline constexpr uint32_t kPipeReadPollable = 1;
/// OpenPipe() flag: the write end is for Fd::Open() (FdKind::kPipe).
inline constexpr uint32_t kPipeWritePollable = 2;

/// A new pipe (Go: os.Pipe; libuv: uv_pipe), made for a child's standard
/// descriptors: both ends are close-on-exec / not inheritable
/// (Process::Spawn() hands the child its copy of the end named in
/// SpawnOptions::stdio), an end flagged pollable is ready for
/// Fd::Open(poller, end, FdKind::kPipe) (Unix: non-blocking; Windows: a
/// named pipe opened for overlapped I/O, as Fd needs), and an end not
/// flagged is blocking, as a child expects its stdio to be. Close the
/// child's end once the child has been spawned (ClosePipeEnd()), so that
/// the parent reads end of stream when the child exits.
/// EINVAL for flags other than the two above.
absl::StatusOr<PipeEnds> OpenPipe(uint32_t pollable);

/// Closes a pipe end the caller owns (close(2); Windows: CloseHandle), one
/// that was not given to Fd::Open(). EBADF for -1 or a closed descriptor.
absl::Status ClosePipeEnd(intptr_t end);

/// A descriptor registered with a Poller, with Go's fdMutex.
class Fd {
 public:
  /// Takes ownership of `sysfd` (a Unix descriptor, a Windows SOCKET or
  /// HANDLE) and registers it with `poller`. On Unix it is made
  /// non-blocking and close-on-exec; on Windows it must have been opened
  /// for overlapped I/O. On failure `sysfd` is left open (still the
  /// caller's).
  static absl::StatusOr<std::unique_ptr<Fd>> Open(Poller& poller,
                                                  intptr_t sysfd, FdKind kind);

  /// A new socket (Go's sysSocket): non-blocking or overlapped,
  /// close-on-exec / not inheritable, and, for streams, SIGPIPE-free.
  /// `family`, `type` and `protocol` are the OS's values (AF_INET,
  /// SOCK_STREAM, ...). A stream socket starts as kStream; Listen()
  /// makes it a kListener.
  static absl::StatusOr<std::unique_ptr<Fd>> Socket(Poller& poller, int family,
                                                    int type, int protocol);

  /// Closes it if Close() was not called. Destroy an Fd only when no call
  /// is running on it and no operation of it is parked or in flight (every
  /// operation returned kDone or an error): debug builds abort otherwise.
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  /// Reads up to `n` bytes. kDone with n == 0 and `n` > 0 is end of stream.
  absl::Status Read(void* buf, size_t n, uintptr_t token, IoResult* r);

  /// Writes all `n` bytes (Go's FD.Write: kDone means all of them); on
  /// error, r->n holds the bytes written before it.
  absl::Status Write(const void* buf, size_t n, uintptr_t token, IoResult* r);

  /// Read()'s first attempt alone, with no token: it never parks (Go:
  /// the first syscall of internal/poll's FD.Read loop, before
  /// pd.waitRead). kDone with r->n bytes as Read(); kWouldBlock when
  /// nothing can be read now (EAGAIN): then call Read() with a token,
  /// which tries again before it parks, so readiness that arrives in
  /// between is not lost. Errors as Read(): EINVAL (null r, null buf with
  /// n > 0), ECANCELED once closing, EBUSY while a read operation holds
  /// the direction, ETIMEDOUT past the read deadline, the OS's error. It
  /// takes and releases the read direction as a Read() that ends at once
  /// does.
  /// Windows: kWouldBlock always after the argument checks and ECANCELED
  /// once closing (Read() then reports EBUSY or a deadline): overlapped
  /// I/O has no non-parking attempt.
  absl::Status TryRead(void* buf, size_t n, IoResult* r);

  /// Write()'s first attempt alone, with no token: sends until every byte
  /// went (kDone, r->n == n) or the socket is full (kWouldBlock: r->n
  /// bytes, maybe 0, went; write the remaining n - r->n with Write()), or
  /// an error (r->n: the bytes written before it). Never parks. Errors,
  /// direction and Windows as TryRead(): on Windows kWouldBlock with
  /// r->n == 0 always.
  absl::Status TryWrite(const void* buf, size_t n, IoResult* r);

  /// Waits until the descriptor may be readable, without reading (Go's
  /// pd.waitRead, what FD.RawRead parks on between tries). kDone at once
  /// when readiness came in since the last read operation (data that
  /// arrived after a short read, say); kParked otherwise, and then the
  /// token comes out of Poll() when it may be readable, or on the read
  /// deadline or Close: the wait is over then (nothing to call again; the
  /// next Read reports a deadline or closing). Errors: ECANCELED once
  /// closing, ETIMEDOUT past the read deadline, EBUSY while a read
  /// operation is parked. Call it between read operations, not during one.
  /// It spares a read that would only hear EAGAIN: after a short read,
  /// wait, then read. Readiness is a hint: the read after it may still
  /// find nothing (it then parks as usual). Windows: ENOTSUP (overlapped
  /// I/O has no readiness; Go's RawRead uses a zero-byte read there).
  absl::Status WaitRead(uintptr_t token, IoResult* r);

  /// Accepts a connection (a kListener). The new Fd is a kStream,
  /// registered with the same Poller, non-blocking / overlapped and
  /// close-on-exec; the peer's address goes to `peer` if not null.
  absl::Status Accept(uintptr_t token, IoResult* r, std::unique_ptr<Fd>* out,
                      SockAddr* peer);

  /// Connects (a kStream or kDatagram socket). The write deadline bounds
  /// it. Unix: connect, then SO_ERROR once writable; Windows: ConnectEx
  /// (binding to the wildcard address first if unbound), then
  /// SO_UPDATE_CONNECT_CONTEXT.
  absl::Status Connect(const SockAddr& addr, uintptr_t token, IoResult* r);

  /// Receives one datagram and its sender's address (a kDatagram).
  absl::Status ReadFrom(void* buf, size_t n, SockAddr* from, uintptr_t token,
                        IoResult* r);

  /// Sends one datagram to `to` (a kDatagram).
  absl::Status WriteTo(const void* buf, size_t n, const SockAddr& to,
                       uintptr_t token, IoResult* r);

  /// shutdown(2): `how` is kRead, kWrite or kReadWrite.
  absl::Status Shutdown(PollMode how);

  /// Sets the deadline of `mode`, relative as Poller::SetDeadline(): `d` ns
  /// from now if > 0, already passed if < 0, none if 0.
  absl::Status SetDeadline(int64_t d, PollMode mode);
  /// SetDeadline() with an absl::Duration; InfiniteDuration() clears.
  absl::Status SetDeadline(absl::Duration d, PollMode mode);

  /// Binds a socket to `addr`.
  absl::Status Bind(const SockAddr& addr);
  /// Listens on a bound stream socket (which becomes a kListener).
  absl::Status Listen(int backlog);
  /// The socket's own address (getsockname).
  absl::StatusOr<SockAddr> LocalAddr();
  /// An int socket option (setsockopt with the OS's level and name).
  absl::Status SetSockOptInt(int level, int name, int value);

  /// Go's FD.Close without the wait: see the file comment.
  absl::Status Close();

  /// True once the descriptor itself has been closed (Close() was called
  /// and the last operation in progress has left).
  bool Destroyed() const;

  /// The descriptor, while the Fd is open; -1 once it has been closed
  /// (Destroyed()).
  intptr_t Sysfd() const;
  /// What the descriptor is (a kStream becomes a kListener by Listen()).
  FdKind kind() const;
  /// The pollDesc the Fd parks on, in its Poller.
  PollDescId pd() const;

  class Impl;

 private:
  explicit Fd(std::unique_ptr<Impl> impl);
#ifndef _WIN32
  // Read(), Write() and WaitRead() without their status (#16): 0 when the
  // call succeeded (done or parked, as *r says), else a code that only
  // CodeStatus() reads. So the common case returns in a register, and an
  // absl::Status is made, out of line, only for an error.
  int ReadCode(void* buf, size_t n, uintptr_t token, IoResult* r);
  int WriteCode(const void* buf, size_t n, uintptr_t token, IoResult* r);
  // WaitRead's: 0 parked (*r says so), kWaitReadReady done, else an error
  // code. It sets only r->n and, before it parks, r->state; WaitRead()
  // marks any other result done in *r itself (but kWaitReadBadArgs, which
  // leaves *r alone), so that the body
  // need not keep r across the call into the poller it makes.
  int WaitReadCode(uintptr_t token, IoResult* r);
  // TryRead()'s and TryWrite()'s, as ReadCode()'s.
  int TryReadCode(void* buf, size_t n, IoResult* r);
  int TryWriteCode(const void* buf, size_t n, IoResult* r);
  // Neither is a code CodeStatus() reads (those are below -8 or above 8).
  static constexpr int kWaitReadReady = 1;
  static constexpr int kWaitReadBadArgs = 2;  // EINVAL
  // The error status a code of the three above stands for: never OK,
  // which the wrappers below tell the compiler (ABSL_ASSUME). Then a
  // caller that tests the status and destroys it knows it OK on the OK
  // path; without it GCC joined that path with the error one and read
  // the status back from memory to destroy it.
  ABSL_ATTRIBUTE_COLD static absl::Status CodeStatus(int code);
  // WaitRead()'s errors: marks *r done (but for kWaitReadBadArgs), then
  // makes the status.
  ABSL_ATTRIBUTE_COLD static absl::Status WaitReadError(int code, IoResult* r);
  // `s`, which the caller knows is an error, told to the compiler as such.
  static absl::Status NotOk(absl::Status s);
  // OK for a code of 0, else CodeStatus(code): the wrappers' one body.
  static absl::Status StatusOf(int code);
#endif
  std::unique_ptr<Impl> impl_;
};

#ifndef _WIN32
// Unix: the hot operations are inline, so that their success is a test of
// a register where it is used, not a status passed through memory and
// read back (#16). Windows keeps them out of line (fd_windows.cc).
inline absl::Status Fd::NotOk(absl::Status s) {
  const bool ok = s.ok();  // (no call in clang's __builtin_assume)
  ABSL_ASSUME(!ok);        // see CodeStatus()
  return s;
}
inline absl::Status Fd::StatusOf(int code) {
  if (ABSL_PREDICT_FALSE(code != 0)) return NotOk(CodeStatus(code));
  return absl::OkStatus();
}
inline absl::Status Fd::Read(void* buf, size_t n, uintptr_t token,
                             IoResult* r) {
  return StatusOf(ReadCode(buf, n, token, r));
}
inline absl::Status Fd::Write(const void* buf, size_t n, uintptr_t token,
                              IoResult* r) {
  return StatusOf(WriteCode(buf, n, token, r));
}
inline absl::Status Fd::TryRead(void* buf, size_t n, IoResult* r) {
  return StatusOf(TryReadCode(buf, n, r));
}
inline absl::Status Fd::TryWrite(const void* buf, size_t n, IoResult* r) {
  return StatusOf(TryWriteCode(buf, n, r));
}
inline absl::Status Fd::WaitRead(uintptr_t token, IoResult* r) {
  const int code = WaitReadCode(token, r);
  if (ABSL_PREDICT_TRUE(code == 0)) return absl::OkStatus();  // parked
  if (code == kWaitReadReady) {
    r->state = IoState::kDone;
    return absl::OkStatus();
  }
  return NotOk(WaitReadError(code, r));
}
#endif

}  // namespace gort

#endif  // GORT_GORT_FD_H_
