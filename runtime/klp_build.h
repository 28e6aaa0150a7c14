/* SPDX-License-Identifier: GPL-2.0 */
/*
 * klp_build.h - the descriptor ABI between klp-build and its livepatch runtime
 *
 * A klp-build livepatch module is linked (ld -r, by kbuild) from:
 *
 *   klp_runtime.o     runtime/klp_runtime.c: reads the sections below and
 *                     turns them into a struct klp_patch;
 *   klp_patch_info.o  generated from templates/klp_patch_info.c.in: patch
 *                     name, replace flag, MODULE_DESCRIPTION;
 *   diff-NNN.o        one "diff object" per patched kernel object file,
 *                     written by create-diff-object.
 *
 * The diff objects talk to the runtime only through the named sections
 * described here; templates/klp_build.lds brackets each one with
 * <section>_start / <section>_end symbols.  The sections of several diff
 * objects concatenate, so every entry is a fixed-size, 8-byte aligned record
 * and the runtime never assumes one section per object.  An all-zero record
 * is alignment padding and is skipped; any other record with a missing field
 * is rejected.
 *
 * Layouts (x86_64, little endian; every pointer is an R_X86_64_64
 * relocation in the diff object):
 *
 *   __klp_funcs: struct klp_build_func, 32 bytes, written by create-diff-object
 *     +0  new_func   the replacement function
 *     +8  old_name   NUL-terminated name of the function in the running kernel
 *     +16 objname    "vmlinux" or the module name as the kernel knows it
 *                    ('-' already turned into '_'), at most 55 characters
 *     +24 sympos     kallsyms position among same-named symbols of the
 *                    object (0: the name is unique)
 *
 *   __klp_callbacks_{pre,post}_{patch,unpatch}: struct klp_build_callback,
 *   16 bytes, written by the KLP_*_CALLBACK() macros
 *     +0  fn         the callback
 *     +8  objname    NULL in the source; create-diff-object adds an
 *                    R_X86_64_64 relocation at this offset to a string naming
 *                    the object the source file belongs to ("vmlinux" or the
 *                    module name), so the runtime can attach the callback to
 *                    that struct klp_object
 *
 *   __klp_states: struct klp_build_state, 16 bytes, written by KLP_STATE()
 *     +0  id         non-zero system state id
 *     +8  version    unsigned int
 *     +12 reserved   0
 *
 *   __klp_ignore_functions: one 8-byte pointer per KLP_IGNORE_FUNCTION();
 *   read by create-diff-object only (the linker script discards it).
 *
 * This header is shared by the runtime (kernel module code) and, through
 * include/klp-build/livepatch.h, by patched kernel sources.  It must build
 * with the oldest supported kernel's C dialect (gnu89 before 5.18): no
 * declarations in for loops, _Static_assert only at file scope.
 */
#ifndef _KLP_BUILD_H
#define _KLP_BUILD_H

#include <linux/stddef.h>
#include <linux/types.h>

#define KLP_BUILD_FUNCS_SECTION			"__klp_funcs"
#define KLP_BUILD_STRINGS_SECTION		"__klp_strings"
#define KLP_BUILD_PRE_PATCH_SECTION		"__klp_callbacks_pre_patch"
#define KLP_BUILD_POST_PATCH_SECTION		"__klp_callbacks_post_patch"
#define KLP_BUILD_PRE_UNPATCH_SECTION		"__klp_callbacks_pre_unpatch"
#define KLP_BUILD_POST_UNPATCH_SECTION		"__klp_callbacks_post_unpatch"
#define KLP_BUILD_STATES_SECTION		"__klp_states"
#define KLP_BUILD_IGNORE_FUNCTIONS_SECTION	"__klp_ignore_functions"

/* The objname of functions and callbacks in vmlinux (klp_object.name NULL). */
#define KLP_BUILD_VMLINUX			"vmlinux"

