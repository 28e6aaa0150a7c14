// SPDX-License-Identifier: GPL-2.0
/*
 * syscall.c - a syscall defined the kernel's way (SYSCALL_DEFINE3) or, with
 * -DUSE_KPATCH / -DUSE_KLP, the kpatch / klp-build way
 * (tests/runtime/build-module.sh compares the symbols: only the body's name
 * may differ, and the traceable stubs must exist)
 */
#include <linux/kernel.h>
#include <linux/syscalls.h>
#if defined(USE_KPATCH)
#include "kpatch-syscall.h"
#define DEFINE3 KPATCH_SYSCALL_DEFINE3
#elif defined(USE_KLP)
#include <klp-build/syscall.h>
#define DEFINE3 KLP_SYSCALL_DEFINE3
#else
#define DEFINE3 SYSCALL_DEFINE3
#endif

DEFINE3(klp_runtime_test, int, a, unsigned long, b, const char __user *, c)
{
	return a + b + (c ? 1 : 0);
}
