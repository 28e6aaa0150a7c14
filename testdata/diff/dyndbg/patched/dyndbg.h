/*
 * pr_debug() as the kernel expands it with CONFIG_DYNAMIC_DEBUG and jump labels (6.1,
 * include/linux/dynamic_debug.h): a static `struct _ddebug` per call site in section __dyndbg,
 * named __UNIQUE_ID_ddebugN, which records the call site's __LINE__, and a static branch whose
 * key is inside that descriptor.
 */
#define bool _Bool
#define false 0
#define __always_inline inline __attribute__((__always_inline__))
#define ___PASTE(a, b) a##b
#define __PASTE(a, b) ___PASTE(a, b)
#define __UNIQUE_ID(prefix) __PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)

struct static_key {
	int enabled;
	void *entries;
};
struct static_key_false {
	struct static_key key;
};

struct _ddebug {
	const char *modname;
	const char *function;
	const char *filename;
	const char *format;
	unsigned int lineno:18;
	unsigned int class_id:6;
	unsigned int flags:8;
	union {
		struct static_key_false dd_key_false;
	} key;
} __attribute__((aligned(8)));

extern void __dynamic_pr_debug(struct _ddebug *descriptor, const char *fmt, ...);

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
	return 1;
}

#define DEFINE_DYNAMIC_DEBUG_METADATA(name, fmt)			\
	static struct _ddebug __attribute__((__aligned__(8)))		\
	__attribute__((__section__("__dyndbg"))) name = {		\
		.modname = "klp_test",					\
		.function = __func__,					\
		.filename = __FILE__,					\
		.format = (fmt),					\
		.lineno = __LINE__,					\
	}

#define __dynamic_func_call(id, fmt, ...)				\
	do {								\
		DEFINE_DYNAMIC_DEBUG_METADATA(id, fmt);			\
		if (__builtin_expect(arch_static_branch(&id.key.dd_key_false.key, false), 0)) \
			__dynamic_pr_debug(&id, fmt, ##__VA_ARGS__);	\
	} while (0)

#define pr_debug(fmt, ...) __dynamic_func_call(__UNIQUE_ID(ddebug), fmt, ##__VA_ARGS__)
