/*
 * Objects built with kpatch's own kpatch-macros.h: KPATCH_IGNORE_SECTION(".init.text") and
 * KPATCH_IGNORE_FUNCTION(noisy_op) expand to pointers in sections .kpatch.ignore.sections and
 * .kpatch.ignore.functions (klp-build's KLP_IGNORE_SECTION writes __klp_ignore_sections). The
 * patch changes __init code, noisy_op and real_op: only real_op is patched.
 */
#define __init __attribute__((__section__(".init.text")))
#define ___PASTE(a, b) a##b
#define __PASTE(a, b) ___PASTE(a, b)
#define __UNIQUE_ID(prefix) __PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)
#define KPATCH_IGNORE_SECTION(_sec)					\
	char *__UNIQUE_ID(kpatch_ignore_section_)			\
	__attribute__((section(".kpatch.ignore.sections"))) = _sec;
#define KPATCH_IGNORE_FUNCTION(_fn)					\
	void *__kpatch_ignore_func_##_fn				\
	__attribute__((section(".kpatch.ignore.functions"))) = _fn;
#define KLP_IGNORE_SECTION(_sec)					\
	static const char *const __UNIQUE_ID(__klp_build_ignore_section)	\
	__attribute__((used, aligned(8), section("__klp_ignore_sections"))) = (_sec);

extern int printk(const char *fmt, ...);

int __init setup_thing(void)
{
	printk("setting the new thing up\n");
	return 0;
}

int noisy_op(int v)
{
	return v + 2;
}

int real_op(int v)
{
	return v + 2;
}

int other_op(int v)
{
	return v * 5;
}

int __attribute__((__section__(".other.text"))) elsewhere_op(int v)
{
	return v - 6;
}

KPATCH_IGNORE_SECTION(".init.text")
KPATCH_IGNORE_FUNCTION(noisy_op)
KLP_IGNORE_SECTION(".other.text")
