// SPDX-License-Identifier: BSD-3-Clause
// The Windows trampoline for amd64 (Go: runtime.asmstdcall in
// sys_windows_amd64.s).
//
// void gortasm_stdcall(GortWinCall* c);   // c in %rcx (Win64 ABI)
//
//   struct GortWinCall { fn, n, args, r1, r2, err; }   // 8 bytes each
//
// Lays out c->n arguments for the Win64 ABI and calls c->fn: the first four
// in %rcx, %rdx, %r8, %r9 and mirrored in %xmm0-3 (the ABI passes a float
// argument in the XMM register of its position, so a double's bits given
// as an integer arrive either way); all of them also copied to the stack,
// from the callee's shadow space (32 bytes, always reserved) upwards, so
// arguments 5 and on sit where the callee looks for them; %rsp 16-byte
// aligned at the call. The thread's last error (TEB+0x68; the TEB is at
// %gs:0x30) is cleared before the call and read right after it. r1 = %rax,
// r2 = %xmm0 (a floating-point result). %rbx, %rsi, %rdi, %rbp are
// nonvolatile in Win64 and restored; the .seh_ directives describe the
// prologue so Windows can unwind through the trampoline.

#define TEB_SELF 0x30
#define TEB_LAST_ERROR 0x68

	.text
	.globl	gortasm_stdcall
	.def	gortasm_stdcall; .scl 2; .type 32; .endef
	.p2align 4
	.seh_proc gortasm_stdcall
gortasm_stdcall:
	pushq	%rbp
	.seh_pushreg %rbp
	pushq	%rsi
	.seh_pushreg %rsi
	pushq	%rdi
	.seh_pushreg %rdi
	pushq	%rbx
	.seh_pushreg %rbx
	movq	%rsp, %rbp
	.seh_setframe %rbp, 0
	.seh_endprologue

	movq	%rcx, %rbx		// c, kept across the call

	// Stack for max(n, 4) arguments, rounded up to 16 bytes.
	movq	8(%rbx), %rcx		// n
	movq	%rcx, %rax
	cmpq	$4, %rax
	jae	1f
	movq	$4, %rax
1:
	shlq	$3, %rax
	addq	$15, %rax
	andq	$-16, %rax
	subq	%rax, %rsp
	andq	$-16, %rsp

	// Copy the n arguments to the stack (%rcx = n).
	testq	%rcx, %rcx
	jz	2f
	movq	16(%rbx), %rsi		// args
	movq	%rsp, %rdi
	cld
	rep movsq
2:
	// Registers from the stack copy (slots past n hold nothing the callee
	// reads), mirrored in the XMM registers.
	movq	0(%rsp), %rcx
	movq	8(%rsp), %rdx
	movq	16(%rsp), %r8
	movq	24(%rsp), %r9
	movq	%rcx, %xmm0
	movq	%rdx, %xmm1
	movq	%r8, %xmm2
	movq	%r9, %xmm3

	// SetLastError(0), as a store into the TEB.
	movq	%gs:TEB_SELF, %rax
	movl	$0, TEB_LAST_ERROR(%rax)

	movq	0(%rbx), %rax		// fn
	call	*%rax

	movq	%rax, 24(%rbx)		// r1
	movq	%xmm0, 32(%rbx)		// r2
	movq	%gs:TEB_SELF, %rax	// GetLastError()
	movl	TEB_LAST_ERROR(%rax), %eax
	movq	%rax, 40(%rbx)		// err (zero-extended)

	leaq	0(%rbp), %rsp
	popq	%rbx
	popq	%rdi
	popq	%rsi
	popq	%rbp
	ret
	.seh_endproc
