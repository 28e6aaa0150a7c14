/*
 * Kernel-like users of __LINE__ for tests/unit/line_macro_test.cpp. The test compiles this file
 * as is, with blank lines prepended (every __LINE__ shifts), with the marker comment below
 * replaced by blank lines (only the lines after it shift), and with -DREAL_CHANGE (real code
 * changes that must not be mistaken for line numbers). No kernel headers: the prototypes are the
 * ones Linux 6.1 declares.
 */
extern void __might_sleep(const char *file, int line);
extern void __might_resched(const char *file, int line, unsigned int offsets);
extern int _printk(const char *fmt, ...);
extern void __warn_printk(const char *fmt, ...);
extern void __ext4_error(void *sb, const char *function, unsigned int line, _Bool force_ro,
			 int error, unsigned long long block, const char *fmt, ...);
extern int my_check_inode(void *inode, void *header, void *end, const char *function,
			  unsigned int line);
extern void consume(int value);
extern void consume_other(int value);

#ifdef REAL_CHANGE
#define OFFSETS 9
#define VALUE 6
#define CONSUME consume_other
#else
#define OFFSETS 8
#define VALUE 5
#define CONSUME consume
#endif

/* might_sleep() with CONFIG_DEBUG_ATOMIC_SLEEP: the line goes in %esi. */
int sleeper(int x)
{
	__might_sleep("line_users.c", __LINE__);
	return x * 3;
}

/* pr_err("%s:%d\n", __func__, __LINE__): the line is the third printk argument, %edx. */
int reporter(int x)
{
	if (x > 3)
		_printk("%s:%d\n", __func__, __LINE__);
	return x + 1;
}

/* Seven printk arguments: the line is pushed on the stack. */
int stack_reporter(int x)
{
	if (x > 100)
		_printk("%d %d %d %d %d %d\n", x, x + 1, x + 2, x + 3, x + 4, __LINE__);
	return x;
}

/* ext4_error(): __ext4_error(sb, __func__, __LINE__, ...). */
void ext4_user(void *sb, int x)
{
	if (x)
		__ext4_error(sb, __func__, __LINE__, 0, 5, 7, "oops %d", x);
}

/* WARN() on x86: the line lives in __bug_table, the text only has ud2. */
int warner(int x)
{
	if (x == 77) {
		__warn_printk("bad %d\n", x);
		asm volatile("1: ud2\n"
			     ".pushsection __bug_table,\"aw\"\n"
			     ".long 1b - .\n"
			     ".word %c0\n"
			     ".popsection\n"
			     : : "i"(__LINE__));
	}
	return x;
}

/* cond_resched_lock(): __might_resched(__FILE__, __LINE__, OFFSETS); OFFSETS is not a line. */
void rescheduler(void)
{
	__might_resched("line_users.c", __LINE__, OFFSETS);
}

/*
 * A helper this tool has never heard of, called the kernel way with (__func__, __LINE__), like
 * xattr_check_inode() -> __xattr_check_inode(inode, header, end, __func__, __LINE__).
 */
#define check_inode(inode, header, end) my_check_inode(inode, header, end, __func__, __LINE__)
int func_line_user(void *inode, char *header)
{
	if (!header)
		return 0;
	return check_inode(inode, header, header + 32);
}

/* A constant that is not a line number, passed to an ordinary function. */
void constant_user(void)
{
	consume(VALUE);
}

/* The same line-number load, but the called function changes. */
void callee_changer(int x)
{
	__might_sleep("line_users.c", __LINE__);
	CONSUME(x);
}

/* Two line users; lines inserted between them shift only the second. */
int two_lines(int x)
{
	__might_sleep("line_users.c", __LINE__);
	if (x > 3)
		_printk("%s:%d\n", __func__, __LINE__);
	/* INSERT-HERE */
	__might_sleep("line_users.c", __LINE__);
	return x;
}
