// __printk_index_emit() as in Linux 6.1 include/linux/printk.h (CONFIG_PRINTK_INDEX), compiled
// by GCC: a static pi_entry per call and a pointer to it in .printk_index. _printk is __cold, as
// in the kernel, so GCC moves unlikely calls into foo.cold. -mrecord-mcount adds __mcount_loc.
struct pi_entry {
	const char *fmt;
	const char *func;
	const char *file;
	unsigned int line;
	const char *level;
	const char *subsys_fmt_prefix;
} __attribute__((packed));

__attribute__((cold)) int _printk(const char *fmt, ...);

#define printk(_fmt, ...)                                                                   \
	({                                                                                   \
		static const struct pi_entry _entry __attribute__((used)) = {                \
			.fmt = _fmt, .func = __func__, .file = __FILE__, .line = __LINE__,    \
		};                                                                           \
		static const struct pi_entry *_entry_ptr                                     \
			__attribute__((used, section(".printk_index"))) = &_entry;           \
		_printk(_fmt, ##__VA_ARGS__);                                                 \
	})

int p_first(int x)
{
	printk("\0013first %d\n", x);
	return x + 1;
}

int p_keep(int x)
{
	if (__builtin_expect(x > 100, 0))
		printk("\0013keep %d\n", x);
	return x * 3;
}

int p_last(int x)
{
	printk("\0014last %d\n", x);
	return x - 1;
}
