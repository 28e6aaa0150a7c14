#!/usr/bin/env bash
# klp-build never modifies the user's tree and leaves no partial output: after a patch that does
# not apply (exit 1, the rejected hunk shown) and after an interrupt (SIGINT during the build),
# the tree's files are byte-identical (same names, sizes, mtimes, inodes), no module was written
# and no work directory is left behind.
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: untouched-tree.sh KLP_BUILD}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp/work
mkdir -p "$TMPDIR" "$tmp/out"

fingerprint() { (cd "$kdir/src" && find . -printf '%p %s %T@ %i %y\n' | sort | sha256sum); }
before=$(fingerprint)
args=(--cache "$tmp/cache" --sourcedir "$kdir/src" --config "$kdir/boot/.config"
      --vmlinux "$kdir/boot/vmlinux"
      -o "$tmp/out")

# 1. A patch that does not apply.
sed 's/seq_putc(m, .\\n.);/seq_putc(m, 0);/' "$repo/testdata/patches/cmdline.patch" > "$tmp/bad.patch"
set +e
"$kb" "${args[@]}" "$tmp/bad.patch" > "$tmp/bad.log" 2>&1
rc=$?
set -e
cat "$tmp/bad.log"
[[ $rc -eq 1 ]] || fail "non-applying patch: exit $rc, expected 1"
grep -q "does not apply to fs/proc/cmdline.c" "$tmp/bad.log" || fail "no file named in the error"
grep -q "rejected hunk:" "$tmp/bad.log" || fail "rejected hunk not shown"

# 2. An interrupt while kbuild runs (lib.sh's hold_launcher holds the first compile).
hold_launcher "$tmp"
"$kb" "${args[@]}" --compiler-launcher "$tmp/hold-launcher" \
  "$repo/testdata/patches/cmdline.patch" > "$tmp/int.log" 2>&1 &
pid=$!
wait_held "$tmp" $pid "$tmp/int.log"
kill -INT $pid
set +e
wait $pid
rc=$?
set -e
cat "$tmp/int.log"
[[ $rc -ne 0 ]] || fail "interrupted run exited 0"
grep -q "interrupted" "$tmp/int.log" || fail "interrupt not reported"

[[ -z $(ls -A "$tmp/out") ]] || fail "output written: $(ls "$tmp/out")"
[[ -z $(ls -A "$TMPDIR") ]] || fail "work directory left behind: $(ls "$TMPDIR")"
[[ $(fingerprint) == "$before" ]] || fail "the source tree changed"
echo "untouched-tree: ok"
