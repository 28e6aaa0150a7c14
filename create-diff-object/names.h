// Symbol-name conventions of GCC, clang and the kernel that the differ must see through.
//
// Each predicate is small and says which compiler or kernel behaviour it handles, so a reader can
// check it against the thing it models.
#pragma once

#include <string>
#include <string_view>

namespace klp {

// The name with compiler-generated numbering removed, used as the correlation key:
//   GCC IPA clones      foo.isra.3, foo.constprop.0, foo.part.1  ->  foo.isra., foo.constprop., ...
//   GCC cold splitting  foo.cold.7 (GCC < 10), foo.cold          ->  foo.cold.
//   numbered statics    counter.12 (function-local static)       ->  counter.
//   clang ThinLTO       foo.llvm.8234923                         ->  foo.llvm.
//   __UNIQUE_ID_        __UNIQUE_ID_ddebug412 (__COUNTER__)      ->  __UNIQUE_ID_ddebug
// Two names that differ only in such numbers describe the same entity in two builds.
std::string correlation_key(std::string_view name);

// The function a padding prefix symbol precedes: "__pfx_foo" (objtool, CONFIG_CALL_PADDING) or
// "__cfi_foo" (clang kCFI) -> "foo"; "" for other names.
std::string_view prefixed_function_name(std::string_view name);

// GCC's hot/cold splitting: `foo.cold` (or `foo.cold.N`) is the unlikely part of `foo`, reached
// only by jumps from foo; it has no ftrace entry and is never patched on its own.
bool is_cold_part(std::string_view name);
// GCC's partial inlining: `foo.part.N` holds the outlined body of foo.
bool is_partial_inline_part(std::string_view name);
// The parent of a .cold or .part child: "foo.isra.0.cold" -> "foo.isra.0"; "" if none.
std::string_view child_parent_name(std::string_view name);

// Statics the kernel's macros create per call site, whose state must not be shared between the
// running kernel and the patch (or which are meaningless to share), so they are never correlated:
//   __key (lockdep class keys of spin_lock_init, mutex_init, ...), __warned (WARN_ONCE),
//   __already_done (DO_ONCE_LITE, printk_once), __print_once (old printk_once), __func__,
//   _rs (ratelimit state of printk_ratelimited), CSWTCH (GCC switch-conversion tables).
bool is_special_static_name(std::string_view name);
// Sections whose contents are per-call-site statics of the same kind: DO_ONCE_LITE's flags
// (.data.once) and the dynamic debug descriptors of pr_debug()/dev_dbg() (`__dyndbg`, named
// `__UNIQUE_ID_ddebug1522.48` since 5.x; `__verbose`, named `descriptor.68456`, before 4.x-5.0).
// A descriptor records its call site's __LINE__, so a patch that shifts lines "changes" it; the
// patch carries a fresh descriptor with each function that uses one (the module loader registers
// it with dynamic debug, and a jump label keyed by it is keyed by the patch's own copy).
bool is_special_static_section(std::string_view section_name);

// UBSAN's anonymous data (CONFIG_UBSAN): GCC emits each check's source location as
// `.Lubsan_data<N>` and each type descriptor as `.Lubsan_type<N>`, which -fdata-sections puts in
// sections `.data..Lubsan_data118`, `.data..Lubsan_type7`. A source location carries __LINE__ and
// the handler's "reported" flag: like the per-call-site statics above, each build's copies are
// its own, a patch carries fresh ones, and references to them compare by kind (the name without
// GCC's number, ubsan_data_kind()).
bool is_ubsan_data_section(std::string_view section_name);
// ".data..Lubsan_data118" -> ".data..Lubsan_data".
std::string_view ubsan_data_kind(std::string_view section_name);

// The numeric suffix of a function-local static: "counter.12" -> "counter"; "" if not numbered.
std::string_view static_local_base(std::string_view name);

} // namespace klp
