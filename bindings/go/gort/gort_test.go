// SPDX-License-Identifier: BSD-3-Clause

package gort_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gort"
)

func newPoller(t *testing.T) *gort.Poller {
	t.Helper()
	p, err := gort.NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// pair returns a connected loopback TCP pair (client, server side).
func pair(t *testing.T, p *gort.Poller) (*gort.Fd, *gort.Fd) {
	t.Helper()
	c, s, err := tryPair(p)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func tryPair(p *gort.Poller) (*gort.Fd, *gort.Fd, error) {
	ln, err := p.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type res struct {
		fd  *gort.Fd
		err error
	}
	acc := make(chan res, 1)
	go func() {
		fd, err := ln.Accept()
		acc <- res{fd, err}
	}()
	c, err := p.Dial("tcp4", ln.LocalAddr().String(), time.Now().Add(5*time.Second))
	if err != nil {
		return nil, nil, err
	}
	r := <-acc
	if r.err != nil {
		c.Close()
		return nil, nil, r.err
	}
	return c, r.fd, nil
}

func TestPollerOpenClose(t *testing.T) {
	p, err := gort.NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err = p.Close()
	if err == nil || !errors.Is(err, gort.ErrClosed) {
		t.Fatalf("second Close: %v, want an error matching ErrClosed", err)
	}
	// Misuse after Close: errors, no panic.
	if _, err := p.Listen("tcp4", "127.0.0.1:0"); !errors.Is(err, gort.ErrClosed) {
		t.Errorf("Listen after Close: %v", err)
	}
	if _, err := p.AfterFunc(time.Millisecond, func() {}); !errors.Is(err, gort.ErrClosed) {
		t.Errorf("AfterFunc after Close: %v", err)
	}
	// Timers of a closed poller: Stop reports nothing pending, Reset fails.
	p2, err := gort.NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := p2.AfterFunc(time.Hour, func() { t.Error("fired after Close") })
	if err != nil {
		t.Fatal(err)
	}
	p2.Close()
	if tm.Stop() {
		t.Error("Stop after the poller's Close returned true")
	}
	if _, err := tm.Reset(time.Millisecond); !errors.Is(err, gort.ErrClosed) {
		t.Errorf("Reset after the poller's Close: %v", err)
	}
	if _, err := p.AfterFunc(time.Second, nil); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("AfterFunc(nil): %v; want EINVAL", err)
	}
	if gort.Version() == "" {
		t.Error("empty Version")
	}
}

func TestEcho(t *testing.T) {
	p := newPoller(t)
	ln, err := p.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	c, err := p.Dial("tcp", ln.LocalAddr().String(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != ln.LocalAddr().String() {
		t.Errorf("RemoteAddr %v, want %v", c.RemoteAddr(), ln.LocalAddr())
	}
	// More than one C buffer's worth, so both sides park.
	msg := bytes.Repeat([]byte("gort echo "), 100000)
	go func() {
		c.Write(msg)
		c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo: got %d bytes, want %d", len(got), len(msg))
	}
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ln.Close(); !errors.Is(err, gort.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestReadDeadline(t *testing.T) {
	p := newPoller(t)
	c, s := pair(t, p)
	defer c.Close()
	defer s.Close()
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := c.Read(make([]byte, 10))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read: %d, %v; want os.ErrDeadlineExceeded", n, err)
	}
	if !errors.Is(err, syscall.ETIMEDOUT) {
		t.Errorf("%v does not match syscall.ETIMEDOUT", err)
	}
	var ge *gort.Error
	if !errors.As(err, &ge) || !ge.Timeout() || ge.Op != "read" {
		t.Errorf("%#v: want a *gort.Error, Timeout, Op read", err)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("deadline fired after %v", el)
	}
	// A deadline in the past fails at once; clearing it reads again.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	s.Write([]byte("x"))
	if n, err := c.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Fatalf("after clearing: %d, %v", n, err)
	}
}

// The peer closes with SO_LINGER 0: a RST, not a FIN. A read parked when it
// arrives fails with ECONNRESET on Linux, macOS and Windows, also under
// Wine (tests/fd_conn_test.cc, ParkedReadGetsResetWhenThePeerAborts; a
// read started after the RST arrived gets EOF under Wine instead).
func TestConnectionReset(t *testing.T) {
	p := newPoller(t)
	c, s := pair(t, p)
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 16))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // the read parks
	if err := setLingerZero(c); err != nil {
		t.Fatal(err)
	}
	c.Close()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the parked Read did not return after the peer's RST")
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after the peer's RST: %v; want ECONNRESET", err)
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno == 0 {
		t.Errorf("no raw errno in %v", err)
	}
	var ge *gort.Error
	if errors.As(err, &ge) {
		t.Logf("%v: Code %d, Sys %d (%#x)", err, ge.Code, int(ge.Sys), int(ge.Sys))
	}
}

func TestCloseUnblocks(t *testing.T) {
	p := newPoller(t)
	c, s := pair(t, p)
	defer s.Close()
	done := make(chan error)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, gort.ErrClosed) {
			t.Fatalf("blocked Read: %v; want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
	if err := c.Close(); !errors.Is(err, gort.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, gort.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := c.SetDeadline(time.Now()); err == nil {
		t.Fatal("SetDeadline after Close succeeded")
	}
}

func TestPollerCloseUnblocks(t *testing.T) {
	p, err := gort.NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := p.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := ln.Accept()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, gort.ErrClosed) {
		t.Fatalf("Accept: %v; want ErrClosed", err)
	}
	if err := ln.Close(); !errors.Is(err, gort.ErrClosed) {
		t.Fatalf("Close after the poller's: %v", err)
	}
}

func TestConnectRefused(t *testing.T) {
	p := newPoller(t)
	ln, err := p.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.LocalAddr().String()
	ln.Close()
	_, err = p.Dial("tcp4", addr, time.Now().Add(5*time.Second))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial: %v; want ECONNREFUSED", err)
	}
}

func TestTimersInOrder(t *testing.T) {
	p := newPoller(t)
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for _, i := range []int{3, 1, 4, 2, 5} {
		i := i
		wg.Add(1)
		if _, err := p.AfterFunc(time.Duration(i)*15*time.Millisecond, func() {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i, v := range order {
		if v != i+1 {
			t.Fatalf("fired in order %v", order)
		}
	}
}

func TestTimerStopReset(t *testing.T) {
	p := newPoller(t)
	var fired atomic.Int32
	tm, err := p.AfterFunc(30*time.Millisecond, func() { fired.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	if !tm.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if tm.Stop() {
		t.Fatal("second Stop returned true")
	}
	time.Sleep(60 * time.Millisecond)
	if fired.Load() != 0 {
		t.Fatal("a stopped timer fired")
	}
	// Reset re-arms a stopped timer (false: it was not pending), then a
	// pending one (true): it fires once, at the later deadline.
	ch := make(chan time.Time, 2)
	tm2, _ := p.AfterFunc(time.Hour, func() { ch <- time.Now() })
	if was, err := tm2.Reset(20 * time.Millisecond); !was || err != nil {
		t.Fatalf("Reset of a pending timer: %v, %v", was, err)
	}
	start := time.Now()
	select {
	case at := <-ch:
		if at.Sub(start) > 2*time.Second {
			t.Fatal("Reset timer late")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Reset timer did not fire (an earlier deadline must wake the loop)")
	}
	if tm2.Stop() {
		t.Fatal("Stop after firing returned true")
	}
	if was, err := tm2.Reset(time.Millisecond); was || err != nil {
		t.Fatalf("Reset of a fired timer: %v, %v", was, err)
	}
	<-ch
}

func TestConcurrent(t *testing.T) {
	p := newPoller(t)
	ln, err := p.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	const conns, rounds = 16, 50
	var wg sync.WaitGroup
	var ticks atomic.Int32
	errs := make(chan error, conns+8)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := p.Dial("tcp4", ln.LocalAddr().String(), time.Now().Add(5*time.Second))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := bytes.Repeat([]byte{byte(i)}, 1000+i)
			got := make([]byte, len(msg))
			for r := 0; r < rounds; r++ {
				tm, _ := p.AfterFunc(time.Duration(r%3)*time.Millisecond, func() { ticks.Add(1) })
				if r%2 == 0 && tm != nil {
					tm.Stop()
				}
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- errors.New("echo mismatch")
					return
				}
			}
		}(i)
	}
	// Closing and deadlines from other goroutines meanwhile.
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, s, err := tryPair(p)
			if err != nil {
				errs <- err
				return
			}
			go c.Read(make([]byte, 1))
			s.SetDeadline(time.Now().Add(time.Millisecond))
			s.Read(make([]byte, 1))
			c.Close()
			s.Close()
			c.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ln.Close()
}
