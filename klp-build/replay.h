// Recompiling an object without make.
//
// A `make fs/proc/cmdline.o` costs about a second on a distribution config before the compiler
// starts: the top Makefile probes the compiler, and the prepare cascade visits scripts/,
// objtool and the generated headers (dozens of sub-makes). The compile itself can take a
// quarter of that. When the patches touch only translation units, the patched build needs
// nothing make would redo but the compile: so each patched unit is compiled by running the
// command kbuild recorded for its original (`cmd_<obj> := ...` in .<obj>.cmd, compiler and
// objtool) again, through /bin/sh in the build directory as make would. It is what kbuild's
// rule runs for the object, because kbuild itself reruns a rule when its command changes.
//
// kbuild's rule has steps after that command which change the object or its record for
// objects that export symbols (genksyms CRCs, 5.19+ in the record, before that linked into the
// object) and for kernels that find mcount call sites with recordmcount; such objects, and
// those whose record lacks the objtool run the config asks for, go through make.
#pragma once

#include <string>
#include <vector>

#include "kbuild.h"
#include "kconfig.h"

namespace klp {

// The command of kbuild's record text (.<obj>.cmd) with make's escapes undone ("$$" is "$",
// "$(pound)" is "#"); "" if it has no "cmd_<obj> := " line.
std::string recorded_command(const std::string &record_text, const std::string &object);

// Whether the recorded command alone is kbuild's whole rule for the object: no "#SYMVER"
// line (genksyms ran), mcount sites recorded by the compiler or objtool, and objtool in the
// command when the config runs it (`objtool_config`, see config_runs_objtool()).
bool is_replayable(const std::string &record_text, const std::string &object, bool objtool_config);

// Whether the kernel of `config` (a .config) runs objtool in the compile of each unit:
// CONFIG_OBJTOOL (6.0+) or CONFIG_STACK_VALIDATION before it, unless kbuild delays objtool to
// the link of vmlinux.o and of each module (5.19+, CONFIG_X86_KERNEL_IBT or CONFIG_LTO_CLANG:
// Debian's 6.12), where only a module made of one unit has it in the unit's compile.
bool config_runs_objtool(const KernelConfig &config);

// Whether the object at `path` exports symbols (kbuild's own test: a "__ksymtab" symbol).
bool exports_symbols(const std::string &path);

// Recompiles `objects`, which kbuild compiled before in `tree`, by their recorded commands (up
// to tree.jobs at once). Returns those that need make's full rule instead: not replayable, or
// exporting symbols after the compile.
std::vector<std::string> replay_objects(const KbuildTree &tree,
                                        const std::vector<std::string> &objects);

} // namespace klp
