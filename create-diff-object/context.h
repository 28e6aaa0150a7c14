// State shared by the passes of one diff: the two objects, the options that steer the passes,
// and the record of every decision (for --debug and for klp-diff --explain).
#pragma once

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "decision.h"
#include "object.h"

namespace klp {

struct DiffContext {
  Object &orig;
  Object &patched;
  std::ostream *debug = nullptr; // --debug: one line per decision
  // Why each symbol has its verdict, in the order found; keyed by the symbol (of the patched
  // object, or the original's for the original-only ones).
  std::map<const Symbol *, std::vector<Decision>> decisions;
  std::vector<std::string> warnings; // shown by the CLIs, one line each

  // Records a note about `sym` (of the patched object) and logs it for --debug.
  void note(const Symbol &sym, DecisionKind kind, std::vector<std::string> related = {},
            std::string detail = {}) {
    Decision d = about(kind, patched, sym);
    d.related = std::move(related);
    d.detail = std::move(detail);
    note(sym, std::move(d));
  }
  void note(const Symbol &sym, Decision d) {
    if (debug)
      *debug << patched.path << ": " << sym.name << ": " << describe(d) << "\n";
    decisions[&sym].push_back(std::move(d));
  }
  // The notes about `sym`, none if it has none.
  const std::vector<Decision> &notes(const Symbol &sym) const {
    static const std::vector<Decision> none;
    auto it = decisions.find(&sym);
    return it == decisions.end() ? none : it->second;
  }
  void warn(const std::string &line) {
    warnings.push_back(line);
    log("warning: " + line);
  }
  void log(const std::string &line) {
    if (debug)
      *debug << line << "\n";
  }
};

} // namespace klp
