// Building single objects by kbuild's descent, without the top Makefile.
//
// `make fs/proc/meminfo.o` spends about a second on a distribution config before kbuild starts
// on the object: the top Makefile probes the compiler dozens of times, then runs prepare's
// cascade of sub-makes (scripts, objtool, generated headers), all of which find nothing to do
// in a prepared tree. What builds the object is the one recursive make that the top Makefile
// starts after prepare:
//
//   make -f $(srctree)/scripts/Makefile.build obj=. need-builtin=1 need-modorder=1 ./fs/proc/x.o
//
// with the environment the top Makefile exports (the flags it computed, KBUILD_MODULES, ...)
// and its command-line variables in MAKEFLAGS. That descent walks the directories' Makefiles
// as always (so per-directory flags are kbuild's own) and writes the object and its record.
//
// So every make of original objects (the user's sources, never patched Makefiles) also
// records, through two --eval rules, the environment of that recipe (descend_capture_args());
// record_descend_env() keeps what it adds to or removes from klp-build's own environment,
// without the jobserver of that make. Later builds in the
// same prepared tree start the descent directly (0.5 s instead of 1.3 s for fs/proc/meminfo.o
// on Debian's config). Only for trees whose top Makefile starts the descent with exactly that
// recipe, and only where prepare has nothing to redo: the original objects of a cached tree,
// and patched units of a patch that touches nothing but units. --check-reproducible's second
// build uses make throughout, which proves the two give the same module.
#pragma once

#include <string>
#include <vector>

#include "kbuild.h"

namespace klp {

// The make arguments that record the descent's environment in the build directory.
std::vector<std::string> descend_capture_args();

// After a make with descend_capture_args(): turns the raw environment it wrote into the
// difference to this process's environment, minus that make's -j and jobserver.
void record_descend_env(const KbuildTree &tree);

// The MAKEFLAGS a direct descent gets: `makeflags` of the recorded recipe without the -j,
// jobserver and --eval words (make passes each --eval on to the makes below).
std::string descend_makeflags(const std::string &makeflags);

// Builds `objects` by kbuild's descent with the recorded environment. Returns false, doing
// nothing, when the tree has no record of it or its top Makefile descends another way.
bool descend_objects(const KbuildTree &tree, const std::vector<std::string> &objects);

} // namespace klp
