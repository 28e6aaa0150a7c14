# A __bug_table whose last entry has no relocation at bug_addr: the relocation pattern is not
# periodic at any plausible size, and with the size forced that entry has no anchor.
	.section .rodata.str1.1,"aMS",@progbits,1
.Lfile:	.string "no_anchor.c"
	.section .text.n1,"ax",@progbits
	.globl n1
	.type n1,@function
n1:
.Ln1_bug:
	ud2
	ret
	.size n1, .-n1
	.section __bug_table,"aw",@progbits
	.rept 5
	.long .Ln1_bug - .
	.long .Lfile - .
	.word 1, 0
	.endr
	.long 0
	.long 0
	.word 2, 0
