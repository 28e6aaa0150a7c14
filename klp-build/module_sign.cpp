#include "module_sign.h"

#include <filesystem>

#include "error.h"
#include "kbuild.h"
#include "kconfig.h"
#include "process.h"

namespace fs = std::filesystem;

namespace klp {

std::optional<ModuleSignature> read_module_signature(std::string_view file,
                                                     const std::string &where) {
  constexpr size_t kInfo = 12; // sizeof(struct module_signature)
  if (file.size() < kModuleSigMarker.size() ||
      file.substr(file.size() - kModuleSigMarker.size()) != kModuleSigMarker)
    return std::nullopt;
  size_t end = file.size() - kModuleSigMarker.size();
  if (end < kInfo)
    throw Error(where + ": signature marker without its module_signature");
  const auto *info = reinterpret_cast<const unsigned char *>(file.data() + end - kInfo);
  ModuleSignature s;
  s.id_type = info[2];
  s.sig_len = uint32_t(info[8]) << 24 | uint32_t(info[9]) << 16 | uint32_t(info[10]) << 8 |
              uint32_t(info[11]);
  if (s.sig_len == 0 || s.sig_len > end - kInfo)
    throw Error(where + ": signature length " + std::to_string(s.sig_len) +
                " does not fit in the file");
  s.signed_len = end - kInfo - s.sig_len;
  return s;
}

std::string sign_module(const std::string &module, const std::string &kbuild_dir,
                        const std::string &key, const std::string &cert) {
  std::string sign_file = kbuild_dir + "/scripts/sign-file";
  if (!fs::exists(sign_file))
    throw Error(sign_file + ": missing; the build tree cannot sign modules");
  std::string hash;
  if (fs::exists(kbuild_dir + "/.config"))
    hash = KernelConfig(kbuild_dir + "/.config").get("MODULE_SIG_HASH");
  if (hash.empty())
    hash = "sha256";
  run_checked({{sign_file, hash, key, cert, module}, "", {}}, "signing " + module);
  std::string bytes = read_text_file(module);
  std::optional<ModuleSignature> s = read_module_signature(bytes, module);
  if (!s || s->id_type != 2)
    throw Error(module + ": " + sign_file + " left no PKCS#7 signature");
  return hash;
}

} // namespace klp
