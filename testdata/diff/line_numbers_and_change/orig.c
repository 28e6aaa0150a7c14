/*
 * Functions that pass __LINE__ to the kernel's debugging helpers. Inserting lines above them (as
 * any patch earlier in the file does) changes only those immediates; such functions are not
 * changed.
 */
extern int printk(const char *fmt, ...);
extern int _printk(const char *fmt, ...);
extern void __might_sleep(const char *file, int line);
extern void __might_fault(const char *file, int line);
extern int __warn_printk(const char *fmt, ...);
extern void warn_slowpath_fmt(const char *file, const int line, unsigned taint,
			      const char *fmt, ...);
extern void lockdep_rcu_suspicious(const char *file, const int line, const char *s);
extern int rcu_read_lock_held(void);

#define might_sleep() __might_sleep(__FILE__, __LINE__)
#define might_fault() __might_fault(__FILE__, __LINE__)
#define RCU_LOCKDEP_WARN(c, s)						\
	do {								\
		if ((c))						\
			lockdep_rcu_suspicious(__FILE__, __LINE__, s);	\
	} while (0)
#define __WARN_printf(taint, arg...) warn_slowpath_fmt(__FILE__, __LINE__, taint, arg)

struct mutex {
	int owner;
};

int buffer_limit(int n)
{
	return n > 4096 ? 4096 : n;
}
/* LINES-INSERTED-HERE */
void lock_mutex(struct mutex *m)
{
	might_sleep();
	m->owner = 1;
}

int copy_to_user_checked(void *dst, const void *src, unsigned long n)
{
	might_fault();
	if (n > 65536) {
		printk("copy too large at line %d\n", __LINE__);
		return -14;
	}
	return 0;
}

int report_state(int state)
{
	if (state < 0)
		__warn_printk("bad state %d at %d\n", state, __LINE__);
	_printk("state %d (line %d)\n", state, __LINE__);
	return state;
}

int deref_protected(int *p)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "suspicious deref_protected() usage");
	if (!p) {
		__WARN_printf(9, "null pointer in %s\n", "deref_protected");
		return -1;
	}
	return *p;
}
