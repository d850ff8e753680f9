// SPDX-License-Identifier: BSD-3-Clause
// The Linux system call shim for riscv64 (Go: runtime/internal/syscall
// asm_linux_riscv64.s, Syscall6).
//
// gort::SyscallResult gortasm_syscall6(uintptr_t trap, uintptr_t a1, ...,
//                                      uintptr_t a6);
//
// LP64: the 24-byte result is returned in memory at the address passed as
// a hidden first argument in a0; trap, a1..a6 arrive in a1..a7. The kernel
// wants the number in a7 and a1..a6 in a0..a5; `ecall` returns in a0 and
// preserves every other register (a1 is r2, as Go reports it). A result in
// -4095..-1 is -errno.

	.text
	.globl	gortasm_syscall6
	.hidden	gortasm_syscall6
	.type	gortasm_syscall6, %function
	.p2align 2
gortasm_syscall6:
	.cfi_startproc
	mv	t0, a0			// the result's address
	mv	t1, a1			// trap
	mv	a0, a2			// a1
	mv	a1, a3			// a2
	mv	a2, a4			// a3
	mv	a3, a5			// a4
	mv	a4, a6			// a5
	mv	a5, a7			// a6
	mv	a7, t1
	ecall
	li	t2, -4096
	bltu	t2, a0, 1f		// a0 > -4096 (unsigned): an error
	sd	a0, 0(t0)		// r1
	sd	a1, 8(t0)		// r2
	sd	zero, 16(t0)		// err = 0
	ret
1:
	neg	a0, a0
	sd	a0, 16(t0)		// err = errno
	li	a0, -1
	sd	a0, 0(t0)		// r1 = -1
	sd	zero, 8(t0)		// r2 = 0
	ret
	.cfi_endproc
	.size	gortasm_syscall6, .-gortasm_syscall6

	.section .note.GNU-stack,"",%progbits
