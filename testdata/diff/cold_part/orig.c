/*
 * GCC hot/cold splitting: the unlikely error path of parse_header() (it calls a __cold function
 * and printk) is moved to parse_header.cold in .text.unlikely.parse_header. The patch changes the
 * hot path; the output carries both parts, and only parse_header gets a __klp_funcs entry (the
 * cold part has no ftrace entry and is reached only by jumps from its parent).
 */
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __cold __attribute__((__cold__))

extern int printk(const char *fmt, ...);
extern void __cold report_bad_header(const char *what, int code);

struct header {
	unsigned int magic;
	unsigned int len;
	unsigned int csum;
};

int parse_header(const struct header *h, unsigned int max)
{
	if (unlikely(h->magic != 0x4b4c5021)) {
		report_bad_header("magic", h->magic);
		printk("bad magic %x (len %u csum %x)\n", h->magic, h->len, h->csum);
		return -22;
	}
	if (h->len > max)
		return -75;
	return h->len;
}
