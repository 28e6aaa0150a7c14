/*
 * Static keys (jump labels), x86 style: each static_branch_unlikely() site records a __jump_table
 * entry {code - ., target - ., key - . + branch}. The key is a static of this object.
 *
 * As a vmlinux object: a changed user of the key is patchable; __jump_table keeps only the entries
 * of included functions. As a module object (--target klp_test_mod): the key lives in a module,
 * whose livepatch relocations are resolved only after the jump label code has read the entry, so
 * the change is refused (exit 2).
 */
#define bool _Bool
#define true 1
#define false 0
#define __always_inline inline __attribute__((__always_inline__))

extern int printk(const char *fmt, ...);

struct static_key {
	int enabled;
	unsigned long type;
};
struct static_key_false {
	struct static_key key;
};

static __always_inline bool arch_static_branch(struct static_key *key, bool branch)
{
	asm goto("1:\n\t"
		 ".byte 0x0f,0x1f,0x44,0x00,0\n\t"
		 ".pushsection __jump_table,  \"aw\"\n\t"
		 ".balign 8\n\t"
		 ".long 1b - .\n\t"
		 ".long %l[l_yes] - .\n\t"
		 ".quad %c0 + %c1 - .\n\t"
		 ".popsection\n\t"
		 : : "i"(key), "i"(branch) : : l_yes);
	return false;
l_yes:
	return true;
}

#define static_branch_unlikely(x) __builtin_expect(arch_static_branch(&(x)->key, false), 0)

static struct static_key_false trace_enabled;

int traced_op(int v)
{
	if (static_branch_unlikely(&trace_enabled))
		printk("traced_op %d\n", v);
	return v + 2;
}

int other_traced_op(int v)
{
	if (static_branch_unlikely(&trace_enabled))
		printk("other_traced_op %d\n", v);
	return v - 1;
}
