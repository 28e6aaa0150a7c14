#include "diff_fixture.h"

#include <gelf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace klp::test {

namespace {

std::string quote(const std::string &s) { return "'" + s + "'"; }

std::string remove_flag(std::string flags, const std::string &flag) {
  size_t p;
  while ((p = flags.find(flag)) != std::string::npos) {
    size_t end = p + flag.size();
    // Only whole words.
    if ((p == 0 || flags[p - 1] == ' ') && (end == flags.size() || flags[end] == ' '))
      flags.erase(p, flag.size());
    else
      break;
  }
  return flags;
}

// Undefined symbols of an ELF object (names), via the cooked layer.
std::set<std::string> undefined_names(const std::string &path) {
  std::set<std::string> out;
  auto obj = Object::load(path);
  for (const Symbol &s : obj->symbols)
    if (s.is_undefined() && !s.name.empty())
      out.insert(s.name);
  return out;
}

bool is_named(const Symbol &s) { return (s.is_func() || s.is_object()) && s.sec; }

} // namespace

DiffOptions with_target(const std::string &target) {
  DiffOptions o;
  o.target = target;
  return o;
}

DiffOptions with_symtab(const std::string &text) {
  DiffOptions o;
  o.symtab_text = text;
  return o;
}

DiffOptions with_cc(const std::string &cc) {
  DiffOptions o;
  o.cc = cc;
  return o;
}

void compile_case_source(const std::string &src, const std::string &out, const std::string &extra,
                         const std::string &cc) {
  if (cc.find("clang") == std::string::npos) {
    compile(src, out, extra, cc);
    return;
  }
  // clang-14 rejects -mrecord-mcount on x86 (and -mskip-rax-setup); the kernel then runs
  // objtool --mcount, which writes one __mcount_loc entry per `call __fentry__`. Emulate it in
  // the assembly: label each call and record the label.
  std::string flags = kKernelCFlags;
  flags = remove_flag(flags, "-mskip-rax-setup");
  flags = remove_flag(flags, "-mrecord-mcount");
  flags = remove_flag(flags, "-c");
  std::string asm_file = out + ".s", rec_file = out + ".rec.s";
  RunResult r = klp::test::run(cc + " " + flags + " " + extra + " -S -o " + quote(asm_file) + " " +
                               quote(src));
  if (r.exit_code != 0)
    throw std::runtime_error("compiling " + src + " with " + cc + " failed:\n" + r.out);
  std::ifstream in(asm_file);
  std::ofstream rec(rec_file);
  std::string line;
  int n = 0;
  static const std::regex fentry_call(R"(^\s*call[q]?\s+__fentry__\s*(#.*)?$)");
  while (std::getline(in, line)) {
    if (std::regex_match(line, fentry_call)) {
      std::string label = ".Lklp_test_mcount_" + std::to_string(n++);
      rec << label << ":\n"
          << line << "\n"
          << "\t.pushsection __mcount_loc,\"a\",@progbits\n"
          << "\t.quad " << label << "\n"
          << "\t.popsection\n";
    } else {
      rec << line << "\n";
    }
  }
  rec.close();
  r = klp::test::run(cc + " -c -o " + quote(out) + " " + quote(rec_file));
  if (r.exit_code != 0)
    throw std::runtime_error("assembling " + rec_file + " failed:\n" + r.out);
}