/*
 * Longest module name: MODULE_NAME_LEN - 1.  MODULE_NAME_LEN is
 * 64 - sizeof(unsigned long) = 56 on 64-bit, and livepatch's own
 * klp_find_object_symbol() hard-codes 55 (core.c, "%55[^.]").
 */
#define KLP_BUILD_OBJNAME_MAX			55

struct klp_object;

/* Callback types, as in struct klp_callbacks (include/linux/livepatch.h). */
typedef int (*klp_build_pre_patch_t)(struct klp_object *obj);
typedef void (*klp_build_post_patch_t)(struct klp_object *obj);
typedef void (*klp_build_pre_unpatch_t)(struct klp_object *obj);
typedef void (*klp_build_post_unpatch_t)(struct klp_object *obj);

/**
 * struct klp_build_func - one replaced function (section __klp_funcs)
 * @new_func:	the replacement function in this module
 * @old_name:	name of the function being replaced
 * @objname:	"vmlinux" or the name of the module that contains @old_name
 * @sympos:	kallsyms position of @old_name in @objname, 0 if unique
 */
struct klp_build_func {
	void *new_func;
	const char *old_name;
	const char *objname;
	unsigned long sympos;
};

/**
 * struct klp_build_callback - one per-object callback
 *	(sections __klp_callbacks_{pre,post}_{patch,unpatch})
 * @fn:		the callback; its type depends on the section
 *		(klp_build_{pre,post}_{patch,unpatch}_t)
 * @objname:	object the callback belongs to; NULL in the patched source,
 *		filled in by create-diff-object (relocation at offset 8)
 */
struct klp_build_callback {
	void *fn;
	const char *objname;
};

/**
 * struct klp_build_state - one system state the patch knows (__klp_states)
 * @id:		state id, non-zero
 * @version:	version of the state
 * @reserved:	0; makes the padding explicit
 */
struct klp_build_state {
	unsigned long id;
	unsigned int version;
	unsigned int reserved;
};

/**
 * struct klp_build_patch_info - per-module settings (klp_patch_info.c)
 * @name:	the module name, also the livepatch's sysfs name; must match
 *		the name kbuild gives the module
 * @replace:	the patch replaces all earlier ones (klp_patch.replace);
 *		klp-build's --no-replace makes it false
 */
struct klp_build_patch_info {
	const char *name;
	bool replace;
};

#define KLP_BUILD_FUNC_SIZE			32
#define KLP_BUILD_CALLBACK_SIZE			16
#define KLP_BUILD_CALLBACK_OBJNAME_OFFSET	8
#define KLP_BUILD_STATE_SIZE			16

_Static_assert(sizeof(void *) == 8, "klp-build descriptors are 64-bit only");
_Static_assert(sizeof(struct klp_build_func) == KLP_BUILD_FUNC_SIZE,
	       "struct klp_build_func must be 32 bytes");
_Static_assert(offsetof(struct klp_build_func, new_func) == 0 &&
	       offsetof(struct klp_build_func, old_name) == 8 &&
	       offsetof(struct klp_build_func, objname) == 16 &&
	       offsetof(struct klp_build_func, sympos) == 24,
	       "struct klp_build_func layout");
_Static_assert(sizeof(struct klp_build_callback) == KLP_BUILD_CALLBACK_SIZE,
	       "struct klp_build_callback must be 16 bytes");
_Static_assert(offsetof(struct klp_build_callback, objname) ==
	       KLP_BUILD_CALLBACK_OBJNAME_OFFSET,
	       "struct klp_build_callback: objname at offset 8");
_Static_assert(sizeof(struct klp_build_state) == KLP_BUILD_STATE_SIZE,
	       "struct klp_build_state must be 16 bytes");
_Static_assert(offsetof(struct klp_build_state, version) == 8,
	       "struct klp_build_state: version at offset 8");

#endif /* _KLP_BUILD_H */
