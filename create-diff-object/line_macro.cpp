#include "line_macro.h"

#include "reloc_types.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <utility>

namespace klp {

namespace {

// Where each entry comes from (Linux 6.1 unless noted). The compiler passes the line as an int
// argument; line_arg says which one. Entries for APIs that are configured out in a given kernel
// (Debian 12 has no CONFIG_DEBUG_ATOMIC_SLEEP or CONFIG_PROVE_LOCKING) cost nothing.
constexpr LineConsumer kConsumers[] = {
    // include/linux/kernel.h, CONFIG_DEBUG_ATOMIC_SLEEP.
    {"__might_sleep", 1, -1, "might_sleep() -> __might_sleep(__FILE__, __LINE__)"},
    {"__cant_sleep", 1, -1, "cant_sleep() -> __cant_sleep(__FILE__, __LINE__, 0)"},
    {"__cant_migrate", 1, -1, "cant_migrate() -> __cant_migrate(__FILE__, __LINE__)"},
    // include/linux/sched.h, CONFIG_DEBUG_ATOMIC_SLEEP.
    {"__might_resched", 1, -1, "cond_resched*() -> __might_resched(__FILE__, __LINE__, offsets)"},
    // Linux 5.10 (before __might_resched): cond_resched() and might_sleep().
    {"___might_sleep", 1, -1, "5.10 cond_resched() -> ___might_sleep(__FILE__, __LINE__, 0)"},
    // include/linux/kernel.h, CONFIG_PROVE_LOCKING or CONFIG_DEBUG_ATOMIC_SLEEP.
    {"__might_fault", 1, -1, "might_fault() -> __might_fault(__FILE__, __LINE__)"},
    // include/linux/rcupdate.h, CONFIG_PROVE_RCU.
    {"lockdep_rcu_suspicious", 1, -1,
     "rcu_dereference_check() -> lockdep_rcu_suspicious(__FILE__, __LINE__, s)"},
    // include/linux/cred.h, CONFIG_DEBUG_CREDENTIALS.
    {"__validate_process_creds", 2, -1,
     "validate_process_creds() -> __validate_process_creds(current, __FILE__, __LINE__)"},
    // include/asm-generic/bug.h: generic WARN() on architectures without __WARN_FLAGS. x86 keeps
    // WARN()'s line in __bug_table instead; its format arguments are still printf-like.
    {"warn_slowpath_fmt", 1, 4, "generic WARN() -> warn_slowpath_fmt(__FILE__, __LINE__, ...)"},
    // printf-like functions: only a __LINE__ the caller passes explicitly in the format
    // arguments, e.g. pr_err("%s:%d\n", __func__, __LINE__). WARN(cond, fmt, ...) on x86 calls
    // __warn_printk(fmt, ...) and puts its own line in __bug_table, not in the text.
    {"__warn_printk", -1, 1, "WARN(cond, \"...%d\", __LINE__) format arguments"},
    {"_printk", -1, 1, "printk()/pr_*(\"...%d\", __LINE__) format arguments (5.15+)"},
    {"printk", -1, 1, "printk(\"...%d\", __LINE__) format arguments (before 5.15)"},
    {"__dynamic_pr_debug", -1, 2,
     "pr_debug() format arguments (the descriptor's own line is data)"},
    {"_dev_emerg", -1, 2, "dev_emerg() format arguments"},
    {"_dev_alert", -1, 2, "dev_alert() format arguments"},
    {"_dev_crit", -1, 2, "dev_crit() format arguments"},
    {"_dev_err", -1, 2, "dev_err() format arguments"},
    {"_dev_warn", -1, 2, "dev_warn() format arguments"},
    {"_dev_notice", -1, 2, "dev_notice() format arguments"},
    {"_dev_info", -1, 2, "dev_info() format arguments"},
    {"_dev_printk", -1, 3, "dev_printk() format arguments"},
    {"__dynamic_dev_dbg", -1, 3, "dev_dbg() format arguments"},
    {"netdev_err", -1, 2, "netdev_err() format arguments"},
    {"netdev_warn", -1, 2, "netdev_warn() format arguments"},
    {"netdev_info", -1, 2, "netdev_info() format arguments"},
    {"netdev_notice", -1, 2, "netdev_notice() format arguments"},
    {"netdev_printk", -1, 3, "netdev_printk() format arguments"},
    {"__dynamic_netdev_dbg", -1, 3, "netdev_dbg() format arguments"},
    // fs/ext4/ext4.h and ext4_jbd2.h: the error, journal and inode helpers take __func__,
    // __LINE__.
    {"__ext4_error", 2, 7, "ext4_error*() -> __ext4_error(sb, __func__, __LINE__, ...)"},
    {"__ext4_error_inode", 2, 6,
     "ext4_error_inode*() -> __ext4_error_inode(inode, __func__, __LINE__, ...)"},
    {"__ext4_error_file", 2, 5,
     "ext4_error_file() -> __ext4_error_file(file, __func__, __LINE__, ...)"},
    {"__ext4_std_error", 2, -1,
     "ext4_std_error() -> __ext4_std_error(sb, __func__, __LINE__, errno)"},
    {"__ext4_warning", 2, 4, "ext4_warning() -> __ext4_warning(sb, __func__, __LINE__, ...)"},
    {"__ext4_warning_inode", 2, 4,
     "ext4_warning_inode() -> __ext4_warning_inode(inode, __func__, __LINE__, ...)"},
    {"__ext4_grp_locked_error", 1, 7,
     "ext4_grp_locked_error() -> __ext4_grp_locked_error(__func__, __LINE__, ...)"},
    {"ext4_check_blockref", 1, -1,
     "ext4_check_indirect_blockref() -> ext4_check_blockref(__func__, __LINE__, ...)"},
    // fs/ext4/inode.c, file-local.
    {"__check_block_validity", 2, -1,
     "check_block_validity() -> __check_block_validity(inode, __func__, __LINE__, map)"},
    // fs/ext4/xattr.h.
    {"__xattr_check_inode", 4, -1,
     "xattr_check_inode() -> __xattr_check_inode(inode, header, end, __func__, __LINE__)"},
    {"__ext4_check_dir_entry", 1, -1,
     "ext4_check_dir_entry() -> __ext4_check_dir_entry(__func__, __LINE__, ...)"},
    {"__ext4_journal_start_sb", 1, -1,
     "ext4_journal_start*() -> __ext4_journal_start_sb(sb, __LINE__, ...)"},
    {"__ext4_journal_start_reserved", 1, -1,
     "ext4_journal_start_reserved() -> __ext4_journal_start_reserved(handle, __LINE__, type)"},
    {"__ext4_journal_stop", 1, -1,
     "ext4_journal_stop() -> __ext4_journal_stop(__func__, __LINE__, handle)"},
    {"__ext4_journal_get_write_access", 1, -1,
     "ext4_journal_get_write_access() -> __ext4_journal_get_write_access(__func__, __LINE__, ...)"},
    {"__ext4_journal_get_create_access", 1, -1,
     "ext4_journal_get_create_access() -> __ext4_journal_get_create_access(__func__, __LINE__)"},
    {"__ext4_handle_dirty_metadata", 1, -1,
     "ext4_handle_dirty_metadata() -> __ext4_handle_dirty_metadata(__func__, __LINE__, ...)"},
    {"__ext4_forget", 1, -1, "ext4_forget() -> __ext4_forget(__func__, __LINE__, ...)"},
    {"__ext4_mark_inode_dirty", 3, -1,
     "ext4_mark_inode_dirty() -> __ext4_mark_inode_dirty(handle, inode, __func__, __LINE__)"},
    {"__ext4_iget", 4, -1, "ext4_iget() -> __ext4_iget(sb, ino, flags, __func__, __LINE__)"},
    {"__ext4_new_inode", 9, -1,
     "ext4_new_inode_start_handle() -> __ext4_new_inode(..., __LINE__, nblocks)"},
    // fs/btrfs/ctree.h.
    {"__btrfs_handle_fs_error", 2, 5,
     "btrfs_handle_fs_error() -> __btrfs_handle_fs_error(fs_info, __func__, __LINE__, ...)"},
    {"__btrfs_abort_transaction", 2, -1,
     "btrfs_abort_transaction() -> __btrfs_abort_transaction(trans, __func__, __LINE__, ...)"},
    {"__btrfs_panic", 2, 5, "btrfs_panic() -> __btrfs_panic(fs_info, __func__, __LINE__, ...)"},
    // fs/xfs/xfs_message.h and xfs_error.h.
    {"assfail", 3, -1, "ASSERT() -> assfail(mp, #expr, __FILE__, __LINE__)"},
    {"asswarn", 3, -1, "ASSERT() -> asswarn(mp, #expr, __FILE__, __LINE__)"},
    {"xfs_error_report", 4, -1,
     "XFS_ERROR_REPORT() -> xfs_error_report(..., __FILE__, __LINE__, failaddr)"},
    {"xfs_corruption_error", 6, -1,
     "XFS_CORRUPTION_ERROR() -> xfs_corruption_error(..., __FILE__, __LINE__, failaddr)"},
};

constexpr int kStackSlot = -2;
// x86-64 SysV integer argument registers, LLVM's names.
constexpr std::array<std::string_view, 6> kArgRegs = {"RDI", "RSI", "RDX", "RCX", "R8", "R9"};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string signed_hex(int64_t v) {
  if (v == 0)
    return "";
  return v < 0 ? "-" + hex(-uint64_t(v)) : "+" + hex(uint64_t(v));
}

std::string reloc_text(const CodeReloc &r) { return std::string(r.target) + signed_hex(r.addend); }

bool default_same_reloc(const CodeReloc &a, const CodeReloc &b) {
  return a.type == b.type && a.target == b.target && a.addend == b.addend;
}

// Does the consumer take a line number in this argument slot (0-5: register, kStackSlot)?
bool consumer_takes_line_in(const LineConsumer &c, int slot) {
  if (c.line_arg >= 0) {
    if (c.line_arg < 6 && slot == c.line_arg)
      return true;
    if (c.line_arg >= 6 && slot == kStackSlot)
      return true;
  }
  if (c.first_variadic >= 0) {
    if (slot == kStackSlot)
      return true;
    if (slot >= c.first_variadic)
      return true;
  }
  return false;
}

// Where an instruction puts a line-number constant.
struct LineLoad {
  int slot = 0;     // argument register index 0-5, or kStackSlot
  unsigned reg = 0; // the register written, for register slots
};

class Matcher {
public:
  Matcher(const Disassembler &dis, const LineMacroOptions &opts,
          const std::vector<CodeReloc> &relocs, const std::vector<Insn> &insns)
      : dis_(dis), opts_(opts), relocs_(relocs), insns_(insns) {
    for (size_t i = 0; i < kArgRegs.size(); ++i)
      arg_regs_[i] = dis.find_register(kArgRegs[i]).value_or(0);
    rsp_ = dis.find_register("RSP").value_or(0);
  }

