#!/usr/bin/env bash
# klp-build prepares a tree in one make (syncconfig, prepare and the patched units' originals):
# 1. a config kconfig has to change is still refused, with the first difference, no module and
#    no prepared tree left for the next run;
# 2. on an empty cache the original unit is compiled by prepare's make: the original phase
#    compiles nothing, and kbuild's descent is recorded for the next unit;
# 3. when the unit's compile fails in prepare's make (the compiler launcher fails it once), prepare
#    alone is run again, the tree is kept prepared, and the unit is compiled as any other;
# 4. objtool is built (the units' compiles run it). That resolve_btfids is not is checked on
#    Debian's configs, which have CONFIG_DEBUG_INFO_BTF (tests/e2e/debian/run.sh).
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: prepare-make.sh KLP_BUILD}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TMPDIR=$tmp/work
mkdir -p "$TMPDIR"
args=(--sourcedir "$kdir/src" --vmlinux "$kdir/boot/vmlinux")
patch=$repo/testdata/patches/cmdline.patch

# 1. A setting the config lacks: syncconfig adds it with its default.
grep -q '^CONFIG_PROC_FS=y$' "$kdir/boot/.config" || fail "test kernel config has no CONFIG_PROC_FS=y"
grep -v '^CONFIG_PROC_FS=y$' "$kdir/boot/.config" > "$tmp/lacking.config"
set +e
"$kb" "${args[@]}" --cache "$tmp/cache1" --config "$tmp/lacking.config" -o "$tmp/out1" "$patch" \
  > "$tmp/one.log" 2>&1
rc=$?
set -e
cat "$tmp/one.log"
[[ $rc -eq 1 ]] || fail "config kconfig changes: exit $rc, expected 1"
grep -q "lacking.config: kconfig changed the config (first difference: '' became 'CONFIG_PROC_FS=y')" \
  "$tmp/one.log" || fail "the refusal does not name the config and its first difference"
[[ ! -e $tmp/out1/livepatch-cmdline.ko ]] || fail "a module was written for a refused config"
! compgen -G "$tmp/cache1/trees/*/ready" > /dev/null || fail "the refused tree was marked prepared"

# 2. The original unit comes from prepare's make.
"$kb" "${args[@]}" --cache "$tmp/cache2" --config "$kdir/boot/.config" -o "$tmp/out2" "$patch" \
  > "$tmp/two.log" 2>&1 || { cat "$tmp/two.log"; fail "cold run failed"; }
cat "$tmp/two.log"
grep -q "prepared the tree in .*: .*make [0-9.]* s with the original units" "$tmp/two.log" ||
  fail "prepare's make did not compile the original unit"
grep -q "1 original object(s) already compiled in the tree" "$tmp/two.log" ||
  fail "the original phase compiled the unit again"
[[ -s $tmp/out2/livepatch-cmdline.ko ]] || fail "no module"
tree=$(dirname "$(compgen -G "$tmp/cache2/trees/*/build")")
[[ -s $tree/build/.klp-build-descend ]] || fail "kbuild's descent was not recorded by prepare's make"
[[ -x $tree/build/tools/objtool/objtool ]] || fail "prepare did not build objtool"

# 3. The unit's first compile fails: prepare is finished alone, the unit compiled again.
printf '#!/bin/sh\ncase "$*" in *fs/proc/cmdline.c*) mkdir "%s" 2>/dev/null && exit 1 ;; esac\nexec "$@"\n' \
  "$tmp/failed-once" > "$tmp/fail-once"
chmod +x "$tmp/fail-once"
"$kb" "${args[@]}" --cache "$tmp/cache3" --config "$kdir/boot/.config" -o "$tmp/out3" \
  --compiler-launcher "$tmp/fail-once" "$patch" > "$tmp/three.log" 2>&1 ||
  { cat "$tmp/three.log"; fail "run with a failing first unit compile failed"; }
cat "$tmp/three.log"
[[ -d $tmp/failed-once ]] || fail "the launcher never failed the unit's compile"
grep -q "prepared the tree in .*: .*make [0-9.]* s$" "$tmp/three.log" ||
  fail "prepare claims the unit it failed to compile"
grep -q "already compiled" "$tmp/three.log" && fail "the original phase did not compile the unit"
compgen -G "$tmp/cache3/trees/*/ready" > /dev/null || fail "the tree was not marked prepared"
cmp -s "$tmp/out2/livepatch-cmdline.ko" "$tmp/out3/livepatch-cmdline.ko" ||
  fail "the module differs from the one built without the failure"
echo "PASS"
