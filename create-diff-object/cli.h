// What the three command-line tools (create-diff-object, klp-diff, klp-build) do alike with
// CLI11: only their `main`s include this.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

#include "error.h"

namespace klp {

// Parses the command line. --help and --version print and give exit status 0; a usage error is
// printed by CLI11 and gives kExitError. nullopt: parsed, go on.
inline std::optional<int> parse_command_line(CLI::App &app, int argc, char **argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : kExitError;
  }
  return std::nullopt;
}

} // namespace klp
