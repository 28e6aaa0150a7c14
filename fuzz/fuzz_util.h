// What the libFuzzer targets share: the input as a file (the readers take paths), the data files
// a target keeps fixed (fuzz/seeds.sh writes them), and the one rule of every target: a reader may
// refuse an input only with klp::Error (or klp::Unpatchable for the differ); anything else it
// throws, and every sanitizer report, is a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace klp::fuzz {

// The fuzzer's input as a regular file (a memfd, reused by every run); returns its path.
const std::string &as_file(const uint8_t *data, size_t size);

// A file under the fixed-data directory: $KLP_FUZZ_DATA, else the one the build configured.
std::string fixed_file(const std::string &name);

} // namespace klp::fuzz
