#include "disasm.h"

#include "error.h"

#include <llvm/Config/llvm-config.h>
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCDisassembler/MCDisassembler.h>
#include <llvm/MC/MCDisassembler/MCSymbolizer.h>
#include <llvm/MC/MCExpr.h>
#include <llvm/MC/MCInst.h>
#include <llvm/MC/MCInstPrinter.h>
#include <llvm/MC/MCInstrDesc.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/MCTargetOptions.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <mutex>

namespace klp {

namespace {

constexpr const char *kTriple = "x86_64-unknown-linux-gnu";
constexpr size_t kMaxInsnSize = 15;

// Target-wide MC objects: created once per process, immutable afterwards, shared by every
// Disassembler.
struct SharedTarget {
  const llvm::Target *target = nullptr;
  llvm::Triple triple{kTriple};
  llvm::MCTargetOptions options;
  std::unique_ptr<llvm::MCRegisterInfo> mri;
  std::unique_ptr<llvm::MCAsmInfo> mai;
  std::unique_ptr<llvm::MCInstrInfo> mii;
  std::unique_ptr<llvm::MCSubtargetInfo> sti;
};

const SharedTarget &shared_target() {
  // A function-local static is initialised exactly once even with concurrent callers; if the
  // initialiser throws, the next call retries.
  static const SharedTarget shared = [] {
    // Only the X86 pieces are linked in, so initialise just those (not InitializeAll*).
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86Disassembler();
    SharedTarget s;
    std::string err;
    s.target = llvm::TargetRegistry::lookupTarget(kTriple, err);
    if (!s.target)
      throw Error("cannot initialise the llvm x86 target: " + err);
    s.mri.reset(s.target->createMCRegInfo(kTriple));
    if (s.mri)
      s.mai.reset(s.target->createMCAsmInfo(*s.mri, kTriple, s.options));
    s.mii.reset(s.target->createMCInstrInfo());
    s.sti.reset(s.target->createMCSubtargetInfo(kTriple, "", ""));
    if (!s.mri || !s.mai || !s.mii || !s.sti)
      throw Error("cannot create the llvm x86 mc objects");
    return s;
  }();
  return shared;
}

OperandRole role_of(const llvm::MCInstrDesc &desc, unsigned idx) {
  if (idx >= desc.getNumOperands())
    return OperandRole::kOther;
#if LLVM_VERSION_MAJOR >= 16
  switch (desc.operands()[idx].OperandType) {
#else
  switch (desc.OpInfo[idx].OperandType) {
#endif
  case llvm::MCOI::OPERAND_REGISTER:
    return OperandRole::kRegister;
  case llvm::MCOI::OPERAND_IMMEDIATE:
    return OperandRole::kImmediate;
  case llvm::MCOI::OPERAND_MEMORY:
    return OperandRole::kMemory;
  case llvm::MCOI::OPERAND_PCREL:
    return OperandRole::kPcRel;
  default:
    return OperandRole::kOther;
  }
}

// The little-endian field [r.offset, r.offset + r.size) of bytes, sign-extended.
int64_t read_field(std::span<const uint8_t> bytes, ByteRange r) {
  uint64_t v = 0;
  for (unsigned i = 0; i < r.size; ++i)
    v |= uint64_t(bytes[r.offset + i]) << (8 * i);
  if (r.size < 8) {
    const unsigned shift = 64 - 8 * r.size;
    return int64_t(v << shift) >> shift;
  }
  return int64_t(v);
}

// True if value, truncated to the field's width, is what the field encodes (immediates are often
// sign- or zero-extended from a narrower field, e.g. imm8 in "add $-1,%eax").
bool field_encodes(std::span<const uint8_t> bytes, ByteRange r, int64_t value) {
  if (r.size >= 8)
    return read_field(bytes, r) == value;
  const uint64_t mask = (uint64_t(1) << (8 * r.size)) - 1;
  return (uint64_t(read_field(bytes, r)) & mask) == (uint64_t(value) & mask);
}

// One call LLVM's X86 disassembler made to the symbolizer hook while translating an instruction.
// LLVM passes the field's offset inside the instruction and its width (the parameters named
// Offset and InstSize in MCSymbolizer::tryAddingSymbolicOperand).
struct FieldReport {
  OperandField::Kind kind;
  ByteRange range;
  int64_t value;
};

// A symbolic operand that prints caller-supplied text verbatim (MCSymbolRefExpr would quote names
// with characters such as '+'). Only ever printed, never evaluated or emitted.
class TextExpr final : public llvm::MCTargetExpr {
public:
  explicit TextExpr(std::string text) : text_(std::move(text)) {}
  ~TextExpr() override = default;

  void printImpl(llvm::raw_ostream &os, const llvm::MCAsmInfo *) const override { os << text_; }
#if LLVM_VERSION_MAJOR >= 19
  bool evaluateAsRelocatableImpl(llvm::MCValue &, const llvm::MCAssembler *,
                                 const llvm::MCFixup *) const override {
    return false;
  }
#else
  bool evaluateAsRelocatableImpl(llvm::MCValue &, const llvm::MCAsmLayout *,
                                 const llvm::MCFixup *) const override {
    return false;
  }
#endif
  void visitUsedExpr(llvm::MCStreamer &) const override {}
  llvm::MCFragment *findAssociatedFragment() const override { return nullptr; }
  void fixELFSymbolsInTLSFixups(llvm::MCAssembler &) const override {}

private:
  std::string text_;
};

// Hooks LLVM's symbolizer interface. While decoding it records where the fields are; while
// printing it asks the caller's SymbolizeFn for text and substitutes a TextExpr operand.
class FieldSymbolizer final : public llvm::MCSymbolizer {
public:
  FieldSymbolizer(llvm::MCContext &ctx, const llvm::MCInstrInfo &mii)
      : llvm::MCSymbolizer(ctx, nullptr), mii_(mii) {}

  // Decode mode.
  std::vector<FieldReport> *reports = nullptr;
  // Print mode.
  const Insn *printing = nullptr;
  const SymbolizeFn *symbolize = nullptr;
  std::deque<TextExpr> *exprs = nullptr;

  // LLVM 15 added the instruction size after the operand's; X86 passes the operand's width.
#if LLVM_VERSION_MAJOR >= 15
  bool tryAddingSymbolicOperand(llvm::MCInst &inst, llvm::raw_ostream &, int64_t value, uint64_t,
                                bool is_branch, uint64_t offset, uint64_t width,
                                uint64_t) override {
#else
  bool tryAddingSymbolicOperand(llvm::MCInst &inst, llvm::raw_ostream &, int64_t value, uint64_t,
                                bool is_branch, uint64_t offset, uint64_t width) override {
#endif
    // extents() asks for neither; the role would read the instruction's description from
    // LLVM's instruction table (850 KiB) for nothing.
    if (!reports && !printing)
      return false;
    // The operand about to be added is the next one; its role tells immediates from
    // displacements.
    OperandField::Kind kind;
    if (is_branch) {
      kind = OperandField::Kind::kBranchTarget;
    } else {
      const auto role = role_of(mii_.get(inst.getOpcode()), inst.getNumOperands());
      if (role == OperandRole::kMemory)
        kind = OperandField::Kind::kDisplacement;
      else
        kind = OperandField::Kind::kImmediate;
    }
    if (reports) {
      ByteRange r;
      if (offset < kMaxInsnSize && width <= 8 && offset + width <= kMaxInsnSize)
        r = ByteRange{uint8_t(offset), uint8_t(width)};
      reports->push_back({kind, r, value});
      return false;
    }
    if (!printing || !symbolize || !*symbolize)
      return false;
    OperandField f;
    f.insn_offset = printing->offset;
    f.insn_size = printing->size;
    f.kind = kind;
    f.value = value;
    switch (kind) {
    case OperandField::Kind::kImmediate:
      f.range = printing->imm_field;
      break;
    case OperandField::Kind::kDisplacement:
      f.range = printing->disp_field;
      break;
    case OperandField::Kind::kBranchTarget:
      f.range = printing->branch_field;
      break;
    }
    std::optional<std::string> text = (*symbolize)(f);
    if (!text)
      return false;
    exprs->emplace_back(std::move(*text));
    inst.addOperand(llvm::MCOperand::createExpr(&exprs->back()));
    return true;
  }

  void tryAddingPcLoadReferenceComment(llvm::raw_ostream &, int64_t, uint64_t) override {}

private:
  const llvm::MCInstrInfo &mii_;
};

// Turns LLVM's "\tmovl\t$0x1c3, %esi" into "movl $0x1c3,%esi" and "callq"/"retq" into
// "call"/"ret" (binutils' spelling, and LLVM's own from version 15 on).
std::string normalise(const std::string &s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\t' || c == ' ') {
      // A comma separator eats the following blank; other blank runs become one space.
      if (!out.empty() && out.back() != ' ' && out.back() != ',')
        out.push_back(' ');
      continue;
    }
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  // Mnemonic fix-ups, on whole words only.
  auto fix = [&out](std::string_view from, std::string_view to) {
    for (size_t pos = 0; (pos = out.find(from, pos)) != std::string::npos;) {
      const size_t end = pos + from.size();
      const bool word_start = pos == 0 || out[pos - 1] == ' ';
      const bool word_end = end == out.size() || out[end] == ' ';
      if (word_start && word_end) {
        out.replace(pos, from.size(), to);
        pos += to.size();
      } else {
        pos = end;
      }
    }
  };
  fix("callq", "call");
  fix("retq", "ret");
  return out;
}

} // namespace

struct Disassembler::Impl {
  const SharedTarget &shared;
  llvm::MCContext ctx;
  std::unique_ptr<llvm::MCDisassembler> dis;
  std::unique_ptr<llvm::MCInstPrinter> printer;
  FieldSymbolizer *symbolizer = nullptr; // owned by dis
  unsigned rip_reg = 0;
  std::mutex mutex;

