// SPDX-License-Identifier: BSD-3-Clause

package gort

/*
#include <stdlib.h>
#include "gort.h"

// What the loop goroutine hands to C on every turn, in C memory: the loop
// passes no Go pointer to C and allocates nothing per turn.
enum { gortgo_batch = 64 };
typedef struct gortgo_loop {
  gort_poll_event_t events[gortgo_batch];
  uintptr_t tokens[gortgo_batch];
  size_t got;
  int64_t next_when;
} gortgo_loop;
*/
import "C"

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Tokens 0, 1 and 2 are gort's (gort.h: gort_poller_wait); the Go side
// numbers its waiters from here.
const firstToken = 3

// A Poller is a gort poller and timer heap driven by one goroutine locked to
// its OS thread (Go's netpoll is called by the scheduler, runtime/proc.go's
// findRunnable; here the loop goroutine plays that part).
//
// Waiters are Go-side integers: a parked operation's token is the index of
// a channel in the Poller's token table, never a Go pointer, so nothing Go
// owns is kept by C. Every method may be called from any goroutine.
type Poller struct {
	h    C.gort_poller_t
	heap C.gort_timers_t
	loop *C.gortgo_loop // C memory, the loop goroutine's alone

	mu     sync.Mutex // guards closed and fds
	closed bool
	fds    map[*Fd]struct{}

	tmu     sync.Mutex // guards tokens and next
	tokens  map[uintptr]interface{}
	next    uintptr
	done    chan struct{} // closed when the loop goroutine has returned
	closeMu sync.Mutex    // serialises Close
}

// NewPoller opens a poller and its timer heap and starts their loop
// goroutine.
func NewPoller() (*Poller, error) {
	p := &Poller{
		fds:    make(map[*Fd]struct{}),
		tokens: make(map[uintptr]interface{}),
		next:   firstToken,
		done:   make(chan struct{}),
	}
	if rc := C.gort_poller_open(&p.h); rc != 0 {
		return nil, newError("poller open", rc)
	}
	if rc := C.gort_timers_new(&p.heap); rc != 0 {
		C.gort_poller_close(p.h)
		return nil, newError("timers new", rc)
	}
	p.loop = (*C.gortgo_loop)(C.calloc(1, C.size_t(unsafe.Sizeof(C.gortgo_loop{}))))
	if p.loop == nil {
		C.gort_timers_free(p.heap)
		C.gort_poller_close(p.h)
		return nil, newError("poller open", C.GORT_ENOMEM)
	}
	go p.run()
	return p, nil
}

// run is the loop goroutine: it polls, bounded by the nearest timer,
// resumes the waiters whose tokens come out and starts the callbacks of
// the timers that fire. It returns once gort_poller_close() has closed the
// poller (its next poll gets GORT_EBADF).
func (p *Poller) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(p.done)
	l := p.loop
	for {
		delay := C.int64_t(-1)
		if C.gort_timers_next_when(p.heap, &l.next_when) == 0 && l.next_when >= 0 {
			delay = l.next_when - C.gort_nanotime()
			if delay < 0 {
				delay = 0
			}
		}
		l.got = 0
		rc := C.gort_poller_poll(p.h, delay, &l.events[0], C.gortgo_batch, &l.got)
		if rc == C.GORT_EBADF {
			return
		}
		if rc == 0 {
			for i := 0; i < int(l.got); i++ {
				p.ready(uintptr(l.events[i].token), int32(l.events[i].reason))
			}
		}
		p.runTimers()
	}
}

// runTimers fires the timers that are due (bounded: gort_timers_run says
// when to call again).
func (p *Poller) runTimers() {
	l := p.loop
	for {
		now := C.gort_nanotime()
		l.got = 0
		if C.gort_timers_run(p.heap, now, &l.tokens[0], C.gortgo_batch, &l.got, &l.next_when) != 0 {
			return
		}
		for i := 0; i < int(l.got); i++ {
			p.fire(uintptr(l.tokens[i]))
		}
		if l.next_when < 0 || l.next_when > now {
			return
		}
	}
}

// ready resumes the waiter parked with token (its channel has room for the
// one wake-up a park gets).
func (p *Poller) ready(token uintptr, reason int32) {
	p.tmu.Lock()
	w := p.tokens[token]
	p.tmu.Unlock()
	if ch, ok := w.(chan int32); ok {
		select {
		case ch <- reason:
		default:
		}
	}
}

// newToken registers v (a waiter's channel or a *Timer) under a fresh
// token.
func (p *Poller) newToken(v interface{}) uintptr {
	p.tmu.Lock()
	t := p.next
	p.next++
	p.tokens[t] = v
	p.tmu.Unlock()
	return t
}

func (p *Poller) dropToken(t uintptr) {
	p.tmu.Lock()
	delete(p.tokens, t)
	p.tmu.Unlock()
}

// park waits until the loop hands ch's token out. It returns false if the
// loop has ended (the poller was closed under a parked operation).
func (p *Poller) park(ch chan int32) bool {
	select {
	case <-ch:
		return true
	case <-p.done:
		return false
	}
}

// addFd records fd as the poller's, unless the poller is closed.
func (p *Poller) addFd(fd *Fd) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.fds[fd] = struct{}{}
	return true
}

func (p *Poller) removeFd(fd *Fd) {
	p.mu.Lock()
	delete(p.fds, fd)
	p.mu.Unlock()
}

// Close closes every Fd of the poller (their blocked operations return
// errors matching ErrClosed), then the poller and its timer heap (timers
// that have not fired never will), and waits for the loop goroutine to
// end. A second Close returns an error matching ErrClosed.
func (p *Poller) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return &Error{Op: "poller close", Code: C.GORT_EBADF, Sys: sysErrno(C.GORT_EBADF), closed: true}
	}
	p.closed = true
	fds := make([]*Fd, 0, len(p.fds))
	for fd := range p.fds {
		fds = append(fds, fd)
	}
	p.mu.Unlock()
	for _, fd := range fds {
		fd.Close()
	}
	// Every fd handle is released once its operations ended (Close waited
	// for them); the poller refuses to close (EBUSY) only while one is not.
	var rc C.int
	for i := 0; i < 1000; i++ {
		if rc = C.gort_poller_close(p.h); rc != C.GORT_EBUSY {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if rc != 0 {
		return newError("poller close", rc)
	}
	<-p.done
	C.gort_timers_free(p.heap)
	C.free(unsafe.Pointer(p.loop))
	p.loop = nil
	p.tmu.Lock()
	p.tokens = make(map[uintptr]interface{})
	p.tmu.Unlock()
	return nil
}

// Nanotime is gort's monotonic clock (gort_nanotime), the clock of its
// deadlines and timers.
func Nanotime() int64 { return int64(C.gort_nanotime()) }

// Version is the library's version, "MAJOR.MINOR.PATCH".
func Version() string { return C.GoString(C.gort_version_string()) }
