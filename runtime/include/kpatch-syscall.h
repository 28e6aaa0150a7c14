/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kpatch-syscall.h - kpatch-build compatibility for klp-build: syscalls
 *
 * kpatch's KPATCH_SYSCALL_DEFINE1..6(name, ...) are drop-in replacements of
 * SYSCALL_DEFINE1..6 for patching a syscall.  Here they are
 * KLP_SYSCALL_DEFINE1..6 from <klp-build/syscall.h>, which explains the
 * mechanism: the x86_64 6.1 expansion of arch/x86/include/asm/syscall_wrapper.h
 * with the body renamed (__klp_do_sys_<name>() where kpatch has
 * __kpatch_do_sys_<name>()), so that the traceable stubs __x64_sys_<name>()
 * and __ia32_sys_<name>() are what livepatch redirects.
 *
 * Difference from kpatch: the syscall metadata is the real SYSCALL_METADATA()
 * (identical to the original object's, hence not in the diff), not dummy
 * entries hidden with KPATCH_IGNORE_SECTION.
 */
#ifndef __KPATCH_SYSCALL_H_
#define __KPATCH_SYSCALL_H_

#include "kpatch-macros.h"
#include "klp-build/syscall.h"

#define KPATCH_SYSCALL_DEFINE1(name, ...) KLP_SYSCALL_DEFINE1(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE2(name, ...) KLP_SYSCALL_DEFINE2(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE3(name, ...) KLP_SYSCALL_DEFINE3(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE4(name, ...) KLP_SYSCALL_DEFINE4(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE5(name, ...) KLP_SYSCALL_DEFINE5(name, __VA_ARGS__)
#define KPATCH_SYSCALL_DEFINE6(name, ...) KLP_SYSCALL_DEFINE6(name, __VA_ARGS__)

#endif /* __KPATCH_SYSCALL_H_ */
