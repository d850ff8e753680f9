// The Linux system call shim for arm64 (Go: runtime/internal/syscall
// asm_linux_arm64.s, Syscall6).
//
// gort::SyscallResult gortasm_syscall6(uintptr_t trap, uintptr_t a1, ...,
//                                      uintptr_t a6);
//
// AAPCS64: the 24-byte result is returned in memory at the address the
// caller passes in x8; trap, a1..a6 arrive in x0..x6. The kernel wants the
// number in x8 and a1..a6 in x0..x5; `svc #0` returns in x0 and preserves
// every other register (x1 is r2, as Go reports it). A result in -4095..-1
// is -errno.

	.text
	.globl	gortasm_syscall6
	.hidden	gortasm_syscall6
	.type	gortasm_syscall6, %function
	.p2align 4
gortasm_syscall6:
	.cfi_startproc
	mov	x9, x8			// the result's address
	mov	x8, x0			// trap
	mov	x0, x1			// a1
	mov	x1, x2			// a2
	mov	x2, x3			// a3
	mov	x3, x4			// a4
	mov	x4, x5			// a5
	mov	x5, x6			// a6
	svc	#0
	cmn	x0, #4095		// carry set: x0 >= -4095 (unsigned)
	b.cs	1f
	stp	x0, x1, [x9]		// r1, r2
	str	xzr, [x9, #16]		// err = 0
	ret
1:
	neg	x0, x0
	str	x0, [x9, #16]		// err = errno
	mov	x0, #-1
	stp	x0, xzr, [x9]		// r1 = -1, r2 = 0
	ret
	.cfi_endproc
	.size	gortasm_syscall6, .-gortasm_syscall6

	.section .note.GNU-stack,"",%progbits
