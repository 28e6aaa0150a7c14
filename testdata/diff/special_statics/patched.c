/*
 * Statics the kernel's macros create per call site: WARN_ONCE's __warned flag (in .data.once, as
 * include/asm-generic/bug.h has it in 6.1), printk_once's __already_done, and __func__. They are
 * never correlated with the running kernel's copies: a changed function that uses them gets new
 * copies in the patch module, referenced locally (no .klp.sym relocation).
 */
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __section(s) __attribute__((__section__(s)))

extern int printk(const char *fmt, ...);
extern int __warn_printk(const char *fmt, ...);

#define WARN_ONCE(cond, fmt, ...) ({					\
	static _Bool __section(".data.once") __warned;			\
	int __ret_warn_once = !!(cond);					\
	if (unlikely(__ret_warn_once && !__warned)) {			\
		__warned = 1;						\
		__warn_printk(fmt, ##__VA_ARGS__);			\
	}								\
	unlikely(__ret_warn_once);					\
})

#define printk_once(fmt, ...) ({					\
	static _Bool __section(".data.once") __already_done;		\
	if (!__already_done) {						\
		__already_done = 1;					\
		printk(fmt, ##__VA_ARGS__);				\
	}								\
})

int set_rate(int rate)
{
	if (WARN_ONCE(rate < 0, "%s: negative rate %d\n", __func__, rate))
		return -22;
	if (rate > 2000)
		printk_once("%s: clamping rate\n", __func__);
	return rate > 2000 ? 2000 : rate;
}
