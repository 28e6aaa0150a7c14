/*
 * GCC IPA clones. dev_weight() only reads two fields through its pointer argument, so IPA-SRA
 * passes them by value instead: dev_weight.isra.0. scale() is always called with factor 5, so
 * IPA-CP specialises it: scale.constprop.0. The patch changes both bodies without changing what
 * the callers pass, so only the clones change; each gets a __klp_funcs entry naming the clone as
 * the running kernel has it.
 */
struct dev {
	int id;
	int flags;
	int stats[8];
};

static __attribute__((noinline)) int dev_weight(struct dev *d)
{
	return d->id * 7 + (d->flags >> 2);
}

static __attribute__((noinline)) int scale(int v, int factor)
{
	int r = 0;

	for (int i = 0; i < factor; i++)
		r += v * i;
	return r;
}

int dev_probe(struct dev *d)
{
	return dev_weight(d) + scale(d->stats[0], 5);
}

int dev_remove(struct dev *d)
{
	return dev_weight(d) - scale(d->stats[1], 5);
}
