/*
 * The patch changes an __init function. Init code has run (and been freed) by the time a
 * livepatch loads; patching it is meaningless: refused (exit 2), naming the function.
 */
#define __init __attribute__((__section__(".init.text"))) __attribute__((__cold__))

extern int printk(const char *fmt, ...);

int table_size = 64;

int __init setup_table(void)
{
	printk("table: %d entries\n", table_size);
	return 0;
}

int lookup(int key)
{
	return key % table_size;
}
