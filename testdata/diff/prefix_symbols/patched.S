/*
 * Functions as a 6.2+ kernel with CONFIG_CALL_PADDING, PREFIX_SYMBOLS and IBT lays them out
 * (objtool --prefix=16): each function's section starts with 16 bytes of padding named
 * __pfx_<function> (local for static functions, global for global ones), the function at +0x10
 * begins with endbr64 and its fentry call. The patch changes pfx_a, renames the IPA clone
 * pfx_c.isra.1 to pfx_c.isra.1 (unchanged) and adds pfx_new: prefixes go with their functions,
 * are never patched or reported on their own, and pfx_b's is untouched.
 */
	.macro FUNC name, bind=globl
	.section .text.\name,"ax",@progbits
	.p2align 4
	.ifc \bind,globl
	.globl __pfx_\name
	.globl \name
	.endif
	.type __pfx_\name,@function
__pfx_\name:
	.rept 16
	nop
	.endr
	.size __pfx_\name, 16
	.type \name,@function
\name:
	endbr64
1:	call __fentry__
	.pushsection __mcount_loc,"a",@progbits
	.quad 1b
	.popsection
	.endm

	.macro END name
	.size \name, .-\name
	.endm

	FUNC pfx_a
	movl %edi, %eax
	addl $2, %eax
	call pfx_new
	ret
	END pfx_a

	FUNC pfx_b
	call pfx_c.isra.1
	ret
	END pfx_b

	FUNC pfx_c.isra.1, local
	leal 7(%rdi), %eax
	ret
	END pfx_c.isra.1

	FUNC pfx_new
	xorl %eax, %eax
	ret
	END pfx_new
