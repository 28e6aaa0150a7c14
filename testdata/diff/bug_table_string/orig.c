/*
 * WARN_ON() as x86 expands it (arch/x86/include/asm/bug.h, 6.1): a ud2 and a __bug_table entry
 * {bug_addr, file, line, flags} whose file field points at __FILE__ through a GCC string label
 * (`.long %c0 - .`). GCC 12 leaves that label in the symbol table (.LC0), an assembler spelling
 * of "section + offset" in a mergeable string section: the patch carries the string.
 */
struct bug_entry {
	int bug_addr_disp;
	int file_disp;
	unsigned short line;
	unsigned short flags;
};

#define _BUG_FLAGS(ins, flags)						\
	asm volatile("1:\t" ins "\n"					\
		     ".pushsection __bug_table,\"aw\"\n"		\
		     "2:\t.long 1b - .\t# bug_entry::bug_addr\n"	\
		     "\t.long %c0 - .\t# bug_entry::file\n"		\
		     "\t.word %c1\t# bug_entry::line\n"			\
		     "\t.word %c2\t# bug_entry::flags\n"		\
		     "\t.org 2b+%c3\n"					\
		     ".popsection"					\
		     : : "i" (__FILE__), "i" (__LINE__),		\
			 "i" (flags), "i" (sizeof(struct bug_entry)))

#define WARN_ON(condition) ({						\
	int __ret_warn_on = !!(condition);				\
	if (__builtin_expect(__ret_warn_on, 0))				\
		_BUG_FLAGS("ud2", (1 << 1) | (1 << 3));			\
	__builtin_expect(__ret_warn_on, 0);				\
})

int checked_op(int v)
{
	WARN_ON(v < 0);
	return v + 1;
}

int other_op(int v)
{
	WARN_ON(v > 1000);
	return v - 1;
}
