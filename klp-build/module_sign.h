// Module signing for kernels that enforce signatures (MODULE_SIG_FORCE, lockdown): the target's
// own scripts/sign-file appends a PKCS#7 signature made with a given key. Without a key, the
// module stays unsigned; a kernel with MODULE_SIG but not MODULE_SIG_FORCE (Debian's) loads it
// and taints itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace klp {

// The signature appendix of a module file: struct module_signature and the marker
// "~Module signature appended~\n" at the very end, the signature before them.
struct ModuleSignature {
  uint8_t id_type = 0;   // 2: PKCS#7
  uint32_t sig_len = 0;  // bytes of the signature
  size_t signed_len = 0; // the bytes it covers: the module without the appendix
};
constexpr std::string_view kModuleSigMarker = "~Module signature appended~\n";

// The appendix of `file` (a module's bytes), nullopt if it has none; throws Error naming
// `where` for an appendix whose lengths do not fit in the file.
std::optional<ModuleSignature> read_module_signature(std::string_view file,
                                                     const std::string &where);

// Signs `module` in place with `kbuild_dir`/scripts/sign-file, the hash the build tree's
// config names (CONFIG_MODULE_SIG_HASH, else sha256), `key` (PEM or PKCS#11 URI) and `cert`
// (PEM or DER X.509). Returns the hash used. Throws Error if sign-file fails or leaves no
// PKCS#7 appendix.
std::string sign_module(const std::string &module, const std::string &kbuild_dir,
                        const std::string &key, const std::string &cert);

} // namespace klp
