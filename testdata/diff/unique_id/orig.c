/*
 * __UNIQUE_ID() names carry __COUNTER__, so a patch that adds one use earlier in the file
 * renumbers every later one. Here each COUNT_CALL() site owns a static counter named
 * __UNIQUE_ID_callsN; the patch adds a new function with a COUNT_CALL() at the top, shifting
 * open_dev's and close_dev's counters, and changes close_dev. open_dev must still compare equal,
 * and close_dev must keep using the running kernel's counter under its ORIGINAL name.
 */
#define ___PASTE(a, b) a##b
#define __PASTE(a, b) ___PASTE(a, b)
#define __UNIQUE_ID(prefix) __PASTE(__PASTE(__UNIQUE_ID_, prefix), __COUNTER__)

#define __COUNT_CALL(id) ({ static unsigned long id; ++id; })
#define COUNT_CALL() __COUNT_CALL(__UNIQUE_ID(calls))

/* NEW-FUNCTION-HERE */

int open_dev(int x)
{
	return (int)COUNT_CALL() + x + 1;
}

int close_dev(int x)
{
	return (int)COUNT_CALL() - x;
}
