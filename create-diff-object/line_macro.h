// Recognising functions whose only differences are __LINE__ values.
//
// A patch that adds or removes lines shifts the line numbers of everything below it. Kernel
// macros pass __LINE__ to the functions in line_consumers() (might_sleep() -> __might_sleep(),
// ext4_error() -> __ext4_error(), pr_err("%d", __LINE__) -> _printk(), ...), and GCC
// materialises the constant with "mov $line,%esi" (or %edx, %ecx, %r8d, a push for stack
// arguments) shortly before the call. Such a function differs byte-wise between the original and
// patched build without any change in behaviour worth a livepatch; the differ asks
// check_line_macro_changes() whether that is all that changed.
//
// A differing instruction pair is accepted only if it is the same "mov $imm,<argument register>"
// (or push/store of a stack argument) with line-number-like values, and the register reaches,
// unclobbered and without another call in between, a call or tail call of a known consumer that
// takes a line in that argument, of a GCC clone of one (foo.constprop.0), or of any function
// when the previous argument is __func__ (the kernel's (__func__, __LINE__) convention).
//
// On x86 WARN()/BUG() keep their line in the __bug_table entry (data, via an "i" asm operand),
// not in the text, so they do not show up here at all.
//
// This file depends only on disasm.h: relocations come as plain CodeReloc values so that any ELF
// object model can feed it.
#pragma once

#include "disasm.h"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace klp {

// A relocation inside a function's code.
struct CodeReloc {
  uint64_t offset = 0;     // from the start of the function's code
  uint32_t type = 0;       // R_X86_64_*
  std::string_view target; // symbol name; for a section symbol, the section's name
  int64_t addend = 0;
};

// A function's code and the relocations that apply to it (any order). Offsets are relative to
// code[0], which is also the address space the instructions are decoded in (base 0).
struct FunctionBytes {
  std::span<const uint8_t> code;
  std::span<const CodeReloc> relocs;
};

// One function that receives a __LINE__ value as an argument (x86-64 SysV ABI: arguments 0-5 in
// rdi, rsi, rdx, rcx, r8, r9, then on the stack).
struct LineConsumer {
  std::string_view name;
  int line_arg = -1;       // 0-based index of the line parameter, -1 if there is none
  int first_variadic = -1; // printf-like: index of the first "..." argument, -1 if not variadic
  std::string_view api;    // which kernel API passes __LINE__ to it
};

// The built-in table (see line_macro.cpp for where each entry comes from).
std::span<const LineConsumer> line_consumers();

// One instruction pair that differs only in a line number.
struct IgnoredInsn {
  uint64_t offset = 0; // in the function
  std::string orig_text;
  std::string patched_text;
  std::string consumer; // the function the line is passed to
  int64_t orig_line = 0;
  int64_t patched_line = 0;
};

struct LineMacroResult {
  // True if the functions are identical except for ignored line numbers (also when nothing
  // differs at all: then ignored is empty).
  bool line_only = false;
  std::vector<IgnoredInsn> ignored;
  // When !line_only: the first difference that is not a line number, one line.
  std::string reason;

  explicit operator bool() const { return line_only; }
};

// Decides whether two relocations at the same offset are the same. The default compares type,
// target name and addend; the differ may pass one that compares e.g. string literal contents.
using RelocEquivalentFn = std::function<bool(const CodeReloc &orig, const CodeReloc &patched)>;
// Optional knowledge from the source patch: may orig_line have become patched_line?
using LineMapFn = std::function<bool(int64_t orig_line, int64_t patched_line)>;

struct LineMacroOptions {
  const Disassembler *disassembler = nullptr; // nullptr: Disassembler::shared()
  // How many instructions after the line-number load the consumer call may come. GCC 12 hoists
  // argument set-up far ahead, even into the prologue: 6.1's fs/ext4/namei.c has distances of
  // 13 to 25 instructions. The register must survive to the call anyway.
  unsigned max_lookahead = 32;
  // Immediates outside [1, max_line] are not line numbers.
  int64_t max_line = 1 << 20;
  // Lines above a function shift all its line numbers by the same amount; differing shifts
  // within one function mean lines were added inside it, which is treated as a real change
  // unless this is false.
  bool require_uniform_delta = true;
  std::span<const LineConsumer> extra_consumers; // searched after line_consumers()
  // Also accept a constant passed right after a __func__ argument to any callee, the kernel's
  // (__func__, __LINE__) convention (needs -fdata-sections; see line_macro.cpp).
  bool infer_func_line_pairs = true;
  RelocEquivalentFn same_reloc;
  LineMapFn line_map;
};

// The predicate with its explanation. Never throws on odd code: undecodable bytes must simply be
// identical.
LineMacroResult check_line_macro_changes(const FunctionBytes &orig, const FunctionBytes &patched,
                                         const LineMacroOptions &options = {});

bool only_line_macro_changes(const FunctionBytes &orig, const FunctionBytes &patched,
                             const LineMacroOptions &options = {});

// A SymbolizeFn printing relocation targets as "name", "name+0x10" or "name-0x8". For
// pc-relative relocations the addend is shown relative to the end of the instruction, so
// "call foo" (R_X86_64_PLT32 foo-4) and "mov foo(%rip),%rax" print as the programmer wrote
// them. The relocations' target strings must outlive the returned function; offsets are in the
// instructions' address space.
SymbolizeFn reloc_symbolizer(std::span<const CodeReloc> relocs);

} // namespace klp
