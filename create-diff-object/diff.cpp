#include "diff.h"

#include "bundle.h"
#include "cold_parts.h"
#include "compare.h"
#include "correlate.h"
#include "directives.h"
#include "elf_writer.h"
#include "include.h"
#include "input_file.h"
#include "special_sections.h"
#include "verify.h"

namespace klp {

namespace {

std::vector<std::string> summarize(const Object &patched) {
  std::vector<std::string> lines;
  for (const Section &sec : patched.sections)
    if (sec.included && is_directive_section(sec.name))
      lines.push_back("directive: " + sec.name);
  for (const Symbol &sym : patched.symbols) {
    if (!sym.is_func() || !sym.included)
      continue;
    if (needs_klp_func(sym))
      lines.push_back("changed function: " + sym.name);
    else if (sym.status == Status::New && !sym.prefix_of)
      lines.push_back("new function: " + sym.name);
  }
  return lines;
}

// --debug: how each function and data symbol was paired, or that it has no twin (new).
void log_correlation(DiffContext &ctx) {
  if (!ctx.debug)
    return;
  for (const Symbol &p : ctx.patched.symbols) {
    if (!p.is_func() && !p.is_object())
      continue;
    std::string line = "correlate: " + ctx.patched.path + ":" + p.name;
    if (!p.twin)
      ctx.log(line + " has no twin in " + ctx.orig.path + " (new)");
    else
      ctx.log(line + " = " + ctx.orig.path + ":" + p.twin->name +
              (p.twin->name == p.name ? " (by name)" : " (by correlation key)"));
  }
}

// The passes, in order; a refusal (Unpatchable) stops them.
void run_passes(DiffSession *s, const DiffOptions &opts) {
  // Read both objects, the target's symbols and its exports.
  s->orig = Object::load(opts.orig_path);
  s->patched = Object::load(opts.patched_path);
  if (!opts.symvers_path.empty())
    s->symvers = std::make_unique<Symvers>(Symvers::open_lazily(opts.symvers_path));
  // Read only if a reference needs a sympos: most objects of a tree have no change at all.
  if (!opts.symtab_path.empty()) {
    check_regular_file(opts.symtab_path); // a FIFO would block in the loader's open
    s->symtab =
        std::make_unique<TargetSymtab>(TargetSymtab::open_lazily(opts.symtab_path, opts.target));
  }
  s->ctx = std::make_unique<DiffContext>(DiffContext{*s->orig, *s->patched, opts.debug, {}, {}});
  DiffContext &ctx = *s->ctx;

  // Bundle sections with their symbols and name relocation targets by symbol.
  cook(*s->orig);
  cook(*s->patched);
  // Pair every section and symbol with its twin.
  correlate(*s->orig, *s->patched);
  log_correlation(ctx);
  // Decide what changed, minus what the author asked to leave alone.
  compare(ctx);
  apply_ignore_directives(ctx);
  // Refuse data and __init changes before doing more work.
  refuse_unpatchable_changes(ctx);
  // Take changed functions and what they need.
  include_changed_functions(ctx);
  include_directive_sections(ctx);
  include_references(ctx);
  // Keep the special-section entries of included functions, then what those entries need.
  SpecialSectionOptions special;
  // Jump labels and static calls are resolved when the module loads, before livepatch
  // relocations to a module are; a key the patch carries itself is fine.
  special.key_in_module = [&](const Symbol &key) {
    if (opts.target == "vmlinux" || !stays_in_kernel(key))
      return false;
    const Symbol &k = key.twin ? *key.twin : key;
    const Export *e = s->symvers ? s->symvers->find(k.name) : nullptr;
    return !k.is_undefined() || (e && !e->in_vmlinux());
  };
  special.key_module_name = [&](const Symbol &key) {
    const Symbol &k = key.twin ? *key.twin : key;
    const Export *e = s->symvers ? s->symvers->find(k.name) : nullptr;
    return e ? e->objname() : opts.target;
  };
  special.log = [&](const std::string &line) { ctx.log(line); };
  special.warn = [&](const std::string &line) { ctx.warn(line); };
  include_special_sections(*s->patched, special);
  include_references(ctx);
  // Refuse functions ftrace cannot redirect.
  refuse_unpatchable_functions(ctx);
  // Hold each included .cold part inside its function.
  if (opts.cold_parts_inside)
    merge_cold_parts(ctx);

  s->summary = summarize(*s->patched);
  s->has_changes = !s->summary.empty();
}

} // namespace

std::unique_ptr<DiffSession> analyze(const DiffOptions &opts) {
  auto s = std::make_unique<DiffSession>();
  try {
    run_passes(s.get(), opts);
  } catch (const Unpatchable &e) {
    if (!s->ctx) // only the passes refuse, after both objects are read
      throw;
    s->refusal = e.decision();
  }
  return s;
}

Output write_patch(DiffSession &s, const DiffOptions &opts, const std::string &path) {
  // Every name the resolver may look up, its neighbours included, is one of the two objects'
  // symbols: the target's table, not read yet, then keeps only their entries.
  if (s.symtab) {
    std::vector<std::string> names;
    names.reserve(s.orig->symbols.size() + s.patched->symbols.size());
    for (const Object *o : {s.orig.get(), s.patched.get()})
      for (const Symbol &sym : o->symbols)
        if (!sym.name.empty() && sym.type != STT_SECTION && sym.type != STT_FILE)
          names.push_back(sym.name);
    s.symtab->expect_lookups(names);
  }
  ReferenceResolver resolver(opts.target, s.symvers.get(), s.symtab.get(), *s.orig,
                             &opts.link_scope, [&](const std::string &l) { s.ctx->log(l); });
  Output out = build_output(*s.ctx, resolver, path);
  write_object(*out.object, path);
  return out;
}

} // namespace klp
