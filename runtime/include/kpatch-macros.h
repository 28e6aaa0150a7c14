/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpatch-macros.h - kpatch-build compatibility for klp-build
 *
 * Patches written for kpatch-build include "kpatch-macros.h" (and sometimes
 * "kpatch-syscall.h"); klp-build compiles patched objects with
 * -I<runtime>/include, where these headers map kpatch's directives onto
 * klp-build's (<klp-build/livepatch.h>), so such patches build unchanged.
 * The macros end with their own semicolon, as kpatch's do; the usual
 * "KPATCH_...(fn);" leaves an empty declaration, which GCC accepts.
 *
 *   KPATCH_PRE_PATCH_CALLBACK(fn)	-> KLP_PRE_PATCH_CALLBACK(fn)
 *   KPATCH_POST_PATCH_CALLBACK(fn)	-> KLP_POST_PATCH_CALLBACK(fn)
 *   KPATCH_PRE_UNPATCH_CALLBACK(fn)	-> KLP_PRE_UNPATCH_CALLBACK(fn)
 *   KPATCH_POST_UNPATCH_CALLBACK(fn)	-> KLP_POST_UNPATCH_CALLBACK(fn)
 *	Same signatures as kpatch's livepatch flavour: int/void
 *	fn(patch_object *obj) with patch_object == struct klp_object.  As with
 *	kpatch, one callback of each kind per file; also at most one per
 *	kernel object (a load-time error otherwise).
 *   KPATCH_IGNORE_FUNCTION(fn)		-> KLP_IGNORE_FUNCTION(fn)
 *   KPATCH_IGNORE_SECTION(sec)		-> KLP_IGNORE_SECTION(sec)
 *   KPATCH_FORCE_UNSAFE(fn)		no-op with a compile-time warning
 *   KPATCH_PRINTK(), KPATCH_PRINTK_DEFERRED(), KPATCH_STATIC_CALL()
 *					as in kpatch
 *   KPATCH_SYSCALL_DEFINE1..6()	kpatch-syscall.h (included here, as
 *					kpatch does)
 *
 * KPATCH_FORCE_UNSAFE: with the kpatch core module this skipped the
 * activeness safety check for one function.  Livepatch has no per-function
 * override of its consistency model, so the function is patched like every
 * other: the transition waits until no task runs the old code.  If it
 * never finishes, the administrator can force the whole patch through
 * /sys/kernel/livepatch/<patch>/force (see livepatch.rst: the patch module
 * then can never be removed).  The build prints a warning so that the author
 * knows.
 *
 * kpatch's old KPATCH_LOAD_HOOK/KPATCH_UNLOAD_HOOK (removed from kpatch in
 * 2018) are not provided: use the post-patch/pre-unpatch callbacks.
 */
#ifndef __KPATCH_MACROS_H_
#define __KPATCH_MACROS_H_

#include <linux/compiler.h>
#include <linux/jiffies.h>
#include <linux/printk.h>
#include <linux/version.h>

#include "klp-build/livepatch.h"

typedef struct klp_object patch_object;

typedef int (*kpatch_pre_patch_call_t)(patch_object *obj);
typedef void (*kpatch_post_patch_call_t)(patch_object *obj);
typedef void (*kpatch_pre_unpatch_call_t)(patch_object *obj);
typedef void (*kpatch_post_unpatch_call_t)(patch_object *obj);

#define KPATCH_PRE_PATCH_CALLBACK(_fn)		KLP_PRE_PATCH_CALLBACK(_fn);
#define KPATCH_POST_PATCH_CALLBACK(_fn)		KLP_POST_PATCH_CALLBACK(_fn);
#define KPATCH_PRE_UNPATCH_CALLBACK(_fn)	KLP_PRE_UNPATCH_CALLBACK(_fn);
#define KPATCH_POST_UNPATCH_CALLBACK(_fn)	KLP_POST_UNPATCH_CALLBACK(_fn);

#define KPATCH_IGNORE_FUNCTION(_fn)		KLP_IGNORE_FUNCTION(_fn);

#define KPATCH_IGNORE_SECTION(_sec)		KLP_IGNORE_SECTION(_sec);

/* No-op: see the top of this file. */
#define KPATCH_FORCE_UNSAFE(_fn)					\
	_Pragma("GCC warning \"KPATCH_FORCE_UNSAFE has no effect with livepatch: the function goes through the normal consistency model\"") \
	_Static_assert(__klp_build_is_function(_fn),			\
		       "KPATCH_FORCE_UNSAFE(" #_fn "): not a function");

/*
 * KPATCH_PRINTK - printk() that does not make the surrounding path cold
 *
 * printk() is __cold; GCC may then move the code around a call into
 * .text.unlikely or stop inlining functions called next to it, which makes
 * unrelated functions change.  The (always true) jiffies test gives the call
 * a path of its own.
 */
#define KPATCH_PRINTK(_fmt, ...)					\
({									\
	if (jiffies)							\
		printk(_fmt, ## __VA_ARGS__);				\
})

/* KPATCH_PRINTK for contexts where printk() may deadlock (rq lock held). */
#define KPATCH_PRINTK_DEFERRED(_fmt, ...)				\
({									\
	if (jiffies)							\
		printk_deferred(_fmt, ## __VA_ARGS__);			\
})

/*
 * KPATCH_STATIC_CALL - a static_call() turned into an indirect call through
 * the key, for static call keys that live in a module (their trampolines
 * cannot be called from the patch).
 */
#define KPATCH_STATIC_CALL(name)					\
	((typeof(STATIC_CALL_TRAMP(name)) *)(STATIC_CALL_KEY(name).func))

#include "kpatch-syscall.h"

#endif /* __KPATCH_MACROS_H_ */
