// SPDX-License-Identifier: BSD-3-Clause

package gort_test

import (
	"syscall"

	"gort"
)

// setLingerZero makes Close send RST (SO_LINGER with a zero timeout).
func setLingerZero(fd *gort.Fd) error {
	s, err := fd.Sysfd()
	if err != nil {
		return err
	}
	return syscall.SetsockoptLinger(syscall.Handle(s), syscall.SOL_SOCKET, syscall.SO_LINGER,
		&syscall.Linger{Onoff: 1, Linger: 0})
}
