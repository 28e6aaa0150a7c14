// Decoding and printing x86_64 instructions through LLVM's MC layer (create-diff-object/disasm.h).
#include "disasm.h"
#include "line_macro.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace klp {
namespace {

using Bytes = std::vector<uint8_t>;

Insn one(const Bytes &b, uint64_t address = 0) {
  return Disassembler::shared().decode_one(b, address);
}

std::string text(const Bytes &b, uint64_t address = 0, const SymbolizeFn &sym = {}) {
  const auto &d = Disassembler::shared();
  return d.print(d.decode_one(b, address), sym);
}

TEST(DisasmTest, DirectCall) {
  const Insn i = one({0xe8, 0, 0, 0, 0}, 0x100);
  ASSERT_TRUE(i.valid);
  EXPECT_EQ(i.size, 5);
  EXPECT_EQ(i.offset, 0x100u);
  EXPECT_EQ(Disassembler::shared().opcode_name(i.opcode), "CALL64pcrel32");
  EXPECT_TRUE(i.is_call);
  EXPECT_FALSE(i.is_branch);
  EXPECT_FALSE(i.is_indirect);
  EXPECT_FALSE(i.is_return);
  EXPECT_FALSE(i.has_immediate); // a branch displacement is not an immediate
  ASSERT_TRUE(i.branch_target);
  EXPECT_EQ(*i.branch_target, 0x105u);
  EXPECT_EQ(i.branch_field, (ByteRange{1, 4}));
  EXPECT_TRUE(i.imm_field.empty());
  EXPECT_EQ(text({0xe8, 0, 0, 0, 0}, 0x100), "call 0x105");
  EXPECT_EQ(text({0xe8, 0xfb, 0xff, 0xff, 0xff}, 0x100), "call 0x100");
}

TEST(DisasmTest, MovImmediateToRegister) {
  const auto &d = Disassembler::shared();
  const Insn i = one({0xbe, 0xc3, 0x01, 0, 0});
  ASSERT_TRUE(i.valid);
  EXPECT_EQ(i.size, 5);
  EXPECT_EQ(d.opcode_name(i.opcode), "MOV32ri");
  EXPECT_TRUE(i.has_immediate);
  EXPECT_EQ(i.immediates, std::vector<int64_t>{0x1c3});
  EXPECT_EQ(i.imm_field, (ByteRange{1, 4}));
  ASSERT_EQ(i.operands.size(), 2u);
  EXPECT_EQ(i.operands[0].kind, InsnOperand::Kind::kRegister);
  EXPECT_EQ(i.operands[0].role, OperandRole::kRegister);
  EXPECT_EQ(d.reg_name(i.operands[0].reg), "ESI");
  EXPECT_EQ(i.operands[1].kind, InsnOperand::Kind::kImmediate);
  EXPECT_EQ(i.operands[1].role, OperandRole::kImmediate);
  EXPECT_EQ(i.operands[1].imm, 0x1c3);
  EXPECT_FALSE(i.is_call || i.is_branch || i.is_return || i.is_trap);
  EXPECT_EQ(d.print(i), "movl $0x1c3,%esi");

  const auto rsi = d.find_register("RSI");
  const auto rdi = d.find_register("RDI");
  ASSERT_TRUE(rsi && rdi);
  EXPECT_TRUE(d.regs_overlap(i.operands[0].reg, *rsi));
  EXPECT_TRUE(d.writes_register(i, *rsi));
  EXPECT_FALSE(d.writes_register(i, *rdi));

  // r8d needs a REX prefix: the immediate moves one byte on.
  const Insn r8 = one({0x41, 0xb8, 0xc3, 0x01, 0, 0});
  EXPECT_EQ(r8.size, 6);
  EXPECT_EQ(r8.imm_field, (ByteRange{2, 4}));
  EXPECT_EQ(d.print(r8), "movl $0x1c3,%r8d");
}

TEST(DisasmTest, TrapReturnAndPadding) {
  const Insn ud2 = one({0x0f, 0x0b});
  ASSERT_TRUE(ud2.valid);
  EXPECT_EQ(ud2.size, 2);
  EXPECT_TRUE(ud2.is_trap);
  EXPECT_EQ(text({0x0f, 0x0b}), "ud2");

  const Insn ret = one({0xc3});
  ASSERT_TRUE(ret.valid);
  EXPECT_EQ(ret.size, 1);
  EXPECT_TRUE(ret.is_return);
  EXPECT_FALSE(ret.is_branch);
  EXPECT_EQ(text({0xc3}), "ret");

  const Insn int3 = one({0xcc});
  ASSERT_TRUE(int3.valid);
  EXPECT_EQ(int3.size, 1);
  EXPECT_EQ(text({0xcc}), "int3");

  EXPECT_EQ(one({0x66, 0x0f, 0x1f, 0x44, 0, 0}).size, 6); // nopw 0x0(%rax,%rax,1)
  EXPECT_EQ(text({0xf3, 0x0f, 0x1e, 0xfa}), "endbr64");
}

TEST(DisasmTest, InvalidBytesDecodeAsSingleInvalidBytes) {
  const auto &d = Disassembler::shared();
  // 0x06 (push %es) does not exist in 64-bit mode; ff ff is an invalid group-5 encoding; a call
  // or an add cut short is undecodable too. None of this throws, and decoding resynchronises
  // byte by byte.
  const Bytes code = {0x06, 0xc3, 0xff, 0xff, 0xe8, 0x01};
  const auto insns = d.decode(code, 0x40);
  ASSERT_EQ(insns.size(), 6u);
  EXPECT_FALSE(insns[0].valid);
  EXPECT_EQ(insns[0].size, 1);
  EXPECT_EQ(insns[0].offset, 0x40u);
  EXPECT_EQ(d.print(insns[0]), ".byte 0x06");
  EXPECT_TRUE(insns[1].valid);
  EXPECT_TRUE(insns[1].is_return);
  EXPECT_EQ(insns[1].offset, 0x41u);
  for (size_t k = 2; k < insns.size(); ++k) {
    EXPECT_FALSE(insns[k].valid) << k;
    EXPECT_EQ(insns[k].size, 1) << k;
    EXPECT_EQ(insns[k].offset, 0x40u + k) << k;
  }
  EXPECT_FALSE(d.decode_one({}, 0).valid);
  EXPECT_TRUE(d.decode({}).empty());
}

TEST(DisasmTest, Branches) {
  const Insn je = one({0x74, 0x05}, 0x10);
  ASSERT_TRUE(je.valid);
  EXPECT_TRUE(je.is_branch);
  EXPECT_TRUE(je.is_conditional);
  EXPECT_FALSE(je.is_unconditional_branch());
  EXPECT_EQ(je.branch_target, 0x17u);
  EXPECT_EQ(je.branch_field, (ByteRange{1, 1}));
  EXPECT_EQ(text({0x74, 0x05}, 0x10), "je 0x17");

  const Insn jmp = one({0xe9, 0x10, 0, 0, 0});
  EXPECT_TRUE(jmp.is_unconditional_branch());
  EXPECT_FALSE(jmp.is_indirect);
  EXPECT_EQ(jmp.branch_target, 0x15u);

  const Insn jmp_reg = one({0xff, 0xe0});
  EXPECT_TRUE(jmp_reg.is_branch);
  EXPECT_TRUE(jmp_reg.is_indirect);
  EXPECT_FALSE(jmp_reg.branch_target);

  const Insn call_reg = one({0xff, 0xd0});
  EXPECT_TRUE(call_reg.is_call);
  EXPECT_TRUE(call_reg.is_indirect);
  EXPECT_FALSE(call_reg.branch_target);
}

TEST(DisasmTest, FieldPositionsAreValidated) {
  // cmpl $0x5,0x4030201(%rip): disp32 then imm8.
  const Insn cmp = one({0x83, 0x3d, 1, 2, 3, 4, 0x05});
  EXPECT_EQ(cmp.immediates, std::vector<int64_t>{5});
  EXPECT_EQ(cmp.disp_field, (ByteRange{2, 4}));
  EXPECT_EQ(cmp.imm_field, (ByteRange{6, 1}));

  // movl $0x1c3,(%rsp): no displacement; LLVM reports a phantom one, which must be dropped.
  const Insn store = one({0xc7, 0x04, 0x24, 0xc3, 0x01, 0, 0});
  EXPECT_TRUE(store.disp_field.empty());
  EXPECT_EQ(store.imm_field, (ByteRange{3, 4}));
  EXPECT_EQ(Disassembler::shared().print(store), "movl $0x1c3,(%rsp)");

  // movb $0x0,0x0(%rbp): disp8 0 and imm8 0.
  const Insn movb = one({0xc6, 0x45, 0x00, 0x00});
  EXPECT_EQ(movb.disp_field, (ByteRange{2, 1}));
  EXPECT_EQ(movb.imm_field, (ByteRange{3, 1}));

  // add $-1,%eax: imm8 sign-extended.
  const Insn add = one({0x83, 0xc0, 0xff});
  EXPECT_EQ(add.immediates, std::vector<int64_t>{-1});
  EXPECT_EQ(add.imm_field, (ByteRange{2, 1}));

  // movabs $0x807060504030201,%rax: imm64.
  const Insn movabs = one({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(movabs.immediates, std::vector<int64_t>{0x0807060504030201});
  EXPECT_EQ(movabs.imm_field, (ByteRange{2, 8}));

  // enter $0x10,$0x1: two immediates, LLVM reports one position for both, so none is kept.
  const Insn enter = one({0xc8, 0x10, 0x00, 0x01});
  EXPECT_EQ(enter.immediates, (std::vector<int64_t>{0x10, 1}));
  EXPECT_TRUE(enter.imm_field.empty());

  // push $0x7f / push $0x80: imm8 vs imm32 encodings.
  EXPECT_EQ(one({0x6a, 0x7f}).imm_field, (ByteRange{1, 1}));
  EXPECT_EQ(one({0x68, 0x80, 0, 0, 0}).imm_field, (ByteRange{1, 4}));
}

TEST(DisasmTest, SymbolizerReceivesFieldsAndReplacesOperands) {
  std::vector<OperandField> seen;
  const SymbolizeFn sym = [&](const OperandField &f) -> std::optional<std::string> {
    seen.push_back(f);
    if (f.kind == OperandField::Kind::kBranchTarget)
      return "__warn_printk";
    return std::nullopt;
  };
  EXPECT_EQ(text({0xe8, 0, 0, 0, 0}, 0x20, sym), "call __warn_printk");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].insn_offset, 0x20u);
  EXPECT_EQ(seen[0].insn_size, 5);
  EXPECT_EQ(seen[0].range, (ByteRange{1, 4}));
  EXPECT_EQ(seen[0].field_offset(), 0x21u);
  EXPECT_EQ(seen[0].value, 0x25);

  // Returning nullopt leaves the value.
  seen.clear();
  EXPECT_EQ(text({0xbe, 0xc3, 0x01, 0, 0}, 0, sym), "movl $0x1c3,%esi");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, OperandField::Kind::kImmediate);
  EXPECT_EQ(seen[0].value, 0x1c3);
}