DiffCase::DiffCase(const std::string &name, DiffOptions opts)
    : name_(name), opts_(std::move(opts)) {
  std::string case_dir = testdata("diff/" + name);
  // C, or assembly (.S, through the preprocessor) for layouts only a tool writes.
  std::string ext = fs::exists(case_dir + "/orig.S") ? ".S" : ".c";
  if (!fs::exists(case_dir + "/orig" + ext) || !fs::exists(case_dir + "/patched" + ext))
    throw std::runtime_error("no such test case: " + case_dir);
  fs::create_directories(dir_.file("src"));
  // kpatch-build compiles the same file twice: same path, same STT_FILE and __FILE__.
  std::string src = dir_.file("src/" + name + ext);
  orig = dir_.file("orig.o");
  patched = dir_.file("patched.o");
  symvers = dir_.file("Module.symvers");
  symtab = dir_.file(opts_.symtab_text ? "kallsyms" : "symtab.txt");
  output = dir_.file("output.o");

  auto build = [&](const std::string &variant, const std::string &obj) {
    fs::copy_file(case_dir + "/" + variant + ext, src, fs::copy_options::overwrite_existing);
    std::string inc;
    if (fs::is_directory(case_dir + "/" + variant))
      inc += " -I" + quote(case_dir + "/" + variant);
    compile_case_source(src, obj, opts_.extra_cflags + inc, opts_.cc);
  };
  build("orig", orig);
  build("patched", patched);

  // The rest of the target: symbols the object refers to that the kernel defines without
  // exporting them.
  std::string target_o;
  if (fs::exists(case_dir + "/target.c")) {
    target_o = dir_.file("target.o");
    compile(case_dir + "/target.c", target_o);
  }

  // Module.symvers: everything the objects leave undefined is exported by vmlinux, except what
  // target.c defines and what the test lists.
  std::set<std::string> undef = undefined_names(orig);
  for (const std::string &s : undefined_names(patched))
    undef.insert(s);
  for (const std::string &s : opts_.not_exported)
    undef.erase(s);
  if (!target_o.empty()) {
    auto t = Object::load(target_o);
    for (const Symbol &s : t->symbols)
      if (s.sec && !s.is_local())
        undef.erase(s.name);
  }
  for (const std::string &s : opts_.extra_exports)
    undef.insert(s);
  exports_ = undef;
  std::string sv;
  uint32_t crc = 0x12345678;
  for (const std::string &s : exports_) {
    char buf[16];
    snprintf(buf, sizeof buf, "0x%08x", crc);
    crc = crc * 1103515245u + 12345u;
    sv += std::string(buf) + "\t" + s + "\tvmlinux\tEXPORT_SYMBOL\t\n";
  }
  write_text(symvers, sv);

  // The target's symbol table.
  if (opts_.symtab_text) {
    write_text(symtab, *opts_.symtab_text);
  } else {
    std::string table_of = orig;
    if (!target_o.empty()) {
      table_of = dir_.file("target-combined.o");
      RunResult r =
          klp::test::run("ld -r -o " + quote(table_of) + " " + quote(orig) + " " + quote(target_o));
      if (r.exit_code != 0)
        throw std::runtime_error("ld -r for the symbol table failed:\n" + r.out);
    }
    RunResult r = klp::test::run("readelf -s --wide " + quote(table_of));
    if (r.exit_code != 0)
      throw std::runtime_error("readelf -s --wide " + table_of + " failed:\n" + r.out);
    write_text(symtab, r.out);
  }
}

std::string DiffCase::named_args() const {
  return "--orig " + quote(orig) + " --patched " + quote(patched) + " --target " + opts_.target +
         " --symtab " + quote(symtab) + " --symvers " + quote(symvers) + " --patch-name " +
         opts_.patch_name + " -o " + quote(output);
}

std::string DiffCase::positional_args() const {
  return quote(orig) + " " + quote(patched) + " " + opts_.target + " " + quote(symtab) + " " +
         quote(symvers) + " " + opts_.patch_name + " " + quote(output);
}

RunResult DiffCase::run(const std::string &extra) const {
  return create_diff_object(named_args() + (extra.empty() ? "" : " " + extra));
}

RunResult DiffCase::run_positional() const { return create_diff_object(positional_args()); }

bool DiffCase::output_exists() const { return fs::exists(output); }

std::unique_ptr<Object> DiffCase::output_object() const {
  if (!output_exists())
    throw std::runtime_error("no output object " + output);
  return Object::load(output);
}

std::unique_ptr<Object> DiffCase::orig_object() const { return Object::load(orig); }
std::unique_ptr<Object> DiffCase::patched_object() const { return Object::load(patched); }

std::string DiffCase::dump(const std::string &path) {
  return klp::test::run("readelf -SsrW " + quote(path)).out;
}

// ---- Queries ----

std::set<std::string> functions(const Object &obj) {
  std::set<std::string> out;
  for (const Symbol &s : obj.symbols)
    if (s.is_func() && s.sec)
      out.insert(s.name);
  return out;
}

std::set<std::string> data_objects(const Object &obj) {
  std::set<std::string> out;
  for (const Symbol &s : obj.symbols)
    if (s.is_object() && s.sec)
      out.insert(s.name);
  return out;
}

bool is_klp_sym(const Symbol &sym) { return sym.name.rfind(".klp.sym.", 0) == 0; }