  explicit Impl(const SharedTarget &s)
      : shared(s), ctx(s.triple, s.mai.get(), s.mri.get(), s.sti.get()) {
    dis.reset(s.target->createMCDisassembler(*s.sti, ctx));
    if (!dis)
      throw Error("cannot create the llvm x86 disassembler");
    auto sym = std::make_unique<FieldSymbolizer>(ctx, *s.mii);
    symbolizer = sym.get();
    dis->setSymbolizer(std::move(sym));
    // Syntax variant 0 is AT&T.
    printer.reset(s.target->createMCInstPrinter(s.triple, 0, *s.mai, *s.mii, *s.mri));
    if (!printer)
      throw Error("cannot create the llvm x86 instruction printer");
    printer->setPrintImmHex(true);
    printer->setPrintBranchImmAsAddress(true);
    for (unsigned r = 1; r < s.mri->getNumRegs() && !rip_reg; ++r)
      if (std::string_view(s.mri->getName(r)) == "RIP")
        rip_reg = r;
  }

  // Caller holds mutex.
  Insn decode_locked(std::span<const uint8_t> code, uint64_t address) {
    Insn insn;
    insn.offset = address;
    if (code.empty())
      return insn;
    const size_t avail = std::min(code.size(), kMaxInsnSize);

    std::vector<FieldReport> reports;
    symbolizer->reports = &reports;
    llvm::MCInst mi;
    uint64_t size = 0;
    const auto status = dis->getInstruction(mi, size, llvm::ArrayRef<uint8_t>(code.data(), avail),
                                            address, llvm::nulls());
    symbolizer->reports = nullptr;

    if (status != llvm::MCDisassembler::Success || size == 0 || size > avail) {
      insn.size = 1;
      insn.bytes[0] = code[0];
      return insn;
    }
    insn.valid = true;
    insn.size = uint8_t(size);
    std::copy_n(code.begin(), size, insn.bytes.begin());
    insn.opcode = mi.getOpcode();

    const llvm::MCInstrDesc &desc = shared.mii->get(insn.opcode);
    insn.is_call = desc.isCall();
    insn.is_branch = desc.isBranch();
    insn.is_conditional = desc.isConditionalBranch();
    insn.is_indirect = desc.isIndirectBranch() || (desc.isCall() && !desc.isBranch() && [&] {
                         // A direct call has a pc-relative operand; anything else is indirect.
                         for (unsigned i = 0; i < mi.getNumOperands(); ++i)
                           if (role_of(desc, i) == OperandRole::kPcRel)
                             return false;
                         return true;
                       }());
    insn.is_return = desc.isReturn();
    insn.is_trap = desc.isTrap();

    int64_t pcrel_disp = 0;
    bool has_pcrel = false;
    for (unsigned i = 0; i < mi.getNumOperands(); ++i) {
      const llvm::MCOperand &op = mi.getOperand(i);
      InsnOperand o;
      o.role = role_of(desc, i);
      if (op.isReg()) {
        o.kind = InsnOperand::Kind::kRegister;
        o.reg = op.getReg();
      } else if (op.isImm()) {
        o.kind = InsnOperand::Kind::kImmediate;
        o.imm = op.getImm();
        if (o.role == OperandRole::kImmediate)
          insn.immediates.push_back(o.imm);
        if (o.role == OperandRole::kPcRel) {
          pcrel_disp = o.imm;
          has_pcrel = true;
        }
      }
      insn.operands.push_back(o);
    }
    insn.has_immediate = !insn.immediates.empty();
    if (has_pcrel && (insn.is_branch || insn.is_call))
      insn.branch_target = address + insn.size + uint64_t(pcrel_disp);

    // Registers written.
    for (unsigned i = 0; i < desc.getNumDefs() && i < mi.getNumOperands(); ++i)
      if (mi.getOperand(i).isReg() && mi.getOperand(i).getReg())
        insn.defs.push_back(mi.getOperand(i).getReg());
#if LLVM_VERSION_MAJOR >= 16
    for (llvm::MCPhysReg imp : desc.implicit_defs())
      insn.defs.push_back(imp);
#else
    if (const llvm::MCPhysReg *imp = desc.getImplicitDefs())
      for (; *imp; ++imp)
        insn.defs.push_back(*imp);
#endif

    validate_fields(insn, reports, mi);
    return insn;
  }

