/*
 * The patch adds a new static variable (.bss.nr_retries) and a new initialised global
 * (.data.retry_budget), used by the changed function. Both are new data: included in the output
 * and referenced locally, not through .klp.sym.
 */
extern int printk(const char *fmt, ...);

static unsigned long nr_retries;
int retry_budget = 8;

int do_transfer(int n)
{
	if (n < 0) {
		if (nr_retries++ < retry_budget)
			return -11;
		return -5;
	}
	return n * 2;
}
