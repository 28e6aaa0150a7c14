#!/usr/bin/env bash
# Reproducible modules: the same patch gives a bit-identical .ko whatever the source tree's
# absolute path, the cache and temporary directories, -j and the time of the build, and
# --check-reproducible says so (exit 0). Several patches given together make one module that
# patches every function they change.
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: reproducible.sh KLP_BUILD}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--config "$kdir/boot/.config" --vmlinux "$kdir/boot/vmlinux")
cmdline=$repo/testdata/patches/cmdline.patch

# 1. The user's tree, the cache under A, -j2, and the check itself (a second, uncached build,
# whose make compiles the patched unit and links the module, which the first build did by
# kbuild's recorded commands: the two must give the same module).
mkdir -p "$tmp/a/tmp"
TMPDIR=$tmp/a/tmp "$kb" "${common[@]}" --sourcedir "$kdir/src" --cache "$tmp/a/cache" -j2 -v \
  -o "$tmp/a/out" --check-reproducible "$cmdline" > "$tmp/a.log" 2>&1 || {
  cat "$tmp/a.log"
  fail "--check-reproducible failed"
}
grep -v '^+ ' "$tmp/a.log"
grep -q "reproducible: a second build is bit-identical" "$tmp/a.log" ||
  fail "--check-reproducible did not report a bit-identical second build"
# How each build compiled fs/proc/cmdline.o once the patch was applied.
patched_compiles() { # patched_compiles first|second: "replay", "make" or "other", once each
  awk -v want="$1" '/building again for --check-reproducible/ { second = 1 }
    { mine = (want == "second") ? second : !second }
    mine && /^\+ .* patch -p1 / { patched = 1 }
    mine && patched && /^\+ / && /fs\/proc\/cmdline\.o/ {
      print ($0 ~ /\/bin\/sh -c /) ? "replay" : ($0 ~ /^\+ make /) ? "make" : "other" }
    /^klp-build: patched / { patched = 0 }' "$tmp/a.log" | sort -u | paste -sd' '
}
# How each build linked the module once the diff was done: the first by kbuild's recorded
# link commands, the second by make M=.
link_steps() { # link_steps first|second: "relink", "make" or "other", once each
  awk -v want="$1" '/building again for --check-reproducible/ { second = 1 }
    { mine = (want == "second") ? second : !second }
    mine && /^klp-build: diff / { linking = 1 }
    mine && linking && /^\+ / {
      print ($0 ~ /\/bin\/sh -c /) ? "relink" : ($0 ~ /^\+ make .* M=.* modules/) ? "make" : "other" }
    /^klp-build: link / { linking = 0 }' "$tmp/a.log" | sort -u | paste -sd' '
}
[[ $(link_steps first) == relink ]] ||
  fail "first build: module linked by '$(link_steps first)', not by kbuild's recorded commands"
[[ $(link_steps second) == make ]] ||
  fail "second build: module linked by '$(link_steps second)', not by make"
[[ $(patched_compiles first) == replay ]] ||
  fail "first build: patched unit compiled by '$(patched_compiles first)', not by a replay"
[[ $(patched_compiles second) == make ]] ||
  fail "second build: patched unit compiled by '$(patched_compiles second)', not by make"
[[ -z $(ls -A "$tmp/a/tmp") ]] || fail "--check-reproducible left $(ls "$tmp/a/tmp") behind"

# 2. A copy of the tree elsewhere (hard links), another cache and TMPDIR, -j1, later.
cp -al "$kdir/src" "$tmp/b-tree"
mkdir -p "$tmp/b/tmp"
TMPDIR=$tmp/b/tmp \
  "$kb" "${common[@]}" --sourcedir "$tmp/b-tree" --cache "$tmp/b/cache" -j1 \
  -o "$tmp/b/out" "$cmdline" > "$tmp/b.log" 2>&1 || { cat "$tmp/b.log"; fail "second build failed"; }
cmp "$tmp/a/out/livepatch-cmdline.ko" "$tmp/b/out/livepatch-cmdline.ko" ||
  fail "the module depends on the tree's path, the cache, TMPDIR or -j"
