// SPDX-License-Identifier: BSD-3-Clause

//go:build gort_static

package gort

// The static library, libgort.a, with the -tags gort_static build tag:
// gort-static.pc names it by path, with Abseil and the C++ runtime it
// needs, so the program does not load libgort at run time.
//
// Debian's Abseil .pc files (absl_base) add
// "-Wl,--push-state,--as-needed -latomic -Wl,--pop-state", which Go 1.19's
// cgo refuses from pkg-config unless allowed:
//
//	CGO_LDFLAGS_ALLOW='-Wl,--(push|pop)-state.*' go build -tags gort_static

// #cgo pkg-config: gort-static
import "C"
