// SPDX-License-Identifier: BSD-3-Clause

package gort

// #include "gort.h"
import "C"

import (
	"sync"
	"time"
)

// A Timer calls its function in its own goroutine once its duration has
// passed, on the Poller's timer heap (time/sleep.go's AfterFunc). Stop and
// Reset follow Go 1.23's time.Timer: they report whether the timer was
// pending, and once they return, the arming they replaced never fires.
// Its methods may be called from any goroutine.
type Timer struct {
	p  *Poller
	f  func()
	mu sync.Mutex
	h  C.gort_timer_t // 0 when not in the heap (fired, stopped)
	tk uintptr        // the token of the current arming
}

// AfterFunc arms a timer that calls f in its own goroutine after d (at
// once if d <= 0). The error matches ErrClosed once the poller is closed.
func (p *Poller) AfterFunc(d time.Duration, f func()) (*Timer, error) {
	if f == nil {
		return nil, newError("timer add", C.GORT_EINVAL)
	}
	t := &Timer{p: p, f: f}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.arm(d); err != nil {
		return nil, err
	}
	return t, nil
}

// arm puts a fresh gort timer with a fresh token in the heap: a token that
// an earlier arming handed out is never taken for this one. t.mu is held.
func (t *Timer) arm(d time.Duration) error {
	if d < 0 {
		d = 0
	}
	p := t.p
	tk := p.newToken(t)
	var h C.gort_timer_t
	if rc := C.gort_timer_add_token(p.heap, C.uintptr_t(tk), &h); rc != 0 {
		p.dropToken(tk)
		return t.err("timer add", rc)
	}
	when := C.gort_nanotime() + C.int64_t(d)
	if rc := C.gort_timer_reset(p.heap, h, when, 0, nil); rc != 0 {
		C.gort_timer_remove(p.heap, h)
		p.dropToken(tk)
		return t.err("timer reset", rc)
	}
	t.h, t.tk = h, tk
	// The loop's poll may be bounded by a later deadline, or none: wake it
	// to recompute (coalesced; Go's wakeNetPoller in runtime/proc.go).
	C.gort_poller_wake(p.h)
	return nil
}

// disarm takes the timer out of the heap: true if that prevented a fire.
// If not, its token is out (or being handed out), and the loop, which
// owns it from then on, runs the function. t.mu is held.
func (t *Timer) disarm() bool {
	if t.h == 0 {
		return false
	}
	var pending C.int
	C.gort_timer_stop(t.p.heap, t.h, &pending)
	C.gort_timer_remove(t.p.heap, t.h)
	if pending != 0 {
		t.p.dropToken(t.tk)
	}
	t.h, t.tk = 0, 0
	return pending != 0
}

// Stop prevents the timer from firing: true if it did, false if the
// timer had already fired (its function has been started or will be) or
// was stopped (time/sleep.go's Timer.Stop).
func (t *Timer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.disarm()
}

// Reset re-arms the timer to fire after d and reports whether it was
// pending (time/sleep.go's Timer.Reset, Go 1.23). The error matches
// ErrClosed once the poller is closed.
func (t *Timer) Reset(d time.Duration) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.disarm()
	return was, t.arm(d)
}

func (t *Timer) err(op string, rc C.int) error {
	e := newError(op, rc)
	e.closed = rc == C.GORT_EBADF
	return e
}

// fire runs on the loop goroutine for each token the heap hands out.
func (p *Poller) fire(tk uintptr) {
	p.tmu.Lock()
	t, ok := p.tokens[tk].(*Timer)
	delete(p.tokens, tk)
	p.tmu.Unlock()
	if !ok {
		return
	}
	t.mu.Lock()
	if t.tk == tk { // not stopped or re-armed since: it leaves the heap
		C.gort_timer_remove(p.heap, t.h)
		t.h, t.tk = 0, 0
	}
	t.mu.Unlock()
	go t.f()
}
