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

int submit_request(struct request *rq)
{
	if (rq->len <= 0)
		return -22;
	printk("submit %d\n", rq->len);
	return 0;
}
