#!/usr/bin/env bash
# Benchmark: klp-build on a Debian-config tree (linux-source-6.1 with the stock 6.1.0-56-amd64
# config, its headers and a /proc/kallsyms copy, as prepared by scripts/debian-kernel.sh) for a
# one-file patch. Runs twice: testdata/patches/cmdline.patch on a cold cache (make prepare),
# then meminfo.patch on the warm one (a second patch on the same tree). Prints each phase's
# wall time, the total, the time spent in compiler invocations (through bench/cc-timer as
# --compiler-launcher) and the ratio total / compiler time. Targets (issue): under 60 s total
# on 2 cores, within 1.25x of the compiler time. Figures only; no assertion.
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
  local total cc
  total=$(echo "scale=1; ($end - $start) / 1000000000" | bc)
  cc=$(awk '{s += $1} END {printf "%.1f", s / 1e9}' "$KLP_CC_TIMER_LOG")
  echo "== $label"
  grep -E '^klp-build: +(prepare|original|patched|diff|link) ' "$tmp/log" | sed 's/^klp-build: /  /'
  local ratio=n/a # no compiler ran (everything cached): no ratio
  [[ $cc == 0.0 ]] || ratio=$(echo "scale=2; $total / $cc" | bc)
  printf '  total %s s, compiler %s s (%d invocations), ratio %s\n' "$total" "$cc" \
    "$(wc -l < "$KLP_CC_TIMER_LOG")" "$ratio"
}
label="cold cache (prepare included)" patch=cmdline run
label="warm cache (a second patch on the same tree)" patch=meminfo run
