#include "output.h"

#include <algorithm>
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
    uint64_t at = 0; // where the range starts in dst
  };
  // Where a whole section of the patched object went.
  struct Placement {
    Section *dst;
    uint64_t at; // 0, or where a merged .cold part starts in its parent's section
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
      if (sec.included && !sec.is_rela() && sec.type() != SHT_GROUP &&
          !(sec.bundled && sec.bundled->merged_into)) {
        Section &dst = copy_range(sec, 0, sec.size());
        whole_[&sec] = {&dst, 0};
      }
    for (const Symbol &sym : ctx_.patched.symbols)
      if (sym.merged_into)
        append_child(sym);
    // Symbols sharing a section with others get a section of their own.
    for (const Symbol &sym : ctx_.patched.symbols)
      if (sym.included && sym.sec && !sym.sec->included && !sym.is_section())
        extracted_[&sym] = &copy_range(*sym.sec, sym.value, sym.size);
  }

  // A .cold part goes into its parent's section at the offset merge_cold_parts() chose
  // (cold_parts.h); the gap is int3, never run.
  void append_child(const Symbol &child) {
    const Section &src = *child.sec;
    Section &dst = *whole_.at(child.merged_into->sec).dst;
    if (dst.data.size() > child.merged_at)
      throw Error(ctx_.patched.where(child) + ": cannot place it at " + hex(child.merged_at) +
                  " in " + dst.name + ", which is " + hex(dst.data.size()) + " bytes long");
    dst.data.resize(child.merged_at, 0xcc);
    dst.data.insert(dst.data.end(), src.data.begin(), src.data.end());
    dst.shdr.sh_size = dst.data.size();
    dst.shdr.sh_addralign = std::max(dst.shdr.sh_addralign, src.shdr.sh_addralign);
    whole_[&src] = {&dst, child.merged_at};
    copies_.push_back({&src, 0, src.size(), &dst, child.merged_at});
  }

  // The distance from a merged child's parent to the child's code.
  static int64_t merged_delta(const Symbol &child) {
    return (int64_t)(child.merged_at + child.value) - (int64_t)child.merged_into->value;
  }

  void copy_symbols() {
    for (const Symbol &sym : ctx_.patched.symbols) {
      if (!sym.included || sym.is_section() || !sym.sec || sym.merged_into)
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
        const Placement &p = whole_.at(sym.sec);
        s.sec = p.dst;
        s.value = sym.value + p.at;
      }
      // A function with merged .cold parts spans them.
      for (const Symbol *child : sym.children)
        if (child->merged_into == &sym)
          s.size = std::max<uint64_t>(s.size, merged_delta(*child) + child->size);
      placed_[&sym] = &out_->add_symbol(std::move(s));
      if (sym.is_func() && sym.status == Status::New && !sym.parent && !sym.prefix_of)
        new_functions_.push_back(sym.name);
    }
  }

  // The output symbol a relocation against `t` (at `site`) must use; `addend` grows by the
  // distance to the code of a merged .cold part.
  Symbol *target_for(const Symbol &t, const Section &site, uint64_t offset, int64_t &addend) {
    if (t.merged_into) {
      addend = wrapping_add(addend, merged_delta(t));
      return placed_.at(t.merged_into);
    }
    if (auto it = placed_.find(&t); it != placed_.end())
      return it->second;
    if (t.is_section()) {
      if (auto it = whole_.find(t.sec); it != whole_.end()) {
        addend = wrapping_add(addend, (int64_t)it->second.at);
        return &out_->section_symbol(*it->second.dst);
      }
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

  // A merged .cold part's relocations join its parent's, shifted to where its code went.
  void copy_relocations() {
    std::vector<Section *> order;
    std::unordered_map<Section *, std::vector<Relocation>> by_dst;
    for (const Copy &c : copies_) {
      if (!c.src->rela)
        continue;
      for (const Relocation &r : c.src->relocations()) {
        if (r.offset < c.start || r.offset >= c.start + c.size)
          continue;
        Relocation n = r;
        n.offset = r.offset - c.start + c.at;
        n.sym = target_for(*r.sym, *c.src, r.offset, n.addend);
        auto [it, fresh] = by_dst.try_emplace(c.dst);
        if (fresh)
          order.push_back(c.dst);
        it->second.push_back(n);
      }
    }
    for (Section *dst : order)
      add_rela(*dst, std::move(by_dst[dst]));
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
  std::unordered_map<const Section *, Placement> whole_;
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
