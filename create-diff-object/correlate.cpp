#include "correlate.h"

#include <algorithm>
#include <map>

#include "names.h"

namespace klp {

bool is_special_static(const Symbol &sym) {
  if (!sym.is_local() || !sym.is_object() || !sym.sec)
    return false;
  return is_special_static_name(sym.name) || is_special_static_section(sym.sec->name);
}

namespace {

// A function-local static: a local object whose name carries GCC's ".N" numbering.
bool is_numbered_static_local(const Symbol &sym) {
  return sym.is_local() && sym.is_object() && sym.sec && !static_local_base(sym.name).empty();
}

// Symbols that take part in correlation at all.
bool correlatable(const Symbol &sym) {
  if (sym.is_section() || is_special_static(sym) || sym.prefix_of)
    return false;
  return !sym.name.empty();
}

void pair(Symbol &a, Symbol &b) {
  a.twin = &b;
  b.twin = &a;
}

void pair(Section &a, Section &b) {
  a.twin = &b;
  b.twin = &a;
}

bool same_kind(const Symbol &a, const Symbol &b) {
  return a.type == b.type && a.is_local() == b.is_local() && a.is_undefined() == b.is_undefined();
}

// Round 1: exact names.
void correlate_by_name(Object &orig, Object &patched) {
  for (Symbol &p : patched.symbols) {
    if (p.twin || !correlatable(p) || is_numbered_static_local(p))
      continue;
    for (Symbol *o : orig.symbols_named(p.name)) {
      if (!o->twin && correlatable(*o) && same_kind(*o, p)) {
        pair(*o, p);
        break;
      }
    }
  }
}

} // namespace

// For each function, the numbered statics it references, grouped by base name, in the order of
// their first reference. GCC emits a function's code in the same order in both builds, so the
// k-th `symbols.N` a trace event's output function uses in one build is the k-th in the other.
using StaticUse = std::unordered_map<const Symbol *, std::map<std::string, std::vector<Symbol *>>>;

namespace {

StaticUse statics_by_function(Object &obj) {
  StaticUse use;
  for (Symbol &fn : obj.symbols) {
    if (!fn.is_func() || !fn.sec)
      continue;
    bool whole = fn.sec->bundled == &fn;
    for (const Relocation &r : fn.sec->relocations()) {
      if (!whole && (r.offset < fn.value || r.offset >= fn.value + fn.size))
        continue;
      if (!is_numbered_static_local(*r.sym) || is_special_static(*r.sym))
        continue;
      auto &group = use[&fn][correlation_key(static_local_base(r.sym->name))];
      if (std::find(group.begin(), group.end(), r.sym) == group.end())
        group.push_back(r.sym);
    }
  }
  return use;
}

// Round 2: function-local statics, by the functions that use them.
void correlate_static_locals(Object &orig, Object &patched) {
  StaticUse orig_use = statics_by_function(orig), patched_use = statics_by_function(patched);
  // The candidate each user of a patched static proposes; all users must agree.
  std::unordered_map<Symbol *, Symbol *> proposal;
  std::unordered_map<Symbol *, bool> conflict;
  for (auto &[fn, groups] : patched_use) {
    if (!fn->twin)
      continue;
    auto ofn = orig_use.find(fn->twin);
    for (auto &[base, statics] : groups) {
      const std::vector<Symbol *> *ostatics = nullptr;
      if (ofn != orig_use.end())
        if (auto it = ofn->second.find(base); it != ofn->second.end())
          ostatics = &it->second;
      // The patch added or removed a same-named static in this function: positions mean nothing.
      if (!ostatics || ostatics->size() != statics.size())
        continue;
      for (size_t k = 0; k < statics.size(); k++) {
        auto [it, fresh] = proposal.emplace(statics[k], (*ostatics)[k]);
        if (!fresh && it->second != (*ostatics)[k])
          conflict[statics[k]] = true;
      }
    }
  }
  for (Symbol &p : patched.symbols) {
    auto it = proposal.find(&p);
    if (it == proposal.end() || conflict[&p] || p.twin || it->second->twin)
      continue;
    if (same_kind(*it->second, p))
      pair(*it->second, p);
  }
}

// Round 3: names equal once compiler numbering is removed, when unambiguous.
void correlate_by_key(Object &orig, Object &patched) {
  std::map<std::pair<std::string, uint8_t>, std::vector<Symbol *>> orig_by_key, patched_by_key;
  for (Symbol &o : orig.symbols)
    if (!o.twin && correlatable(o))
      orig_by_key[{correlation_key(o.name), o.type}].push_back(&o);
  for (Symbol &p : patched.symbols)
    if (!p.twin && correlatable(p))
      patched_by_key[{correlation_key(p.name), p.type}].push_back(&p);
  for (auto &[key, ps] : patched_by_key) {
    auto it = orig_by_key.find(key);
    if (it == orig_by_key.end())
      continue;
    std::vector<Symbol *> &os = it->second;
    if (ps.size() == 1 && os.size() == 1 && same_kind(*os[0], *ps[0]))
      pair(*os[0], *ps[0]);
  }
}

void correlate_sections(Object &orig, Object &patched) {
  // Bundled sections follow their symbols.
  for (Section &p : patched.sections)
    if (p.bundled && p.bundled->twin && p.bundled->twin->sec && p.bundled->twin->sec->bundled &&
        !p.bundled->twin->sec->twin)
      pair(*p.bundled->twin->sec, p);
  // Others pair by name, then by key; a bundled section never pairs with an unbundled one.
  std::unordered_map<std::string, std::vector<Section *>> orig_by_key;
  for (Section &o : orig.sections)
    if (!o.twin && !o.is_rela())
      orig_by_key[correlation_key(o.name)].push_back(&o);
  for (Section &p : patched.sections) {
    if (p.twin || p.is_rela() || p.bundled || is_ubsan_data_section(p.name))
      continue;
    Section *o = orig.find_section(p.name);
    if (o && !o->twin && !o->bundled && o->type() == p.type()) {
      pair(*o, p);
      continue;
    }
    auto it = orig_by_key.find(correlation_key(p.name));
    if (it == orig_by_key.end())
      continue;
    std::vector<Section *> free;
    for (Section *c : it->second)
      if (!c->twin && !c->bundled && c->type() == p.type())
        free.push_back(c);
    if (free.size() == 1)
      pair(*free[0], p);
  }
  // Relocation sections follow the sections they apply to, section symbols their sections.
  for (Section &p : patched.sections) {
    if (p.is_rela() && p.base && p.base->twin && p.base->rela == &p && p.base->twin->rela)
      pair(*p.base->twin->rela, p);
    if (p.twin && p.secsym && p.twin->secsym)
      pair(*p.twin->secsym, *p.secsym);
  }
}

// Round 4: numbered statics no function ties down (referenced only from data, or not at all)
// keep their exact name when nothing else claimed it.
void correlate_untied_statics(Object &orig, Object &patched) {
  for (Symbol &p : patched.symbols) {
    if (p.twin || !is_numbered_static_local(p) || is_special_static(p))
      continue;
    for (Symbol *o : orig.symbols_named(p.name))
      if (!o->twin && same_kind(*o, p) && !is_special_static(*o)) {
        pair(*o, p);
        break;
      }
  }
}

// Round 5: a function's padding prefix (__pfx_foo.isra.2) is its function's, whatever its name.
void correlate_prefixes(Object &patched) {
  for (Symbol &p : patched.symbols)
    if (p.prefix && p.twin && p.twin->prefix)
      pair(*p.twin->prefix, *p.prefix);
}

} // namespace

void correlate(Object &orig, Object &patched) {
  correlate_by_name(orig, patched);
  correlate_static_locals(orig, patched);
  correlate_by_key(orig, patched);
  correlate_untied_statics(orig, patched);
  correlate_prefixes(patched);
  correlate_sections(orig, patched);
}

} // namespace klp
