#include "replay.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "elf_file.h"
#include "error.h"
#include "kconfig.h"
#include "parallel.h"
#include "process.h"

namespace fs = std::filesystem;

namespace klp {

namespace {

// kbuild's make-cmd escapes "$" as "$$" (so make leaves it alone when it reads the record back)
// and then "#" as "$(pound)" (so it does not start a comment).
std::string unescape_make(std::string_view s) {
  static constexpr std::string_view kPound = "$(pound)";
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      i++;
    } else if (s.substr(i, kPound.size()) == kPound) {
      out += '#';
      i += kPound.size() - 1;
    } else {
      out += s[i];
    }
  }
  return out;
}

} // namespace

std::string recorded_command(const std::string &record_text, const std::string &object) {
  // kbuild names the variable savedcmd_<target> from 6.3 on (cmd_<target> before).
  std::istringstream in(record_text);
  std::string line;
  while (std::getline(in, line))
    for (const char *prefix : {"cmd_", "savedcmd_"}) {
      std::string head = prefix + object + " := ";
      if (line.starts_with(head))
        return unescape_make(std::string_view(line).substr(head.size()));
    }
  return "";
}

namespace {

// kbuild 5.19+ appends "#SYMVER <name> <crc>" lines for each symbol the object exports, which
// genksyms computes after the compile (cmd_gen_symversions_c).
bool has_genksyms_lines(const std::string &record_text) {
  return record_text.find("\n#SYMVER ") != std::string::npos;
}

// With -pg alone the compiler emits mcount calls but no table of them; kbuild's rule then runs
// scripts/recordmcount on the object (CONFIG_FTRACE_MCOUNT_USE_RECORDMCOUNT, and before 5.11
// every config without CC_USING_RECORD_MCOUNT). GCC's -mrecord-mcount, or objtool --mcount in
// the recorded command, make the table part of the command.
bool needs_recordmcount(const std::string &command) {
  return command.find(" -pg ") != std::string::npos &&
         command.find(" -mrecord-mcount") == std::string::npos &&
         command.find(" --mcount") == std::string::npos;
}

// From 5.19 on objtool runs in the object's command (cmd_cc_o_c ends in "; objtool ...");
// before, it is a separate step of the rule (cmd_objtool), and ORC data or retpoline sites
// would be missing from a replayed object.
bool lacks_objtool_run(const std::string &command, bool objtool_config) {
  return objtool_config && command.find("objtool") == std::string::npos;
}

} // namespace

bool is_replayable(const std::string &record_text, const std::string &object, bool objtool_config) {
  std::string command = recorded_command(record_text, object);
  return !command.empty() && !has_genksyms_lines(record_text) && !needs_recordmcount(command) &&
         !lacks_objtool_run(command, objtool_config);
}

bool exports_symbols(const std::string &path) {
  ElfFile elf(path);
  for (size_t i = 1; i < elf.symbol_count(); i++)
    if (elf.symbol_name(elf.symbol(i)).find("__ksymtab") != std::string_view::npos)
      return true;
  return false;
}

namespace {

// kbuild's depfile for "fs/proc/cmdline.o": "fs/proc/.cmdline.o.d"; make's fixdep turns it into
// the record and removes it, so a replay removes it too.
std::string depfile_of(const std::string &object) {
  fs::path p(object);
  return (p.parent_path() / ("." + p.filename().string() + ".d")).string();
}

// Makefile.lib's delay-objtool: objtool runs with --link on vmlinux.o and on each module's
// linked object, and kbuild leaves it out of the units' compiles.
bool config_delays_objtool(const KernelConfig &config) {
  return config.enabled("X86_KERNEL_IBT") || config.enabled("LTO_CLANG");
}

} // namespace

bool config_runs_objtool(const KernelConfig &config) {
  return (config.enabled("OBJTOOL") || config.enabled("STACK_VALIDATION")) &&
         !config_delays_objtool(config);
}

std::vector<std::string> replay_objects(const KbuildTree &tree,
                                        const std::vector<std::string> &objects) {
  bool objtool = config_runs_objtool(KernelConfig(tree.objtree + "/.config"));
  std::vector<std::string> replay, need_make;
  std::vector<std::string> commands;
  for (const std::string &o : objects) {
    std::string text = read_text_file(record_path(tree.objtree, o));
    if (is_replayable(text, o, objtool)) {
      replay.push_back(o);
      commands.push_back(recorded_command(text, o));
    } else {
      need_make.push_back(o);
    }
  }

  parallel_for(replay.size(), (unsigned)std::max(tree.jobs, 1), [&](size_t i) {
    // The command is kbuild's own record of what make ran for this object.
    run_checked({{"/bin/sh", "-c", commands[i]}, tree.objtree, {}}, "compiling " + replay[i]);
    fs::remove(tree.objtree + "/" + depfile_of(replay[i]));
  });

  // An object that now exports symbols needs genksyms and kbuild's export checks: make must
  // build it again, which it does only without the object (its command has not changed).
  for (const std::string &o : replay)
    if (exports_symbols(tree.objtree + "/" + o)) {
      fs::remove(tree.objtree + "/" + o);
      need_make.push_back(o);
    }
  return need_make;
}

} // namespace klp
