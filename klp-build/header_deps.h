// Which translation units a header change reaches.
//
// A patch to a header (a static inline, a macro) changes every translation unit that includes
// it, directly or through other headers. Without a previous full build there is no dependency
// record, so klp-build asks kbuild which objects this config builds (a dry run, `make -n`) and
// scans their #include lines: a textual scan that ignores #if, so it may name a unit that turns
// out unchanged (the differ then drops it), never miss one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kbuild.h"

namespace klp {

// Objects this config builds (relative paths, e.g. "fs/proc/cmdline.o") and their sources,
// from kbuild's dry run.
std::map<std::string, std::string> built_objects(const KbuildTree &tree);

// The objects among `built` whose source includes any of `headers` (paths relative to the
// source tree).
std::vector<std::string> objects_including(const KbuildTree &tree,
                                           const std::map<std::string, std::string> &built,
                                           const std::vector<std::string> &headers);

} // namespace klp
