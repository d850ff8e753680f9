// SPDX-License-Identifier: BSD-3-Clause

package gort

// #include <stdlib.h>
// #include "gort.h"
import "C"

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// bufSize is the C buffer each direction of an Fd copies through: gort may
// keep an operation's buffer after the call returns (on Windows the kernel
// writes into it), which cgo forbids for Go memory. 32 KiB, io.Copy's size.
const bufSize = 32 << 10

// Kinds of descriptor for Poller.NewFd (gort.h: GORT_FD_*).
const (
	KindStream   = int(C.GORT_FD_STREAM)
	KindDatagram = int(C.GORT_FD_DATAGRAM)
	KindListener = int(C.GORT_FD_LISTENER)
	KindPipe     = int(C.GORT_FD_PIPE)
)

// direction is one side of an Fd: one operation at a time (a Go mutex in
// front of gort's EBUSY, as fdMutex's rwlock in internal/poll/fd_mutex.go),
// its token, the channel the loop resumes it on and its C buffer.
type direction struct {
	mu       sync.Mutex
	token    uintptr
	ch       chan int32
	buf      unsafe.Pointer // C memory, bufSize bytes, allocated on first use
	deadline atomic.Bool    // a deadline is set: ETIMEDOUT is the deadline's
}

// An Fd is a socket or pipe registered with a Poller (internal/poll.FD over
// gort_fd_*). Read, Write, Accept and Connect block the calling goroutine,
// not its thread, until done: the operation parks its token and the
// goroutine waits on a channel until the poller loop hands the token back.
// One Read and one Write may run at once; further ones wait their turn.
// Close may be called from any goroutine: blocked operations return an
// error matching ErrClosed. Fd implements net.Conn.
type Fd struct {
	p      *Poller
	h      C.gort_fd_t
	r, w   direction
	closed atomic.Bool
	remote atomic.Value // net.Addr, once Accept or Connect knows it
}

// NewFd takes sysfd (a Unix descriptor; a SOCKET or HANDLE on Windows) of
// kind KindStream, KindDatagram, KindListener or KindPipe and registers it
// with the poller. On failure sysfd stays open and the caller's.
func (p *Poller) NewFd(sysfd uintptr, kind int) (*Fd, error) {
	var h C.gort_fd_t
	if rc := C.gort_fd_open(p.h, C.intptr_t(sysfd), C.int(kind), &h); rc != 0 {
		return nil, p.err("open", rc)
	}
	return p.wrap(h)
}

// Socket creates a socket (Go's sysSocket in net/sock_cloexec.go:
// non-blocking, close-on-exec, no SIGPIPE) registered with the poller.
// family, sotype and proto are the OS's values (AF_INET, SOCK_STREAM, 0).
func (p *Poller) Socket(family, sotype, proto int) (*Fd, error) {
	var h C.gort_fd_t
	if rc := C.gort_fd_socket(p.h, C.int(family), C.int(sotype), C.int(proto), &h); rc != 0 {
		return nil, p.err("socket", rc)
	}
	return p.wrap(h)
}

func (p *Poller) err(op string, rc C.int) error {
	e := newError(op, rc)
	if rc == C.GORT_EBADF {
		p.mu.Lock()
		e.closed = p.closed
		p.mu.Unlock()
	}
	return e
}

// wrap makes the Fd of handle h, closing h if the poller is closed.
func (p *Poller) wrap(h C.gort_fd_t) (*Fd, error) {
	fd := &Fd{p: p, h: h}
	fd.r.ch = make(chan int32, 1)
	fd.w.ch = make(chan int32, 1)
	fd.r.token = p.newToken(fd.r.ch)
	fd.w.token = p.newToken(fd.w.ch)
	if !p.addFd(fd) {
		C.gort_fd_close(h)
		p.dropToken(fd.r.token)
		p.dropToken(fd.w.token)
		return nil, &Error{Op: "open", Code: C.GORT_EBADF, Sys: sysErrno(C.GORT_EBADF), closed: true}
	}
	return fd, nil
}

