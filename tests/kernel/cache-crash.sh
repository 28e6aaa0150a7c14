#!/usr/bin/env bash
# klp-build's cache under concurrency and crashes (issue 14):
# 1. two runs on one cache at once, different patches on the same tree, both succeed and give
#    the modules each gives alone (the tree entry's flock serialises them);
# 2. a run killed by SIGKILL during a phase (the patched build, with the tree's files unshared
#    and patched; the module link; the diff) leaves a cache the next run uses or repairs: it
#    succeeds and its module is bit-identical to the one of an undisturbed run, and the killed
#    run left no partial module behind.
source "$(dirname "$0")/lib.sh"
kb=${1:?usage: cache-crash.sh KLP_BUILD}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2> /dev/null || true; rm -rf "$tmp"' EXIT
args=(--sourcedir "$kdir/src" --config "$kdir/boot/.config" --vmlinux "$kdir/boot/vmlinux")
cmdline=$repo/testdata/patches/cmdline.patch
meminfo=$repo/testdata/patches/meminfo.patch

# The references: each patch alone, one after the other (a cache gives the same modules as none:
# tree-cache.sh).
for p in cmdline meminfo; do
  "$kb" "${args[@]}" --cache "$tmp/ref-cache" -o "$tmp/ref-$p" \
    "$repo/testdata/patches/$p.patch" > "$tmp/ref-$p.log" 2>&1 ||
    { cat "$tmp/ref-$p.log"; fail "reference build of $p.patch failed"; }
done
ref_cmdline=$tmp/ref-cmdline/livepatch-cmdline.ko
ref_meminfo=$tmp/ref-meminfo/livepatch-meminfo.ko

# 1. Two at once on one fresh cache: both must prepare the same tree entry.
"$kb" "${args[@]}" --cache "$tmp/shared" -o "$tmp/c1" "$cmdline" > "$tmp/c1.log" 2>&1 &
pid1=$!
"$kb" "${args[@]}" --cache "$tmp/shared" -o "$tmp/c2" "$meminfo" > "$tmp/c2.log" 2>&1 &
pid2=$!
wait $pid1 || { cat "$tmp/c1.log"; fail "concurrent run 1 (cmdline.patch) failed"; }
wait $pid2 || { cat "$tmp/c2.log"; fail "concurrent run 2 (meminfo.patch) failed"; }
cmp "$tmp/c1/livepatch-cmdline.ko" "$ref_cmdline" || fail "concurrent cmdline module differs"
cmp "$tmp/c2/livepatch-meminfo.ko" "$ref_meminfo" || fail "concurrent meminfo module differs"
[[ $(ls -d "$tmp"/shared/trees/* | wc -l) == 1 ]] || fail "the two runs made two tree entries"
echo "concurrent: both modules as alone"

# 2. SIGKILL once klp-build has printed phase AFTER's line, i.e. during the phase after it.
# With HOLD=DIR, the run is killed once DIR/held exists instead (a held process, see below).
kill_after() { # kill_after PHASE NAME PATCH
  local phase=$1 name=$2 patch=$3 log=$tmp/$2.log
  "$kb" "${args[@]}" --cache "$tmp/shared" -o "$tmp/$name" "$patch" > "$log" 2>&1 &
  local pid=$! i
  if [[ -n ${HOLD:-} ]]; then
    wait_held "$HOLD" $pid "$log"
    grep -q "^klp-build: $phase " "$log" || { cat "$log"; fail "$name: held before phase '$phase'"; }
  fi
  for ((i = 0; i < 6000; i++)); do
    grep -q "^klp-build: $phase " "$log" && break
    kill -0 $pid 2> /dev/null || break
    sleep 0.05
  done
  kill -9 $pid 2> /dev/null || { cat "$log"; fail "$name: the run ended before phase '$phase'"; }
  wait $pid 2> /dev/null || true
  [[ -z ${HOLD:-} ]] || kill -9 "$(cat "$HOLD/pid")" # the held process outlives the run
  # Written atomically or not at all: no module, or a whole one.
  local ko p=${patch##*/}
  p=${p%.patch}
  for ko in "$tmp/$name"/*.ko; do
    [[ -e $ko ]] || continue
    cmp "$ko" "$tmp/ref-$p/livepatch-$p.ko" || fail "$name: killed run left a partial $ko"
  done
  ls "$tmp/$name" 2> /dev/null | grep -q '\.tmp' && fail "$name: temporary files left in the output"
  return 0
}
again() { # again NAME PATCH REF: the next run on the killed cache
  local name=$1 patch=$2 ref=$3
  "$kb" "${args[@]}" --cache "$tmp/shared" -o "$tmp/$name-again" "$patch" \
    > "$tmp/$name-again.log" 2>&1 || { cat "$tmp/$name-again.log"; fail "$name: next run failed"; }
  cmp "$tmp/$name-again/$(basename "$ref")" "$ref" || fail "$name: next run's module differs"
  echo "$name: next run ok ($(grep -c 'reusing the prepared tree' "$tmp/$name-again.log") reuse)"
}
# During the patched build: the entry's files are unshared and patched (the dirty marker).
kill_after original k-patched "$meminfo"
again k-patched "$cmdline" "$ref_cmdline"
# The diff and the link of a warm run take a few tens of ms, less than the poll above: an `ld`
# first in PATH (lib.sh's hold_wrapper) holds the first ld whose arguments match a pattern, so
# the kill lands there.
# After the diff, the original and patched objects all built: held at the module's first link
# step (its composite object), before the link writes anything.
hold_wrapper "$tmp/hold-diff/bin/ld" "$tmp/hold-diff" '*' "$(command -v ld)"
PATH=$tmp/hold-diff/bin:$PATH HOLD=$tmp/hold-diff kill_after patched k-diff "$cmdline"
again k-diff "$meminfo" "$ref_meminfo"
# During the module link, once what it keeps in the cache (a new .mod.o) is written: held at
# its last step, the .ko's ld.
hold_wrapper "$tmp/hold-link/bin/ld" "$tmp/hold-link" '*.ko\ *' "$(command -v ld)"
PATH=$tmp/hold-link/bin:$PATH HOLD=$tmp/hold-link kill_after diff k-link "$meminfo"
again k-link "$meminfo" "$ref_meminfo"
# During the prepare of a fresh entry: the next run must not take it as ready.
rm -rf "$tmp/shared"
kill_after generate k-prepare "$cmdline"
again k-prepare "$cmdline" "$ref_cmdline"
echo "cache-crash: ok"