  // GCC materialises a constant int argument such as __LINE__ with "movl $imm,%e<arg>"
  // (MOV32ri; MOV64ri32/MOV64ri for 64-bit parameters). Arguments after the sixth go on the
  // stack: "push $imm" (PUSH64i8/PUSH64i32), or "movl $imm,N(%rsp)" (MOV32mi/MOV64mi32) with
  // -maccumulate-outgoing-args. Nothing else counts as loading a line number.
  std::optional<LineLoad> line_number_load(const Insn &insn) const {
    const std::string_view name = dis_.opcode_name(insn.opcode);
    if (name == "MOV32ri" || name == "MOV64ri32" || name == "MOV64ri") {
      if (insn.operands.empty() || insn.operands[0].kind != InsnOperand::Kind::kRegister)
        return std::nullopt;
      const unsigned reg = insn.operands[0].reg;
      for (int i = 0; i < int(arg_regs_.size()); ++i)
        if (dis_.regs_overlap(reg, arg_regs_[i]))
          return LineLoad{i, reg};
      return std::nullopt;
    }
    if (name == "PUSH64i8" || name == "PUSH64i32")
      return LineLoad{kStackSlot, 0};
    if (name == "MOV32mi" || name == "MOV64mi32") {
      // Memory operand: base, scale, index, disp, segment; the base must be the stack pointer.
      if (!insn.operands.empty() && insn.operands[0].kind == InsnOperand::Kind::kRegister &&
          insn.operands[0].reg == rsp_)
        return LineLoad{kStackSlot, 0};
    }
    return std::nullopt;
  }

