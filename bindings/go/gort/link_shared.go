// SPDX-License-Identifier: BSD-3-Clause

//go:build !gort_static

package gort

// The shared library, libgort.so.0 (gort.dll): the C ABI alone, needing
// only libc. pkg-config finds gort.pc through PKG_CONFIG_PATH; the program
// finds the library at run time through the loader's path (rpath,
// LD_LIBRARY_PATH, PATH on Windows).

// #cgo pkg-config: gort
import "C"
