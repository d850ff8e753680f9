// SPDX-License-Identifier: BSD-3-Clause

// Command gortecho is a TCP echo server on gort's Go package: one Poller,
// a goroutine per connection doing blocking-style Read and Write on gort
// Fds, an idle deadline per connection and a periodic timer that reports
// the bytes echoed.
//
//	gortecho -listen 127.0.0.1:7000   serve until interrupted
//	gortecho                          self-test: serve on a free port, run
//	                                  clients against it, check every byte
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"gort"
)

var echoed atomic.Int64

// serve accepts until the listener is closed.
func serve(ln *gort.Fd, idle time.Duration) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, gort.ErrClosed) {
				fmt.Fprintln(os.Stderr, "accept:", err)
			}
			return
		}
		go handle(c, idle)
	}
}

// handle echoes until EOF, an error, or idle time without data.
func handle(c *gort.Fd, idle time.Duration) {
	defer c.Close()
	buf := make([]byte, 16<<10)
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		n, err := c.Read(buf)
		if n > 0 {
			echoed.Add(int64(n)) // before the client can see the bytes
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				fmt.Println("closing an idle connection")
			} else if err != io.EOF && !errors.Is(err, gort.ErrClosed) {
				fmt.Fprintln(os.Stderr, "read:", err)
			}
			return
		}
	}
}

// report prints the bytes echoed every period, re-arming its timer.
func report(p *gort.Poller, period time.Duration) *gort.Timer {
	var t *gort.Timer
	var mu sync.Mutex
	tick := func() {
		fmt.Printf("echoed %d bytes\n", echoed.Load())
		mu.Lock()
		t.Reset(period)
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	t, _ = p.AfterFunc(period, tick)
	return t
}

func selftest(p *gort.Poller, clients, size int) error {
	ln, err := p.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go serve(ln, 2*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := p.Dial("tcp", ln.LocalAddr().String(), time.Now().Add(5*time.Second))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			msg := bytes.Repeat([]byte{byte('a' + i%26)}, size)
			go func() { c.Write(msg); c.CloseWrite() }()
			got, err := io.ReadAll(c)
			if err == nil && !bytes.Equal(got, msg) {
				err = fmt.Errorf("client %d: %d bytes back, want %d", i, len(got), size)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	return ln.Close()
}

func main() {
	listen := flag.String("listen", "", "address to serve on (empty: self-test)")
	clients := flag.Int("clients", 8, "self-test: concurrent clients")
	size := flag.Int("bytes", 256<<10, "self-test: bytes per client")
	flag.Parse()

	p, err := gort.NewPoller()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer p.Close()
	t := report(p, 100*time.Millisecond)

	if *listen != "" {
		ln, err := p.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("gort", gort.Version(), "echo server on", ln.LocalAddr())
		serve(ln, time.Minute)
		return
	}
	if err := selftest(p, *clients, *size); err != nil {
		fmt.Fprintln(os.Stderr, "selftest:", err)
		os.Exit(1)
	}
	t.Stop()
	want := int64(*clients) * int64(*size)
	if got := echoed.Load(); got != want {
		fmt.Fprintf(os.Stderr, "selftest: echoed %d bytes, want %d\n", got, want)
		os.Exit(1)
	}
	fmt.Printf("selftest: %d clients x %d bytes echoed\n", *clients, *size)
}