// Listen opens a TCP listener on address ("127.0.0.1:0", "[::1]:8080";
// network "tcp", "tcp4" or "tcp6") with SO_REUSEADDR, as net.Listen does
// on Unix (net/sockopt_posix.go).
func (p *Poller) Listen(network, address string) (*Fd, error) {
	a, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, err
	}
	fd, err := p.tcpSocket(a)
	if err != nil {
		return nil, err
	}
	if err := fd.listen(a); err != nil {
		fd.Close()
		return nil, err
	}
	return fd, nil
}

func (fd *Fd) listen(a *net.TCPAddr) error {
	if rc := C.gort_fd_setsockopt_int(fd.h, C.int(SOL_SOCKET), C.int(SO_REUSEADDR), 1); rc != 0 {
		return newError("setsockopt", rc)
	}
	if err := fd.Bind(a); err != nil {
		return err
	}
	if rc := C.gort_fd_listen(fd.h, C.int(SOMAXCONN)); rc != 0 {
		return newError("listen", rc)
	}
	return nil
}

// Dial connects a new TCP socket to address; the deadline, if not zero,
// bounds the connect (net.Dialer's Deadline).
func (p *Poller) Dial(network, address string, deadline time.Time) (*Fd, error) {
	a, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, err
	}
	fd, err := p.tcpSocket(a)
	if err != nil {
		return nil, err
	}
	if err := fd.SetWriteDeadline(deadline); err != nil {
		fd.Close()
		return nil, err
	}
	if err := fd.Connect(a); err != nil {
		fd.Close()
		return nil, err
	}
	fd.SetWriteDeadline(time.Time{})
	return fd, nil
}

func (p *Poller) tcpSocket(a *net.TCPAddr) (*Fd, error) {
	family := AF_INET6
	if a.IP == nil || a.IP.To4() != nil {
		family = AF_INET
	}
	return p.Socket(family, SOCK_STREAM, 0)
}

// closedErr is the error of an operation on a closed Fd.
func (fd *Fd) closedErr(op string) error {
	return &Error{Op: op, Code: C.GORT_ECANCELED, Sys: sysErrno(C.GORT_ECANCELED), closed: true}
}

// opErr turns gort's result rc of op in direction d into an error:
// ECANCELED (closing) and EBADF (closed) match ErrClosed, ETIMEDOUT with a
// deadline set matches os.ErrDeadlineExceeded (internal/poll/fd_poll_
// runtime.go's convertErr).
func (fd *Fd) opErr(op string, rc C.int, d *direction) error {
	if fd.closed.Load() && (rc == C.GORT_ECANCELED || rc == C.GORT_EBADF) {
		return fd.closedErr(op)
	}
	e := newError(op, rc)
	e.deadline = rc == C.GORT_ETIMEDOUT && d != nil && d.deadline.Load()
	return e
}

// begin starts an operation in d: its turn, the fd not closed, its C
// buffer. end must follow.
func (fd *Fd) begin(op string, d *direction) error {
	d.mu.Lock()
	if fd.closed.Load() {
		d.mu.Unlock()
		return fd.closedErr(op)
	}
	if d.buf == nil {
		d.buf = C.malloc(bufSize)
		if d.buf == nil {
			d.mu.Unlock()
			return newError(op, C.GORT_ENOMEM)
		}
	}
	return nil
}

func (fd *Fd) end(d *direction) { d.mu.Unlock() }

// wait parks the goroutine until the poller loop hands d's token back
// (internal/poll/fd_poll_runtime.go's pollDesc.wait). False: the poller's
// loop has ended.
func (fd *Fd) wait(d *direction) bool { return fd.p.park(d.ch) }

// Read reads up to len(b) bytes (at most 32 KiB per call). At the end of
// the stream it returns 0, io.EOF (internal/poll/fd_unix.go's Read and
// eofError). An empty b returns 0, nil at once.
func (fd *Fd) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if err := fd.begin("read", &fd.r); err != nil {
		return 0, err
	}
	defer fd.end(&fd.r)
	n := len(b)
	if n > bufSize {
		n = bufSize
	}
	var got C.size_t
	for {
		rc := C.gort_fd_read(fd.h, fd.r.buf, C.size_t(n), C.uintptr_t(fd.r.token), &got)
		if rc == C.GORT_POLL_PARKED {
			if !fd.wait(&fd.r) {
				return 0, fd.closedErr("read")
			}
			continue
		}
		if rc != 0 {
			return 0, fd.opErr("read", rc, &fd.r)
		}
		if got == 0 {
			return 0, io.EOF
		}
		return copy(b, unsafe.Slice((*byte)(fd.r.buf), int(got))), nil
	}
}

