# A __bug_table whose sh_entsize (24) says two 12-byte bug_entry records form one entry: the
# section header wins over the relocation pattern (which alone would give 12).
	.macro FUNC name
	.section .text.\name,"ax",@progbits
	.globl \name
	.type \name,@function
\name:
.L\name\()_bug:
	ud2
	ret
	.size \name, .-\name
	.pushsection __bug_table,"aM",@progbits,24
.L\name\()_ent:
	.long .L\name\()_bug - .
	.long .Lfile - .
	.word 1, 0
	.org .L\name\()_ent+12
	.popsection
	.endm
	.section .rodata.str1.1,"aMS",@progbits,1
.Lfile:	.string "entsize.c"
	FUNC e1
	FUNC e2
