# Exception fixups in .fixup (kernels before 5.17) whose pieces cannot all be separated: g2's
# fixup falls through into g3's, and g4's jumps into g3's with a branch the assembler resolved
# inside .fixup (no relocation). g1's fixup stands alone.
	.macro FUNC name
	.section .text.\name,"ax",@progbits
	.globl \name
	.type \name,@function
\name:
.L\name\()_insn:
	movl (%rdi),%eax
.L\name\()_ret:
	ret
	.size \name, .-\name
	.pushsection __ex_table,"a"
	.balign 4
	.long .L\name\()_insn - .
	.long .L\name\()_fix - .
	.long 0
	.popsection
	.endm

	FUNC g1
	FUNC g2
	FUNC g3
	FUNC g4

	.section .fixup,"ax",@progbits
.Lg1_fix:
	movl $-14,%eax
	jmp .Lg1_ret
.Lg2_fix:
	movl $-22,%eax		# falls through
.Lg3_fix:
	jmp .Lg3_ret
.Lg4_fix:
	xorl %eax,%eax
	jmp .Lg3_fix		# same section: no relocation
