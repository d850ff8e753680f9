// SPDX-License-Identifier: BSD-3-Clause

// Go's own runtime timers (runtime/time.go through package time), measured
// the way bench_timer's Instr* benchmarks measure gort's and libuv's, so
// issue #15's table has its Go column from the same run: n live timers at
// far deadlines, then k = n/10 operations of each kind, ns per operation.
//
//	start (Reset)     Reset of k stopped timers to random far deadlines
//	start (NewTimer)  k time.NewTimer calls
//	stop              Stop of k live timers, in random order
//	fire              k AfterFunc timers due within 20 ms: process CPU time
//	                  (getrusage: user + system, every thread) from arming
//	                  until the last has run, per timer; includes each
//	                  callback's goroutine, as Go runs AfterFunc's f in one
//
// Wall time for start and stop, CPU time for fire (its wall time is the
// 20 ms the deadlines are spread over). GOMAXPROCS is left at its default.
//
// usage: go run ./bench/go_timers [n...]   (default 10000 1000000)
package main

import (
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func far(rng *rand.Rand) time.Duration {
	return time.Hour + time.Duration(rng.Int63n(int64(time.Second)))
}

func perOp(d time.Duration, k int) float64 { return float64(d.Nanoseconds()) / float64(k) }

func measure(n int) {
	k := n / 10
	rng := rand.New(rand.NewSource(15))
	nop := func() {}
	live := make([]*time.Timer, n)
	for i := range live {
		live[i] = time.AfterFunc(far(rng), nop)
	}
	pool := make([]*time.Timer, k)
	for i := range pool {
		pool[i] = time.AfterFunc(time.Hour, nop)
		pool[i].Stop()
	}
	ds := make([]time.Duration, k)
	for i := range ds {
		ds[i] = far(rng)
	}

	t0 := time.Now()
	for i, t := range pool {
		t.Reset(ds[i])
	}
	reset := perOp(time.Since(t0), k)

	made := make([]*time.Timer, k)
	t0 = time.Now()
	for i := range made {
		made[i] = time.NewTimer(ds[i])
	}
	newTimer := perOp(time.Since(t0), k)

	perm := rng.Perm(n)[:k]
	t0 = time.Now()
	for _, j := range perm {
		live[j].Stop()
	}
	stop := perOp(time.Since(t0), k)
	for _, t := range made {
		t.Stop()
	}
	for _, t := range pool {
		t.Stop()
	}

	runtime.GC()
	var wg sync.WaitGroup
	wg.Add(k)
	done := func() { wg.Done() }
	spread := int64(20 * time.Millisecond)
	c0 := cpuNow()
	for i := 0; i < k; i++ {
		time.AfterFunc(time.Duration(rng.Int63n(spread)), done)
	}
	wg.Wait()
	fire := perOp(cpuNow()-c0, k)

	fmt.Printf("go %s n=%d: start (Reset) %.1f ns, start (NewTimer) %.1f ns, stop %.1f ns, fire %.1f ns CPU\n",
		runtime.Version(), n, reset, newTimer, stop, fire)
	for _, t := range live {
		t.Stop()
	}
}

func main() {
	ns := []int{10000, 1000000}
	if len(os.Args) > 1 {
		ns = ns[:0]
		for _, a := range os.Args[1:] {
			v, err := strconv.Atoi(a)
			if err != nil || v < 10 {
				fmt.Fprintln(os.Stderr, "usage: go_timers [n >= 10 ...]")
				os.Exit(2)
			}
			ns = append(ns, v)
		}
	}
	for _, n := range ns {
		measure(n)
	}
}
