/*
 * klp-diff golden case "inline": a static inline from a header changes, so every caller changes
 * although ring.c itself does not. ring_reset() does not use it and stays unchanged. Built with
 * -g so that DWARF shows ring_space() inlined into its callers.
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
