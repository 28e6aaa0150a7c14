// Proof that the original build matches the target: every function a livepatch replaces must have,
// in the target kernel's image, exactly the code klp-build compiled as its ORIGINAL object. A patch
// whose "original" came from a different source, config or compiler than the running kernel may
// be diffed against code the kernel does not have (kpatch and upstream klp-build do not check).
//
// The image is the target as installed, before boot: a vmlinux ELF, a bzImage/vmlinuz (its
// compressed vmlinux is extracted, see vmlinuz.h), or a module .ko (optionally compressed).
//
// Where a function is:
//   - vmlinux: its address comes from the target symbol table. A /proc/kallsyms copy holds
//     KASLR-randomised runtime addresses, a vmlinux ELF or readelf dump link addresses; the image
//     has link addresses. The KASLR slide is the difference between the symbol table's and the
//     image's address of a reference symbol (_text, else _stext, else startup_64; in the image
//     from its own symbol table, else the start of .text, where the linker script puts all three).
//     The link address is mapped to a file offset through the image's PT_LOAD program headers,
//     which even the symbol-less vmlinux inside a distribution's vmlinuz has.
//   - module: a .ko is relocatable; the function is found by (name, sympos) in the .ko's own
//     symbol table (kallsyms order, as TargetSymtab counts it) and its bytes are its section's at
//     the symbol's value.
//
// What may legitimately differ between the original object and the image:
//   - relocation fields: every byte covered by a relocation of the original object inside the
//     function (width from reloc_width) is filled in by the linker. This covers the `call
//     __fentry__` of ftrace, the retpoline thunk calls (CONFIG_RETPOLINE), the `jmp
//     __x86_return_thunk` of CONFIG_RETHUNK, static calls and paravirt calls: the compiler emits
//     all of them as relocated call/jmp instructions. A field is not merely masked, though: where
//     the relocation's symbol can be located in the target (by name, in the symbol table or the
//     image's own), the image must hold exactly what the linker writes for it (S + A, or S + A -
//     P), so a call to another function is a mismatch. Fields that cannot be checked (mergeable
//     strings, symbols the tables do not list, a .ko's unresolved fields) are only masked. For a
//     module the .ko's own relocation fields are masked too.
//   - for R_X86_64_(REX_)GOTPCRELX, also the prefix/opcode/ModRM bytes before the field: the linker
//     may relax `mov foo@GOTPCREL(%rip)` to `lea`/`mov $imm`, `call *foo@GOTPCREL` to `addr32
//     call`.
//   - branch encoding: klp-build's original is built with -ffunction-sections, so its branches to
//     other functions (tail calls) are 5/6-byte relocated jumps, where the target's normal build,
//     with the translation unit in one .text, may have 2-byte ones when the callee is close; the
//     function then shrinks and jumps within it may shrink in turn. Such functions are compared
//     instruction by instruction: a jmp/jcc of the same condition in either encoding is accepted
//     if its target is the relocation's symbol, or, for a jump inside the function, the image
//     instruction corresponding to the original's target. NOP runs of different lengths before
//     an aligned instruction (explicit `.p2align` in inline asm, padding that changed with the
//     shrinking) are accepted too. On the test kernel 2.6% of all vmlinux functions differ from
//     the normal build this way (tests/unit/image_match_test.cpp prints the numbers).
//   - objtool rewrites that happen after the object is compiled: when objtool is deferred to
//     vmlinux.o or the linked module (CONFIG_X86_KERNEL_IBT, LTO), the compiled object still has
//     the `jmp` of every static branch that `--hacks=jump_label` turns into a NOP, and (with
//     --mnop / --hacks=noinstr) the `call __fentry__` / `call __sanitizer_cov_*` that it turns into
//     a 5-byte NOP. At such a site the image may hold either the object's bytes or objtool's NOP
//     of the same length, nothing else.
// Everything else the kernel rewrites (alternatives, ftrace NOPs, static calls, jump labels, IBT
// sealing, KASLR relocation) happens at boot or load time, so the image on disk still has the
// link-time bytes. The function's size in the target (the symbol table's, or the image's own
// symbol table's) must be that of the original's code as compared; a kallsyms copy has no sizes
// and a distribution's vmlinuz no symbols, so with both a function that matches and continues
// with more code in the target is not detected.
//
// Limitations: same-named local symbols resolve to any of their addresses when references are
// checked; a module's relocation fields are masked, not checked; weak functions that the target
// overrides are looked up by name like any other (the strong definition is what runs).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "object.h"
#include "target_symtab.h"

namespace klp {

// One function the patch replaces.
struct ImageFunction {
  std::string name;             // its name in the target; empty: sym->name
  unsigned long sympos = 0;     // kallsyms position among same-named symbols (0: unique)
  const Object *orig = nullptr; // the ORIGINAL object klp-build compiled (cooked or not)
  const Symbol *sym = nullptr;  // the function in `orig`
};

// The outcome of comparing one function.
struct FunctionMatch {
  bool matches = false;
  // Why not, when it does not match, without the image prefix: "function 'foo' differs from the
  // original build (fs/foo.o) at +0x12 (expected 48 89 e5, found 48 8b 05)".
  std::string mismatch;
  uint64_t address = 0;    // vmlinux: the function's link address; module: offset in its section
  uint64_t size = 0;       // the original symbol's size
  uint64_t image_size = 0; // the function's size in the image (smaller if branches are short)
  uint64_t masked = 0;     // bytes of the original skipped as relocation fields
  unsigned nop_sites = 0;  // objtool NOP sites where the image held the NOP
  unsigned relaxed = 0;    // jmp/jcc with a rel32 in the original and a rel8 in the image
  // Relocation fields whose value in the image was checked to be the original's symbol, and
  // those that could only be masked (symbol not locatable, a module's unresolved fields).
  unsigned references_checked = 0;
  unsigned references_unchecked = 0;
};

class ImageMatcher {
public:
  // Reads (and if needed extracts or decompresses) the image and, for a vmlinux, computes the
  // KASLR slide between `symtab` and the image. `symtab` is the target's symbol table (the one the
  // patch's sympos values refer to) and must outlive the matcher. Throws Error for an unreadable
  // image, a symbol table of the wrong object (vmlinux vs module), a symbol table without
  // addresses, or one without a reference symbol to compute the slide from.
  ImageMatcher(const std::string &image_path, const TargetSymtab &symtab);
  ~ImageMatcher();
  ImageMatcher(const ImageMatcher &) = delete;
  ImageMatcher &operator=(const ImageMatcher &) = delete;

  const std::string &image_path() const;
  // How the image was stored: "ELF", "bzImage (xz)", "xz-compressed ELF".
  const std::string &image_format() const;
  bool is_module() const;
  // Symbol table address minus image link address (0 for modules and link-address tables).
  int64_t slide() const;

  // Compares one function. Returns a mismatch (different bytes, different size, no such function
  // at that address in an image with symbols) as a result; throws Error when the function cannot
  // be looked at: not in the symbol table, outside the image's code, no size or bytes in `orig`,
  // an unsupported relocation type in it.
  FunctionMatch check(const ImageFunction &f) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks every function; throws Error if any does not match, naming the image and the first
// function (and how many more differ):
//   vmlinuz-6.1.0-56-amd64: function 'cmdline_proc_show' differs from the original build
//   (fs/proc/cmdline.o) at +0x12 (expected 48 89 e5, found 48 8b 05); rebuild with the target's
//   exact source, config and compiler
void verify_functions_match(const std::string &image_path, const TargetSymtab &symtab,
                            const std::vector<ImageFunction> &funcs);

} // namespace klp
