/*
 * The classic /proc/cmdline livepatch (fs/proc/cmdline.c): only a string literal changes. The
 * function's strings live in .rodata.cmdline_proc_show.str1.1 (GCC 12, -fdata-sections); the
 * patched format string must be carried in the output.
 */
#define NULL ((void *)0)
#define __init __attribute__((__section__(".init.text"))) __attribute__((__cold__))

struct seq_file;
struct proc_dir_entry;
extern void seq_printf(struct seq_file *m, const char *fmt, ...);
extern char *saved_command_line; /* a vmlinux global, not exported */
extern struct proc_dir_entry *proc_create_single_data(const char *name, unsigned short mode,
		struct proc_dir_entry *parent, int (*show)(struct seq_file *, void *), void *data);

static int cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s livepatch=cmdline\n", saved_command_line);
	return 0;
}

int __init proc_cmdline_init(void)
{
	proc_create_single_data("cmdline", 0, NULL, cmdline_proc_show, NULL);
	return 0;
}
