#!/usr/bin/env bash
# Prove klp-build's patch corpus (testdata/patches/<case>.patch with
# <case>.expect) end to end on the test kernel (scripts/testkernel.sh).
#
# Usage: tests/e2e/corpus.sh [build|boot|all] [--klp-build BIN] [--out DIR] [CASE...]
#
#   build  run klp-build on every case, one after the other, and check the
#          .expect build lines (exit status, reported functions, messages, a
#          module written only on success). A case's result is reused while
#          klp-build, runtime/, templates/, the patch, its args and the test
#          kernel are unchanged.
#   boot   (after build; builds what is missing) boot the test kernel ONCE in
#          QEMU with every module and run the guest part of every case in
#          sequence, then report per case and check.
#   all    both (default).
#
# CASE: case names (default: every testdata/patches/*.expect).
# Output (default build/e2e): cases/<case>/{build.log,livepatch-<case>.ko,...},
# build-results.txt, tests.sh (the generated guest script), qemu.log (serial
# log, kept), report.txt. Exit status 0 only if every check passed.
#
# .expect format: one "KEYWORD ARGS" per line; blank lines and lines starting
# with '#' are ignored.
#   args ARG...          extra klp-build arguments (e.g. --no-replace)
#   exit N               klp-build's exit status: 0 module written, 1 error,
#                        2 cannot be live-patched, 3 no change (default 0)
#   patched OBJ FUNC     klp-build reports FUNC as patched in kernel object OBJ
#                        (vmlinux or a module name); together the lines are the
#                        exact set reported, and for the guest the exact set
#                        of functions under /sys/kernel/livepatch/<mod>/
#   new OBJ FUNC         the exact set of new functions reported
#   message TEXT         klp-build's output contains TEXT
# Guest, standard flow (exit 0 only): setup; "before" checks; insmod; enabled
# is 1; transition returns to 0; sysfs functions; "during" checks; echo 0 >
# enabled, transition 0 and the patch gone; "after" checks; rmmod; teardown.
# Every case then must leave nothing loaded and no Call Trace/WARNING:/BUG:
# in its part of the kernel log.
#   setup CMD            shell command run first (fatal if it fails)
#   teardown CMD         shell command run last (fatal if it fails)
#   check ID CMD         a shell command; its output (stdout+stderr, lines
#                        joined by spaces) is compared in the phases below
#   before ID PATTERN    ID's output before the patch is loaded, a shell glob
#   during ID PATTERN    ... while the patch is enabled
#   after ID PATTERN     ... once it was disabled (an empty PATTERN: no output)
#   guest-script         the rest of the file is the case's guest script
#                        instead of the standard flow (helpers:
#                        tests/e2e/guest-lib.sh)
#   uses CASE...         the guest script also loads these cases' modules:
#                        they are built (if not selected) and put in the guest
#   guest none           no guest part
# <case>.expect-clang, read with E2E_TESTKERNEL=clang (the clang-built test kernel): each
# KEYWORD it has replaces every KEYWORD line of <case>.expect; a KEYWORD alone means none.
#
# Environment: KLP_BUILD (klp-build binary, default build/klp-build/klp-build),
# KLP_CACHE (scripts/testkernel.sh), E2E_TESTKERNEL (clang: scripts/testkernel.sh --clang),
# E2E_QEMU_TIMEOUT (seconds, default 600).
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
here=$(dirname "$script")
# shellcheck source=lib.sh
. "$here/lib.sh"
repo=$E2E_REPO
patches=$repo/testdata/patches

mode=all
out=$repo/build/e2e
klp_build=${KLP_BUILD:-$repo/build/klp-build/klp-build}
cases=()
while (($#)); do
  case $1 in
    build|boot|all) mode=$1 ;;
    --out) out=$2; shift ;;
    --klp-build) klp_build=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$script"; exit 0 ;;
    -*) e2e_die "unknown option $1" ;;
    *) cases+=("$1") ;;
  esac
  shift
