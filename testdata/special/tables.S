# Every x86_64 special section the differ filters, in Linux 6.1's layout, written out by hand so
# that each entry, relocation and byte is known to the test (tests/unit/special_sections_test.cpp).
#
# Three functions f_a, f_b and f_c (f_b also has a cold part f_b.cold) each contribute one entry
# to every table, in that order, the way the kernel's macros (bug.h, jump_label.h,
# alternative.h, extable/asm.h, paravirt_types.h, printk.h) and objtool (static calls, return
# sites, ORC, mcount) would. The tests include f_b and check that exactly its entries remain.
# Exception fixups go to .fixup (the pre-5.17 layout) so that the code-island slicing is covered.
# Assembled with `gcc -c`; no section has sh_entsize, so sizes come from the layout itself.

	.section .rodata.str1.1,"aMS",@progbits,1
.Lfile:	.string "tables.c"

	.macro FUNC name, key, sp, cold=0
	.section .rodata.str1.1,"aMS",@progbits,1
.L\name\()_fmt:
	.string "\0013\name %d\n"

	.section .text.\name,"ax",@progbits
	.globl \name
	.type \name,@function
\name:
.L\name\()_bug:
	ud2				# __bug_table
.L\name\()_jl:
	.byte 0x0f,0x1f,0x44,0x00,0x00	# __jump_table: nop5
.L\name\()_alt:
	.byte 0x90,0x90,0x90		# .altinstructions, .parainstructions: oldinstr
.L\name\()_sc:
	call __SCT__my_call		# .static_call_sites
.L\name\()_ex:
	movl (%rdi),%eax		# __ex_table
.L\name\()_lock:
	lock incl (%rdi)		# .smp_locks
	leaq .L\name\()_fmt(%rip),%rdi	# the printk format of .printk_index
	jmp .L\name\()_aux		# _static_cpu_has(): jmp 6f into .altinstr_aux
.L\name\()_yes:
	endbr64				# .ibt_endbr_seal
.L\name\()_ret:
	ret				# .return_sites
.L\name\()_end:
	.size \name, .-\name

	.if \cold
	.section .text.unlikely.\name,"ax",@progbits
	.type \name\().cold,@function
\name\().cold:
.L\name\()_cold_bug:
	ud2
.L\name\()_cold_end:
	.size \name\().cold, .-\name\().cold
	.endif

	.pushsection __bug_table,"aw"
.L\name\()_bugent:
	.long .L\name\()_bug - .	# bug_addr
	.long .Lfile - .		# file
	.word \sp			# line
	.word 0x0900			# flags
	.org .L\name\()_bugent+12
	.if \cold
.L\name\()_cold_bugent:
	.long .L\name\()_cold_bug - .
	.long .Lfile - .
	.word \sp+1
	.word 0x0901
	.org .L\name\()_cold_bugent+12
	.endif
	.popsection

	.pushsection __jump_table,"aw"
	.balign 8
	.long .L\name\()_jl - .		# code
	.long .L\name\()_yes - .	# target
	.quad \key + 1 - .		# key | branch
	.popsection

	.pushsection .altinstructions,"a"
	.long .L\name\()_alt - .	# instr_offset
	.long .L\name\()_repl - .	# repl_offset
	.word \sp			# cpuid
	.byte 3				# instrlen
	.byte .L\name\()_repl_end - .L\name\()_repl	# replacementlen
	.popsection
	.pushsection .altinstr_replacement,"ax"
.L\name\()_repl:
	.byte 0x66,0x90
	call repl_\name
.L\name\()_repl_end:
	.popsection

	.pushsection .altinstr_aux,"ax"
.L\name\()_aux:
	testb $\sp, boot_cpu_data+3(%rip)
	jnz .L\name\()_yes
	jmp .L\name\()_ret
	.popsection

	.pushsection __ex_table,"a"
	.balign 4
	.long .L\name\()_ex - .		# insn
	.long .L\name\()_fix - .	# fixup
	.long \sp			# data
	.popsection
	.pushsection .fixup,"ax"
.L\name\()_fix:
	movl $-14,%eax
	jmp .L\name\()_ret
	.popsection

	.pushsection .parainstructions,"a"
	.balign 8
	.quad .L\name\()_alt		# instr
	.byte 7				# type
	.byte 3				# len
	.short \sp
	.balign 8
	.popsection

	.pushsection .static_call_sites,"aw"
	.long .L\name\()_sc - .		# addr
	.long __SCK__my_call - .	# key
	.popsection

	.pushsection .smp_locks,"a"
	.long .L\name\()_lock - .
	.popsection

	.pushsection .return_sites,"a"
	.long .L\name\()_ret - .
	.popsection

	.pushsection .ibt_endbr_seal,"a"
	.long .L\name\()_yes - .
	.popsection

	.pushsection __mcount_loc,"a"
	.quad \name
	.popsection

	# objtool's ORC: entries at the start and at the ret, and a terminator at the section's end.
	.pushsection .orc_unwind_ip,"a"
	.long \name - .
	.long .L\name\()_ret - .
	.long .L\name\()_end - .
	.if \cold
	.long \name\().cold - .
	.long .L\name\()_cold_end - .
	.endif
	.popsection
	.pushsection .orc_unwind,"a"
	.byte \sp, 1, 2, 3, 4, 5
	.byte \sp, 11, 12, 13, 14, 15
	.byte \sp, 21, 22, 23, 24, 25
	.if \cold
	.byte \sp, 31, 32, 33, 34, 35
	.byte \sp, 41, 42, 43, 44, 45
	.endif
	.popsection

	# __printk_index_emit(): a static pi_entry and a pointer to it in .printk_index.
	.section .rodata._entry_\name,"a",@progbits
	.balign 8
	.type _entry_\name,@object
_entry_\name:
	.quad .L\name\()_fmt		# fmt
	.quad .Lfile			# func (any string will do)
	.quad .Lfile			# file
	.long \sp			# line
	.quad 0				# level
	.quad 0				# subsys_fmt_prefix
	.size _entry_\name, .-_entry_\name
	.pushsection .printk_index,"aw"
	.quad _entry_\name
	.popsection
	.endm

	FUNC f_a, other_key, 0x10
	FUNC f_b, my_key, 0x20, 1
	FUNC f_c, other_key, 0x30
