// klp-diff's JSON reports (docs/klp-diff-json.md) are nlohmann-json ordered objects: the keys
// in the order the schema documents, one layout for all of them so that reports diff well.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

namespace klp {

constexpr int kJsonSchemaVersion = 1;

// Writes `j` as every klp-diff report is written: two-space indentation, one value per line,
// invalid UTF-8 (in a symbol or a string literal) replaced rather than refused.
void write_json(const nlohmann::ordered_json &j, std::ostream &out);

} // namespace klp