done
if ((${#cases[@]} == 0)); then
  for f in "$patches"/*.expect; do
    c=${f##*/}
    cases+=("${c%.expect}")
  done
fi
for c in "${cases[@]}"; do
  [[ -f $patches/$c.patch && -f $patches/$c.expect ]] || e2e_die "no $patches/$c.patch or .expect"
done
[[ -x $klp_build ]] || e2e_die "$klp_build not built (cmake --build build)"
klp_build=$(readlink -f "$klp_build")

mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 8>"$out/.lock"
flock 8
e2e_testkernel

# ------------------------------------------------------------- .expect --

# expect_lines CASE KEYWORD: the arguments of every KEYWORD line before
# guest-script.
expect_lines() {
  local f=$patches/$1.expect keep_empty=1
  # <case>.expect-clang (E2E_TESTKERNEL=clang): a KEYWORD it has replaces all KEYWORD lines
  # of <case>.expect; the KEYWORD alone means none. Code generation differs: clang drops a
  # noinline function whose return value it propagates into the callers.
  local o=$patches/$1.expect-${E2E_TESTKERNEL:-gcc}
  if [[ -f $o ]] && grep -Eq "^$2([[:space:]]|$)" "$o"; then
    f=$o keep_empty=0
  fi
  awk -v k="$2" -v keep_empty="$keep_empty" '
    /^guest-script[ \t]*$/ { exit }
    /^[ \t]*(#|$)/ { next }
    { kw = $1; rest = $0; sub(/^[^ \t]+[ \t]?/, "", rest)
      if (kw == k && (keep_empty || rest != "")) print rest }' "$f"
}
expect_script() {
  awk 'on { print } /^guest-script[ \t]*$/ { on = 1 }' "$patches/$1.expect"
}
expect_exit() {
  local e
  e=$(expect_lines "$1" exit | tail -n 1)
  echo "${e:-0}"
}
has_guest() {
  [[ $(expect_exit "$1") == 0 ]] || return 1
  [[ $(expect_lines "$1" guest | tail -n 1) != none ]] || return 1
  grep -Eq '^(guest-script|check )' "$patches/$1.expect"
}

# ---------------------------------------------------------------- build --

results=$out/build-results.txt

build_key() {
  local c=$1
  {
    sha256sum "$klp_build" | cut -d' ' -f1
    (cd "$repo" && find runtime templates -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    sha256sum "$patches/$c.patch" | cut -d' ' -f1
    cat "$patches/$c.expect-${E2E_TESTKERNEL:-gcc}" 2>/dev/null || true
    expect_lines "$c" args
    cat "$E2E_KDIR/.key" "$E2E_KDIR/.mod-key" 2>/dev/null || true
    sha256sum "$E2E_CONFIG" | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
}

# result CASE CHECK PASS|FAIL DETAIL: one result line, printed and recorded.
result() {
  local line="E2E $1 $2 $3 $4"
  echo "$line"
  echo "$line" >>"$out/cases/$1/build.results"
  echo "$line" >>"$results"
}

cache_opts=(--cache "$out/klp-build-cache")

build_case() {
  local c=$1 dir=$out/cases/$1 key
  key=$(build_key "$c")
  if [[ -f $dir/key && $(cat "$dir/key") == "$key" && -f $dir/build.results ]]; then
    echo cached >"$dir/state"
    cat "$dir/build.results"
    cat "$dir/build.results" >>"$results"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir/module"
  local args=() a
  for a in $(expect_lines "$c" args); do args+=("$a"); done
  local cmd=("$klp_build" --sourcedir "$E2E_SRC" --config "$E2E_CONFIG" --vmlinux "$E2E_VMLINUX"
             "${cache_opts[@]}" -o "$dir/module" "${args[@]}" "$patches/$c.patch")
  echo "${cmd[*]}" >"$dir/command"
  local start rc=0
  start=$(date +%s.%N)
  "${cmd[@]}" >"$dir/build.log" 2>&1 </dev/null || rc=$?
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$dir/secs"
  echo built >"$dir/state"
  echo "$rc" >"$dir/rc"

  local want
  want=$(expect_exit "$c")
  if [[ $rc == "$want" ]]; then
    result "$c" build:exit PASS "exit $rc ($(cat "$dir/secs") s)"
  else
    result "$c" build:exit FAIL "exit $rc, want $want: $(grep -v '^klp-build: [a-z]* *[0-9.]* s$' "$dir/build.log" | tail -n 3 | tr '\n' ' ')"
  fi
  local kind got exp
  for kind in patched new; do
    got=$(sed -n "s/^klp-build: [^ ]* (\([^)]*\)): $kind \(.*\)$/\1 \2/p" "$dir/build.log" | LC_ALL=C sort | tr '\n' ';')
    exp=$(expect_lines "$c" "$kind" | LC_ALL=C sort | tr '\n' ';')
    if [[ $got == "$exp" ]]; then
      [[ -z $exp ]] || result "$c" "build:$kind" PASS "$got"
    else
      result "$c" "build:$kind" FAIL "reported '$got', want '$exp'"
    fi
  done
  local m
  while IFS= read -r m; do
    if grep -qF -- "$m" "$dir/build.log"; then
      result "$c" build:message PASS "'$m'"
    else
      result "$c" build:message FAIL "no '$m' in the output"
    fi
  done < <(expect_lines "$c" message)
  local ko=$dir/module/livepatch-$c.ko others
  others=$(find "$dir/module" -type f ! -name "livepatch-$c.ko" | tr '\n' ' ')
  if [[ $want == 0 ]]; then
    if [[ -f $ko && -z $others ]]; then
      result "$c" build:module PASS "livepatch-$c.ko ($(stat -c %s "$ko") bytes)"
    else
      result "$c" build:module FAIL "want only livepatch-$c.ko in $dir/module, have: $(ls "$dir/module" | tr '\n' ' ')"
    fi
  else
    if [[ -z $(ls -A "$dir/module") ]]; then
      result "$c" build:no-module PASS "nothing written"
    else
      result "$c" build:no-module FAIL "wrote $(ls "$dir/module" | tr '\n' ' ')"
    fi
  fi
  echo "$key" >"$dir/key"
}

do_build() {
  local c t0 t1
  : >"$results"
  t0=$(date +%s)
  for c in "${cases[@]}"; do
    build_case "$c"
  done
  t1=$(date +%s)
  echo "e2e: build phase: $((t1 - t0)) s for ${#cases[@]} cases"
  for c in "${cases[@]}"; do
    printf 'e2e:   %-18s %6s s  %s\n' "$c" "$(cat "$out/cases/$c/secs")" \
      "exit $(cat "$out/cases/$c/rc")$([[ $(cat "$out/cases/$c/state") == cached ]] && echo ' (cached result)')"
  done
  ! grep -q '^E2E [^ ]* [^ ]* FAIL' "$results"
}

# ----------------------------------------------------------------- boot --

fname() { echo "e2e_t_$1" | tr -- '-' '_'; }

# The standard flow of one case, as guest shell code.
standard_flow() {
  local c=$1 line id cmd pat phase n=0
  local -A check_cmd=()
  local ids=()
  while IFS= read -r line; do
    id=${line%% *} cmd=${line#* }
    [[ $line == *" "* ]] || cmd=
    check_cmd[$id]=$cmd
    ids+=("$id")
  done < <(expect_lines "$c" check)
  while IFS= read -r cmd; do
    n=$((n + 1))
    echo "e2e_run setup:$n $(e2e_sq "$cmd")"
  done < <(expect_lines "$c" setup)
  emit_phase() {
    local phase=$1 line id pat
    while IFS= read -r line; do
      id=${line%% *} pat=${line#* }
      [[ $line == *" "* ]] || pat=
      [[ -n ${check_cmd[$id]+x} ]] || e2e_die "$c.expect: '$phase $id' without 'check $id'"
      echo "e2e_expect $phase:$id $(e2e_sq "$pat") $(e2e_sq "${check_cmd[$id]}")"
    done < <(expect_lines "$c" "$phase")
  }
  emit_phase before
  echo "e2e_load $c"
  # Expected sysfs functions: "obj:f1,f2 obj2:f3", sorted.
  local funcs
  funcs=$(expect_lines "$c" patched | LC_ALL=C sort | awk '
    { if ($1 != o) { if (o != "") printf " "; printf "%s:%s", $1, $2; o = $1 } else printf ",%s", $2 }')
  echo "e2e_funcs $c $(e2e_sq "$funcs")"
  emit_phase during
  echo "e2e_disable $c"
  emit_phase after
  echo "e2e_unload $c"
  n=0
  while IFS= read -r cmd; do
    n=$((n + 1))
    echo "e2e_run teardown:$n $(e2e_sq "$cmd")"
  done < <(expect_lines "$c" teardown)
}

do_boot() {
  local c guest=() missing=() files=() tests=$out/tests.sh
  for c in "${cases[@]}"; do
    has_guest "$c" || continue
    [[ -f $out/cases/$c/key && $(cat "$out/cases/$c/key") == "$(build_key "$c")" ]] ||
      build_case "$c" >/dev/null
    guest+=("$c")
  done
  for c in "${guest[@]}"; do
    local ko=$out/cases/$c/module/livepatch-$c.ko
    if [[ -f $ko ]]; then
      files+=("/lib/modules/livepatch-$c.ko=$ko")
    else
      missing+=("$c")
    fi
  done
  # Modules of other cases a guest script loads ("uses").
  local -A in_guest=()
  local u
  for c in "${guest[@]}"; do in_guest[$c]=1; done
  for c in "${guest[@]}"; do
    for u in $(expect_lines "$c" uses); do
      [[ -z ${in_guest[$u]:-} ]] || continue
      in_guest[$u]=1
      [[ -f $patches/$u.patch && -f $patches/$u.expect ]] || e2e_die "$c.expect: uses $u: no such case"
      [[ -f $out/cases/$u/key && $(cat "$out/cases/$u/key") == "$(build_key "$u")" ]] ||
        build_case "$u" >/dev/null
      [[ ! -f $out/cases/$u/module/livepatch-$u.ko ]] ||
        files+=("/lib/modules/livepatch-$u.ko=$out/cases/$u/module/livepatch-$u.ko")
    done
  done
  files+=("/lib/modules/klp_test_mod.ko=$E2E_TESTMOD_KO")
  local run=()
  {
    echo "# generated by tests/e2e/corpus.sh from testdata/patches/*.expect"
    for c in "${guest[@]}"; do
      [[ " ${missing[*]} " == *" $c "* ]] && continue
      run+=("$c")
      echo
      echo "# ---- $c"
      echo "$(fname "$c")() {"
      if grep -q '^guest-script[[:space:]]*$' "$patches/$c.expect"; then
        expect_script "$c" | sed 's/^/\t/'
      else
        standard_flow "$c" | sed 's/^/\t/'
      fi
      echo "}"
      echo "e2e_case $c $(fname "$c")"
    done
  } >"$tests"
  local cpio=$out/initramfs.cpio log=$out/qemu.log rc=0 t0 t1
  e2e_initramfs "$cpio" "$tests" "${files[@]}"
  echo "e2e: booting $E2E_BZIMAGE with ${#run[@]} cases (log: $log)"
  t0=$(date +%s)
  e2e_qemu "$cpio" "$log" || rc=$?
  t1=$(date +%s)
  echo "e2e: QEMU ran $((t1 - t0)) s, status $rc"
  local failed=0
  {
    grep -E '^E2E [^ ]+ [^ ]+ (PASS|FAIL)' "$log" || true
    for c in "${missing[@]}"; do
      echo "E2E $c module FAIL not built: $(grep -h 'FAIL' "$out/cases/$c/build.results" | head -n 1)"
    done
  } >"$out/guest-results.txt"
  {
    e2e_report "$log" boot "${run[@]}" all || failed=1
    for c in "${missing[@]}"; do
      echo "  FAIL $c: guest checks not run: no module (see build)"
      failed=1
    done
    ((rc == 0)) || { echo "  FAIL qemu: exit status $rc$( ((rc == 124)) && echo ' (timeout)')"; failed=1; }
  } | tee "$out/report.txt"
  grep -q 'FAIL' "$out/report.txt" && failed=1
  if ((failed)); then
    echo "e2e: guest checks FAILED; serial log kept: $log"
    return 1
  fi
  echo "e2e: all guest checks passed (serial log: $log)"
}

status=0
case $mode in
  build) do_build || status=1 ;;
  boot) e2e_check_tools; do_boot || status=1 ;;
  all)
    e2e_check_tools
    do_build || status=1
    do_boot || status=1
    ;;
esac
exit $status
