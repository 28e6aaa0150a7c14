// SPDX-License-Identifier: GPL-2.0
/*
 * directives_bad.c - directive misuse that must not compile
 * (tests/runtime/build-module.sh builds it once per BAD_* macro and expects
 * the error message given next to each case)
 */
#include <linux/kernel.h>
#include <klp-build/livepatch.h>
#include "kpatch-macros.h"

static void void_cb(struct klp_object *obj)
{
}

static int int_cb(struct klp_object *obj)
{
	return 0;
}

static int int_cb_void(void)
{
	return 0;
}

static int not_a_function;
static int (*function_pointer)(int);

#if defined(BAD_PRE_PATCH_VOID)		/* "wrong signature" */
KLP_PRE_PATCH_CALLBACK(void_cb);
#elif defined(BAD_POST_PATCH_INT)	/* "wrong signature" */
KLP_POST_PATCH_CALLBACK(int_cb);
#elif defined(BAD_PRE_UNPATCH_ARGS)	/* "wrong signature" */
KLP_PRE_UNPATCH_CALLBACK(int_cb_void);
#elif defined(BAD_KPATCH_POST_UNPATCH)	/* "wrong signature" */
KPATCH_POST_UNPATCH_CALLBACK(int_cb);
#elif defined(BAD_TWO_PRE_PATCH)	/* "redefinition" */
KLP_PRE_PATCH_CALLBACK(int_cb);
KLP_PRE_PATCH_CALLBACK(int_cb);
#elif defined(BAD_STATE_ZERO)		/* "id must be non-zero" */
KLP_STATE(0, 1);
#elif defined(BAD_IGNORE_VARIABLE)	/* an error (cannot dereference an int) */
KLP_IGNORE_FUNCTION(not_a_function);
#elif defined(BAD_IGNORE_POINTER)	/* "not a function" */
KLP_IGNORE_FUNCTION(function_pointer);
#elif defined(BAD_IGNORE_SECTION)	/* "not a section name" or a parse error */
KPATCH_IGNORE_SECTION(not_a_function);
#endif
