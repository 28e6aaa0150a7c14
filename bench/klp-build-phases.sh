#!/usr/bin/env bash
# Benchmark: klp-build on a Debian-config tree (linux-source-6.1 with the stock 6.1.0-56-amd64
# config, its headers and a /proc/kallsyms copy, as prepared by scripts/debian-kernel.sh) for a
# one-file patch. Runs twice: testdata/patches/cmdline.patch on a cold cache (make prepare),
# then meminfo.patch on the warm one (a second patch on the same tree). Prints each phase's
# wall time, the total, and the time spent in compiler invocations: bench/cc-timer is the
# --compiler-launcher, which klp-build puts before the kernel's compiler (CC), the host
# compiler that builds objtool and the other prepare tools (HOSTCC), and the compiler of the
# module link. "compiler busy" is the wall time during which at least one compiler ran (with
# -j2, two compiles at once count once); "sum" adds up every invocation. The ratio is total /
# busy. Targets (issue): under 60 s total on 2 cores, within 1.25x of the compiler time.
# Figures only; no assertion.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kb=${1:-$repo/build/klp-build/klp-build}
eval "$("$repo/scripts/debian-kernel.sh")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KLP_CC_TIMER_LOG=$tmp/cc.log

run() { # run LABEL
  : > "$KLP_CC_TIMER_LOG"
  local start end
  start=$(date +%s%N)
  "$kb" --cache "$tmp/cache" --compiler-launcher "$repo/bench/cc-timer" \
    --sourcedir "$DEBIAN_SRC" --config "$DEBIAN_CONFIG" --kallsyms "$DEBIAN_KALLSYMS" \
    --headers "$DEBIAN_HEADERS" -o "$tmp/out" "$repo/testdata/patches/$patch.patch" \
    > "$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
  end=$(date +%s%N)
  local total
  total=$(echo "scale=1; ($end - $start) / 1000000000" | bc)
  local cc sum
  # Busy time: the union of the invocations' [start, end) intervals.
  cc=$(sort -n "$KLP_CC_TIMER_LOG" | awk '
    $1 > end { busy += end - start; start = $1; end = $2; next }
    $2 > end { end = $2 }
    END { busy += end - start; printf "%.1f", busy / 1e9 }')
  sum=$(awk '{s += $2 - $1} END {printf "%.1f", s / 1e9}' "$KLP_CC_TIMER_LOG")
  echo "== $label"
  grep -E '^klp-build: +(prepare|original|patched|diff|link) ' "$tmp/log" | sed 's/^klp-build: /  /'
  local ratio=n/a # no compiler ran (everything cached): no ratio
  [[ $cc == 0.0 ]] || ratio=$(echo "scale=2; $total / $cc" | bc)
  printf '  total %s s, compiler busy %s s (sum %s s, %d invocations), ratio %s\n' "$total" \
    "$cc" "$sum" "$(wc -l < "$KLP_CC_TIMER_LOG")" "$ratio"
}
label="cold cache (prepare included)" patch=cmdline run
label="warm cache (a second patch on the same tree)" patch=meminfo run