  // GCC schedules the argument set-up shortly before the call, interleaved with the set-up of
  // the other arguments, so the consumer call (or tail call) must follow within max_lookahead
  // instructions, without another call in between (calls clobber argument registers) and without
  // the register being overwritten. Control flow: conditional branches are followed by their
  // fall-through, direct unconditional jumps inside the function (no relocation) to their
  // target; anything else (ret, indirect jump, invalid bytes, ud2) ends the search. Returns the
  // consumer's name, or nullopt.
  std::optional<std::string> consumer_after(size_t idx, const LineLoad &load) const {
    std::vector<size_t> path; // the instructions between the load and the call
    size_t i = idx + 1;
    for (unsigned steps = 0; steps < opts_.max_lookahead && i < insns_.size(); ++steps) {
      const Insn &insn = insns_[i];
      if (!insn.valid || insn.is_return || insn.is_trap)
        return std::nullopt;
      // A call, or a sibling call: GCC turns a consumer call in tail position into
      // "jmp consumer" (which the relocation names, unlike a jump inside the function).
      const CodeReloc *r = reloc_in(insn);
      if (insn.is_call || (insn.is_unconditional_branch() && !insn.is_indirect && r)) {
        if (!r || insn.is_indirect)
          return std::nullopt;
        const auto [name, clone] = callee_name(r->target);
        if (const LineConsumer *c = find_consumer(name)) {
          // A clone may have lost or reordered parameters (IPA-CP drops constant ones such as
          // __func__, IPA-SRA unused ones), so any argument slot may hold the line.
          if (clone || consumer_takes_line_in(*c, load.slot))
            return std::string(c->name);
        }
        if (opts_.infer_func_line_pairs && follows_func_name_argument(idx, path, load))
          return std::string(name);
        return std::nullopt;
      }
      if (load.slot != kStackSlot && dis_.writes_register(insn, load.reg))
        return std::nullopt;
      if (insn.is_unconditional_branch()) {
        if (insn.is_indirect || !insn.branch_target)
          return std::nullopt;
        const auto it =
            std::lower_bound(insns_.begin(), insns_.end(), *insn.branch_target,
                             [](const Insn &a, uint64_t off) { return a.offset < off; });
        if (it == insns_.end() || it->offset != *insn.branch_target)
          return std::nullopt;
        i = size_t(it - insns_.begin());
        continue;
      }
      path.push_back(i);
      ++i;
    }
    return std::nullopt;
  }

