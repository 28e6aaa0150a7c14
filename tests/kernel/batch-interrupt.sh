#!/usr/bin/env bash
# An interrupted batch (klp-build --targets) stops the target that builds, starts no other, and
# still ends with its summary (exit 5): two targets of the test kernel with -j 1 build one
# after the other; SIGINT arrives while the first holds its first compile. Afterwards no
# process of the batch is left, no module was written and no work directory is left behind.
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: batch-interrupt.sh KLP_BUILD}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp/work
mkdir -p "$TMPDIR"

hold_launcher "$tmp"
for t in first second; do
  printf '[target.%s]\nsourcedir = "%s"\nconfig = "%s"\nvmlinux = "%s"\n' "$t" "$kdir/src" \
    "$kdir/boot/.config" "$kdir/boot/vmlinux"
done >"$tmp/targets.toml"
"$kb" --targets "$tmp/targets.toml" --cache "$tmp/cache" -o "$tmp/out" -j 1 --json \
  --compiler-launcher "$tmp/hold-launcher" "$repo/testdata/patches/cmdline.patch" \
  >"$tmp/summary.json" 2>"$tmp/progress.log" &
pid=$!
wait_held "$tmp" $pid "$tmp/progress.log"
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
cat "$tmp/progress.log" "$tmp/summary.json"
[[ $rc -eq 5 ]] || fail "interrupted batch: exit $rc, expected 5"
result() { python3 -c 'import json,sys; t=[t for t in json.load(open(sys.argv[1]))["targets"] if t["name"]==sys.argv[2]][0]; print(t["result"], t.get("reason", "").splitlines()[0])' "$tmp/summary.json" "$1"; }
[[ $(result first) == "failed interrupted"* ]] || fail "first target: $(result first)"
[[ $(result second) == "failed interrupted before it started" ]] || fail "second target: $(result second)"
grep -q '^klp-build: \[second\] started' "$tmp/progress.log" && fail "the second target started"
sleep 1
if pgrep -f "$tmp/" >/dev/null; then
  pgrep -af "$tmp/" || true
  fail "processes of the batch are left"
fi
[[ -z $(find "$tmp/out" -name '*.ko') ]] || fail "a module was written: $(find "$tmp/out" -name '*.ko')"
[[ -z $(ls -A "$TMPDIR") ]] || fail "work directory left behind: $(ls "$TMPDIR")"
echo "batch-interrupt: ok"
