#include "target_modules.h"

#include <filesystem>
#include <fstream>

#include "elf_writer.h"
#include "error.h"
#include "kbuild.h"
#include "vmlinuz.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

constexpr std::string_view kModuleSuffixes[] = {".ko", ".ko.xz", ".ko.zst", ".ko.gz"};

} // namespace

std::string find_module_file(const std::string &modules_dir, const std::string &modname) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(modules_dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    for (std::string_view e : kModuleSuffixes)
      if (name.ends_with(e) && module_name_of(name.substr(0, name.size() - e.size())) == modname)
        return it->path().string();
  }
  return "";
}

std::string uncompressed_module(const std::string &path, const std::string &scratch_dir) {
  if (path.ends_with(".ko"))
    return path;
  std::string name = fs::path(path).filename().string();
  std::string out = scratch_dir + "/" + name.substr(0, name.rfind(".ko") + 3);
  if (fs::exists(out))
    return out;
  KernelImage image = read_kernel_image(path); // decompresses; must be an ELF
  fs::create_directories(scratch_dir);
  write_file_atomically(
      out, std::string_view(reinterpret_cast<const char *>(image.elf.data()), image.elf.size()));
  return out;
}

std::set<std::string> kallsyms_modules(const std::string &kallsyms_path) {
  std::ifstream in(kallsyms_path);
  if (!in)
    throw Error(kallsyms_path + ": cannot read");
  std::set<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.back() != ']')
      continue;
    size_t open = line.rfind('[');
    if (open != std::string::npos)
      out.insert(line.substr(open + 1, line.size() - open - 2));
  }
  return out;
}

} // namespace klp
