/*
 * The patch adds a new static variable (.bss.nr_retries) and a new initialised global
 * (.data.retry_budget), used by the changed function. Both are new data: included in the output
 * and referenced locally, not through .klp.sym.
 */
extern int printk(const char *fmt, ...);

int do_transfer(int n)
{
	if (n < 0)
		return -5;
	return n * 2;
}
