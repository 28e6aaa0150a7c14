/*
 * GCC partial inlining: report()'s cheap early exit stays in report() (and is inlined into
 * scan()), the rest is outlined into report.part.0, which both call directly. The patch changes
 * the outlined body. report.part.0 has its own ftrace entry and is reached directly from scan(),
 * so it must be patched itself (a __klp_funcs entry under its own name); report travels with it.
 */
extern int printk(const char *fmt, ...);
extern void do_work(int *p, int n);

int vals[1000];

void report(int *p, int n)
{
	if (__builtin_expect(n <= 0, 1))
		return;
	printk("report: %d\n", n);
	do_work(p, n);
	printk("report: %d done\n", n);
	do_work(p + 1, n - 1);
	printk("report: %d again\n", n + 1);
	do_work(p + 2, n - 2);
}

int scan(void)
{
	int i;

	for (i = 0; i < 1000; i++)
		report(vals + i, vals[i]);
	return 0;
}