  // Kernel convention: helpers that macros call with the caller's location take __func__ and
  // __LINE__ as adjacent parameters (__ext4_iget(sb, ino, flags, __func__, __LINE__),
  // __xattr_check_inode(..., __func__, __LINE__), __btrfs_*, ...); many are file-local and
  // cannot all be listed. GCC with -fdata-sections gives each __func__ its own section
  // .rodata.__func__.N (symbol __func__.N), so a constant in the argument right after a __func__
  // argument of the same call is a line number whatever the callee. (__FILE__ is an ordinary
  // string literal and cannot be told from others.) The __func__ load is searched among the
  // instructions from the line load to the call and up to max_lookahead instructions before the
  // line load, back to the previous call.
  bool follows_func_name_argument(size_t idx, const std::vector<size_t> &path,
                                  const LineLoad &load) const {
    if (load.slot < 1 || load.slot > 5)
      return false;
    const unsigned func_reg = arg_regs_[size_t(load.slot - 1)];
    auto loads_func = [&](const Insn &insn) {
      const CodeReloc *r = reloc_in(insn);
      return r && is_func_name(r->target) && dis_.writes_register(insn, func_reg);
    };
    for (size_t k : path)
      if (loads_func(insns_[k]))
        return true;
    for (size_t k = idx, steps = 0; k-- > 0 && steps < opts_.max_lookahead; ++steps) {
      const Insn &insn = insns_[k];
      if (!insn.valid || insn.is_call || insn.is_return || insn.is_branch)
        break;
      if (loads_func(insn))
        return true;
      if (dis_.writes_register(insn, func_reg))
        break;
    }
    return false;
  }

  static bool is_func_name(std::string_view target) {
    return target.starts_with(".rodata.__func__.") || target.starts_with("__func__.");
  }

  const CodeReloc *reloc_in(const Insn &insn) const {
    const auto it =
        std::lower_bound(relocs_.begin(), relocs_.end(), insn.offset,
                         [](const CodeReloc &r, uint64_t off) { return r.offset < off; });
    if (it != relocs_.end() && it->offset < insn.end())
      return &*it;
    return nullptr;
  }

  const LineConsumer *find_consumer(std::string_view name) const {
    for (const auto &c : kConsumers)
      if (c.name == name)
        return &c;
    for (const auto &c : opts_.extra_consumers)
      if (c.name == name)
        return &c;
    return nullptr;
  }

