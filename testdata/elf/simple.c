/* A small object exercising the ELF layer: text, data, bss, rodata strings, relocations. */
extern int printk(const char *fmt, ...);
int global_counter = 3;
static int hidden;
const char *const greeting = "hello";

static int helper(int x)
{
	return x * 2 + hidden++;
}

int simple_entry(int a)
{
	printk("simple %d %s\n", helper(a), greeting);
	return global_counter + a;
}
