/*
 * A static inline from a header changes: it is inlined into every caller, so every caller is a
 * changed function. ring_reset() does not use it and must stay out of the output. The build
 * compiles orig.c with orig/ on the include path and patched.c with patched/.
 */
#include "ring.h"

extern int printk(const char *fmt, ...);

int ring_can_push(struct ring *r, unsigned int n)
{
	return ring_space(r) >= n;
}

int ring_report(struct ring *r)
{
	printk("ring: %u free\n", ring_space(r));
	return 0;
}

void ring_reset(struct ring *r)
{
	r->head = r->tail = 0;
}