std::set<std::string> klp_syms(const Object &obj) {
  std::set<std::string> out;
  for (const Symbol &s : obj.symbols)
    if (is_klp_sym(s))
      out.insert(s.name);
  return out;
}

std::set<std::string> plain_undefined(const Object &obj) {
  std::set<std::string> out;
  for (const Symbol &s : obj.symbols)
    if (!s.sec && s.shndx == SHN_UNDEF && !s.name.empty() && !is_klp_sym(s) && !s.is_section() &&
        !s.is_file())
      out.insert(s.name);
  return out;
}

namespace {

// Named symbols of `sec` in `obj`.
std::vector<const Symbol *> named_in(const Object &obj, const Section *sec) {
  std::vector<const Symbol *> out;
  for (const Symbol &s : obj.symbols)
    if (is_named(s) && s.sec == sec)
      out.push_back(&s);
  return out;
}

const Symbol *resolve_section_symbol(const Object &obj, const Section &site, const Relocation &r) {
  const Symbol *sym = r.sym;
  if (!sym || !sym->is_section() || !sym->sec)
    return sym;
  std::vector<const Symbol *> named = named_in(obj, sym->sec);
  if (named.size() == 1)
    return named.front();
  int64_t off = r.addend;
  if (reloc_is_pc_relative(r.type) && site.is_text())
    off += 4;
  const Symbol *found = nullptr;
  for (const Symbol *s : named)
    if (off >= (int64_t)s->value && off < (int64_t)(s->value + std::max<uint64_t>(s->size, 1))) {
      if (found)
        return sym;
      found = s;
    }
  return found ? found : sym;
}

} // namespace

const Symbol *reloc_target_symbol(const Object &obj, const Section &site, const Relocation &r) {
  return resolve_section_symbol(obj, site, r);
}

std::string reloc_target(const Object &obj, const Section &site, const Relocation &r) {
  const Symbol *s = resolve_section_symbol(obj, site, r);
  if (!s)
    return "?";
  if (s->is_section() && s->sec)
    return s->sec->name;
  return s->name;
}

std::vector<const Relocation *> relocs_in(const Object &obj, const std::string &section) {
  std::vector<const Relocation *> out;
  const Section *sec = obj.find_section(section);
  if (!sec)
    return out;
  for (const Section &rela : obj.sections)
    if (rela.is_rela() && rela.base == sec)
      for (const Relocation &r : rela.relocs)
        out.push_back(&r);
  return out;
}

std::vector<const Relocation *> relocs_to(const Object &obj, const std::string &section,
                                          const std::string &symbol) {
  std::vector<const Relocation *> out;
  const Section *sec = obj.find_section(section);
  if (!sec)
    return out;
  for (const Relocation *r : relocs_in(obj, section))
    if (reloc_target(obj, *sec, *r) == symbol)
      out.push_back(r);
  return out;
}

std::set<std::string> reloc_targets(const Object &obj, const std::string &section) {
  std::set<std::string> out;
  const Section *sec = obj.find_section(section);
  if (!sec)
    return out;
  for (const Relocation *r : relocs_in(obj, section))
    out.insert(reloc_target(obj, *sec, *r));
  return out;
}

std::string string_at(const Symbol &sym, int64_t addend) {
  if (!sym.sec)
    return "";
  const std::vector<uint8_t> &d = sym.sec->data;
  int64_t off = (int64_t)sym.value + addend;
  if (off < 0 || (uint64_t)off >= d.size())
    return "";
  std::string out;
  for (size_t i = off; i < d.size() && d[i]; i++)
    out += (char)d[i];
  return out;
}

bool contains_string(const Object &obj, const std::string &text) {
  for (const Section &s : obj.sections) {
    if (!s.is_alloc() || s.type() == SHT_NOBITS)
      continue;
    std::string_view contents((const char *)s.data.data(), s.data.size());
    if (contents.find(text) != std::string_view::npos)
      return true;
  }
  return false;
}

namespace {

const Relocation *reloc_at(const Object &obj, const Section &sec, uint64_t offset) {
  for (const Section &rela : obj.sections)
    if (rela.is_rela() && rela.base == &sec)
      for (const Relocation &r : rela.relocs)
        if (r.offset == offset)
          return &r;
  return nullptr;
}

uint64_t read_u64(const Section &sec, uint64_t off) {
  uint64_t v = 0;
  if (off + 8 <= sec.data.size())
    memcpy(&v, sec.data.data() + off, 8);
  return v;
}

} // namespace

