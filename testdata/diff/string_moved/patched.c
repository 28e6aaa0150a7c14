/*
 * __init code whose bytes are identical in both builds, but whose string moved inside the
 * shared mergeable string section because the changed function before it gained a string
 * (built with -fno-data-sections, as older GCC shares .rodata.str1.1 between functions):
 * strings compare by content, not offset, so setup_thing is unchanged and nothing is refused.
 */
#define __init __attribute__((__section__(".init.text")))
extern int printk(const char *fmt, ...);

int changed_op(int v)
{
	printk("new\n");
	printk("changed_op %d\n", v);
	return v;
}

int __init setup_thing(void)
{
	printk("setting the thing up\n");
	return 0;
}
