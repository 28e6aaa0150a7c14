// SPDX-License-Identifier: GPL-2.0
/*
 * kpatch_compat.c - a patched source written for kpatch-build
 * (tests/runtime/build-module.sh checks that it builds unchanged and yields
 * the same sections as the KLP_* directives; KPATCH_FORCE_UNSAFE must warn)
 */
#include <linux/kernel.h>
#include "kpatch-macros.h"

static int kp_pre_patch(patch_object *obj)
{
	KPATCH_PRINTK("kpatch_compat: pre_patch %s\n", obj->name ?: "vmlinux");
	return 0;
}

static void kp_post_patch(patch_object *obj)
{
}

static void kp_pre_unpatch(patch_object *obj)
{
}

static void kp_post_unpatch(patch_object *obj)
{
}

noinline int kp_ignored(int x)
{
	return x * 2;
}

noinline int kp_forced(int x)
{
	return x * 3;
}

KPATCH_PRE_PATCH_CALLBACK(kp_pre_patch);
KPATCH_POST_PATCH_CALLBACK(kp_post_patch);
KPATCH_PRE_UNPATCH_CALLBACK(kp_pre_unpatch);
KPATCH_POST_UNPATCH_CALLBACK(kp_post_unpatch);
KPATCH_IGNORE_FUNCTION(kp_ignored);
KPATCH_IGNORE_SECTION(".rodata.str1.1");
KPATCH_FORCE_UNSAFE(kp_forced);
