/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <klp-build/syscall.h> - patching system calls with klp-build
 *
 * A syscall defined with SYSCALL_DEFINEx() cannot be patched where its body
 * is: on x86_64 the macro expands (arch/x86/include/asm/syscall_wrapper.h) to
 *
 *	__x64_sys_<name>(regs)   stub: decodes the registers     (traceable)
 *	__ia32_sys_<name>(regs)  same for ia32 emulation          (traceable)
 *	__se_sys_<name>(long...) sign extension, static            (inlined)
 *	__do_sys_<name>(...)     the body, "static inline"         (notrace)
 *
 * and the kernel's "inline" implies notrace, so __do_sys_<name>() has no
 * fentry call for livepatch to redirect, whether GCC inlined it or not.
 *
 * Replace SYSCALL_DEFINEx(name, ...) with KLP_SYSCALL_DEFINEx(name, ...) in
 * the patched source.  The expansion is the kernel's, except that the body is
 * called __klp_do_sys_<name>(): a function the running kernel does not have.
 * create-diff-object therefore sees the stubs, which call it, as changed and
 * patches __x64_sys_<name>() and __ia32_sys_<name>(), which have an fentry
 * call.  The syscall's metadata (SYSCALL_METADATA(), only with
 * CONFIG_FTRACE_SYSCALLS) is emitted exactly as SYSCALL_DEFINEx() emits it,
 * so the patched object's metadata is identical to the original's and is not
 * part of the diff (kpatch instead emits dummies and ignores their sections
 * with KPATCH_IGNORE_SECTION).
 *
 * x86_64 only, kernels 5.7 to 6.x (the __X64_SYS_STUBx() layout of
 * syscall_wrapper.h).  Use it in a file that includes <linux/syscalls.h>,
 * which is where SYSCALL_DEFINEx() came from.  SYSCALL_DEFINE0() and
 * COMPAT_SYSCALL_DEFINEx() have no variant: their bodies are not inline
 * (SYSCALL_DEFINE0) or are rarely patched; ask if you need one.
 */
#ifndef _KLP_BUILD_SYSCALL_H
#define _KLP_BUILD_SYSCALL_H

#include <linux/version.h>

/* Same-named macros of the kernel's own klp-build (<linux/livepatch_helpers.h>). */
#undef KLP_SYSCALL_DEFINE1
#undef KLP_SYSCALL_DEFINE2
#undef KLP_SYSCALL_DEFINE3
#undef KLP_SYSCALL_DEFINE4
#undef KLP_SYSCALL_DEFINE5
#undef KLP_SYSCALL_DEFINE6
#undef KLP_SYSCALL_DEFINEx
#undef __KLP_SYSCALL_DEFINEx

#define KLP_SYSCALL_DEFINE1(name, ...) KLP_SYSCALL_DEFINEx(1, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE2(name, ...) KLP_SYSCALL_DEFINEx(2, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE3(name, ...) KLP_SYSCALL_DEFINEx(3, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE4(name, ...) KLP_SYSCALL_DEFINEx(4, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE5(name, ...) KLP_SYSCALL_DEFINEx(5, _##name, __VA_ARGS__)
#define KLP_SYSCALL_DEFINE6(name, ...) KLP_SYSCALL_DEFINEx(6, _##name, __VA_ARGS__)

#define KLP_SYSCALL_DEFINEx(x, sname, ...)				\
	SYSCALL_METADATA(sname, x, __VA_ARGS__)				\
	__KLP_SYSCALL_DEFINEx(x, sname, __VA_ARGS__)

#if defined(CONFIG_X86_64) && defined(CONFIG_ARCH_HAS_SYSCALL_WRAPPER) && \
	LINUX_VERSION_CODE >= KERNEL_VERSION(5, 7, 0)

/* arch/x86/include/asm/syscall_wrapper.h: __SYSCALL_DEFINEx(), 5.7 to 6.x */
#define __KLP_SYSCALL_DEFINEx(x, name, ...)				\
	static long __se_sys##name(__MAP(x,__SC_LONG,__VA_ARGS__));	\
	static inline long __klp_do_sys##name(__MAP(x,__SC_DECL,__VA_ARGS__)); \
	__X64_SYS_STUBx(x, name, __VA_ARGS__)				\
	__IA32_SYS_STUBx(x, name, __VA_ARGS__)				\
	static long __se_sys##name(__MAP(x,__SC_LONG,__VA_ARGS__))	\
	{								\
		long ret = __klp_do_sys##name(__MAP(x,__SC_CAST,__VA_ARGS__)); \
		__MAP(x,__SC_TEST,__VA_ARGS__);				\
		__PROTECT(x, ret,__MAP(x,__SC_ARGS,__VA_ARGS__));	\
		return ret;						\
	}								\
	static inline long __klp_do_sys##name(__MAP(x,__SC_DECL,__VA_ARGS__))

#else

/* Fails only where it is used, so that including the header is harmless. */
#define __KLP_SYSCALL_DEFINEx(x, name, ...)				\
	_Static_assert(0, "KLP_SYSCALL_DEFINEx: only x86_64 kernels 5.7+ " \
		       "are supported");				\
	static inline long __klp_do_sys##name(__MAP(x,__SC_DECL,__VA_ARGS__))

#endif

#endif /* _KLP_BUILD_SYSCALL_H */
