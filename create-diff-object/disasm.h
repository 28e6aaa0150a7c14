// x86_64 instruction decoding and printing on top of LLVM's MC disassembler.
//
// The differ uses decode() to compare functions instruction by instruction (see line_macro.h) and
// klp-diff --explain uses print() to show instruction-level diffs. Nothing here is a hand-written
// x86 decoder: every length, opcode, operand and flag comes from LLVM's X86 disassembler (14 on
// Debian 12, 19 on 13) and its instruction tables; the only x86 knowledge added is the
// validation of the byte ranges LLVM reports for immediates and displacements (see
// Insn::imm_field).
//
// The header deliberately exposes no LLVM type, so users need not include LLVM headers.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace klp {

// A byte range inside one instruction, relative to the instruction's first byte. size == 0 means
// the range is absent or not known.
struct ByteRange {
  uint8_t offset = 0;
  uint8_t size = 0;

  bool empty() const { return size == 0; }
  bool contains(unsigned pos) const { return pos >= offset && pos < unsigned(offset) + size; }
  bool operator==(const ByteRange &) const = default;
};

// What an MCInst operand is used for, from LLVM's operand descriptions (MCOI::OperandType).
enum class OperandRole : uint8_t {
  kRegister,  // a register operand
  kImmediate, // an immediate operand ($imm)
  kMemory,    // one of the five parts of a memory reference (base, scale, index, disp, segment)
  kPcRel,     // a pc-relative branch or call displacement
  kOther,     // anything else, e.g. the condition code of a jcc
};

struct InsnOperand {
  enum class Kind : uint8_t { kRegister, kImmediate, kOther };

  Kind kind = Kind::kOther;
  OperandRole role = OperandRole::kOther;
  unsigned reg = 0; // LLVM register number (0: none), when kind == kRegister
  int64_t imm = 0;  // value, when kind == kImmediate

  bool operator==(const InsnOperand &) const = default;
};

// Where one instruction lies, as decode() delimits it.
struct InsnExtent {
  uint64_t offset = 0;
  uint8_t size = 0;
  bool valid = false;

  uint64_t end() const { return offset + size; }
};

// One decoded instruction. An undecodable byte yields an Insn with valid == false and size 1, so
// decoding always makes progress and never throws (kernel text holds data: ud2 followed by
// bug-table padding, int3 padding, jump tables, alternatives replacement bytes).
struct Insn {
  uint64_t offset = 0; // base + position of the first byte in the decoded buffer
  uint8_t size = 0;    // 1..15
  bool valid = false;
  unsigned opcode = 0; // LLVM MCInst opcode (see Disassembler::opcode_name), 0 if invalid
  std::vector<InsnOperand> operands;

  // Control flow, from LLVM's instruction descriptions.
  bool is_call = false;        // call (direct or indirect)
  bool is_branch = false;      // jmp or jcc, direct or indirect; not call or ret
  bool is_conditional = false; // jcc, loop, jrcxz
  bool is_indirect = false;    // jmp *%reg / jmp *mem (indirect calls are is_call + is_indirect)
  bool is_return = false;      // ret, iret, sysret...
  bool is_trap = false;        // ud2

  // Immediate operands ($imm; not displacements or branch targets), in operand order.
  bool has_immediate = false;
  std::vector<int64_t> immediates;

  // Where the encoded fields sit inside the instruction, as reported by LLVM's disassembler
  // through its MCSymbolizer hook and then validated against the x86 encoding order (prefixes,
  // opcode, ModRM, SIB, displacement, immediate): the immediate must end the instruction and the
  // displacement must end where the immediate starts. A range LLVM reports that fails validation
  // is dropped (empty). Known cases: LLVM reports a displacement for memory operands that have
  // none, e.g. (%rsp), which is dropped; for instructions with two immediates (enter, extrq)
  // LLVM reports one position for both, so imm_field stays empty.
  ByteRange imm_field;    // the (single) immediate
  ByteRange disp_field;   // the displacement of a memory operand (rip-relative included)
  ByteRange branch_field; // the displacement of a direct jmp/jcc/call

  // Absolute target of a direct jmp/jcc/call: offset + size + displacement. Meaningless in a
  // relocatable object when a relocation covers branch_field (the caller knows).
  std::optional<uint64_t> branch_target;