  // The function a call target names, and whether the callee is a GCC clone of it.
  static std::pair<std::string_view, bool> callee_name(std::string_view target) {
    // With -ffunction-sections GCC calls file-local functions through the section symbol.
    if (target.starts_with(".text."))
      target.remove_prefix(6);
    // IPA clones (foo.constprop.0, foo.isra.0, foo.part.0) and other compiler-made names carry
    // a '.'-separated suffix; C identifiers never contain '.'.
    const size_t dot = target.find('.');
    const bool clone = dot != std::string_view::npos && dot > 0;
    return {target.substr(0, dot), clone};
  }

private:
  const Disassembler &dis_;
  const LineMacroOptions &opts_;
  const std::vector<CodeReloc> &relocs_;
  const std::vector<Insn> &insns_;
  std::array<unsigned, 6> arg_regs_{};
  unsigned rsp_ = 0;
};

// True if the two instructions are the same instruction with different immediate operands only:
// same opcode and size, equal registers/memory/branch operands, and every differing byte inside
// the immediate field (when LLVM told us where it is).
bool differs_only_in_immediate(const Insn &a, const Insn &b) {
  if (!a.valid || !b.valid || a.opcode != b.opcode || a.size != b.size)
    return false;
  if (a.operands.size() != b.operands.size() || !a.has_immediate)
    return false;
  bool imm_differs = false;
  for (size_t i = 0; i < a.operands.size(); ++i) {
    const InsnOperand &x = a.operands[i];
    const InsnOperand &y = b.operands[i];
    if (x.role == OperandRole::kImmediate && x.kind == InsnOperand::Kind::kImmediate &&
        y.kind == InsnOperand::Kind::kImmediate) {
      imm_differs |= x.imm != y.imm;
      continue;
    }
    if (!(x == y))
      return false;
  }
  if (!imm_differs)
    return false;
  if (!a.imm_field.empty() && a.imm_field == b.imm_field)
    for (unsigned i = 0; i < a.size; ++i)
      if (a.bytes[i] != b.bytes[i] && !a.imm_field.contains(i))
        return false;
  return true;
}

std::vector<CodeReloc> sorted(std::span<const CodeReloc> relocs) {
  std::vector<CodeReloc> v(relocs.begin(), relocs.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const CodeReloc &a, const CodeReloc &b) { return a.offset < b.offset; });
  return v;
}

// Marks the bytes relocations patch, which hold placeholders (usually 0) in a relocatable object.
std::vector<bool> reloc_mask(size_t size, const std::vector<CodeReloc> &relocs) {
  std::vector<bool> mask(size, false);
  for (const auto &r : relocs)
    for (uint64_t i = r.offset; i < r.offset + reloc_width(r.type) && i < size; ++i)
      mask[i] = true;
  return mask;
}

LineMacroResult fail(std::string reason) {
  LineMacroResult r;
  r.reason = std::move(reason);
  return r;
}

} // namespace

std::span<const LineConsumer> line_consumers() { return kConsumers; }

SymbolizeFn reloc_symbolizer(std::span<const CodeReloc> relocs) {
  return [relocs = sorted(relocs)](const OperandField &f) -> std::optional<std::string> {
    const uint64_t insn_end = f.insn_offset + f.insn_size;
    const CodeReloc *found = nullptr;
    if (auto off = f.field_offset()) {
      for (const auto &r : relocs)
        if (r.offset >= *off && r.offset < *off + f.range.size)
          found = &r;
    } else {
      // Position unknown: only an instruction with a single relocation is unambiguous.
      unsigned n = 0;
      for (const auto &r : relocs)
        if (r.offset >= f.insn_offset && r.offset < insn_end) {
          found = &r;
          ++n;
        }
      if (n != 1)
        found = nullptr;
    }
    if (!found)
      return std::nullopt;
    int64_t addend = found->addend;
    // S + A - P with P the field: relative to the end of the instruction the addend is
    // A + (end - P), 0 for "call foo" (foo-4) and "cmpl $1,foo(%rip)" (foo-5).
    if (reloc_is_pc_relative(found->type))
      addend = (int64_t)((uint64_t)addend + (insn_end - found->offset)); // modulo 2^64
    return std::string(found->target) + signed_hex(addend);
  };
}

