// SHA-256 (OpenSSL's libcrypto), for the inputs the reviewer's page names: a patch file's digest
// lets the reader check that the page describes the patch they hold.
#pragma once

#include <string>
#include <string_view>

namespace klp {

// Lower-case hex digest of `data`.
std::string sha256_hex(std::string_view data);

} // namespace klp
