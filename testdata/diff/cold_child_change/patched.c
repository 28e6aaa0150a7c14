/*
 * Like cold_part, but the patch changes only the cold part (the error message). The parent
 * parse_header is then the changed function: it is patched, with its new cold part.
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
		printk("bad header magic %x (len %u csum %x)\n", h->magic, h->len, h->csum);
		return -22;
	}
	if (h->len > max)
		return -75;
	return h->len;
}