# With -j1 make linked the module (nothing was built beside the units); its records, diff
# objects and all, became the cache's link template, by which a second -j1 run builds it.
"$kb" "${common[@]}" --sourcedir "$tmp/b-tree" --cache "$tmp/b/cache" -j1 -v \
  -o "$tmp/b/again" "$cmdline" > "$tmp/b-again.log" 2>&1 ||
  { cat "$tmp/b-again.log"; fail "third build failed"; }
! grep -q "^+ make .* M=" "$tmp/b-again.log" || fail "-j1: the link template was not used"
cmp "$tmp/a/out/livepatch-cmdline.ko" "$tmp/b/again/livepatch-cmdline.ko" ||
  fail "-j1: the module built by the link template differs"

# 3. Two patches, one module: named after the first, patching both functions.
"$kb" "${common[@]}" --sourcedir "$kdir/src" --cache "$tmp/a/cache" -o "$tmp/c" \
  "$cmdline" "$repo/testdata/patches/meminfo.patch" > "$tmp/c.log" 2>&1 ||
  { cat "$tmp/c.log"; fail "two patches: klp-build failed"; }
cat "$tmp/c.log"
[[ $(ls "$tmp/c") == livepatch-cmdline.ko ]] || fail "two patches: wrote $(ls "$tmp/c")"
grep -q "^klp-build: fs/proc/cmdline.o (vmlinux): patched cmdline_proc_show$" "$tmp/c.log" ||
  fail "two patches: cmdline_proc_show not patched"
grep -q "^klp-build: fs/proc/meminfo.o (vmlinux): patched meminfo_proc_show$" "$tmp/c.log" ||
  fail "two patches: meminfo_proc_show not patched"
funcs=$(readelf -sW "$tmp/c/livepatch-cmdline.ko" | awk '$4 == "FUNC" {print $8}' |
  grep -cE '^(cmdline_proc_show|meminfo_proc_show)$' || true)
[[ $funcs == 2 ]] || fail "two patches: the module holds $funcs of the two functions"
# 4. Another module on cache A: its runtime is the object compiled for livepatch-cmdline's,
# copied from beside the link template (only the descriptors are compiled), and make's build
# of it under its own name must give the same module: the runtime does not depend on the name.
"$kb" "${common[@]}" --sourcedir "$kdir/src" --cache "$tmp/a/cache" -j2 -v -o "$tmp/d" \
  --check-reproducible "$repo/testdata/patches/meminfo.patch" > "$tmp/d.log" 2>&1 ||
  { cat "$tmp/d.log"; fail "another module: --check-reproducible failed"; }
module_compiles() { # module_compiles LOG: the module's files its first build compiled itself
  awk '/building again for --check-reproducible/ { exit }
    /^\+ / { while (match($0, /-c -o [^ ]*\/(klp_runtime|klp_patch_info|[^ \/]*\.mod)\.o/)) {
        print substr($0, RSTART + 6, RLENGTH - 6); $0 = substr($0, RSTART + RLENGTH) } }' \
    "$1" | sed 's|.*/||' | sort -u | paste -sd' '
}
[[ $(module_compiles "$tmp/d.log") == "klp_patch_info.o livepatch-meminfo.mod.o" ]] ||
  fail "another module: compiled '$(module_compiles "$tmp/d.log")', not the descriptors and .mod.o"
grep -q "reproducible: a second build is bit-identical" "$tmp/d.log" ||
  fail "another module: the stored runtime differs from the one make compiles for its name"
# 5. The same module again: modpost writes the same .mod.c, so the .mod.o compiled for it
# above is used; the module is the same.
"$kb" "${common[@]}" --sourcedir "$kdir/src" --cache "$tmp/a/cache" -j2 -v -o "$tmp/e" \
  "$repo/testdata/patches/meminfo.patch" > "$tmp/e.log" 2>&1 ||
  { cat "$tmp/e.log"; fail "the same module again: klp-build failed"; }
[[ $(module_compiles "$tmp/e.log") == klp_patch_info.o ]] ||
  fail "the same module again: compiled '$(module_compiles "$tmp/e.log")', not the descriptors"
cmp "$tmp/d/livepatch-meminfo.ko" "$tmp/e/livepatch-meminfo.ko" ||
  fail "the same module again: the module with the kept .mod.o differs"
echo "reproducible: ok"
