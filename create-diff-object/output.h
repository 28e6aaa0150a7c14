// The patch object: what inclusion chose, copied out of the patched object, with references to
// the running kernel renamed (klp_reloc.h) and the descriptors the runtime turns into klp_func
// entries.
//
// Descriptor layout (runtime/klp_build.h reads it; both sides must agree):
//   section __klp_funcs, 32 bytes per replaced function, in this order:
//     +0   u64 new_func   R_X86_64_64 -> the new function
//     +8   u64 old_name   R_X86_64_64 -> NUL-terminated name in __klp_strings
//     +16  u64 objname    R_X86_64_64 -> "vmlinux" or the module name, in __klp_strings
//     +24  u64 sympos
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "context.h"
#include "klp_reloc.h"

namespace klp {

constexpr std::string_view kFuncsSection = "__klp_funcs";
constexpr std::string_view kStringsSection = "__klp_strings";
constexpr size_t kFuncEntrySize = 32;

struct PatchedFunction {
  std::string name;    // in the running kernel (the original object's name)
  std::string objname; // "vmlinux" or the module
  unsigned long sympos = 0;
};

struct Output {
  std::unique_ptr<Object> object;
  std::vector<PatchedFunction> functions; // replaced through klp_func
  std::vector<std::string> new_functions;
};

Output build_output(DiffContext &ctx, const ReferenceResolver &resolver, const std::string &path);

} // namespace klp