  // Registers written: explicit register defs and implicit defs (e.g. RSP for push). Calls do not
  // list the registers the ABI lets the callee clobber.
  std::vector<unsigned> defs;

  std::array<uint8_t, 15> bytes{};

  std::span<const uint8_t> raw() const { return {bytes.data(), size}; }
  uint64_t end() const { return offset + size; }
  bool is_unconditional_branch() const { return is_branch && !is_conditional; }
};

// An encoded operand field handed to a SymbolizeFn while printing.
struct OperandField {
  enum class Kind : uint8_t { kImmediate, kDisplacement, kBranchTarget };

  uint64_t insn_offset = 0; // Insn::offset
  uint8_t insn_size = 0;    // Insn::size
  Kind kind = Kind::kImmediate;
  ByteRange range;   // the field inside the instruction; empty if its position is unknown
  int64_t value = 0; // immediate or displacement as encoded; kBranchTarget: the absolute target

  // Offset of the field in the decoded address space (insn_offset + range.offset), if known.
  std::optional<uint64_t> field_offset() const {
    if (range.empty())
      return std::nullopt;
    return insn_offset + range.offset;
  }
};

// Returns the text to print instead of a field's value (e.g. "__warn_printk", "jiffies+0x8"), or
// nullopt to print the value. Called once per immediate, displacement and branch target of the
// instruction being printed; a caller with relocations looks one up at field_offset() or, when
// the position is unknown, anywhere in [insn_offset, insn_offset + insn_size). See
// reloc_symbolizer() in line_macro.h for a ready-made one.
using SymbolizeFn = std::function<std::optional<std::string>(const OperandField &)>;

// x86_64 disassembler. The LLVM target is initialised once per process and the target-wide MC
// objects (register, instruction and asm info, subtarget) are cached and shared; each
// Disassembler owns an MCContext, an MCDisassembler and an AT&T MCInstPrinter. All methods are
// const and may be called from several threads: calls on one Disassembler are serialised by an
// internal mutex, so threads that decode in parallel should each use their own instance
// (construction after the first is cheap).
class Disassembler {
public:
  Disassembler(); // throws klp::Error if LLVM's x86 target is unavailable
  ~Disassembler();
  Disassembler(const Disassembler &) = delete;
  Disassembler &operator=(const Disassembler &) = delete;

  // A process-wide instance for callers that do not care about contention.
  static const Disassembler &shared();

  // Decodes code linearly; offsets are base + position. Invalid bytes become 1-byte invalid Insns.
  std::vector<Insn> decode(std::span<const uint8_t> code, uint64_t base = 0) const;
  // Where decode() would put each instruction, without the rest: a fraction of its cost.
  std::vector<InsnExtent> extents(std::span<const uint8_t> code, uint64_t base = 0) const;
  // Decodes the instruction at the start of code (which may hold more bytes); address is its
  // Insn::offset. An empty span yields an invalid Insn of size 0.
  Insn decode_one(std::span<const uint8_t> code, uint64_t address = 0) const;

  // AT&T syntax as printed by LLVM with immediates in hex, normalised towards objdump: one space
  // after the mnemonic, no space after commas, "call"/"ret" instead of "callq"/"retq".
  // E.g. "movl $0x1c3,%esi", "call 0x105", with a symbolizer "call __warn_printk". Direct branch
  // targets print as absolute addresses in the decoded address space. Invalid Insns print as
  // ".byte 0x06".
  std::string print(const Insn &insn, const SymbolizeFn &symbolize = {}) const;

  // LLVM's names, e.g. "MOV32ri", "ESI".
  std::string_view opcode_name(unsigned opcode) const;
  std::string_view reg_name(unsigned reg) const;
  // The LLVM register number of a register named as LLVM does ("RSI"), if any.
  std::optional<unsigned> find_register(std::string_view llvm_name) const;
  // True if a and b alias (e.g. ESI and RSI).
  bool regs_overlap(unsigned a, unsigned b) const;
  // True if insn writes reg or a register aliasing it (see Insn::defs for what is not included).
  bool writes_register(const Insn &insn, unsigned reg) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace klp
