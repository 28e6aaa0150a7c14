/*
 * A changed function with a cold part that the kernel's tables point into, in Linux 6.1's
 * layouts (see testdata/special/tables.S): __bug_table, __ex_table (fixup inside the cold part),
 * .altinstructions, __jump_table, .static_call_sites, .return_sites and ORC entries at
 * cold_b.cold's instructions, and one entry of each in cold_a and cold_c, which do not change.
 * The patch changes cold_b's hot path (PATCHED): the patch object must hold cold_b.cold inside
 * cold_b and every entry must still point at the same instruction.
 */
	.section .rodata.str1.1,"aMS",@progbits,1
.Lfile:	.string "cold_special.c"

	.macro FUNC name, key, sp, change=0
	.section .text.\name,"ax",@progbits
	.globl \name
	.type \name,@function
\name:
1:	call __fentry__
	.pushsection __mcount_loc,"a",@progbits
	.quad 1b
	.popsection
	testl %edi,%edi
	jne \name\().cold
	.if \change
	movl $2,%eax
	.else
	movl $1,%eax
	.endif
.L\name\()_back:
	ret
.L\name\()_end:
	.size \name, .-\name

	.section .text.unlikely.\name,"ax",@progbits
	.type \name\().cold,@function
\name\().cold:
.L\name\()_bug:
	ud2
.L\name\()_ex:
	movl (%rsi),%eax
.L\name\()_alt:
	.byte 0x90,0x90,0x90
.L\name\()_jl:
	.byte 0x0f,0x1f,0x44,0x00,0x00
.L\name\()_sc:
	call __SCT__my_call
	jmp .L\name\()_back
.L\name\()_fix:
	movl $-14,%eax
.L\name\()_ret:
	ret
.L\name\()_cold_end:
	.size \name\().cold, .-\name\().cold

	.pushsection __bug_table,"aw"
.L\name\()_bugent:
	.long .L\name\()_bug - .
	.long .Lfile - .
	.word \sp
	.word 0x0900
	.org .L\name\()_bugent+12
	.popsection

	.pushsection __ex_table,"a"
	.balign 4
	.long .L\name\()_ex - .
	.long .L\name\()_fix - .
	.long \sp
	.popsection

	.pushsection .altinstructions,"a"
	.long .L\name\()_alt - .
	.long .L\name\()_repl - .
	.word \sp
	.byte 3
	.byte .L\name\()_repl_end - .L\name\()_repl
	.popsection
	.pushsection .altinstr_replacement,"ax"
.L\name\()_repl:
	.byte 0x0f,0x1f,0x00
.L\name\()_repl_end:
	.popsection

	.pushsection __jump_table,"aw"
	.balign 8
	.long .L\name\()_jl - .
	.long .L\name\()_back - .
	.quad \key + 1 - .
	.popsection

	.pushsection .static_call_sites,"aw"
	.long .L\name\()_sc - .
	.long __SCK__my_call - .
	.popsection

	.pushsection .return_sites,"a"
	.long .L\name\()_back - .
	.long .L\name\()_ret - .
	.popsection

	.pushsection .orc_unwind_ip,"a"
	.long \name - .
	.long .L\name\()_end - .
	.long \name\().cold - .
	.long .L\name\()_cold_end - .
	.popsection
	.pushsection .orc_unwind,"a"
	.byte \sp, 1, 2, 3, 4, 5
	.byte \sp, 11, 12, 13, 14, 15
	.byte \sp, 21, 22, 23, 24, 25
	.byte \sp, 31, 32, 33, 34, 35
	.popsection
	.endm

	FUNC cold_a, other_key, 0x10
	FUNC cold_b, my_key, 0x20
	FUNC cold_c, other_key, 0x30
