// SPDX-License-Identifier: BSD-3-Clause

package gort

// #include <stdlib.h>
// #include "gort.h"
import "C"

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// ErrClosed is what an operation on a closed Fd, Poller or Timer matches
// (errors.Is(err, gort.ErrClosed)). It is net.ErrClosed, so code written for
// the net package's connections recognises it too (net/net.go).
var ErrClosed = net.ErrClosed

// Error is a failed gort call: the operation, gort's portable code and the
// operating system's own value.
//
// errors.Is(err, syscall.ECONNRESET) holds on every OS: Is compares a
// syscall.Errno target with the raw value and with the portable code (on
// Windows, WSAECONNRESET and Go's syscall.ECONNRESET both match
// GORT_ECONNRESET). errors.Is(err, os.ErrDeadlineExceeded) holds for an
// operation ended by its deadline, errors.Is(err, ErrClosed) for one on a
// closed Fd or Poller. Unwrap returns the raw value as a syscall.Errno, so
// errors.As(err, &errno) works as with the os and net packages' errors.
type Error struct {
	Op   string        // "read", "write", "accept", "connect", "close", ...
	Code int           // portable code: a negative GORT_E* value
	Sys  syscall.Errno // the OS's value for it (errno; a Win32 or WSA code)

	deadline bool // ETIMEDOUT because the operation's deadline passed
	closed   bool // the Fd or Poller was closed
}

func (e *Error) Error() string {
	msg := C.GoString(C.gort_strerror(C.int(e.Code)))
	if e.deadline {
		msg = os.ErrDeadlineExceeded.Error()
	} else if e.closed {
		msg = ErrClosed.Error()
	}
	if e.Op == "" {
		return "gort: " + msg
	}
	return "gort: " + e.Op + ": " + msg
}

// Unwrap returns the OS's raw error value.
func (e *Error) Unwrap() error {
	if e.Sys == 0 {
		return nil
	}
	return e.Sys
}

// Is reports whether e matches target: os.ErrDeadlineExceeded, ErrClosed,
// or a syscall.Errno naming the same error (by raw value or by portable
// code). Go's syscall.Errno.Is, reached through Unwrap, adds the os
// package's ErrPermission, ErrExist, ErrNotExist and ErrUnsupported.
func (e *Error) Is(target error) bool {
	switch target {
	case os.ErrDeadlineExceeded:
		return e.deadline
	case ErrClosed:
		return e.closed
	}
	if errno, ok := target.(syscall.Errno); ok {
		if errno == 0 {
			return false
		}
		if errno == e.Sys {
			return true
		}
		if want, ok := goErrno[e.Code]; ok && want == errno {
			return true
		}
		return int(C.gort_err_from_sys(C.int64_t(errno))) == e.Code
	}
	return false
}

// Timeout reports whether the error is a deadline's (net.Error).
func (e *Error) Timeout() bool { return e.deadline }

// Temporary is false: as for net.Error, use Timeout.
func (e *Error) Temporary() bool { return false }

// newError builds the Error for portable code rc (< 0).
func newError(op string, rc C.int) *Error {
	code := int(rc)
	return &Error{Op: op, Code: code, Sys: sysErrno(code)}
}

// sysErrno is the native OS value of a portable code: the errno of the
// same name on Unix, the WSA or Win32 code on Windows, and Go's own
// syscall constant where the OS has none (the C ABI reports the portable
// code of an operation only; it names its raw value by that name).
func sysErrno(code int) syscall.Errno {
	name := C.gort_err_name(C.int(code))
	space := C.int(C.gort_err_native_space())
	var se C.gort_syserr_t
	se.size = C.size_t(unsafe.Sizeof(se))
	if space == C.GORT_ERRSPACE_WINDOWS {
		wsa := C.CString("WSA" + C.GoString(name))
		rc := C.gort_syserr_by_name(space, wsa, &se)
		C.free(unsafe.Pointer(wsa))
		if rc == 0 {
			return syscall.Errno(se.raw)
		}
	}
	if C.gort_syserr_by_name(space, name, &se) == 0 {
		return syscall.Errno(se.raw)
	}
	return goErrno[code]
}

// goErrno maps the portable codes a caller tests for to Go's syscall
// constants, which the syscall package defines on every OS (on Windows
// with values of its own: zerrors_windows.go).
var goErrno = map[int]syscall.Errno{
	C.GORT_EPERM:           syscall.EPERM,
	C.GORT_ENOENT:          syscall.ENOENT,
	C.GORT_EINTR:           syscall.EINTR,
	C.GORT_EIO:             syscall.EIO,
	C.GORT_EBADF:           syscall.EBADF,
	C.GORT_EAGAIN:          syscall.EAGAIN,
	C.GORT_ENOMEM:          syscall.ENOMEM,
	C.GORT_EACCES:          syscall.EACCES,
	C.GORT_EBUSY:           syscall.EBUSY,
	C.GORT_EEXIST:          syscall.EEXIST,
	C.GORT_EINVAL:          syscall.EINVAL,
	C.GORT_EMFILE:          syscall.EMFILE,
	C.GORT_EPIPE:           syscall.EPIPE,
	C.GORT_EDEADLK:         syscall.EDEADLK,
	C.GORT_ENOSYS:          syscall.ENOSYS,
	C.GORT_ENOTSOCK:        syscall.ENOTSOCK,
	C.GORT_EAFNOSUPPORT:    syscall.EAFNOSUPPORT,
	C.GORT_EADDRINUSE:      syscall.EADDRINUSE,
	C.GORT_EADDRNOTAVAIL:   syscall.EADDRNOTAVAIL,
	C.GORT_ENETUNREACH:     syscall.ENETUNREACH,
	C.GORT_ECONNABORTED:    syscall.ECONNABORTED,
	C.GORT_ECONNRESET:      syscall.ECONNRESET,
	C.GORT_ENOBUFS:         syscall.ENOBUFS,
	C.GORT_EISCONN:         syscall.EISCONN,
	C.GORT_ENOTCONN:        syscall.ENOTCONN,
	C.GORT_ETIMEDOUT:       syscall.ETIMEDOUT,
	C.GORT_ECONNREFUSED:    syscall.ECONNREFUSED,
	C.GORT_EHOSTUNREACH:    syscall.EHOSTUNREACH,
	C.GORT_EALREADY:        syscall.EALREADY,
	C.GORT_EINPROGRESS:     syscall.EINPROGRESS,
	C.GORT_ECANCELED:       syscall.ECANCELED,
	C.GORT_ENOTSUP:         syscall.ENOTSUP,
	C.GORT_EPROTONOSUPPORT: syscall.EPROTONOSUPPORT,
}