  // Keeps the field positions LLVM reported only where they agree with the x86 encoding order:
  // ... ModRM, SIB, displacement, immediate. See Insn::imm_field.
  void validate_fields(Insn &insn, const std::vector<FieldReport> &reports,
                       const llvm::MCInst &mi) const {
    const auto bytes = insn.raw();
    const unsigned size = insn.size;
    unsigned n_imm = 0;
    for (const auto &r : reports)
      n_imm += r.kind == OperandField::Kind::kImmediate;

    for (const auto &r : reports) {
      if (r.kind != OperandField::Kind::kImmediate || n_imm != 1 || r.range.empty())
        continue;
      // The immediate is the last field, and its bytes encode the decoded value.
      if (r.range.offset + r.range.size == size && field_encodes(bytes, r.range, r.value))
        insn.imm_field = r.range;
    }
    // With an immediate whose position is unknown we cannot place a displacement either.
    const bool imm_unknown = insn.has_immediate && insn.imm_field.empty();
    const unsigned disp_end = insn.imm_field.empty() ? size : insn.imm_field.offset;
    for (const auto &r : reports) {
      if (r.kind == OperandField::Kind::kDisplacement && !imm_unknown && !r.range.empty()) {
        // For a memory operand without displacement LLVM reports the position where one would
        // start (== disp_end) with the address size as width: not a field. A real one ends right
        // before the immediate (or the end of the instruction). LLVM adds the pc to rip-relative
        // displacements (inexactly when an immediate follows), so only check the value of others.
        if (r.range.offset + r.range.size != disp_end)
          continue;
        bool rip = false;
        for (unsigned i = 0; i < mi.getNumOperands(); ++i)
          rip |= mi.getOperand(i).isReg() && mi.getOperand(i).getReg() == rip_reg;
        if (rip || field_encodes(bytes, r.range, r.value))
          insn.disp_field = r.range;
      } else if (r.kind == OperandField::Kind::kBranchTarget && !r.range.empty()) {
        // The branch displacement is the last field; LLVM's value is the absolute target.
        if (r.range.offset + r.range.size != size)
          continue;
        const int64_t disp = read_field(bytes, r.range);
        if (uint64_t(r.value) == insn.offset + size + uint64_t(disp))
          insn.branch_field = r.range;
      }
    }
  }
};

Disassembler::Disassembler() : impl_(std::make_unique<Impl>(shared_target())) {}
Disassembler::~Disassembler() = default;

const Disassembler &Disassembler::shared() {
  static const Disassembler instance;
  return instance;
}

std::vector<Insn> Disassembler::decode(std::span<const uint8_t> code, uint64_t base) const {
  std::vector<Insn> out;
  out.reserve(code.size() / 4 + 1);
  std::lock_guard lock(impl_->mutex);
  for (size_t pos = 0; pos < code.size();) {
    out.push_back(impl_->decode_locked(code.subspan(pos), base + pos));
    pos += out.back().size;
  }
  return out;
}

std::vector<InsnExtent> Disassembler::extents(std::span<const uint8_t> code, uint64_t base) const {
  std::vector<InsnExtent> out;
  out.reserve(code.size() / 4 + 1);
  std::lock_guard lock(impl_->mutex);
  llvm::MCInst mi;
  for (size_t pos = 0; pos < code.size();) {
    // As decode_locked() delimits instructions: an undecodable byte is one invalid instruction.
    const size_t avail = std::min(code.size() - pos, kMaxInsnSize);
    uint64_t size = 0;
    mi.clear();
    const auto status = impl_->dis->getInstruction(
        mi, size, llvm::ArrayRef<uint8_t>(code.data() + pos, avail), base + pos, llvm::nulls());
    bool valid = status == llvm::MCDisassembler::Success && size != 0 && size <= avail;
    out.push_back({base + pos, uint8_t(valid ? size : 1), valid});
    pos += out.back().size;
  }
  return out;
}

Insn Disassembler::decode_one(std::span<const uint8_t> code, uint64_t address) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->decode_locked(code, address);
}

std::string Disassembler::print(const Insn &insn, const SymbolizeFn &symbolize) const {
  if (!insn.valid) {
    if (insn.size == 0)
      return "(empty)";
    std::string s = ".byte ";
    char buf[8];
    for (unsigned i = 0; i < insn.size; ++i) {
      std::snprintf(buf, sizeof buf, i ? ",0x%02x" : "0x%02x", insn.bytes[i]);
      s += buf;
    }
    return s;
  }
  std::lock_guard lock(impl_->mutex);
  std::deque<TextExpr> exprs; // must outlive mi
  FieldSymbolizer &sym = *impl_->symbolizer;
  sym.printing = &insn;
  sym.symbolize = &symbolize;
  sym.exprs = &exprs;
  llvm::MCInst mi;
  uint64_t size = 0;
  const auto status = impl_->dis->getInstruction(
      mi, size, llvm::ArrayRef<uint8_t>(insn.bytes.data(), insn.size), insn.offset, llvm::nulls());
  sym.printing = nullptr;
  sym.symbolize = nullptr;
  sym.exprs = nullptr;
  if (status != llvm::MCDisassembler::Success)
    return "(bad)";

  std::string text;
  llvm::raw_string_ostream os(text);
  // X86's printer shows a branch target as Address + displacement, so pass the address of the
  // next instruction to get the real target.
  impl_->printer->printInst(&mi, insn.offset + insn.size, "", *impl_->shared.sti, os);
  os.flush();
  return normalise(text);
}

std::string_view Disassembler::opcode_name(unsigned opcode) const {
  const auto &mii = *impl_->shared.mii;
  if (opcode >= mii.getNumOpcodes())
    return {};
  const llvm::StringRef name = mii.getName(opcode);
  return {name.data(), name.size()};
}

std::string_view Disassembler::reg_name(unsigned reg) const {
  const auto &mri = *impl_->shared.mri;
  if (reg == 0 || reg >= mri.getNumRegs())
    return {};
  return mri.getName(reg);
}

std::optional<unsigned> Disassembler::find_register(std::string_view llvm_name) const {
  const auto &mri = *impl_->shared.mri;
  for (unsigned r = 1; r < mri.getNumRegs(); ++r)
    if (llvm_name == mri.getName(r))
      return r;
  return std::nullopt;
}

bool Disassembler::regs_overlap(unsigned a, unsigned b) const {
  const auto &mri = *impl_->shared.mri;
  if (a == 0 || b == 0 || a >= mri.getNumRegs() || b >= mri.getNumRegs())
    return false;
  // Registers overlap iff they share a register unit (AL, AX, EAX and RAX all contain AL's).
  for (llvm::MCRegUnitIterator ua(a, &mri); ua.isValid(); ++ua)
    for (llvm::MCRegUnitIterator ub(b, &mri); ub.isValid(); ++ub)
      if (*ua == *ub)
        return true;
  return false;
}

bool Disassembler::writes_register(const Insn &insn, unsigned reg) const {
  return std::any_of(insn.defs.begin(), insn.defs.end(),
                     [&](unsigned d) { return regs_overlap(d, reg); });
}

} // namespace klp
