#!/usr/bin/env bash
# klp-build --explain on a real kernel patch: the module, the kept objects and the reviewer's
# report beside it, and klp-diff --explain on the result names the patched function as changed
# and the untouched ones of its unit as unchanged; --json too. Two builds of the same patch
# compare identical with klp-diff A.ko B.ko (exit 0), two different patches do not (exit 4).
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: explain.sh KLP_BUILD KLP_DIFF}
kd=${2:?usage: explain.sh KLP_BUILD KLP_DIFF}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--cache "$tmp/cache" --sourcedir "$kdir/src" --config "$kdir/boot/.config"
      --vmlinux "$kdir/boot/vmlinux")

"$kb" "${args[@]}" -o "$tmp/a" --explain "$repo/testdata/patches/cmdline.patch" > "$tmp/a.log" 2>&1 ||
  { cat "$tmp/a.log"; fail "klp-build --explain failed"; }
cat "$tmp/a.log"
for f in livepatch-cmdline.ko livepatch-cmdline.explain.txt livepatch-cmdline.explain; do
  [[ -e $tmp/a/$f ]] || fail "--explain did not write $f (have: $(ls "$tmp/a"))"
done
grep -q "^-- cmdline_proc_show: changed$" "$tmp/a/livepatch-cmdline.explain.txt" ||
  fail "the report does not explain cmdline_proc_show as changed"
grep -q "^  changed function: cmdline_proc_show$" "$tmp/a/livepatch-cmdline.explain.txt" ||
  fail "the report's patch list lacks cmdline_proc_show"

# klp-diff reads the result itself, the same report as klp-build wrote.
set +e
"$kd" --explain "$tmp/a/livepatch-cmdline.ko" > "$tmp/explain.txt" 2>&1
rc=$?
set -e
[[ $rc == 0 ]] || { cat "$tmp/explain.txt"; fail "klp-diff --explain MODULE.ko: exit $rc"; }
cmp -s "$tmp/explain.txt" "$tmp/a/livepatch-cmdline.explain.txt" ||
  fail "klp-diff --explain differs from the report klp-build wrote"
"$kd" --json "$tmp/a/livepatch-cmdline.ko" > "$tmp/explain.json"
python3 - "$tmp/explain.json" <<'PY' || fail "klp-diff --json: cmdline_proc_show not reported as changed"
import json, sys
doc = json.load(open(sys.argv[1]))
verdicts = {f["name"]: f["verdict"] for o in doc["objects"] for f in o["functions"]}
sys.exit(0 if verdicts.get("cmdline_proc_show") == "changed" else 1)
PY

# Module comparison: the same patch again is identical, another patch is not.
"$kb" "${args[@]}" -o "$tmp/b" "$repo/testdata/patches/cmdline.patch" > /dev/null
"$kd" "$tmp/a/livepatch-cmdline.ko" "$tmp/b/livepatch-cmdline.ko" ||
  fail "klp-diff A.ko B.ko: two builds of one patch differ"
"$kb" "${args[@]}" -o "$tmp/c" -n cmdline "$repo/testdata/patches/stack-1.patch" > /dev/null
set +e
"$kd" "$tmp/a/livepatch-cmdline.ko" "$tmp/c/livepatch-cmdline.ko" > "$tmp/cmp.txt"
rc=$?
set -e
[[ $rc == 4 ]] || { cat "$tmp/cmp.txt"; fail "klp-diff A.ko B.ko of two patches: exit $rc, want 4"; }
echo "explain: ok"
