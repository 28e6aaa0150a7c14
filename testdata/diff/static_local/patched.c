/*
 * Function-local statics carry state in the running kernel. record_event() is changed but its
 * static `count` is not: the patched function must keep using the kernel's copy, through
 * .klp.sym.vmlinux.count.N,0 with the ORIGINAL object's number N.
 *
 * GCC 12 numbers function-local statics in reverse order of their functions in the file: here
 * record_event's count is count.0 and peek_events' peeks is peeks.1. The patch adds a function
 * after record_event that has its own static `count`; in the patched object that one becomes
 * count.0 and record_event's becomes count.1. Pairing by name alone would be wrong.
 */
extern int printk(const char *fmt, ...);

int peek_events(void)
{
	static int peeks;

	return ++peeks;
}

int record_event(int type)
{
	static int count;

	count++;
	if (type > 5)
		printk("event %d (%d so far)\n", type, count);
	return count;
}

int count_resets(void)
{
	static int count;

	return ++count;
}