std::vector<KlpFunc> klp_funcs(const Object &obj) {
  std::vector<KlpFunc> out;
  const Section *sec = obj.find_section("__klp_funcs");
  if (!sec)
    return out;
  if (sec->size() % 32)
    throw std::runtime_error("__klp_funcs size " + std::to_string(sec->size()) +
                             " is not a multiple of 32");
  for (uint64_t off = 0; off < sec->size(); off += 32) {
    KlpFunc f;
    const Relocation *fn = reloc_at(obj, *sec, off);
    const Relocation *old = reloc_at(obj, *sec, off + 8);
    const Relocation *objname = reloc_at(obj, *sec, off + 16);
    if (!fn || !old || !objname)
      throw std::runtime_error("__klp_funcs entry at " + std::to_string(off) +
                               " lacks a relocation");
    if (fn->type != R_X86_64_64 || old->type != R_X86_64_64 || objname->type != R_X86_64_64)
      throw std::runtime_error("__klp_funcs entry at " + std::to_string(off) +
                               " has a relocation that is not R_X86_64_64");
    const Symbol *target = resolve_section_symbol(obj, *sec, *fn);
    if (target && target->is_section() && target->sec) {
      // Section symbol + addend: the function at that offset.
      for (const Symbol *s : named_in(obj, target->sec))
        if (s->is_func() && (int64_t)s->value == fn->addend)
          target = s;
    }
    f.new_func =
        target ? (target->is_section() && target->sec ? target->sec->name : target->name) : "?";
    f.old_name = string_at(*old->sym, old->addend);
    f.objname = string_at(*objname->sym, objname->addend);
    f.sympos = read_u64(*sec, off + 24);
    out.push_back(f);
  }
  return out;
}

std::optional<KlpFunc> klp_func(const Object &obj, const std::string &old_name) {
  for (const KlpFunc &f : klp_funcs(obj))
    if (f.old_name == old_name)
      return f;
  return std::nullopt;
}

std::vector<std::string> mcount_targets(const Object &obj) {
  std::vector<std::string> out;
  const Section *sec = obj.find_section("__mcount_loc");
  if (!sec)
    return out;
  for (uint64_t off = 0; off + 8 <= sec->size(); off += 8) {
    const Relocation *r = reloc_at(obj, *sec, off);
    if (!r) {
      out.push_back("?");
      continue;
    }
    const Symbol *s = r->sym;
    if (s && s->sec) {
      // The function containing sym + addend.
      int64_t at = (int64_t)s->value + r->addend;
      std::string name = s->is_section() ? s->sec->name + "+" + std::to_string(at) : s->name;
      for (const Symbol *f : named_in(obj, s->sec))
        if (f->is_func() && at >= (int64_t)f->value && at < (int64_t)(f->value + f->size))
          name = f->name;
      out.push_back(name);
    } else {
      out.push_back(s ? s->name : "?");
    }
  }
  return out;
}

std::vector<JumpEntry> jump_entries(const Object &obj) {
  std::vector<JumpEntry> out;
  const Section *sec = obj.find_section("__jump_table");
  if (!sec)
    return out;
  auto name_of = [&](const Relocation *r) -> std::string {
    if (!r || !r->sym)
      return "?";
    const Symbol *s = r->sym;
    if (!s->sec)
      return s->name;
    int64_t at = (int64_t)s->value + r->addend;
    for (const Symbol *f : named_in(obj, s->sec))
      if (at >= (int64_t)f->value && at < (int64_t)(f->value + std::max<uint64_t>(f->size, 1)))
        return f->name;
    return s->is_section() ? s->sec->name : s->name;
  };
  for (uint64_t off = 0; off + 16 <= sec->size(); off += 16) {
    JumpEntry e;
    e.code = name_of(reloc_at(obj, *sec, off));
    e.target = name_of(reloc_at(obj, *sec, off + 4));
    e.key = name_of(reloc_at(obj, *sec, off + 8));
    out.push_back(e);
  }
  return out;
}

RunResult link_relocatable(const std::string &path, const std::string &out) {
  return klp::test::run("ld -r -o " + quote(out) + " " + quote(path));
}

// ---- Expectations ----

std::string context(const DiffCase &c, const RunResult &r) {
  std::string s = "exit " + std::to_string(r.exit_code) + ", tool output:\n" + r.out;
  if (c.output_exists())
    s += "\noutput object:\n" + DiffCase::dump(c.output);
  return s;
}

