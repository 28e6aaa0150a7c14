// The signature appendix klp-build checks after --sign-key: what scripts/sign-file appends.
#include <gtest/gtest.h>

#include "error.h"
#include "module_sign.h"

using namespace klp;

namespace {

// module bytes + signature + struct module_signature (PKCS#7, big-endian length) + marker.
std::string signed_file(const std::string &module, const std::string &sig, uint8_t id_type = 2,
                        uint32_t sig_len = 0) {
  if (!sig_len)
    sig_len = sig.size();
  std::string info(12, '\0');
  info[2] = char(id_type);
  info[8] = char(sig_len >> 24);
  info[9] = char(sig_len >> 16);
  info[10] = char(sig_len >> 8);
  info[11] = char(sig_len);
  return module + sig + info + std::string(kModuleSigMarker);
}

} // namespace

TEST(ModuleSign, ReadsTheAppendix) {
  std::string module = "\x7f"
                       "ELF module bytes";
  std::string sig(300, 'S');
  auto s = read_module_signature(signed_file(module, sig), "m.ko");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->id_type, 2);
  EXPECT_EQ(s->sig_len, 300u);
  EXPECT_EQ(s->signed_len, module.size());
}

TEST(ModuleSign, AnUnsignedModuleHasNone) {
  EXPECT_FALSE(read_module_signature("\x7f"
                                     "ELF module bytes",
                                     "m.ko"));
  EXPECT_FALSE(read_module_signature("", "m.ko"));
}

TEST(ModuleSign, ALengthBeyondTheFileIsAnError) {
  try {
    read_module_signature(signed_file("mod", "sig", 2, 1000), "m.ko");
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()), "m.ko: signature length 1000 does not fit in the file");
  }
  EXPECT_THROW(read_module_signature(std::string(kModuleSigMarker), "m.ko"), Error);
}
