#include "explain_dir.h"

#include <filesystem>
#include <map>

#include "explain.h"

namespace fs = std::filesystem;

namespace klp {

void write_explain_dir(const std::string &module_path, const std::string &name, const WorkDir &work,
                       const std::string &symvers, const std::vector<ExplainObject> &objects) {
  fs::path final_dir = fs::path(module_path).parent_path() / (name + ".explain");
  fs::path tmp = final_dir;
  tmp += ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  Manifest manifest;
  manifest.patch_name = name;
  fs::copy_file(symvers, tmp / "Module.symvers");
  manifest.symvers = "Module.symvers";
  std::map<std::string, std::string> symtabs;
  for (const ExplainObject &o : objects)
    symtabs[o.target] = fs::absolute(o.symtab).string();
  manifest.symtabs.assign(symtabs.begin(), symtabs.end());
  for (const ExplainObject &o : objects) {
    for (const char *side : {"orig", "patched"}) {
      fs::path dst = tmp / side / o.object;
      fs::create_directories(dst.parent_path());
      fs::copy_file(work.sub(std::string(side) + "/" + o.object), dst);
    }
    manifest.objects.push_back({o.object, o.target, "", ""});
  }
  write_manifest(tmp.string(), manifest);
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
}

} // namespace klp
