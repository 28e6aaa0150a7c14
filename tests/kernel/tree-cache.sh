#!/usr/bin/env bash
# The tree cache: a second klp-build on the same tree reuses the prepared tree, and after each
# run the cached tree is pristine again (the patched file is a link to the user's file, the
# cached object is the original one), so the second module is bit-identical to the first and a
# different patch afterwards still sees the original code (built by kbuild's descent without the
# top Makefile, as make builds it), including a header patch whose units an earlier run
# compiled.
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: tree-cache.sh KLP_BUILD}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(--cache "$tmp/cache" --sourcedir "$kdir/src" --config "$kdir/boot/.config"
      --vmlinux "$kdir/boot/vmlinux")

"$kb" "${args[@]}" -o "$tmp/one" "$repo/testdata/patches/cmdline.patch" > "$tmp/one.log"
"$kb" "${args[@]}" -v -o "$tmp/two" "$repo/testdata/patches/cmdline.patch" > "$tmp/two.log" 2>&1
grep -v '^+ ' "$tmp/two.log"
grep -q "reusing the prepared tree" "$tmp/two.log" || fail "second run did not reuse the cache"
# The first run left the module's build commands for this target (a link template): the
# second builds the module without make.
ls "$tmp"/cache/links/* > /dev/null || fail "no link template in the cache"
! grep -q "^+ make .* M=" "$tmp/two.log" || fail "second run built the module with make"
grep -q "1 original object(s) already compiled in the tree" "$tmp/two.log" ||
  fail "second run compiled the original object again"
cmp "$tmp/one/livepatch-cmdline.ko" "$tmp/two/livepatch-cmdline.ko" || fail "modules differ"

entry=$(ls -d "$tmp"/cache/trees/*)
[[ ! -e $entry/dirty ]] || fail "cache entry left dirty"
[[ $(stat -c %i "$entry/src/fs/proc/cmdline.c") == $(stat -c %i "$kdir/src/fs/proc/cmdline.c") ]] \
  || fail "patched file not restored as a link to the user's file"
cmp "$entry/build/fs/proc/cmdline.o" "$kdir/fsections/fs/proc/cmdline.o" \
  || fail "cached object is not the original one"
# A header patch on a reused tree: meminfo.o was compiled there by the run before, so kbuild's
# dry run no longer lists it; the header scan must still find it (and mm/util.o).
# --check-reproducible: its second build uses make throughout, and gives the same module as the
# template's commands did for this other module name and directory.
"$kb" "${args[@]}" -v --check-reproducible -o "$tmp/three" \
  "$repo/testdata/patches/meminfo.patch" > "$tmp/three.log" 2>&1 ||
  { cat "$tmp/three.log"; fail "meminfo on a reused tree failed"; }
grep -q "reproducible: a second build is bit-identical" "$tmp/three.log" ||
  fail "the module built by the link template differs from make's"
# Its original object was built by kbuild's descent with the environment the first run's make
# recorded, not by the top Makefile, and is what make built in the test kernel's tree.
grep -q "^+ cd .*/build && env <.*/.klp-build-descend> make .*Makefile.build obj=\. .*\./fs/proc/meminfo\.o" \
  "$tmp/three.log" || { cat "$tmp/three.log"; fail "meminfo.o was not built by kbuild's descent"; }
# (The check's second build, after "building again", uses make throughout.)
sed '/building again for --check-reproducible/,$d' "$tmp/three.log" |
  { ! grep -q "^+ make .* fs/proc/meminfo\.o"; } || fail "meminfo.o went through the top Makefile too"
cmp "$entry/build/fs/proc/meminfo.o" "$kdir/fsections/fs/proc/meminfo.o" ||
  fail "the descent built another meminfo.o than make"
"$kb" "${args[@]}" -o "$tmp/four" "$repo/testdata/patches/header-inline.patch" > "$tmp/four.log" ||
  { cat "$tmp/four.log"; fail "header patch on a reused tree failed"; }
cat "$tmp/four.log"
for f in "fs/proc/meminfo.o (vmlinux): patched meminfo_proc_show" \
         "mm/util.o (vmlinux): patched vm_commit_limit"; do
  grep -qF "klp-build: $f" "$tmp/four.log" || fail "header patch on a reused tree: no '$f'"
done
# A patch that also changes the top Makefile makes prepare regenerate utsrelease.h from it. The
# restored Makefile keeps its old mtime, so make would never regenerate the header again: the
# entry must not be reused as clean.
cat > "$tmp/uts.patch" <<'PATCH'
--- a/Makefile
+++ b/Makefile
@@ -2,7 +2,7 @@
 VERSION = 6
 PATCHLEVEL = 1
 SUBLEVEL = 192
-EXTRAVERSION =
+EXTRAVERSION = -klptest
 NAME = Curry Ramen
 
 # *DOCUMENTATION*
PATCH
cat "$repo/testdata/patches/cmdline.patch" >> "$tmp/uts.patch"
uts=$entry/build/include/generated/utsrelease.h
grep -q '"6.1.192"' "$uts" || fail "utsrelease.h before: $(cat "$uts")"
"$kb" "${args[@]}" -o "$tmp/five" "$tmp/uts.patch" > "$tmp/five.log" 2>&1 ||
  { cat "$tmp/five.log"; fail "Makefile patch failed"; }
"$kb" "${args[@]}" -o "$tmp/six" "$repo/testdata/patches/cmdline.patch" > "$tmp/six.log" 2>&1 ||
  { cat "$tmp/six.log"; fail "run after the Makefile patch failed"; }
! grep -q "reusing the prepared tree" "$tmp/six.log" ||
  fail "the entry whose utsrelease.h the Makefile patch regenerated was reused"
grep -q '"6.1.192"' "$entry/build/include/generated/utsrelease.h" ||
  fail "utsrelease.h after: $(cat "$entry/build/include/generated/utsrelease.h")"
cmp "$tmp/one/livepatch-cmdline.ko" "$tmp/six/livepatch-cmdline.ko" ||
  fail "the rebuilt entry gives another module"
echo "tree-cache: ok"
