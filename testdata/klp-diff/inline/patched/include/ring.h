/* A "header" static inline, as include/linux/*.h has them. The patch changes it. */
#ifndef RING_H
#define RING_H

struct ring {
	unsigned int head;
	unsigned int tail;
	unsigned int size;
};

static inline unsigned int ring_space(const struct ring *r)
{
	if (r->head - r->tail > r->size)
		return 0;
	return r->size - (r->head - r->tail);
}

#endif
