/*
 * klp-diff golden case "mixed": one function of each verdict.
 *
 *   counter_event   changed: a new message; keeps its static `count` (renumbered count.0 ->
 *                   count.1 because new_api() adds a `count` of its own), calls the unchanged
 *                   static helper() in the running kernel and the new static clamp_type()
 *                   carried by the patch
 *   clamp_type      new static, included as a dependency of counter_event
 *   new_api         new global function
 *   old_api         removed
 *   lock_thing      ignored: only the __LINE__ it passes to __might_sleep() moved
 *   helper, unchanged_fn  unchanged
 */
extern int printk(const char *fmt, ...);
extern void __might_sleep(const char *file, int line);

#define might_sleep() __might_sleep(__FILE__, __LINE__)

static int __attribute__((noinline)) helper(int x)
{
	return x * 3 + 1;
}

int unchanged_fn(int x)
{
	return helper(x) + 2;
}

static int __attribute__((noinline)) clamp_type(int type)
{
	return type > 15 ? 15 : type;
}

int counter_event(int type)
{
	static int count;

	count++;
	printk("event %d: %d so far\n", clamp_type(type), count);
	return helper(count);
}

int new_api(int x)
{
	static int count;

	return x + ++count;
}

void lock_thing(int *p)
{
	might_sleep();
	*p = 1;
}
