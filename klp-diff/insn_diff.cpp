#include "insn_diff.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "correlate.h"
#include "disasm.h"
#include "line_macro.h"
#include "names.h"

namespace klp {

CodeRange code_range(const Symbol &fn) {
  if (!fn.sec)
    return {};
  if (fn.sec->bundled == &fn)
    return {fn.sec, 0, fn.sec->size()};
  return {fn.sec, fn.value, fn.size};
}

namespace {

// Alignment gives up (and shows the differing middle as removed and added) above this many
// cells, about 100 MB of table.
constexpr size_t kMaxLcsCells = 25'000'000;
constexpr size_t kMaxStringShown = 40;

// A C literal for the string at `offset` of a string section.
std::string quoted_string(const Section &sec, int64_t offset) {
  if (offset < 0 || (uint64_t)offset >= sec.data.size())
    return sec.name + "+" + hex((uint64_t)offset);
  const char *p = (const char *)sec.data.data() + offset;
  size_t n = strnlen(p, sec.data.size() - offset);
  std::string s = "\"";
  for (size_t i = 0; i < n && i < kMaxStringShown; i++) {
    unsigned char c = p[i];
    if (c == '\n')
      s += "\\n";
    else if (c == '\t')
      s += "\\t";
    else if (c == '"' || c == '\\')
      s += std::string("\\") + (char)c;
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    } else
      s += (char)c;
  }
  if (n > kMaxStringShown)
    s += "...";
  return s + "\"";
}

// A relocation of the function, with the raw relocation it came from.
struct FunctionReloc {
  const Relocation *rel;
  uint64_t offset; // from the start of the function
};

// One function decoded and printed twice: for display, and as the key alignment compares.
struct Listing {
  std::vector<Insn> insns;
  std::vector<std::string> display, key;
  std::vector<std::optional<uint64_t>> local_target; // unrelocated direct branch targets
  std::unordered_map<uint64_t, size_t> by_offset;
};

// The name a relocation target is compared under (see insn_diff.h).
std::string key_name(const Symbol &t, bool orig_side) {
  if (is_special_static(t))
    return correlation_key(t.name);
  if (orig_side)
    return t.twin ? t.twin->name : "<orig>" + t.name;
  bool changed = t.is_section() ? t.sec && t.sec->status == Status::Changed
                                : t.is_object() && t.status == Status::Changed;
  return changed ? t.name + "<changed>" : t.name;
}

// String literals compare by content (compare.h), so a changed string section is no change.
bool changed_data(const Symbol &t) {
  if (t.is_section())
    return t.sec && !t.sec->is_text() && !t.sec->is_string() && t.sec->status == Status::Changed;
  return t.is_object() && t.status == Status::Changed;
}

// The relocation an operand field is printed from, found the way reloc_symbolizer finds it.
const FunctionReloc *reloc_for(const std::vector<FunctionReloc> &relocs, const OperandField &f) {
  const FunctionReloc *found = nullptr;
  if (auto off = f.field_offset()) {
    for (const FunctionReloc &r : relocs)
      if (r.offset >= *off && r.offset < *off + f.range.size)
        found = &r;
    return found;
  }
  unsigned n = 0;
  for (const FunctionReloc &r : relocs)
    if (r.offset >= f.insn_offset && r.offset < f.insn_offset + f.insn_size) {
      found = &r;
      n++;
    }
  return n == 1 ? found : nullptr;
}

// reloc_symbolizer over `named`, except that string literals print by content and, when
// `mask_local`, unrelocated branch targets print as "." (alignment ignores them at first).
SymbolizeFn symbolizer(const std::vector<FunctionReloc> &relocs,
                       const std::vector<CodeReloc> &named, bool mask_local) {
  SymbolizeFn inner = reloc_symbolizer(named);
  return [&relocs, inner, mask_local](const OperandField &f) -> std::optional<std::string> {
    const FunctionReloc *r = reloc_for(relocs, f);
    if (r && r->rel->sym->is_section() && r->rel->sym->sec && r->rel->sym->sec->is_string()) {
      int64_t target = r->rel->addend;
      if (reloc_is_pc_relative(r->rel->type))
        target += (int64_t)(f.insn_offset + f.insn_size - r->offset);
      return quoted_string(*r->rel->sym->sec, target);
    }
    std::optional<std::string> s = inner(f);
    if (!s && mask_local && f.kind == OperandField::Kind::kBranchTarget)
      return std::string(".");
    return s;
  };
}

Listing list_function(const Symbol &fn, bool orig_side) {
  Listing l;
  CodeRange range = code_range(fn);
  if (!range.sec || range.sec->type() == SHT_NOBITS ||
      range.start + range.size > range.sec->data.size())
    return l;
  std::vector<FunctionReloc> relocs;
  for (const Relocation &r : range.sec->relocations())
    if (r.offset >= range.start && r.offset < range.start + range.size)
      relocs.push_back({&r, r.offset - range.start});
  std::sort(relocs.begin(), relocs.end(),
            [](const FunctionReloc &a, const FunctionReloc &b) { return a.offset < b.offset; });
  std::deque<std::string> names; // CodeReloc::target views into these
  std::vector<CodeReloc> shown, keyed;
  for (const FunctionReloc &r : relocs) {
    const Symbol &t = *r.rel->sym;
    names.push_back(t.name);
    shown.push_back({r.offset, r.rel->type, names.back(), r.rel->addend});
    names.push_back(key_name(t, orig_side));
    keyed.push_back({r.offset, r.rel->type, names.back(), r.rel->addend});
  }
  SymbolizeFn show = symbolizer(relocs, shown, false), key = symbolizer(relocs, keyed, true);
  const Disassembler &dis = Disassembler::shared();
  std::span<const uint8_t> code(range.sec->data.data() + range.start, range.size);
  l.insns = dis.decode(code, 0);
  for (size_t i = 0; i < l.insns.size(); i++) {
    const Insn &insn = l.insns[i];
    l.by_offset[insn.offset] = i;
    std::string text = dis.print(insn, show);
    bool relocated = false;
    std::string changed;
    for (const FunctionReloc &r : relocs)
      if (r.offset >= insn.offset && r.offset < insn.end()) {
        relocated = true;
        if (!orig_side && changed_data(*r.rel->sym))
          changed += (changed.empty() ? "" : ", ") + r.rel->sym->name;
      }
    if (!changed.empty())
      text += "  # changed data: " + changed;
    l.display.push_back(text);
    l.key.push_back(dis.print(insn, key));
    l.local_target.push_back(insn.branch_target && !relocated ? insn.branch_target : std::nullopt);
  }
  return l;
}

// Matched (orig index, patched index) pairs of a longest common subsequence of the keys.
std::vector<std::pair<size_t, size_t>> align(const std::vector<std::string> &a,
                                             const std::vector<std::string> &b) {
  std::vector<std::pair<size_t, size_t>> pairs;
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre])
    pre++;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    suf++;
  for (size_t i = 0; i < pre; i++)
    pairs.push_back({i, i});
  size_t n = a.size() - pre - suf, m = b.size() - pre - suf;
  if (n && m && (n + 1) * (m + 1) <= kMaxLcsCells) {
    // lcs[i][j]: length of the LCS of a[pre+i..] and b[pre+j..].
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t & { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        at(i, j) =
            a[pre + i] == b[pre + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    size_t i = 0, j = 0;
    while (i < n && j < m) {
      if (a[pre + i] == b[pre + j]) {
        pairs.push_back({pre + i, pre + j});
        i++, j++;
      } else if (at(i + 1, j) >= at(i, j + 1)) {
        i++;
      } else {
        j++;
      }
    }
  }
  for (size_t k = suf; k > 0; k--)
    pairs.push_back({a.size() - k, b.size() - k});
  return pairs;
}

// Drops matched jumps whose targets do not correspond under the alignment.
void check_branches(const Listing &o, const Listing &p, const CodeRange &orange,
                    const CodeRange &prange, std::vector<std::pair<size_t, size_t>> &pairs) {
  std::unordered_map<uint64_t, uint64_t> to_patched;
  for (auto [i, j] : pairs)
    to_patched[o.insns[i].offset] = p.insns[j].offset;
  to_patched[orange.size] = prange.size;
  std::erase_if(pairs, [&](const std::pair<size_t, size_t> &pr) {
    const auto &ot = o.local_target[pr.first], &pt = p.local_target[pr.second];
    if (!ot && !pt)
      return false;
    if (!ot || !pt)
      return true;
    auto it = to_patched.find(*ot);
    return it == to_patched.end() || it->second != *pt;
  });
}

std::vector<InsnLine> diff_lines(const Listing &o, const Listing &p,
                                 const std::vector<std::pair<size_t, size_t>> &pairs) {
  std::vector<InsnLine> lines;
  size_t i = 0, j = 0;
  auto flush = [&](size_t to_i, size_t to_j) {
    for (; i < to_i; i++)
      lines.push_back({'-', o.insns[i].offset, std::nullopt, o.display[i]});
    for (; j < to_j; j++)
      lines.push_back({'+', std::nullopt, p.insns[j].offset, p.display[j]});
  };
  for (auto [mi, mj] : pairs) {
    flush(mi, mj);
    lines.push_back({' ', o.insns[mi].offset, p.insns[mj].offset, p.display[mj]});
    i = mi + 1;
    j = mj + 1;
  }
  flush(o.insns.size(), p.insns.size());
  return lines;
}

std::vector<Hunk> split_hunks(const std::vector<InsnLine> &lines) {
  std::vector<Hunk> hunks;
  size_t k = 0, shown = 0; // lines before `shown` are in a hunk or counted as skipped
  while (k < lines.size()) {
    if (lines[k].mark == ' ') {
      k++;
      continue;
    }
    // Extend while the next change is within 2 * context lines.
    size_t first = k >= kHunkContext ? k - kHunkContext : 0, last = k;
    for (size_t n = k + 1; n < lines.size() && n <= last + 2 * kHunkContext + 1; n++)
      if (lines[n].mark != ' ')
        last = n;
    size_t end = std::min(lines.size(), last + kHunkContext + 1);
    Hunk h;
    h.lines.assign(lines.begin() + first, lines.begin() + end);
    h.skipped_before = first - shown;
    shown = end;
    hunks.push_back(std::move(h));
    k = last + 1;
  }
  if (!hunks.empty())
    hunks.back().skipped_after = lines.size() - shown;
  return hunks;
}

} // namespace

std::vector<Hunk> diff_instructions(const Symbol &orig, const Symbol &patched) {
  Listing o = list_function(orig, true), p = list_function(patched, false);
  std::vector<std::pair<size_t, size_t>> pairs = align(o.key, p.key);
  check_branches(o, p, code_range(orig), code_range(patched), pairs);
  return split_hunks(diff_lines(o, p, pairs));
}

std::vector<std::string> instructions_at(const Symbol &fn, const std::vector<uint64_t> &offsets) {
  Listing l = list_function(fn, false);
  std::vector<std::string> texts;
  for (uint64_t off : offsets) {
    auto it = l.by_offset.find(off);
    texts.push_back(it == l.by_offset.end() ? "" : l.display[it->second]);
  }
  return texts;
}

} // namespace klp
