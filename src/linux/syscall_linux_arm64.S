// SPDX-License-Identifier: BSD-3-Clause
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
//
// Branch protection: the entry is a BTI landing pad (`bti c`, written as
// its hint encoding so that any assembler takes it; a no-op on CPUs without
// BTI), and the object carries the GNU property note saying it is BTI- and
// PAC-compatible (it is a leaf: the return address never leaves x30, so
// there is nothing to sign). Without the note, a library built with
// -mbranch-protection=standard would lose BTI, as the linker keeps a
// feature only when every object has it (the amd64 shim does the same for
// CET with <cet.h>).

	.text
	.globl	gortasm_syscall6
	.hidden	gortasm_syscall6
	.type	gortasm_syscall6, %function
	.p2align 4
gortasm_syscall6:
	.cfi_startproc
	hint	#34			// bti c
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

// NT_GNU_PROPERTY_TYPE_0 with GNU_PROPERTY_AARCH64_FEATURE_1_AND = BTI | PAC.
	.section .note.gnu.property,"a"
	.p2align 3
	.word	4			// n_namesz: "GNU\0"
	.word	16			// n_descsz: one property, 8-byte aligned
	.word	5			// n_type: NT_GNU_PROPERTY_TYPE_0
	.asciz	"GNU"
	.word	0xc0000000		// GNU_PROPERTY_AARCH64_FEATURE_1_AND
	.word	4			// pr_datasz
	.word	3			// BTI (1) | PAC (2)
	.word	0			// padding to 8 bytes
