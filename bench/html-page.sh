#!/usr/bin/env bash
# Benchmark: the reviewer's page of a large patch. A header's static inline changes and every one
# of N functions that inline it changes with it (the shape of a header patch many units include):
# N functions over four units, compiled with kernel flags and -g, each unit explained by klp-diff
# --html through an explain directory. Prints the page's size, the time klp-diff takes to write
# it and the time headless Chromium takes to load and lay it out (the DOM dump, minus Chromium's
# start-up measured on an empty page). Figures only; no assertion.
#
#   bench/html-page.sh [KLP_DIFF] [N]      (default build/klp-diff/klp-diff, N 160)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kd=${1:-$repo/build/klp-diff/klp-diff}
n=${2:-160}
[[ -x $kd ]] || { echo "bench: $kd not built (cmake --build build)" >&2; exit 1; }
command -v chromium > /dev/null || { echo "bench: chromium not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="-O2 -g -std=gnu11 -fno-strict-aliasing -fno-common -fno-PIE -mcmodel=kernel -mno-red-zone
  -mno-sse -fno-asynchronous-unwind-tables -fno-jump-tables -fno-stack-protector
  -fno-omit-frame-pointer -pg -mfentry -mrecord-mcount -ffunction-sections -fdata-sections -c"

# The header, before and after: the inline gains a bound check and a call.
for side in orig patched; do
  mkdir -p "$tmp/src/$side/include"
  {
    echo 'extern int printk(const char *, ...);'
    echo 'struct ring { unsigned head, tail, size; };'
    echo 'static inline unsigned ring_space(const struct ring *r)'
    echo '{'
    if [[ $side == patched ]]; then
      echo '	if (r->head - r->tail > r->size) { printk("ring: %u < %u & bad\n", r->size, r->head); return 0; }'
    fi
    echo '	return r->size - (r->head - r->tail);'
    echo '}'
  } > "$tmp/src/$side/include/ring.h"
done
units=4
mkdir -p "$tmp/x.explain"
objects=""
for ((u = 0; u < units; u++)); do
  {
    echo '#include "ring.h"'
    for ((i = u; i < n; i += units)); do
      echo "int user_$i(struct ring *r, int k) { unsigned s = ring_space(r); if (s < k) return -$i; printk(\"user_$i: %u\n\", s); return s + k * $i; }"
    done
  } > "$tmp/src/unit$u.c"
  for side in orig patched; do
    mkdir -p "$tmp/x.explain/$side/lib"
    (cd "$tmp/src" && gcc $flags -I"$side/include" -o "$tmp/x.explain/$side/lib/unit$u.o" \
      "unit$u.c")
  done
  objects+="${objects:+,}{\"object\": \"lib/unit$u.o\", \"target\": \"vmlinux\"}"
done
printf '0x00000000\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n0x00000000\t__fentry__\tvmlinux\tEXPORT_SYMBOL\t\n' \
  > "$tmp/x.explain/Module.symvers"
printf '{"format": "klp-diff-explain", "version": 2, "patch": "livepatch-ring", "symvers": "Module.symvers", "symtabs": [], "objects": [%s]}\n' \
  "$objects" > "$tmp/x.explain/manifest"

start=$(date +%s.%N)
"$kd" --html "$tmp/page.html" --json "$tmp/x.explain" > "$tmp/report.json"
end=$(date +%s.%N)
changed=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(f["verdict"]=="changed" for o in d["objects"] for f in o["functions"]))' "$tmp/report.json")
size=$(stat -c %s "$tmp/page.html")
printf 'page: %d changed functions in %d units, %d bytes (%.0f KiB), written in %.2f s\n' \
  "$changed" "$units" "$size" "$(echo "$size / 1024" | bc -l)" "$(echo "$end - $start" | bc -l)"

chrome=(chromium --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile"
        --no-first-run --disable-extensions)
echo '<!DOCTYPE html><title>empty</title>' > "$tmp/empty.html"
best() { # best of three wall times of chromium --dump-dom on the file
  local b=999 t s e
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    timeout 120 "${chrome[@]}" --dump-dom "file://$1" > "$tmp/dom.html" 2> /dev/null
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    b=$(echo "if ($t < $b) $t else $b" | bc -l)
  done
  echo "$b"
}
empty=$(best "$tmp/empty.html")
full=$(best "$tmp/page.html")
grep -q 'user_0' "$tmp/dom.html" || { echo "bench: the DOM lacks the page" >&2; exit 1; }
printf 'chromium --dump-dom: %.2f s for the page, %.2f s for an empty page: load %.2f s\n' \
  "$full" "$empty" "$(echo "$full - $empty" | bc -l)"
