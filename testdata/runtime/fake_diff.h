/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fake_diff.h - write descriptor records the way create-diff-object does
 *
 * The fake diff objects of tests/runtime/build-module.sh stand in for
 * create-diff-object's output.  Their __klp_funcs and callback records are
 * raw .quad data with the names in __klp_strings, not C initializers of the
 * structs in klp_build.h, so a mismatch between klp_build.h and the byte
 * layout create-diff-object writes (create-diff-object/output.h) shows up as
 * a load failure.  Callback records carry their objname already filled in,
 * as create-diff-object leaves them.  Functions named here must be __used:
 * only the assembler refers to them.
 */
#ifndef _FAKE_DIFF_H
#define _FAKE_DIFF_H

/* __klp_funcs: +0 new_func, +8 old_name, +16 objname, +24 sympos */
#define FAKE_KLP_FUNC(new_func, old_name, objname, sympos)		\
	asm(".pushsection __klp_funcs, \"a\"\n\t"			\
	    ".balign 8\n\t"						\
	    ".quad " #new_func "\n\t"					\
	    ".quad 1f\n\t"						\
	    ".quad 2f\n\t"						\
	    ".quad " #sympos "\n\t"					\
	    ".section __klp_strings, \"a\"\n"				\
	    "1:\t.asciz \"" old_name "\"\n"				\
	    "2:\t.asciz \"" objname "\"\n\t"				\
	    ".popsection")

/* __klp_callbacks_<kind>: +0 fn, +8 objname */
#define FAKE_KLP_CALLBACK(kind, fn, objname)				\
	asm(".pushsection __klp_callbacks_" #kind ", \"a\"\n\t"	\
	    ".balign 8\n\t"						\
	    ".quad " #fn "\n\t"						\
	    ".quad 1f\n\t"						\
	    ".section __klp_strings, \"a\"\n"				\
	    "1:\t.asciz \"" objname "\"\n\t"				\
	    ".popsection")

#endif /* _FAKE_DIFF_H */
