// SPDX-License-Identifier: GPL-2.0
/*
 * klp_test_mod - the module klp-build's end-to-end tests live-patch.
 *
 * It is copied into the test kernel's tree as drivers/misc/klp_test_mod/ by
 * scripts/testkernel.sh and built as klp_test_mod.ko.  Reading
 * /proc/klp_test_mod prints:
 *
 *   klp_test_mod: original
 *   klp_test_mod: calls <n>
 *
 * The tests patch klp_test_mod_message() (or klp_test_mod_show()) and check
 * that the first line changes; the second line exercises a static variable
 * that a patch must keep using rather than copy.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#define KLP_TEST_MOD_NAME "klp_test_mod"

static unsigned long klp_test_mod_calls;

static noinline const char *klp_test_mod_message(void)
{
	return "original";
}

static int klp_test_mod_show(struct seq_file *m, void *v)
{
	klp_test_mod_calls++;
	seq_printf(m, "%s: %s\n", KLP_TEST_MOD_NAME, klp_test_mod_message());
	seq_printf(m, "%s: calls %lu\n", KLP_TEST_MOD_NAME, klp_test_mod_calls);
	return 0;
}

static int __init klp_test_mod_init(void)
{
	if (!proc_create_single(KLP_TEST_MOD_NAME, 0444, NULL, klp_test_mod_show))
		return -ENOMEM;
	pr_info("%s: loaded\n", KLP_TEST_MOD_NAME);
	return 0;
}

static void __exit klp_test_mod_exit(void)
{
	remove_proc_entry(KLP_TEST_MOD_NAME, NULL);
	pr_info("%s: unloaded\n", KLP_TEST_MOD_NAME);
}

module_init(klp_test_mod_init);
module_exit(klp_test_mod_exit);
MODULE_DESCRIPTION("klp-build end-to-end test target");
MODULE_LICENSE("GPL");
