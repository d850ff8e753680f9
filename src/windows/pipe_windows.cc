// SPDX-License-Identifier: BSD-3-Clause
// OpenPipe on Windows. Go's os.Pipe uses CreatePipe, whose anonymous pipes
// cannot do overlapped I/O; gort's pollable ends must, so it makes a named
// pipe as libuv's uv_pipe does (src/win/pipe.c): the read end is the
// server instance (inbound), the write end the client opened on it, each
// with FILE_FLAG_OVERLAPPED only if the caller will poll it. Neither is
// inheritable: Process::Spawn names a child's handles in its
// PROC_THREAD_ATTRIBUTE_HANDLE_LIST, which inherits them for that child
// alone.
#include <windows.h>

#include <atomic>
#include <cstdint>
#include <cwchar>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/fd.h"

namespace gort {
namespace {

std::atomic<uint32_t> g_serial{0};

absl::Status Win(DWORD err, const char* context) {
  return Error::FromSys(static_cast<int64_t>(err)).ToStatus(context);
}

}  // namespace

absl::StatusOr<PipeEnds> OpenPipe(uint32_t pollable) {
  if ((pollable & ~(kPipeReadPollable | kPipeWritePollable)) != 0) {
    return Error::FromCode(GORT_EINVAL).ToStatus("pipe: flags");
  }
  wchar_t name[96];
  (void)swprintf(name, sizeof(name) / sizeof(name[0]),
                 L"\\\\.\\pipe\\gort-pipe-%lu-%lu-%llu",
                 static_cast<unsigned long>(GetCurrentProcessId()),
                 static_cast<unsigned long>(g_serial.fetch_add(1)),
                 static_cast<unsigned long long>(GetTickCount64()));
  // One instance, this process's only (FILE_FLAG_FIRST_PIPE_INSTANCE: a
  // squatter that made the name first makes this fail), local clients
  // only, 64 KiB each way as libuv's.
  DWORD open_mode = PIPE_ACCESS_INBOUND | FILE_FLAG_FIRST_PIPE_INSTANCE;
  if (pollable & kPipeReadPollable) open_mode |= FILE_FLAG_OVERLAPPED;
  HANDLE r = CreateNamedPipeW(name, open_mode,
                              PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                  PIPE_REJECT_REMOTE_CLIENTS,
                              1, 65536, 65536, 0, nullptr);
  if (r == INVALID_HANDLE_VALUE) return Win(GetLastError(), "CreateNamedPipeW");
  DWORD flags = FILE_ATTRIBUTE_NORMAL;
  if (pollable & kPipeWritePollable) flags |= FILE_FLAG_OVERLAPPED;
  // FILE_READ_ATTRIBUTES / FILE_WRITE_ATTRIBUTES: the writer may ask and
  // set the pipe's state (GetNamedPipeInfo, SetNamedPipeHandleState: the
  // signal layer makes its write end PIPE_NOWAIT).
  HANDLE w = CreateFileW(
      name, GENERIC_WRITE | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES, 0,
      nullptr, OPEN_EXISTING, flags, nullptr);
  if (w == INVALID_HANDLE_VALUE) {
    DWORD err = GetLastError();
    CloseHandle(r);
    return Win(err, "CreateFileW (pipe)");
  }
  return PipeEnds{reinterpret_cast<intptr_t>(r), reinterpret_cast<intptr_t>(w)};
}

absl::Status ClosePipeEnd(intptr_t end) {
  if (end == -1 || end == 0) {
    return Error::FromCode(GORT_EBADF).ToStatus("pipe close");
  }
  if (!CloseHandle(reinterpret_cast<HANDLE>(end))) {
    return Win(GetLastError(), "pipe close");
  }
  return absl::OkStatus();
}

}  // namespace gort
