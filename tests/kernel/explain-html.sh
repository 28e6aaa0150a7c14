#!/usr/bin/env bash
# The reviewer's page of a real klp-build result, in a real browser: klp-build --explain on three
# test-kernel patches in one module (two changed functions in two units, one calling a new static
# helper: three objects) writes <module>.explain.html; headless Chromium
# loads it from disk with the network off, and the DOM it builds must hold every function, verdict,
# reason, changed instruction and reference that klp-diff --json reports (html_check.py). tidy
# must find no error in the HTML. The page and Chromium's screenshot are kept in ARTIFACTS.
#
#   explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS}
kd=${2:?usage: explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS}
artifacts=${3:?usage: explain-html.sh KLP_BUILD KLP_DIFF ARTIFACTS}
command -v chromium > /dev/null || fail "chromium is not installed (scripts/install-deps)"
command -v tidy > /dev/null || fail "tidy is not installed (scripts/install-deps)"
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$artifacts"
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
cp "$page" "$artifacts/"

# The page stands alone: nothing is fetched from anywhere.
if grep -Eo '(src|href)="[^"#][^"]*"' "$page" | head -n 3 | grep .; then
  fail "the page refers to external resources"
fi
# Its header names the inputs with their digests, and the phases.
for p in "${patches[@]}"; do
  sum=$(sha256sum "$repo/testdata/patches/$p.patch" | cut -d' ' -f1)
  grep -q "$sum" "$page" || fail "the page lacks $p.patch's sha256 $sum"
done
grep -q 'id="phases"' "$page" || fail "the page lacks the build's phase timings"

# klp-diff writes the same page from the explain directory (without the build's header).
"$kd" --json --html "$tmp/again.html" "$tmp/out/livepatch-review.ko" > "$tmp/report.json" ||
  fail "klp-diff --json --html MODULE.ko failed"

# Chromium: the DOM after parsing, and a screenshot of the top of the page.
chrome=(chromium --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile"
        --no-first-run --disable-extensions --host-resolver-rules="MAP * ~NOTFOUND")
timeout 120 "${chrome[@]}" --dump-dom "file://$page" > "$tmp/dom.html" 2> "$tmp/chrome.log" ||
  { tail -n 20 "$tmp/chrome.log"; fail "chromium --dump-dom failed"; }
[[ -s $tmp/dom.html ]] || { tail -n 20 "$tmp/chrome.log"; fail "chromium dumped an empty DOM"; }
python3 "$repo/tests/kernel/html_check.py" "$tmp/report.json" "$tmp/dom.html" ||
  fail "the page Chromium built lacks what klp-diff --json reports"
# The script ran: it unhid the filter.
grep -q '<div id="filter">' "$tmp/dom.html" || fail "the page's script did not run in chromium"
timeout 120 "${chrome[@]}" --window-size=1400,2400 --screenshot="$artifacts/livepatch-review.png" \
  "file://$page" > /dev/null 2>> "$tmp/chrome.log" ||
  { tail -n 20 "$tmp/chrome.log"; fail "chromium --screenshot failed"; }
size=$(stat -c %s "$artifacts/livepatch-review.png")
(( size > 20000 )) || fail "the screenshot is $size bytes: a blank page?"
echo "screenshot: $artifacts/livepatch-review.png ($size bytes)"

# tidy: no HTML error (warnings are printed, not fatal: tidy predates some HTML5 attributes).
set +e
tidy -errors -quiet "$page" > "$tmp/tidy.log" 2>&1
rc=$?
set -e
cat "$tmp/tidy.log"
(( rc < 2 )) || fail "tidy finds errors in the page (exit $rc)"
echo "explain-html: ok ($(stat -c %s "$page") bytes)"
