/*
 * UBSAN (-fsanitize=shift, as CONFIG_UBSAN_SHIFT builds): every check passes its own source
 * location, anonymous data `.Lubsan_data<N>` in `.data..Lubsan_data<N>` holding __LINE__. The
 * patch shifts all lines and changes scaled_op: init_scale's bytes are identical, its location
 * data only records another line, so nothing is refused, and scaled_op carries fresh copies.
 */
#define __init __attribute__((__section__(".init.text")))

/* A line that shifts the rest. */
extern int scale;

int __init init_scale(int s)
{
	scale = 1 << s;
	return 0;
}

int scaled_op(int v, int s)
{
	return (v + 1) << s;
}
