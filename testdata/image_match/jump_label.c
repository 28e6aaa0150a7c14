// A static branch as arch_static_branch() emits it under CONFIG_HAVE_JUMP_LABEL_HACK: a `jmp`
// that objtool --hacks=jump_label turns into a NOP, with a __jump_table entry whose key field
// has bit 1 set. When objtool only runs on vmlinux.o (CONFIG_X86_KERNEL_IBT), the compiled object
// still has the jmp while the image has the NOP.
struct static_key {
	int enabled;
};
struct static_key key;
int counter;

static inline __attribute__((always_inline)) int branch(void)
{
	asm goto("1: jmp %l[l_yes]\n\t"
		 ".pushsection __jump_table, \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - ., %l[l_yes] - .\n\t"
		 ".quad key + 2 - .\n\t"
		 ".popsection\n\t"
		 : : : : l_yes);
	return 0;
l_yes:
	return 1;
}

int jl_user(int x)
{
	if (branch())
		counter += x;
	return x - 3;
}
