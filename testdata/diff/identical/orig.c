/* Identical objects: the differ must report no change (exit 3). */
extern int printk(const char *fmt, ...);

int changed_limit = 16;        /* global defined here, not exported */
static unsigned long nr_shown; /* a second local, so kallsyms neighbours exist */

static __attribute__((noinline)) int helper(int x)
{
	nr_shown++;
	return x * 3 + changed_limit;
}

int changed_show(int a)
{
	int v = helper(a);

	printk("changed_show %d\n", v);
	return v > changed_limit ? changed_limit : v;
}

int unchanged_show(int a)
{
	return helper(a) - 1;
}