// Write writes all of b, or returns the count written and the error
// (internal/poll/fd_unix.go's Write). An empty b returns 0, nil at once.
func (fd *Fd) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if err := fd.begin("write", &fd.w); err != nil {
		return 0, err
	}
	defer fd.end(&fd.w)
	total := 0
	for total < len(b) {
		chunk := b[total:]
		if len(chunk) > bufSize {
			chunk = chunk[:bufSize]
		}
		copy(unsafe.Slice((*byte)(fd.w.buf), bufSize), chunk)
		var done C.size_t
		for {
			rc := C.gort_fd_write(fd.h, fd.w.buf, C.size_t(len(chunk)), C.uintptr_t(fd.w.token), &done)
			if rc == C.GORT_POLL_PARKED {
				if !fd.wait(&fd.w) {
					return total, fd.closedErr("write")
				}
				continue
			}
			total += int(done)
			if rc != 0 {
				return total, fd.opErr("write", rc, &fd.w)
			}
			break
		}
	}
	return total, nil
}

// Accept waits for a connection on a listener and returns it as an Fd of
// the same poller (net/fd_unix.go's accept).
func (fd *Fd) Accept() (*Fd, error) {
	if err := fd.begin("accept", &fd.r); err != nil {
		return nil, err
	}
	defer fd.end(&fd.r)
	var h C.gort_fd_t
	var alen C.uint32_t
	for {
		alen = maxAddr
		rc := C.gort_fd_accept(fd.h, C.uintptr_t(fd.r.token), &h, fd.r.buf, &alen)
		if rc == C.GORT_POLL_PARKED {
			if !fd.wait(&fd.r) {
				return nil, fd.closedErr("accept")
			}
			continue
		}
		if rc != 0 {
			return nil, fd.opErr("accept", rc, &fd.r)
		}
		break
	}
	remote := tcpAddr(fd.r.buf, alen)
	nfd, err := fd.p.wrap(h)
	if err != nil {
		return nil, err
	}
	if remote != nil {
		nfd.remote.Store(net.Addr(remote))
	}
	return nfd, nil
}

// Connect connects the socket to a; the write deadline bounds it
// (net/fd_unix.go's connect).
func (fd *Fd) Connect(a *net.TCPAddr) error {
	if err := fd.begin("connect", &fd.w); err != nil {
		return err
	}
	defer fd.end(&fd.w)
	_, n := putTCPAddr(fd.w.buf, a)
	if n == 0 {
		return newError("connect", C.GORT_EAFNOSUPPORT)
	}
	for {
		rc := C.gort_fd_connect(fd.h, fd.w.buf, n, C.uintptr_t(fd.w.token))
		if rc == C.GORT_POLL_PARKED {
			if !fd.wait(&fd.w) {
				return fd.closedErr("connect")
			}
			continue
		}
		if rc != 0 {
			return fd.opErr("connect", rc, &fd.w)
		}
		fd.remote.Store(net.Addr(a))
		return nil
	}
}

// Bind binds the socket to a.
func (fd *Fd) Bind(a *net.TCPAddr) error {
	buf := C.malloc(maxAddr)
	defer C.free(buf)
	_, n := putTCPAddr(buf, a)
	if n == 0 {
		return newError("bind", C.GORT_EAFNOSUPPORT)
	}
	if rc := C.gort_fd_bind(fd.h, buf, n); rc != 0 {
		return fd.opErr("bind", rc, nil)
	}
	return nil
}

// LocalAddr is the socket's own address (nil if unknown).
func (fd *Fd) LocalAddr() net.Addr {
	buf := C.malloc(maxAddr)
	defer C.free(buf)
	n := C.uint32_t(maxAddr)
	if C.gort_fd_local_addr(fd.h, buf, &n) != 0 {
		return nil
	}
	if a := tcpAddr(buf, n); a != nil {
		return a
	}
	return nil
}

