#include "output.h"

#include <cstring>

#include "directives.h"
#include "names.h"
#include "verify.h"

namespace klp {

namespace {

class Builder {
public:
  Builder(DiffContext &ctx, const ReferenceResolver &resolver, const std::string &path)
      : ctx_(ctx), resolver_(resolver), out_(Object::empty_like(ctx.patched, path)) {}

  Output build() {
    copy_file_symbol();
    copy_sections();
    copy_symbols();
    copy_relocations();
    add_descriptors();
    Output o;
    o.functions = std::move(functions_);
    o.new_functions = std::move(new_functions_);
    out_->reindex();
    o.object = std::move(out_);
    return o;
  }

private:
  // A source range of the patched object that became an output section.
  struct Copy {
    const Section *src;
    uint64_t start, size;
    Section *dst;
  };

  void copy_file_symbol() {
    for (const Symbol &s : ctx_.patched.symbols)
      if (s.is_file()) {
        out_->add_symbol(s);
        break;
      }
  }

  Section &copy_range(const Section &src, uint64_t start, uint64_t size) {
    Section s;
    s.name = src.name;
    s.shdr = src.shdr;
    s.shdr.sh_size = size;
    if (src.type() != SHT_NOBITS)
      s.data.assign(src.data.begin() + start, src.data.begin() + start + size);
    s.included = true;
    s.status = src.status;
    Section &dst = out_->add_section(std::move(s));
    copies_.push_back({&src, start, size, &dst});
    return dst;
  }

  void copy_sections() {
    for (const Section &sec : ctx_.patched.sections)
      if (sec.included && !sec.is_rela() && sec.type() != SHT_GROUP) {
        Section &dst = copy_range(sec, 0, sec.size());
        whole_[&sec] = &dst;
      }
    // Symbols sharing a section with others get a section of their own.
    for (const Symbol &sym : ctx_.patched.symbols)
      if (sym.included && sym.sec && !sym.sec->included && !sym.is_section())
        extracted_[&sym] = &copy_range(*sym.sec, sym.value, sym.size);
  }

  void copy_symbols() {
    for (const Symbol &sym : ctx_.patched.symbols) {
      if (!sym.included || sym.is_section() || !sym.sec)
        continue;
      Symbol s;
      s.name = sym.name;
      s.type = sym.type;
      s.bind = sym.bind;
      s.other = sym.other;
      s.size = sym.size;
      s.status = sym.status;
      if (auto it = extracted_.find(&sym); it != extracted_.end()) {
        s.sec = it->second;
        s.value = 0;
      } else {
        s.sec = whole_.at(sym.sec);
        s.value = sym.value;
      }
      placed_[&sym] = &out_->add_symbol(std::move(s));
      if (sym.is_func() && sym.status == Status::New && !sym.parent && !sym.prefix_of)
        new_functions_.push_back(sym.name);
    }
  }

  // The output symbol a relocation against `t` (at `site`) must use.
  Symbol *target_for(const Symbol &t, const Section &site, uint64_t offset) {
    if (auto it = placed_.find(&t); it != placed_.end())
      return it->second;
    if (t.is_section()) {
      if (auto it = whole_.find(t.sec); it != whole_.end())
        return &out_->section_symbol(*it->second);
      throw Error(ctx_.patched.where(site, offset) + ": refers to section " + t.sec->name +
                  ", which is not part of the patch and has no symbol in the running kernel");
    }
    std::string name;
    try {
      name = resolver_.name_for(t.twin ? *t.twin : t);
    } catch (const Error &e) {
      throw Error(ctx_.patched.where(site, offset) + ": " + e.what());
    }
    Symbol *&ext = external_[name];
    if (!ext) {
      Symbol s;
      s.name = name;
      s.type = STT_NOTYPE;
      s.bind = STB_GLOBAL;
      s.shndx = SHN_UNDEF;
      ext = &out_->add_symbol(std::move(s));
      if (name.rfind(kKlpSymPrefix, 0) == 0)
        ctx_.note(t, DecisionKind::ReferencedAs, {}, name);
    }
    return ext;
  }

  void copy_relocations() {
    for (const Copy &c : copies_) {
      if (!c.src->rela)
        continue;
      std::vector<Relocation> relocs;
      for (const Relocation &r : c.src->relocations()) {
        if (r.offset < c.start || r.offset >= c.start + c.size)
          continue;
        Relocation n = r;
        n.offset -= c.start;
        n.sym = target_for(*r.sym, *c.src, r.offset);
        relocs.push_back(n);
      }
      if (!relocs.empty())
        add_rela(*c.dst, std::move(relocs));
    }
  }

