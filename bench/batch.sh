#!/usr/bin/env bash
# Benchmark: one fix for N kernels, as one `klp-build --targets` batch against N separate
# klp-build runs one after the other (what a maintainer scripts today). Targets: the test
# kernel (scripts/testkernel.sh), Debian's stock 6.1 and 6.12 (scripts/debian-kernel.sh),
# testdata/patches/cmdline.patch, each variant with an empty cache (cold: every tree prepared)
# and then again on its own cache (warm). Prints wall time and the summed time of every compiler
# invocation (bench/cc-timer as the --compiler-launcher, host compiles included) per variant.
# Figures only; no assertion.
#
# Usage: bench/batch.sh [-j N] [KLP_BUILD_BINARY]      (KLP_CACHE: where the kernels' inputs are)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
if [[ ${1:-} == -j ]]; then
  jobs=$2
  shift 2
fi
kb=${1:-$repo/build/klp-build/klp-build}
patch=$repo/testdata/patches/cmdline.patch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kdir=$("$repo/scripts/testkernel.sh" --print-dir)
"$repo/scripts/debian-kernel.sh" >"$tmp/61.env"
"$repo/scripts/debian-kernel.sh" 6.12 >"$tmp/612.env"
val() { sed -n "s/^$2=//p" "$1"; }
cat >"$tmp/targets.toml" <<TOML
[target.testkernel]
sourcedir = "$kdir/src"
config = "$kdir/boot/.config"
vmlinux = "$kdir/boot/vmlinux"
[target."debian-6.1"]
sourcedir = "$(val "$tmp/61.env" DEBIAN_SRC)"
config = "$(val "$tmp/61.env" DEBIAN_CONFIG)"
kallsyms = "$(val "$tmp/61.env" DEBIAN_KALLSYMS)"
headers = "$(val "$tmp/61.env" DEBIAN_HEADERS)"
[target."debian-6.12"]
sourcedir = "$(val "$tmp/612.env" DEBIAN_SRC)"
config = "$(val "$tmp/612.env" DEBIAN_CONFIG)"
kallsyms = "$(val "$tmp/612.env" DEBIAN_KALLSYMS)"
headers = "$(val "$tmp/612.env" DEBIAN_HEADERS)"
TOML
export KLP_CC_TIMER_LOG=$tmp/cc.log
now() { date +%s%N; }
report() { # report LABEL START
  local wall sum
  wall=$(echo "scale=3; ($(now) - $2) / 1000000000" | bc | xargs printf "%.1f")
  sum=$(awk '{ s += $2 - $1 } END { printf "%.1f", s / 1e9 }' "$KLP_CC_TIMER_LOG")
  printf '%-28s wall %6.1f s   compiler time summed %6.1f s\n' "$1" "$wall" "$sum"
}
separate() { # separate CACHE: each target by its own klp-build, one after the other
  local name opts
  while read -r name; do
    opts=()
    while IFS=' = ' read -r k v; do
      [[ $k == \[* || -z $k ]] && break
      opts+=("--$k" "${v//\"/}")
    done < <(sed -n "/^\[target.\(\"\)\{0,1\}$name\(\"\)\{0,1\}\]/,/^\[/{/^\[target/!p}" "$tmp/targets.toml")
    "$kb" "${opts[@]}" --cache "$1" --compiler-launcher "$repo/bench/cc-timer" -j "$jobs" \
      -o "$tmp/out-separate/$name" "$patch" >"$tmp/separate-$name.log" 2>&1 ||
      { cat "$tmp/separate-$name.log"; exit 1; }
  done < <(sed -n 's/^\[target\.\"\{0,1\}\([^"]*\)\"\{0,1\}\]$/\1/p' "$tmp/targets.toml")
}
batch() { # batch CACHE
  "$kb" --targets "$tmp/targets.toml" --cache "$1" --compiler-launcher "$repo/bench/cc-timer" \
    -j "$jobs" -o "$tmp/out-batch" "$patch" >"$tmp/batch.log" 2>&1 || { cat "$tmp/batch.log"; exit 1; }
}
echo "3 targets (test kernel, Debian 6.1, Debian 6.12), -j $jobs, $(nproc) cores;" \
  "$(uptime | sed 's/.*\(load average\)/\1/')"
for variant in separate batch; do
  : >"$KLP_CC_TIMER_LOG"
  t=$(now)
  $variant "$tmp/cache-$variant"
  report "$variant runs, cold" "$t"
  : >"$KLP_CC_TIMER_LOG"
  t=$(now)
  $variant "$tmp/cache-$variant"
  report "$variant runs, warm" "$t"
done
for f in "$tmp"/out-batch/*/*.ko; do
  n=$(basename "$(dirname "$f")")
  cmp -s "$f" "$tmp/out-separate/$n/$(basename "$f")" && echo "$n: batch and separate modules identical" ||
    echo "$n: batch and separate modules DIFFER"
done
