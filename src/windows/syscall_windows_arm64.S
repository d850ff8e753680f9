// SPDX-License-Identifier: BSD-3-Clause
// The Windows trampoline for arm64 (Go: runtime.asmstdcall in
// sys_windows_arm64.s).
//
// void gortasm_stdcall(GortWinCall* c);   // c in x0
//
//   struct GortWinCall { fn, n, args, r1, r2, err; }   // 8 bytes each
//
// Lays out c->n arguments for the Windows arm64 ABI and calls c->fn: the
// first eight in x0-x7, also mirrored in d0-d7 (right for functions whose
// leading arguments are all doubles; integer-only functions ignore them),
// the rest on the stack from sp upwards, the word count rounded up to even so
// sp stays 16-byte aligned. x18 holds the TEB; the thread's last error
// (TEB+0x68) is cleared before the call and read right after it.
// r1 = x0, r2 = d0 (a floating-point result). x19, x20, x29, x30 are saved;
// the .seh_ directives describe prologue and epilogue so Windows can unwind
// through the trampoline.

#define TEB_LAST_ERROR 0x68

	.text
	.globl	gortasm_stdcall
	.def	gortasm_stdcall; .scl 2; .type 32; .endef
	.p2align 4
	.seh_proc gortasm_stdcall
gortasm_stdcall:
	// Frame: x29/x30, x19/x20, then 8 words staging the register arguments.
	stp	x29, x30, [sp, #-96]!
	.seh_save_fplr_x 96
	stp	x19, x20, [sp, #16]
	.seh_save_regp x19, 16
	mov	x29, sp
	.seh_set_fp
	.seh_endprologue
	mov	x19, x0			// c, kept across the call
	ldr	x20, [x19, #8]		// n
	ldr	x10, [x19, #16]		// args

	// Stage min(n, 8) register arguments in a zeroed area, so that no word
	// past args[n-1] is ever read.
	stp	xzr, xzr, [x29, #32]
	stp	xzr, xzr, [x29, #48]
	stp	xzr, xzr, [x29, #64]
	stp	xzr, xzr, [x29, #80]
	mov	x11, #8
	cmp	x20, x11
	csel	x11, x20, x11, lo	// x11 = min(n, 8)
	add	x12, x29, #32
	mov	x13, x10
	cbz	x11, 2f
1:
	ldr	x14, [x13], #8
	str	x14, [x12], #8
	subs	x11, x11, #1
	b.ne	1b
2:
	// Stack arguments: args[8..n), the reserve rounded up to 16 bytes.
	subs	x11, x20, #8
	b.ls	4f
	add	x12, x11, #1
	lsr	x12, x12, #1
	lsl	x12, x12, #4		// (n - 8 + 1) / 2 * 16 bytes
	sub	sp, sp, x12
	add	x13, x10, #64
	mov	x12, sp
3:
	ldr	x14, [x13], #8
	str	x14, [x12], #8
	subs	x11, x11, #1
	b.ne	3b
4:
	ldp	x0, x1, [x29, #32]
	ldp	x2, x3, [x29, #48]
	ldp	x4, x5, [x29, #64]
	ldp	x6, x7, [x29, #80]
	fmov	d0, x0
	fmov	d1, x1
	fmov	d2, x2
	fmov	d3, x3
	fmov	d4, x4
	fmov	d5, x5
	fmov	d6, x6
	fmov	d7, x7

	str	wzr, [x18, #TEB_LAST_ERROR]	// SetLastError(0)
	ldr	x16, [x19]		// fn
	blr	x16

	fmov	x1, d0
	stp	x0, x1, [x19, #24]	// r1, r2
	ldr	w2, [x18, #TEB_LAST_ERROR]	// GetLastError()
	str	x2, [x19, #40]		// err (zero-extended)

	.seh_startepilogue
	mov	sp, x29			// drop the stack arguments
	.seh_set_fp
	ldp	x19, x20, [sp, #16]
	.seh_save_regp x19, 16
	ldp	x29, x30, [sp], #96
	.seh_save_fplr_x 96
	.seh_endepilogue
	ret
	.seh_endproc