TEST(DisasmTest, RelocationSymbolizer) {
  const auto &d = Disassembler::shared();
  // Code as in a relocatable object: placeholders where relocations apply.
  // clang-format off
  const Bytes code = {
      0xe8, 0, 0, 0, 0,              // 0x0: call __fentry__
      0x48, 0xc7, 0xc7, 0, 0, 0, 0,  // 0x5: mov $.rodata.str1.1+0x4,%rdi
      0x83, 0x3d, 0, 0, 0, 0, 0x05,  // 0xc: cmpl $0x5,jiffies(%rip)
      0x48, 0x8b, 0x05, 0, 0, 0, 0,  // 0x13: mov counter+0x8(%rip),%rax
      0xe9, 0, 0, 0, 0,              // 0x1a: jmp __x86_return_thunk
  };
  // clang-format on
  const CodeReloc relocs[] = {
      {0x1, 4 /* PLT32 */, "__fentry__", -4},
      {0x8, 11 /* 32S */, ".rodata.str1.1", 4},
      {0xe, 2 /* PC32 */, "jiffies", -5},
      {0x16, 2 /* PC32 */, "counter", 4},
      {0x1b, 4 /* PLT32 */, "__x86_return_thunk", -4},
  };
  const auto sym = reloc_symbolizer(relocs);
  const auto insns = d.decode(code);
  ASSERT_EQ(insns.size(), 5u);
  EXPECT_EQ(d.print(insns[0], sym), "call __fentry__");
  EXPECT_EQ(d.print(insns[1], sym), "movq $.rodata.str1.1+0x4,%rdi");
  EXPECT_EQ(d.print(insns[2], sym), "cmpl $0x5,jiffies(%rip)");
  EXPECT_EQ(d.print(insns[3], sym), "movq counter+0x8(%rip),%rax");
  EXPECT_EQ(d.print(insns[4], sym), "jmp __x86_return_thunk");
  // Without a symbolizer the placeholders show.
  EXPECT_EQ(d.print(insns[1]), "movq $0x0,%rdi");
}

