// SPDX-License-Identifier: BSD-3-Clause
// The Linux system call shim for amd64 (Go: runtime/internal/syscall
// asm_linux_amd64.s, Syscall6).
//
// gort::SyscallResult gortasm_syscall6(uintptr_t trap, uintptr_t a1, ...,
//                                      uintptr_t a6);
//
// System V ABI: the 24-byte result is returned in memory, its address
// passed in %rdi (and returned in %rax); trap, a1..a4 arrive in %rsi, %rdx,
// %rcx, %r8, %r9; a5 and a6 on the stack. The kernel wants the number in
// %rax and a1..a6 in %rdi, %rsi, %rdx, %r10, %r8, %r9; `syscall` clobbers
// %rcx and %r11 and returns in %rax (and %rdx, r2). A result in -4095..-1
// is -errno.

// With -fcf-protection (__CET__), <cet.h> marks the object IBT and shadow
// stack compatible; the shim returns with a plain `ret`, so a shadow stack
// stays balanced.
#if defined(__CET__)
#include <cet.h>
#endif
#ifndef _CET_ENDBR
#define _CET_ENDBR
#endif

	.text
	.globl	gortasm_syscall6
	.hidden	gortasm_syscall6
	.type	gortasm_syscall6, @function
	.p2align 4
gortasm_syscall6:
	.cfi_startproc
	_CET_ENDBR
	pushq	%rdi			// the result's address; no register is
	.cfi_adjust_cfa_offset 8	// free across `syscall`
	movq	%rsi, %rax		// trap
	movq	%rdx, %rdi		// a1
	movq	%rcx, %rsi		// a2
	movq	%r8, %rdx		// a3
	movq	%r9, %r10		// a4
	movq	16(%rsp), %r8		// a5 (above the return address and %rdi)
	movq	24(%rsp), %r9		// a6
	syscall
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	cmpq	$-4095, %rax
	jae	1f
	movq	%rax, 0(%rcx)		// r1
	movq	%rdx, 8(%rcx)		// r2
	movq	$0, 16(%rcx)		// err
	movq	%rcx, %rax
	ret
1:
	negq	%rax
	movq	%rax, 16(%rcx)		// err = errno
	movq	$-1, 0(%rcx)		// r1 = -1
	movq	$0, 8(%rcx)		// r2 = 0
	movq	%rcx, %rax
	ret
	.cfi_endproc
	.size	gortasm_syscall6, .-gortasm_syscall6

	.section .note.GNU-stack,"",@progbits
