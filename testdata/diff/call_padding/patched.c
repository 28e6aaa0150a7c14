/*
 * The code generation of a 6.12 distribution kernel (Debian's backports 6.12): call padding
 * (-fpatchable-function-entry=16,16: 16 NOPs at the start of each function's section, the
 * function at +0x10, an entry in __patchable_function_entries), IBT (endbr64 first), return
 * thunks and retpolines through __x86_return_thunk / __x86_indirect_thunk_*. objtool, which
 * would name the padding __pfx_*, runs only at the vmlinux.o and module links there.
 */
extern int printk(const char *fmt, ...);

struct ops {
	int (*fn)(int);
};

int dispatch(struct ops *o, int v)
{
	return o->fn(v) + 2;
}

int changed_op(int v)
{
	printk("changed_op %d\n", v);
	return v * 3;
}