LineMacroResult check_line_macro_changes(const FunctionBytes &orig, const FunctionBytes &patched,
                                         const LineMacroOptions &opts) {
  const Disassembler &dis = opts.disassembler ? *opts.disassembler : Disassembler::shared();
  if (orig.code.size() != patched.code.size())
    return fail("code size differs (" + hex(orig.code.size()) + " vs " + hex(patched.code.size()) +
                ")");

  // Relocations: the same offsets and types, equivalent targets.
  const std::vector<CodeReloc> orig_relocs = sorted(orig.relocs);
  const std::vector<CodeReloc> patched_relocs = sorted(patched.relocs);
  if (orig_relocs.size() != patched_relocs.size())
    return fail("relocation count differs (" + std::to_string(orig_relocs.size()) + " vs " +
                std::to_string(patched_relocs.size()) + ")");
  for (size_t i = 0; i < orig_relocs.size(); ++i) {
    const CodeReloc &a = orig_relocs[i];
    const CodeReloc &b = patched_relocs[i];
    const bool same = a.offset == b.offset && a.type == b.type &&
                      (opts.same_reloc ? opts.same_reloc(a, b) : default_same_reloc(a, b));
    if (!same)
      return fail("relocation at " + hex(a.offset) + " differs: " + reloc_text(a) + " vs " +
                  reloc_text(b));
  }

  const std::vector<Insn> a = dis.decode(orig.code);
  const std::vector<Insn> b = dis.decode(patched.code);
  if (a.size() != b.size())
    return fail("instruction count differs (" + std::to_string(a.size()) + " vs " +
                std::to_string(b.size()) + ")");

  const std::vector<bool> mask = reloc_mask(orig.code.size(), orig_relocs);
  const Matcher orig_matcher(dis, opts, orig_relocs, a);
  const Matcher patched_matcher(dis, opts, patched_relocs, b);
  // Relocation targets in the texts, e.g. "movq $.rodata.str1.1+0x4,%rdi" rather than "$0x0".
  const SymbolizeFn orig_sym = reloc_symbolizer(orig_relocs);
  const SymbolizeFn patched_sym = reloc_symbolizer(patched_relocs);
  LineMacroResult result;
  std::optional<int64_t> delta;
  for (size_t i = 0; i < a.size(); ++i) {
    const Insn &x = a[i];
    const Insn &y = b[i];
    if (x.offset != y.offset || x.size != y.size)
      return fail("instruction at " + hex(x.offset) + " differs in size (" +
                  std::to_string(x.size) + " vs " + std::to_string(y.size) + ")");
    bool same = true;
    for (unsigned k = 0; k < x.size && same; ++k)
      same = x.bytes[k] == y.bytes[k] || mask[x.offset + k];
    if (same)
      continue;

    const std::string x_text = dis.print(x, orig_sym);
    const std::string y_text = dis.print(y, patched_sym);
    const std::string differs =
        "instruction at " + hex(x.offset) + " differs: " + x_text + " vs " + y_text;
    if (!differs_only_in_immediate(x, y))
      return fail(differs);
    const auto load_x = orig_matcher.line_number_load(x);
    const auto load_y = patched_matcher.line_number_load(y);
    if (!load_x || !load_y || x.immediates.size() != 1 || y.immediates.size() != 1)
      return fail(differs + " (not a line-number argument)");
    const int64_t line_x = x.immediates[0];
    const int64_t line_y = y.immediates[0];
    if (line_x < 1 || line_y < 1 || line_x > opts.max_line || line_y > opts.max_line)
      return fail(differs + " (not a line number)");
    const auto cx = orig_matcher.consumer_after(i, *load_x);
    const auto cy = patched_matcher.consumer_after(i, *load_y);
    if (!cx || cx != cy)
      return fail(differs + " (not passed to a line-number consumer)");
    if (opts.line_map && !opts.line_map(line_x, line_y))
      return fail(differs + " (line " + std::to_string(line_x) + " does not map to " +
                  std::to_string(line_y) + ")");
    if (opts.require_uniform_delta) {
      if (delta && *delta != line_y - line_x)
        return fail(differs + " (line numbers shift by " + std::to_string(line_y - line_x) +
                    " here but by " + std::to_string(*delta) + " before)");
      delta = line_y - line_x;
    }
    result.ignored.push_back({x.offset, x_text, y_text, *cx, line_x, line_y});
  }
  result.line_only = true;
  return result;
}

bool only_line_macro_changes(const FunctionBytes &orig, const FunctionBytes &patched,
                             const LineMacroOptions &options) {
  return check_line_macro_changes(orig, patched, options).line_only;
}

} // namespace klp
