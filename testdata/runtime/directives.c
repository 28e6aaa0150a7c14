// SPDX-License-Identifier: GPL-2.0
/*
 * directives.c - every <klp-build/livepatch.h> directive, as a patched source
 * would use them (tests/runtime/build-module.sh)
 *
 * Checked twice: its sections must have the layout create-diff-object reads
 * (callback records with objname 0 and no relocation at +8), and, linked as
 * a diff object as it is (objnames not filled in), the module must refuse to
 * load with -EINVAL.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <klp-build/livepatch.h>

#define DIRECTIVES_STATE_ID	0x1234UL

static int directives_pre_patch(struct klp_object *obj)
{
	return 0;
}

static void directives_post_patch(struct klp_object *obj)
{
}

static void directives_pre_unpatch(struct klp_object *obj)
{
}

static void directives_post_unpatch(struct klp_object *obj)
{
}

noinline int directives_changed_by_side_effect(int x)
{
	return x + 1;
}

KLP_PRE_PATCH_CALLBACK(directives_pre_patch);
KLP_POST_PATCH_CALLBACK(directives_post_patch);
KLP_PRE_UNPATCH_CALLBACK(directives_pre_unpatch);
KLP_POST_UNPATCH_CALLBACK(directives_post_unpatch);
KLP_STATE(DIRECTIVES_STATE_ID, 1);
KLP_STATE(0x5678, 3);
KLP_IGNORE_FUNCTION(directives_changed_by_side_effect);
