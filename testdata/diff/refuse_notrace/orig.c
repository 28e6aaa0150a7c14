/*
 * The patch changes a notrace function. Without an ftrace entry (no __fentry__ call, no
 * __mcount_loc entry) the livepatch runtime cannot redirect it: refused (exit 2), naming it.
 */
#define notrace __attribute__((__no_instrument_function__))

extern unsigned long jiffies_base;

notrace __attribute__((__noinline__)) unsigned long read_clock(unsigned long scale)
{
	return jiffies_base * scale + 1;
}

unsigned long read_clock_traced(void)
{
	return read_clock(3);
}
