/*
 * Dynamic debug descriptors (pr_debug()): the patch shifts every line of the file and changes
 * loud_op. quiet_op's descriptor now records another __LINE__, which is no change: descriptors
 * are per call site, never correlated, and the patch carries a fresh one with each function it
 * carries (loud_op's), the jump label keyed by it included.
 */
#include "dyndbg.h"

int quiet_op(int v)
{
	pr_debug("quiet_op %d\n", v);
	return v + 1;
}

int loud_op(int v)
{
	pr_debug("loud_op %d\n", v);
	return v * 2;
}