  void add_rela(Section &base, std::vector<Relocation> relocs) {
    Section s;
    s.name = ".rela" + base.name;
    s.shdr.sh_type = SHT_RELA;
    s.shdr.sh_flags = SHF_INFO_LINK;
    s.shdr.sh_addralign = 8;
    s.shdr.sh_entsize = sizeof(Elf64_Rela);
    s.base = &base;
    s.relocs = std::move(relocs);
    base.rela = &out_->add_section(std::move(s));
  }

  // __klp_strings, created on first use, and the offset of a string in it.
  int64_t add_string(const std::string &s) {
    if (!strings_) {
      Section strs;
      strs.name = std::string(kStringsSection);
      strs.shdr.sh_type = SHT_PROGBITS;
      strs.shdr.sh_flags = SHF_ALLOC;
      strs.shdr.sh_addralign = 1;
      strings_ = &out_->add_section(std::move(strs));
    }
    size_t off = strings_->data.size();
    strings_->data.insert(strings_->data.end(), s.begin(), s.end());
    strings_->data.push_back('\0');
    strings_->shdr.sh_size = strings_->data.size();
    return (int64_t)off;
  }

  // Callback entries name their object by relocation to the object's name.
  void fill_callback_objnames() {
    for (Section &sec : out_->sections) {
      if (!sec.name.starts_with(kCallbackSectionPrefix) || sec.is_rela())
        continue;
      std::vector<Relocation> relocs = sec.rela ? sec.rela->relocs : std::vector<Relocation>{};
      int64_t objname = add_string(resolver_.target());
      Symbol &strsym = out_->section_symbol(*strings_);
      for (uint64_t e = 0; e + kCallbackEntrySize <= sec.size(); e += kCallbackEntrySize)
        relocs.push_back({e + kCallbackObjnameOffset, R_X86_64_64, objname, &strsym});
      if (sec.rela)
        sec.rela->relocs = std::move(relocs);
      else
        add_rela(sec, std::move(relocs));
    }
  }

  void add_descriptors() {
    fill_callback_objnames();
    std::vector<Relocation> relocs;
    Section funcs;
    funcs.name = std::string(kFuncsSection);
    funcs.shdr.sh_type = SHT_PROGBITS;
    funcs.shdr.sh_flags = SHF_ALLOC;
    funcs.shdr.sh_addralign = 8;

    std::vector<std::pair<const Symbol *, PatchedFunction>> todo;
    for (const Symbol &sym : ctx_.patched.symbols) {
      if (!needs_klp_func(sym))
        continue;
      PatchedFunction f;
      f.name = sym.twin->name;
      f.objname = resolver_.target();
      f.sympos = resolver_.sympos_of_function(*sym.twin);
      todo.emplace_back(&sym, f);
    }
    if (todo.empty())
      return;
    int64_t objname_off = add_string(resolver_.target());
    Section &funcs_out = out_->add_section(std::move(funcs));
    Symbol &strsym = out_->section_symbol(*strings_);
    for (auto &[sym, f] : todo) {
      uint64_t base = funcs_out.data.size();
      funcs_out.data.resize(base + kFuncEntrySize, 0);
      std::memcpy(funcs_out.data.data() + base + 24, &f.sympos, 8);
      relocs.push_back({base + 0, R_X86_64_64, 0, placed_.at(sym)});
      relocs.push_back({base + 8, R_X86_64_64, add_string(f.name), &strsym});
      relocs.push_back({base + 16, R_X86_64_64, objname_off, &strsym});
      functions_.push_back(f);
    }
    funcs_out.shdr.sh_size = funcs_out.data.size();
    add_rela(funcs_out, std::move(relocs));
  }

  DiffContext &ctx_;
  const ReferenceResolver &resolver_;
  std::unique_ptr<Object> out_;
  std::vector<Copy> copies_;
  std::unordered_map<const Section *, Section *> whole_;
  std::unordered_map<const Symbol *, Section *> extracted_;
  std::unordered_map<const Symbol *, Symbol *> placed_;
  std::unordered_map<std::string, Symbol *> external_;
  Section *strings_ = nullptr;
  std::vector<PatchedFunction> functions_;
  std::vector<std::string> new_functions_;
};

} // namespace

Output build_output(DiffContext &ctx, const ReferenceResolver &resolver, const std::string &path) {
  return Builder(ctx, resolver, path).build();
}

} // namespace klp
