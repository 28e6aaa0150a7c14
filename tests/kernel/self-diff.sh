#!/usr/bin/env bash
# Every kernel object of the test kernel's -ffunction-sections build, diffed against itself, must
# give exit 3 (no change) and print no error. Host tools and the 16/32-bit boot and realmode
# objects are not kernel objects and are skipped by path.
source "$(dirname "$0")/lib.sh"
cdo=${1:?usage: self-diff.sh CREATE_DIFF_OBJECT}
build=$(testkernel_dir)/fsections
cd "$build"
mapfile -t objs < <(find . -name '*.o' ! -name '*.mod.o' ! -path './tools/*' ! -path './scripts/*' \
  ! -path './arch/x86/tools/*' ! -path './arch/x86/realmode/rm/*' ! -path './arch/x86/boot/*' \
  | sort)
(( ${#objs[@]} > 500 )) || fail "only ${#objs[@]} objects found in $build"
bad=0
for o in "${objs[@]}"; do
  set +e
  out=$("$cdo" --orig "$o" --patched "$o" --symvers Module.symvers -o "$BASHPID.self.o" 2>&1)
  rc=$?
  set -e
  if [[ $rc -ne 3 || $out != *"no changes that need a livepatch"* || $out == *create-diff-object:* ]]; then
    echo "$o: exit $rc: $out" >&2
    bad=$((bad + 1))
  fi
  [[ ! -e $BASHPID.self.o ]] || fail "$o: output written for an unchanged object"
done
echo "self-diff: ${#objs[@]} objects, $bad unexpected results"
[[ $bad -eq 0 ]]
