// SPDX-License-Identifier: GPL-2.0
/*
 * fake_diff_mod.c - a hand-made "diff object" for the module klp_test_mod
 * (testdata/kernel/klp_test_mod, built into the test kernel)
 *
 * Replaces klp_test_mod_message() so that /proc/klp_test_mod reads
 * "klp_test_mod: patched by <FAKE_TAG>", with four callbacks for the
 * klp_test_mod object.  Linked into the same livepatch module as fake_diff.c,
 * it makes the runtime build two klp_objects and attach each callback to its
 * own object.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include "fake_diff.h"

#ifndef FAKE_TAG
#define FAKE_TAG "fake"
#endif

static noinline __used const char *livepatch_klp_test_mod_message(void)
{
	return "patched by " FAKE_TAG;
}
FAKE_KLP_FUNC(livepatch_klp_test_mod_message, "klp_test_mod_message",
	      "klp_test_mod", 0);

static int __used fake_mod_pre_patch(struct klp_object *obj)
{
	pr_info("%s: pre_patch %s\n", FAKE_TAG, obj->name);
	return 0;
}

static void __used fake_mod_post_patch(struct klp_object *obj)
{
	pr_info("%s: post_patch %s\n", FAKE_TAG, obj->name);
}

static void __used fake_mod_pre_unpatch(struct klp_object *obj)
{
	pr_info("%s: pre_unpatch %s\n", FAKE_TAG, obj->name);
}

static void __used fake_mod_post_unpatch(struct klp_object *obj)
{
	pr_info("%s: post_unpatch %s\n", FAKE_TAG, obj->name);
}

FAKE_KLP_CALLBACK(pre_patch, fake_mod_pre_patch, "klp_test_mod");
FAKE_KLP_CALLBACK(post_patch, fake_mod_post_patch, "klp_test_mod");
FAKE_KLP_CALLBACK(pre_unpatch, fake_mod_pre_unpatch, "klp_test_mod");
FAKE_KLP_CALLBACK(post_unpatch, fake_mod_post_unpatch, "klp_test_mod");