TEST(DisasmTest, DecodeSequenceWithBase) {
  const auto &d = Disassembler::shared();
  // endbr64; call; mov $0x8,%esi; mov %edi,%ebx; ret
  const Bytes code = {0xf3, 0x0f, 0x1e, 0xfa, 0xe8, 0,    0,    0,   0,
                      0xbe, 0x08, 0,    0,    0,    0x89, 0xfb, 0xc3};
  const auto insns = d.decode(code, 0x1000);
  ASSERT_EQ(insns.size(), 5u);
  const uint64_t offsets[] = {0x1000, 0x1004, 0x1009, 0x100e, 0x1010};
  const uint8_t sizes[] = {4, 5, 5, 2, 1};
  for (size_t k = 0; k < insns.size(); ++k) {
    EXPECT_TRUE(insns[k].valid);
    EXPECT_EQ(insns[k].offset, offsets[k]);
    EXPECT_EQ(insns[k].size, sizes[k]);
  }
  EXPECT_EQ(d.print(insns[3]), "movl %edi,%ebx");
  const auto ebx = d.find_register("EBX");
  ASSERT_TRUE(ebx);
  EXPECT_TRUE(d.writes_register(insns[3], *ebx));
}

TEST(DisasmTest, ConcurrentUse) {
  const Bytes code = {0xbe, 0xc3, 0x01, 0, 0, 0xe8, 0, 0, 0, 0, 0x0f, 0x0b, 0xc3, 0xcc};
  const auto expected = Disassembler::shared().decode(code);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      // Two threads share the process-wide instance, two use their own.
      Disassembler own;
      const Disassembler &d = t % 2 ? own : Disassembler::shared();
      int good = 0;
      for (int n = 0; n < 200; ++n) {
        const auto got = d.decode(code);
        good += got.size() == expected.size() && got[0].immediates == expected[0].immediates &&
                d.print(got[0]) == "movl $0x1c3,%esi";
      }
      ok[t] = good;
    });
  for (auto &th : threads)
    th.join();
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(ok[t], 200) << t;
}

} // namespace
} // namespace klp
