// SPDX-License-Identifier: GPL-2.0
/*
 * fake_diff.c - a hand-made "diff object" for vmlinux (tests/runtime)
 *
 * Replaces cmdline_proc_show() (fs/proc/cmdline.c), like
 * samples/livepatch/livepatch-sample.c, and in the full variant also
 * version_proc_show() (fs/proc/version.c), with vmlinux callbacks and a
 * system state.  FAKE_TAG (a string) names the test module in every message.
 *
 * Variants (-D):
 *   (none)            both functions, four callbacks, KLP_STATE
 *   FAKE_MINIMAL      cmdline_proc_show only: no callback or state sections
 *   FAKE_FAIL         like (none), but the pre-patch callback fails (-EBUSY)
 *   FAKE_LONG_OBJNAME cmdline_proc_show in an object whose name has 56
 *                     characters (malformed: must be rejected)
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>
#include <klp-build/livepatch.h>
#include "fake_diff.h"

#ifndef FAKE_TAG
#define FAKE_TAG "fake"
#endif

#define FAKE_STATE_ID		0x6b6c7062UL	/* "klpb" */
#define FAKE_STATE_VERSION	2

static noinline __used int livepatch_cmdline_proc_show(struct seq_file *m,
							void *v)
{
	seq_printf(m, "%s\n", "this has been live patched by " FAKE_TAG);
	return 0;
}

#ifdef FAKE_LONG_OBJNAME
FAKE_KLP_FUNC(livepatch_cmdline_proc_show, "cmdline_proc_show",
	      "a_module_name_that_is_fifty_six_characters_long_xxxxxxxx", 0);
#else
FAKE_KLP_FUNC(livepatch_cmdline_proc_show, "cmdline_proc_show", "vmlinux", 0);
#endif

#if !defined(FAKE_MINIMAL) && !defined(FAKE_LONG_OBJNAME)

static noinline __used int livepatch_version_proc_show(struct seq_file *m,
							void *v)
{
	seq_printf(m, "%s\n", "version patched by " FAKE_TAG);
	return 0;
}
FAKE_KLP_FUNC(livepatch_version_proc_show, "version_proc_show", "vmlinux", 0);

static const char *fake_objname(struct klp_object *obj)
{
	return obj->name ? obj->name : "vmlinux";
}

static int __used fake_pre_patch(struct klp_object *obj)
{
	struct klp_state *state = klp_build_get_state(obj, FAKE_STATE_ID);
	struct klp_state *prev = klp_get_prev_state(FAKE_STATE_ID);

	pr_info("%s: pre_patch %s state=%#lx/%u prev=%s\n", FAKE_TAG,
		fake_objname(obj), state ? state->id : 0,
		state ? state->version : 0, prev ? "yes" : "none");
#ifdef FAKE_FAIL
	pr_info("%s: pre_patch %s failing with -EBUSY\n", FAKE_TAG,
		fake_objname(obj));
	return -EBUSY;
#else
	return 0;
#endif
}

static void __used fake_post_patch(struct klp_object *obj)
{
	pr_info("%s: post_patch %s\n", FAKE_TAG, fake_objname(obj));
}

static void __used fake_pre_unpatch(struct klp_object *obj)
{
	pr_info("%s: pre_unpatch %s\n", FAKE_TAG, fake_objname(obj));
}

static void __used fake_post_unpatch(struct klp_object *obj)
{
	pr_info("%s: post_unpatch %s\n", FAKE_TAG, fake_objname(obj));
}

FAKE_KLP_CALLBACK(pre_patch, fake_pre_patch, "vmlinux");
FAKE_KLP_CALLBACK(post_patch, fake_post_patch, "vmlinux");
FAKE_KLP_CALLBACK(pre_unpatch, fake_pre_unpatch, "vmlinux");
FAKE_KLP_CALLBACK(post_unpatch, fake_post_unpatch, "vmlinux");

/* States carry no objname: the macro's output is what the diff has. */
KLP_STATE(FAKE_STATE_ID, FAKE_STATE_VERSION);

#endif
