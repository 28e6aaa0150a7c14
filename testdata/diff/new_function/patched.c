/*
 * The patch adds a new static function, called from the changed function. The new function is
 * included without a __klp_funcs entry and the call to it stays a relocation inside the patch
 * module (it does not become a .klp.sym reference).
 */
extern int printk(const char *fmt, ...);

struct request {
	int len;
	int flags;
};

static __attribute__((noinline)) int validate_request(struct request *rq)
{
	if (rq->len <= 0 || rq->len > 4096)
		return -22;
	if (rq->flags & ~0xff)
		return -95;
	return 0;
}

int submit_request(struct request *rq)
{
	int err = validate_request(rq);

	if (err)
		return err;
	printk("submit %d\n", rq->len);
	return 0;
}
