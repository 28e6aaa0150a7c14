// Code whose -ffunction-sections build differs from a normal build only in branch encoding: in a
// normal build the tail calls to the static helpers are jumps within one .text section, which the
// assembler encodes in 2 bytes; with -ffunction-sections each helper is in its own section and
// the jumps are 5-byte relocated ones. image_match must accept the difference.
int counter;
int other;

static __attribute__((noinline)) int helper(int x)
{
	counter += x;
	return x * 3 + 1;
}

static __attribute__((noinline)) int helper2(int x)
{
	other ^= x;
	return x - 9;
}

int tail_call(int x)
{
	if (x > 10)
		return helper(x - 1);
	if (x < -10)
		return helper2(x + 1);
	counter++;
	return helper(x);
}

int plain(int x)
{
	return helper2(x) + helper(x) + counter;
}
