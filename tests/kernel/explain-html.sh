#!/usr/bin/env bash
# The reviewer's page of a real klp-build result, in a real browser: klp-build --explain on three
# test-kernel patches in one module (two changed functions in two units, one calling a new static
# helper: three objects) writes <module>.explain.html, whose header names the patches with their
# sha256 and the build's phases; check-page.sh then loads it in headless Chromium and checks it
# against klp-diff --json and tidy. The page and Chromium's screenshot are kept in ARTIFACTS.
#
#   explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS}
kd=${2:?usage: explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS}
artifacts=${3:?usage: explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
patches=(cmdline meminfo new-static-func)
paths=()
for p in "${patches[@]}"; do paths+=("$repo/testdata/patches/$p.patch"); done
"$kb" --cache "$tmp/cache" --sourcedir "$kdir/src" --config "$kdir/boot/.config" \
  --vmlinux "$kdir/boot/vmlinux" -o "$tmp/out" -n review --explain \
  "${paths[@]}" > "$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log"; fail "klp-build --explain failed"; }
cat "$tmp/build.log"
page=$tmp/out/livepatch-review.explain.html
[[ -s $page ]] || fail "klp-build --explain did not write $page (have: $(ls "$tmp/out"))"
# Its header names the inputs with their digests, and the phases.
for p in "${patches[@]}"; do
  sum=$(sha256sum "$repo/testdata/patches/$p.patch" | cut -d' ' -f1)
  grep -q "$sum" "$page" || fail "the page lacks $p.patch's sha256 $sum"
done
grep -q 'id="phases"' "$page" || fail "the page lacks the build's phase timings"

"$repo/tests/kernel/check-page.sh" "$kd" "$tmp/out/livepatch-review.ko" "$artifacts"
