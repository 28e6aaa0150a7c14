#!/usr/bin/env bash
# Benchmark: klp-build as a newcomer meets it, on one of Debian's stock kernels (6.1, the
# default, or 6.12: scripts/debian-kernel.sh prepares the stock config, headers and a
# /proc/kallsyms copy). The source tree is a fresh extraction of the linux-source tarball
# into a new directory and the cache is empty: nothing prepared, nothing compiled, as on a
# machine that has just installed linux-source. One-file patches, in the order a maintainer
# meets them:
#   cold          fix.patch (testdata/patches/cmdline.patch) on the fresh tree and the empty
#                 cache (olddefconfig and modules_prepare included)
#   same unit     fix.patch revised in place (now bench/patches/cmdline-v2.patch): the same
#                 file, its original object in the cache, the same module name (the warm case)
#   new name      the same revision as a patch of another name, so another module name: the
#                 module's <name>.mod.c is compiled anew
#   another unit  testdata/patches/meminfo.patch: a second patch on the same tree; make
#                 compiles its original object
#   large unit    bench/patches/sched-show-task.patch on kernel/sched/core.c (6.1)
# Prints each phase's wall time, the total, and the time spent in compiler invocations:
# bench/cc-timer is the --compiler-launcher, which klp-build puts before the kernel's compiler
# (CC), the host compiler that builds objtool and the other prepare tools (HOSTCC), and the
# compiler of the module link. "compiler busy" is the wall time during which at least one
# compiler ran (with -j2, two compiles at once count once); "sum" adds up every invocation.
# Two ratios: total / sum (the time spent in compiler invocations) and total / busy (the
# stricter one: klp-build's own work overlapped with a compile costs nothing only there).
# Targets (issue 20): cold <= 20 s and warm <= 1 s on 2 cores. Figures only; no assertion.
#
# Usage: bench/klp-build-phases.sh [6.1|6.12] [KLP_BUILD_BINARY]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
series=6.1
if [[ ${1:-} == 6.1 || ${1:-} == 6.12 ]]; then
  series=$1
  shift
fi
kb=${1:-$repo/build/klp-build/klp-build}
eval "$("$repo/scripts/debian-kernel.sh" "$series")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KLP_CC_TIMER_LOG=$tmp/cc.log
src=$tmp/linux-source
mkdir "$src"
t0=$(date +%s%N)
tar -xf "$DEBIAN_TARBALL" -C "$src" --strip-components=1
printf '%s: extracted %s in %.1f s (not counted)\n' "$series" "$(basename "$DEBIAN_TARBALL")" \
  "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)"

run() { # run LABEL
  : > "$KLP_CC_TIMER_LOG"
  local start end
  start=$(date +%s%N)
  "$kb" --cache "$tmp/cache" --compiler-launcher "$repo/bench/cc-timer" \
    --sourcedir "$src" --config "$DEBIAN_CONFIG" --kallsyms "$DEBIAN_KALLSYMS" \
    --headers "$DEBIAN_HEADERS" -o "$tmp/out" "$patch" \
    > "$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
  end=$(date +%s%N)
  local total
  total=$(echo "scale=3; ($end - $start) / 1000000000" | bc | xargs printf "%.1f")
  local cc sum
  # Busy time: the union of the invocations' [start, end) intervals.
  cc=$(sort -n "$KLP_CC_TIMER_LOG" | awk '
    $1 > end { busy += end - start; start = $1; end = $2; next }
    $2 > end { end = $2 }
    END { busy += end - start; printf "%.1f", busy / 1e9 }')
  sum=$(awk '{s += $2 - $1} END {printf "%.1f", s / 1e9}' "$KLP_CC_TIMER_LOG")
  echo "== $label"
  grep -E '^klp-build: +(resolve|generate|prepare|original|patched|diff|verify|link|write) |^klp-build: (prepared|reusing) the' "$tmp/log" | sed 's/^klp-build: /  /'
  local by_sum=n/a by_busy=n/a # no compiler ran (everything cached): no ratio
  [[ $cc == 0.0 ]] || by_busy=$(echo "scale=3; $total / $cc" | bc | xargs printf "%.2f")
  [[ $sum == 0.0 ]] || by_sum=$(echo "scale=3; $total / $sum" | bc | xargs printf "%.2f")
  printf '  total %s s; compiler: sum %s s over %d invocations, busy %s s\n' "$total" "$sum" \
    "$(wc -l < "$KLP_CC_TIMER_LOG")" "$cc"
  printf '  ratio total/sum %s, total/busy %s\n' "$by_sum" "$by_busy"
}
# The maintainer's fix.patch, then revised in place: the module keeps its name.
cp "$repo/testdata/patches/cmdline.patch" "$tmp/fix.patch"
label="cold: empty cache (prepare included)" patch=$tmp/fix.patch run
cp "$repo/bench/patches/cmdline-v2.patch" "$tmp/fix.patch"
label="same unit: fix.patch revised, original cached" patch=$tmp/fix.patch run
label="same unit: the revision as a new patch (another module name)" \
  patch=$repo/bench/patches/cmdline-v2.patch run
label="another unit: a second patch on the same tree" patch=$repo/testdata/patches/meminfo.patch run
[[ $series != 6.1 ]] ||
  label="large unit: kernel/sched/core.c" patch=$repo/bench/patches/sched-show-task.patch run