// RemoteAddr is the peer's address as Accept or Connect knew it.
func (fd *Fd) RemoteAddr() net.Addr {
	a, _ := fd.remote.Load().(net.Addr)
	return a
}

// SetsockoptInt is setsockopt(2) with an int value (the OS's level and
// option numbers).
func (fd *Fd) SetsockoptInt(level, name, value int) error {
	if rc := C.gort_fd_setsockopt_int(fd.h, C.int(level), C.int(name), C.int(value)); rc != 0 {
		return fd.opErr("setsockopt", rc, nil)
	}
	return nil
}

// Sysfd is the descriptor (a SOCKET or HANDLE on Windows) while the Fd is
// open.
func (fd *Fd) Sysfd() (uintptr, error) {
	var s C.intptr_t
	if rc := C.gort_fd_sysfd(fd.h, &s); rc != 0 {
		return 0, fd.opErr("sysfd", rc, nil)
	}
	return uintptr(s), nil
}

// CloseRead shuts the reading side down (shutdown(SHUT_RD)).
func (fd *Fd) CloseRead() error { return fd.shutdown(C.GORT_POLL_READ) }

// CloseWrite shuts the writing side down (shutdown(SHUT_WR)): the peer
// reads EOF.
func (fd *Fd) CloseWrite() error { return fd.shutdown(C.GORT_POLL_WRITE) }

func (fd *Fd) shutdown(how C.int) error {
	if rc := C.gort_fd_shutdown(fd.h, how); rc != 0 {
		return fd.opErr("shutdown", rc, nil)
	}
	return nil
}

// SetDeadline sets the read and write deadlines (net.Conn): a zero t means
// none, a past t fails operations at once.
func (fd *Fd) SetDeadline(t time.Time) error {
	return fd.setDeadline(t, C.GORT_POLL_READWRITE)
}

// SetReadDeadline sets the deadline of Read and Accept.
func (fd *Fd) SetReadDeadline(t time.Time) error {
	return fd.setDeadline(t, C.GORT_POLL_READ)
}

// SetWriteDeadline sets the deadline of Write and Connect.
func (fd *Fd) SetWriteDeadline(t time.Time) error {
	return fd.setDeadline(t, C.GORT_POLL_WRITE)
}

// setDeadline converts t as internal/poll/fd_poll_runtime.go's
// setDeadlineImpl does: zero -> none (0), past -> expired (-1), else the
// time left.
func (fd *Fd) setDeadline(t time.Time, mode C.int) error {
	var d int64
	if !t.IsZero() {
		d = int64(time.Until(t))
		if d <= 0 {
			d = -1
		}
	}
	if rc := C.gort_fd_set_deadline(fd.h, C.int64_t(d), mode); rc != 0 {
		return fd.opErr("set deadline", rc, nil)
	}
	if mode&C.GORT_POLL_READ != 0 {
		fd.r.deadline.Store(d != 0)
	}
	if mode&C.GORT_POLL_WRITE != 0 {
		fd.w.deadline.Store(d != 0)
	}
	return nil
}

// Close closes the Fd (internal/poll/fd_unix.go's Close): blocked
// operations return errors matching ErrClosed, the descriptor is closed
// once they have returned, and a second Close returns an error matching
// ErrClosed.
func (fd *Fd) Close() error {
	if !fd.closed.CompareAndSwap(false, true) {
		return fd.closedErr("close")
	}
	rc := C.gort_fd_close(fd.h)
	// The operations under way come out (GORT_POLL_CLOSING) and end; then
	// their buffers are free.
	for _, d := range []*direction{&fd.r, &fd.w} {
		d.mu.Lock()
		if d.buf != nil {
			C.free(d.buf)
			d.buf = nil
		}
		d.mu.Unlock()
		fd.p.dropToken(d.token)
	}
	fd.p.removeFd(fd)
	if rc != 0 {
		return newError("close", rc)
	}
	return nil
}

var _ net.Conn = (*Fd)(nil)
