// SPDX-License-Identifier: BSD-3-Clause

// Package gort is a thin Go wrapper over gort's C ABI (gort.h): a netpoller
// with blocking-style descriptor operations, and timers with Go callbacks.
//
// # Structure
//
// NewPoller opens a gort poller and a gort timer heap and starts one loop
// goroutine, locked to its OS thread, that calls gort_poller_poll bounded by
// the heap's nearest deadline, then gort_timers_run. An operation on an Fd
// (Read, Write, Accept, Connect) calls gort's re-entrant gort_fd_* function;
// when that parks, the calling goroutine waits on a channel until the loop
// hands its token back, then calls again (internal/poll's waitRead and
// waitWrite, with the loop as Go's netpoll). Tokens are integers from a
// Go-side table (3 and up: gort keeps 0, 1 and 2), never Go pointers, and
// every buffer gort may keep across calls is C memory, so no Go pointer is
// ever retained by C and no C-to-Go callback exists: a timer hands a token
// back too, and the loop starts its function in a new goroutine.
//
// # Goroutine safety
//
// Every Poller, Fd and Timer method may be called from any goroutine at
// any time. Per Fd, one Read (or Accept) and one Write (or Connect) run at
// once; further ones wait for their turn. Close of an Fd, from any
// goroutine, makes its blocked operations return errors matching ErrClosed
// and a second Close returns one too. Poller.Close closes the poller's Fds,
// then the poller and its timer heap, and waits for the loop goroutine; a
// timer that has not fired then never fires, and later calls return errors
// matching ErrClosed. Nothing panics on a closed or misused object.
//
// # Errors
//
// Failures are *Error values: the operation, gort's portable code and the
// OS's raw value. errors.Is(err, syscall.ECONNRESET) holds on every OS,
// errors.Is(err, os.ErrDeadlineExceeded) after a deadline, errors.Is(err,
// ErrClosed) (net.ErrClosed) after Close. Read returns io.EOF at the end of
// a stream.
//
// # Linking
//
// The package links gort through pkg-config (PKG_CONFIG_PATH naming the
// installed prefix's lib/pkgconfig): the shared library (gort.pc) by
// default, the static one (gort-static.pc, libgort.a with Abseil and the
// C++ runtime) with -tags gort_static. See docs/guide-go.md.
package gort