void expect_klp_reloc(const Object &obj, const std::string &section, const std::string &klp_name) {
  std::vector<const Relocation *> rs = relocs_to(obj, section, klp_name);
  EXPECT_FALSE(rs.empty()) << "no relocation of " << section << " refers to " << klp_name;
  const Symbol *sym = obj.find_symbol(klp_name);
  ASSERT_NE(sym, nullptr) << "no symbol " << klp_name;
  EXPECT_EQ(sym->sec, nullptr) << klp_name << " must be undefined";
  EXPECT_TRUE(sym->shndx == SHN_UNDEF || sym->shndx == SHN_LIVEPATCH)
      << klp_name << " has st_shndx " << sym->shndx;
  EXPECT_EQ(sym->bind, STB_GLOBAL) << klp_name << " must be GLOBAL";
}

void expect_local_reloc(const Object &obj, const std::string &section, const std::string &symbol) {
  std::vector<const Relocation *> rs = relocs_to(obj, section, symbol);
  EXPECT_FALSE(rs.empty()) << "no relocation of " << section << " refers to " << symbol
                           << " (targets: " << ::testing::PrintToString(reloc_targets(obj, section))
                           << ")";
  const Section *site = obj.find_section(section);
  for (const Relocation *r : rs) {
    const Symbol *s = reloc_target_symbol(obj, *site, *r);
    EXPECT_TRUE(s && s->sec) << section << "+" << r->offset << " refers to " << symbol
                             << " but it is not defined in the output";
  }
}

void expect_plain_reloc(const Object &obj, const std::string &section, const std::string &symbol) {
  std::vector<const Relocation *> rs = relocs_to(obj, section, symbol);
  EXPECT_FALSE(rs.empty()) << "no relocation of " << section << " refers to " << symbol
                           << " (targets: " << ::testing::PrintToString(reloc_targets(obj, section))
                           << ")";
  const Symbol *sym = obj.find_symbol(symbol);
  ASSERT_NE(sym, nullptr) << "no symbol " << symbol;
  EXPECT_TRUE(sym->is_undefined()) << symbol << " must stay undefined";
}

void expect_well_formed(const Object &obj, const DiffCase &c) {
  for (const std::string &u : plain_undefined(obj))
    EXPECT_TRUE(c.exports().count(u))
        << "undefined symbol " << u
        << " is not exported (Module.symvers); it must be referenced through .klp.sym";
  static const std::regex klp(R"(^\.klp\.sym\.([A-Za-z0-9_]+)\.(.+),([0-9]+)$)");
  for (const std::string &k : klp_syms(obj)) {
    std::smatch m;
    if (!std::regex_match(k, m, klp)) {
      ADD_FAILURE() << "malformed livepatch symbol name " << k;
      continue;
    }
    EXPECT_EQ(m[1].str(), c.options().target) << k;
  }
}

void expect_descriptors_complete(const Object &out, const Object &orig) {
  std::set<std::string> in_orig = functions(orig), patched_funcs, described, traced;
  for (const std::string &f : functions(out)) {
    bool cold = f.find(".cold") != std::string::npos;
    if (in_orig.count(f) && !cold)
      patched_funcs.insert(f);
    if (!cold)
      traced.insert(f);
  }
  for (const KlpFunc &k : klp_funcs(out)) {
    EXPECT_TRUE(described.insert(k.old_name).second)
        << "two __klp_funcs entries for " << k.old_name;
    EXPECT_EQ(k.new_func, k.old_name) << "entry for " << k.old_name << " points at " << k.new_func;
  }
  EXPECT_EQ(described, patched_funcs) << "__klp_funcs entries vs changed functions in the output";
  std::vector<std::string> mc = mcount_targets(out);
  std::multiset<std::string> mcs(mc.begin(), mc.end());
  for (const std::string &f : traced)
    EXPECT_EQ(mcs.count(f), 1u) << "__mcount_loc entries for " << f;
  EXPECT_EQ(mc.size(), traced.size()) << ::testing::PrintToString(mc);
}

void expect_no_output(const DiffCase &c, const RunResult &r, int code) {
  EXPECT_EQ(r.exit_code, code) << r.out;
  EXPECT_FALSE(c.output_exists()) << "exit " << r.exit_code << " must not leave " << c.output;
}

} // namespace klp::test
