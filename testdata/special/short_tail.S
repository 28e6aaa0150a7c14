# A .parainstructions table as paravirt.h's assembler macros write it: each entry starts with
# `.balign 8` and holds 12 bytes (a pointer to the instruction, type, length, clobbers), so
# entries are 16 bytes apart and the section ends 4 bytes short of a whole last entry (28 bytes
# for two entries). s_a owns the first entry, s_b the last; s_none owns none.
	.macro FUNC name
	.section .text.\name,"ax",@progbits
	.globl \name
	.type \name,@function
\name:
	nop
	ret
	.size \name, .-\name
	.endm

	FUNC s_a
	FUNC s_b
	FUNC s_none

	.section .parainstructions,"a",@progbits
	.balign 8
	.quad s_a + 1
	.byte 1, 1
	.short 0x1ff
	.balign 8
	.quad s_b + 1
	.byte 2, 1
	.short 0x1ff
