#!/usr/bin/env bash
# The reviewer's page of one klp-build --explain result, in a real browser:
#   check-page.sh KLP_DIFF MODULE.ko ARTIFACTS
# The page (<module>.explain.html beside MODULE.ko) stands alone (nothing fetched from
# anywhere); headless Chromium loads it from disk with the network off and the DOM it builds
# must hold every function, verdict, reason, changed instruction and reference that klp-diff
# --json reports for the module (html_check.py); its script runs; tidy finds no error. The page
# and Chromium's screenshot are copied to ARTIFACTS. Used by explain-html.sh (test kernel) and
# tests/e2e/debian/run.sh (Debian's 6.1).
source "$(dirname "$0")/lib.sh"
kd=${1:?usage: check-page.sh KLP_DIFF MODULE.ko ARTIFACTS}
module=${2:?usage: check-page.sh KLP_DIFF MODULE.ko ARTIFACTS}
artifacts=${3:?usage: check-page.sh KLP_DIFF MODULE.ko ARTIFACTS}
command -v chromium > /dev/null || fail "chromium is not installed (scripts/install-deps)"
command -v tidy > /dev/null || fail "tidy is not installed (scripts/install-deps)"
page=${module%.ko}.explain.html
name=$(basename "${module%.ko}")
[[ -s $page ]] || fail "klp-build --explain did not write $page"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$artifacts"
cp "$page" "$artifacts/"

# The page stands alone: nothing is fetched from anywhere.
if grep -Eo '(src|href)="[^"#][^"]*"' "$page" | head -n 3 | grep .; then
  fail "$page refers to external resources"
fi
# klp-diff writes the same page from the explain directory (without the build's header).
"$kd" --json --html "$tmp/again.html" "$module" > "$tmp/report.json" ||
  fail "klp-diff --json --html $module failed"

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
timeout 120 "${chrome[@]}" --window-size=1400,2400 --screenshot="$artifacts/$name.png" \
  "file://$page" > /dev/null 2>> "$tmp/chrome.log" ||
  { tail -n 20 "$tmp/chrome.log"; fail "chromium --screenshot failed"; }
size=$(stat -c %s "$artifacts/$name.png")
(( size > 20000 )) || fail "the screenshot is $size bytes: a blank page?"
echo "screenshot: $artifacts/$name.png ($size bytes)"

# tidy: no HTML error (warnings are printed, not fatal: tidy predates some HTML5 attributes).
set +e
tidy -errors -quiet "$page" > "$tmp/tidy.log" 2>&1
rc=$?
set -e
cat "$tmp/tidy.log"
(( rc < 2 )) || fail "tidy finds errors in $page (exit $rc)"
echo "check-page: $page ok ($(stat -c %s "$page") bytes)"
