#include "diff_units.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "decision.h"
#include "error.h"
#include "target_modules.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

// The kernel's symbols for `target`: a copy of /proc/kallsyms covers vmlinux and loaded
// modules, a module it lacks comes from its file under --modules (decompressed into
// `scratch_dir`); with --vmlinux, modules come from the .ko next to it in the same build tree.
std::string symtab_for(const BuildOptions &o, const ObjectRecord &rec,
                       const std::set<std::string> &kallsyms_mods, const std::string &scratch_dir) {
  if (!o.kallsyms.empty()) {
    if (rec.target == "vmlinux" || o.modules_dir.empty() || kallsyms_mods.count(rec.target))
      return o.kallsyms;
    std::string ko = find_module_file(o.modules_dir, rec.target);
    if (ko.empty())
      throw Error(rec.object + " belongs to module " + rec.target + ", which neither " +
                  o.kallsyms + " nor " + o.modules_dir + " has");
    return uncompressed_module(ko, scratch_dir);
  }
  if (rec.target == "vmlinux")
    return o.vmlinux;
  std::string build = fs::path(o.vmlinux).parent_path().string();
  std::string modpath = module_path_in(build, rec);
  if (modpath.empty())
    throw Error(rec.object + " belongs to module " + rec.target + ", which " + build +
                "/modules.order does not list; pass --kallsyms with the module loaded");
  std::string ko = build + "/" + modpath + ".ko";
  if (!fs::exists(ko))
    throw Error(rec.object + " belongs to module " + rec.target + ", but " + ko +
                " does not exist; pass --kallsyms with the module loaded");
  return ko;
}

// A symbol CRC as genksyms prints it: "0x1a2b3c4d".
std::string hex_crc(uint32_t crc) {
  char buf[16];
  snprintf(buf, sizeof(buf), "0x%08x", crc);
  return buf;
}

// An exported function whose genksyms CRC changes and which the patch replaces has changed its
// interface: modules built against the old one would call it wrongly. A CRC change alone (a new
// #include can make an opaque struct visible to genksyms) does not change code: the module
// keeps the target's CRCs from its Module.symvers, so it is only reported.
void check_export_crcs(const ObjectRecord &orig, const ObjectRecord &patched,
                       const PatchedObject &po, const Reporter &report) {
  for (auto &[name, crc] : patched.crcs) {
    auto it = orig.crcs.find(name);
    if (it == orig.crcs.end() || it->second == crc)
      continue;
    if (std::find(po.changed_functions.begin(), po.changed_functions.end(), name) !=
        po.changed_functions.end()) {
      Decision d;
      d.kind = DecisionKind::ExportCrcChanged;
      d.object = po.object;
      d.symbol = name;
      d.before = hex_crc(it->second);
      d.after = hex_crc(crc);
      throw Unpatchable(std::move(d));
    }
    report.info(po.object + ": CRC of exported '" + name + "' changes (" + hex_crc(it->second) +
                " -> " + hex_crc(crc) +
                ") without a code change; the module keeps the target's CRC");
  }
}

} // namespace

DiffedUnits diff_units(const Inputs &in, const std::vector<ObjectRecord> &patched,
                       const std::map<std::string, ObjectRecord> &orig, const WorkDir &work,
                       const Reporter &report) {
  const BuildOptions &opts = in.opts;
  DiffedUnits out;
  std::vector<std::pair<DiffOptions, const ObjectRecord *>> changed;
  LinkScope scope; // the new globals each object of the module defines
  std::set<std::string> kallsyms_mods;
  if (!opts.kallsyms.empty() && !opts.modules_dir.empty())
    kallsyms_mods = kallsyms_modules(opts.kallsyms);
  for (const ObjectRecord &rec : patched) {
    DiffOptions d;
    d.orig_path = work.sub("orig/" + rec.object);
    d.patched_path = work.sub("patched/" + rec.object);
    d.target = rec.target;
    d.symtab_path = symtab_for(opts, rec, kallsyms_mods, work.sub("target-modules"));
    d.symvers_path = in.symvers;
    d.patch_name = in.module_name;
    out.explained.push_back({rec.object, rec.target, d.symtab_path});
    auto session = analyze(d);
    if (session->refusal)
      throw Unpatchable(*session->refusal);
    if (!session->has_changes)
      continue;
    for (const std::string &w : session->ctx->warnings)
      report.info("warning: " + w);
    add_module_globals(scope, *session->patched);
    changed.emplace_back(std::move(d), &rec);
    out.sessions.push_back({std::move(session), {}});
  }
  // Write each object's part; a new global defined in one object is the module's own symbol
  // in the others.
  for (size_t i = 0; i < changed.size(); i++) {
    auto &[d, rec] = changed[i];
    d.link_scope = scope;
    std::string path = work.sub("diff/" + rec->object);
    fs::create_directories(fs::path(path).parent_path());
    Output o = write_patch(*out.sessions[i].session, d, path);
    PatchedObject po{rec->object, rec->target, {}, o.new_functions};
    for (const PatchedFunction &f : o.functions)
      po.changed_functions.push_back(f.name);
    check_export_crcs(orig.at(rec->object), *rec, po, report);
    out.objects.push_back(po);
    out.outputs.push_back(path);
    out.sessions[i].functions = o.functions;
  }
  if (out.outputs.empty())
    throw NoChange("the patches change nothing that needs a livepatch");
  return out;
}

} // namespace klp
