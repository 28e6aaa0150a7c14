#!/usr/bin/env bash
# Build klp-build livepatch modules the way the klp-build driver will, from
# runtime/ + templates/ + hand-made diff objects (testdata/runtime/), and
# prove that they compile, link and work.
#
# Usage: tests/runtime/build-module.sh [--no-boot] [--out DIR] [KDIR...]
#
# KDIR: kernel build directories to build against (make -C KDIR M=...).
# Default: Debian's stock headers (/usr/src/linux-headers-6.1.0-56-amd64,
# or $KLP_DEBIAN_KDIR) if installed, and the test kernel's boot/ build
# (scripts/testkernel.sh --print-dir) if built.  The test kernel is never
# built from here.
#
# For every KDIR:
#   1. compile the fake diff objects and the directive test sources as
#      module objects (with -I runtime/include, as klp-build compiles patched
#      kernel objects), check the section layout create-diff-object relies on,
#      compare the KLP/KPATCH syscall macros with SYSCALL_DEFINE3, and check
#      that misused directives do not compile;
#   2. assemble one kbuild directory per test module exactly like klp-build
#      (Kbuild and klp_patch_info.c from the templates with sed, klp_runtime.c,
#      klp_build.h, klp_build.lds, prebuilt diff-NNN.o) and make modules;
#   3. check the .ko files (modinfo, descriptor sections, linker symbols).
# Then, if the test kernel is among the KDIRs and --no-boot is not given,
# boot it in QEMU with a busybox initramfs and exercise the modules (see the
# guest script below); the serial log is kept in <out>/boot.log.
#
# Output: <out>/<kernel tag>/{stage,<module>}/ and logs, default
# build/runtime-test.  Exit status 0 only if every check passed.
#
# Environment: KLP_DEBIAN_KDIR, KLP_CACHE (see scripts/testkernel.sh),
# KLP_BOOT_TIMEOUT (seconds, default 600).
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/../.." && pwd)
runtime=$repo/runtime
templates=$repo/templates
testdata=$repo/testdata/runtime
debian_kdir=${KLP_DEBIAN_KDIR:-/usr/src/linux-headers-6.1.0-56-amd64}
timeout_s=${KLP_BOOT_TIMEOUT:-600}

boot=1
out=$repo/build/runtime-test
kdirs=()
while (($#)); do
  case $1 in
    --no-boot) boot=0 ;;
    --out) out=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$script"; exit 0 ;;
    -*) echo "build-module: unknown option $1" >&2; exit 2 ;;
    *) kdirs+=("$(cd "$1" && pwd)") ;;
  esac
  shift
done

testkernel_dir=$("$repo/scripts/testkernel.sh" --print-dir)
testkernel_boot=$testkernel_dir/boot
testkernel_ready() {
  [[ -f $testkernel_boot/arch/x86/boot/bzImage && -f $testkernel_boot/Module.symvers ]]
}
if ((${#kdirs[@]} == 0)); then
  if [[ -f $debian_kdir/Makefile ]]; then
    kdirs+=("$debian_kdir")
  else
    echo "build-module: note: $debian_kdir not installed (apt-get install linux-headers-6.1.0-56-amd64)" >&2
  fi
  if testkernel_ready; then
    kdirs+=("$testkernel_boot")
  else
    echo "build-module: note: test kernel not built ($testkernel_boot); skipping it and the QEMU test" >&2
  fi
fi
((${#kdirs[@]})) || { echo "build-module: error: no kernel build directory" >&2; exit 1; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# ---------------------------------------------------------------- helpers --

# Size (decimal) of section $2 in $1, or "none".
sec_size() {
  local hex
  hex=$(readelf -SW "$1" | awk -v s="$2" '
    { sub(/^ *\[ *[0-9]+\] /, "") }
    $1 == s { print $5 }')
  if [[ -n $hex ]]; then echo $((16#$hex)); else echo none; fi
}
# Flags of section $2 in $1.
sec_flags() {
  readelf -SW "$1" | awk -v s="$2" '
    { sub(/^ *\[ *[0-9]+\] /, "") }
    $1 == s { print $7 }'
}
# "offset type symbol" lines (offset in decimal) of the relocations of
# section $2 in $1.
sec_relocs() {
  local off type sym
  readelf -rW "$1" | awk -v s="'.rela$2'" '
    /^Relocation section/ { on = ($3 == s); next }
    on && NF >= 5 && $1 ~ /^[0-9a-f]+$/ { print $1, $3, $5 }' |
  while read -r off type sym; do
    echo "$((16#$off)) $type $sym"
  done
}
# Value (decimal) of symbol $2 in $1.
sym_value() {
  local hex
  hex=$(readelf -sW "$1" | awk -v s="$2" '$8 == s { print $2; exit }')
  [[ -n $hex ]] && echo $((16#$hex))
}
# Hex bytes of section $2 in $1, as one string.
sec_hex() {
  readelf -x "$2" "$1" 2>/dev/null | awk '/^  0x/ { for (i = 2; i <= 5 && i <= NF; i++) if ($i ~ /^[0-9a-f]+$/) printf "%s", $i }'
}

# The callback sections of a directive-compiled object: one 16-byte record
# each, aligned 8, allocatable, fn relocated at +0, objname 0 with no
# relocation at +8 (create-diff-object adds that one).
check_callback_layout() {
  local obj=$1 tag=$2 kind sec relocs
  for kind in pre_patch post_patch pre_unpatch post_unpatch; do
    sec=__klp_callbacks_$kind
    relocs=$(sec_relocs "$obj" "$sec")
    check "$tag: $sec is one 16-byte record" [ "$(sec_size "$obj" "$sec")" = 16 ]
    check "$tag: $sec is allocatable (A)" [ "$(sec_flags "$obj" "$sec")" = A ]
    check "$tag: $sec fn relocated (R_X86_64_64 at +0)" \
      grep -q '^0 R_X86_64_64 ' <<<"$relocs"
    check "$tag: $sec objname not relocated (+8)" \
      bash -c '! grep -q "^8 " <<<"$1"' _ "$relocs"
    check "$tag: $sec objname is NULL" \
      [ "$(sec_hex "$obj" "$sec" | cut -c17-32)" = 0000000000000000 ]
  done
}

# ------------------------------------------------------------- the guest --

# /init of the QEMU test.  Every result is an "RT:" line; the host checks
# them and the kernel log, which is printed at the end.
write_guest_init() {
  { cat "$repo/scripts/guest-init-preamble.sh"; cat <<'EOF'; } >"$1"
guest_tag=RT
dmesg -c >/dev/null
M=/lib/modules
L=/sys/kernel/livepatch

# wait_gone PATH: up to 60 s for PATH to disappear
wait_gone() {
  i=0
  while [ -e "$1" ]; do
    i=$((i + 1)); [ $i -le 60 ] || return 1
    sleep 1
  done
}
loaded() { grep -q "^$1 " /proc/modules; }
# must_not_load NAME: insmod must fail and leave nothing behind
must_not_load() {
  if insmod $M/$1.ko 2>/tmp/err; then fail "$1 loaded"; fi
  echo "RT: $1 refused: $(cat /tmp/err)"
  [ -e $L/$1 ] && fail "$1 left $L/$1"
  loaded $1 && fail "$1 left in /proc/modules"
  echo "RT: $1 left nothing behind"
}

echo "RT: kernel $(uname -r)"
echo "RT: cmdline original: $(cat /proc/cmdline)"
echo "RT: version original: $(cut -c1-40 /proc/version)"

# 1. A failing pre-patch callback fails insmod cleanly.
must_not_load klp_rt_fail
echo "RT: cmdline after klp_rt_fail: $(cat /proc/cmdline)"

# 2. Malformed descriptors are rejected: a callback without objname (not
#    processed by create-diff-object), an objname over 55 characters, the
#    same function replaced by two diff objects.
must_not_load klp_rt_nullobj
must_not_load klp_rt_longobj
must_not_load klp_rt_dup

# 3. No callback or state sections, replace=false.
insmod $M/klp_rt_min.ko || fail "insmod klp_rt_min"
echo "RT: klp_rt_min enabled=$(cat $L/klp_rt_min/enabled)"
wait_for $L/klp_rt_min/transition 0 || fail "klp_rt_min transition"
echo "RT: klp_rt_min transition=$(cat $L/klp_rt_min/transition)"
echo "RT: cmdline with klp_rt_min: $(cat /proc/cmdline)"

# 4. Two diff objects, two kernel objects, callbacks, a state, replace=true:
#    replaces klp_rt_min.
insmod $M/klp_rt_ok.ko || fail "insmod klp_rt_ok"
echo "RT: klp_rt_ok enabled=$(cat $L/klp_rt_ok/enabled)"
wait_for $L/klp_rt_ok/transition 0 || fail "klp_rt_ok transition"
echo "RT: klp_rt_ok transition=$(cat $L/klp_rt_ok/transition)"
echo "RT: klp_rt_ok objects: $(cd $L/klp_rt_ok && ls -d */ | tr -d / | tr '\n' ' ')"
echo "RT: klp_rt_ok vmlinux funcs: $(ls $L/klp_rt_ok/vmlinux | grep , | tr '\n' ' ')"
echo "RT: cmdline with klp_rt_ok: $(cat /proc/cmdline)"
echo "RT: version with klp_rt_ok: $(cat /proc/version)"
wait_gone $L/klp_rt_min || fail "klp_rt_min not replaced"
rmmod klp_rt_min || fail "rmmod klp_rt_min"
echo "RT: klp_rt_min replaced and removed"

# 5. The klp_test_mod object is patched when the module comes.
insmod $M/klp_test_mod.ko || fail "insmod klp_test_mod"
echo "RT: klp_test_mod with klp_rt_ok: $(head -n 1 /proc/klp_test_mod)"
rmmod klp_test_mod || fail "rmmod klp_test_mod"

# 6. Disable, restore, unload.
echo 0 >$L/klp_rt_ok/enabled || fail "disable klp_rt_ok"
wait_gone $L/klp_rt_ok || fail "klp_rt_ok did not go away"
echo "RT: cmdline after disable: $(cat /proc/cmdline)"
echo "RT: version after disable: $(cut -c1-40 /proc/version)"
rmmod klp_rt_ok || fail "rmmod klp_rt_ok"
loaded klp_rt_ok && fail "klp_rt_ok still loaded"
echo "RT: klp_rt_ok removed"
insmod $M/klp_test_mod.ko || fail "insmod klp_test_mod again"
echo "RT: klp_test_mod unpatched: $(head -n 1 /proc/klp_test_mod)"
rmmod klp_test_mod

echo "RT: kernel log:"
dmesg | sed 's/^/RT-LOG: /'
echo "RT: DONE"
reboot -f
EOF
}

# --------------------------------------------------------------- per kdir --

# assemble_module KDIR DIR NAME REPLACE DIFF_OBJ...: a kbuild directory laid
# out as klp-build lays it out, then make modules.
assemble_module() {
  local kdir=$1 dir=$2 name=$3 replace=$4
  shift 4
  local diffs=() i=0 o
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$runtime/klp_runtime.c" "$runtime/klp_build.h" "$templates/klp_build.lds" "$dir/"
  for o in "$@"; do
    diffs+=("$(printf 'diff-%03d.o' $i)")
    cp "$o" "$dir/${diffs[-1]}"
    i=$((i + 1))
  done
  sed -e "s/@MODNAME@/$name/g" -e "s/@DIFF_OBJECTS@/${diffs[*]}/g" \
    "$templates/Kbuild.in" >"$dir/Kbuild"
  sed -e "s/@MODNAME@/$name/g" -e "s/@REPLACE@/$replace/g" \
    -e "s/@DESCRIPTION@/klp-build runtime test: $name/g" -e "s/@VERSION@/test/g" \
    "$templates/klp_patch_info.c.in" >"$dir/klp_patch_info.c"
  if grep -Eq '@[A-Z_]+@' "$dir/Kbuild" "$dir/klp_patch_info.c"; then
    fail "$name: placeholders left after substitution"
    return 1
  fi
  make -C "$kdir" M="$dir" modules >"$dir/make.log" 2>&1 || {
    cat "$dir/make.log"
    return 1
  }
}

test_kdir() {
  local kdir=$1 tag work stage o f warn
  tag=$(basename "$kdir")
  [[ $kdir == "$testkernel_boot" ]] && tag=testkernel
  work=$out/$tag
  stage=$work/stage
  echo "=== $kdir ($(make -s -C "$kdir" kernelrelease 2>/dev/null || echo '?'))"
  rm -rf "$work"
  mkdir -p "$stage"

  # 1. objects, compiled as klp-build compiles patched objects
  cp "$testdata"/*.c "$testdata"/*.h "$stage/"
  for f in vmlinux_ok vmlinux_min vmlinux_fail vmlinux_long; do
    cp "$testdata/fake_diff.c" "$stage/$f.c"
  done
  cp "$testdata/fake_diff_mod.c" "$stage/mod_ok.c"
  for f in syscall_orig syscall_kpatch syscall_klp; do
    cp "$testdata/syscall.c" "$stage/$f.c"
  done
  local bad_cases=(
    "BAD_PRE_PATCH_VOID:wrong signature"
    "BAD_POST_PATCH_INT:wrong signature"
    "BAD_PRE_UNPATCH_ARGS:wrong signature"
    "BAD_KPATCH_POST_UNPATCH:wrong signature"
    "BAD_TWO_PRE_PATCH:redefinition"
    "BAD_STATE_ZERO:id must be non-zero"
    "BAD_IGNORE_VARIABLE:error"
    "BAD_IGNORE_POINTER:not a function"
    "BAD_IGNORE_SECTION:error"
  )
  local c bad_objs=()
  for c in "${bad_cases[@]}"; do
    printf '#define %s 1\n#include "directives_bad.c"\n' "${c%%:*}" >"$stage/bad_${c%%:*}.c"
    bad_objs+=("bad_${c%%:*}.o")
  done
  local good_objs=(vmlinux_ok.o vmlinux_min.o vmlinux_fail.o vmlinux_long.o mod_ok.o
                   directives.o kpatch_compat.o syscall_orig.o syscall_kpatch.o syscall_klp.o)
  cat >"$stage/Kbuild" <<EOF
ccflags-y += -I$runtime/include
obj-m += ${good_objs[*]} ${bad_objs[*]}
CFLAGS_vmlinux_ok.o := -DFAKE_TAG='"klp_rt_ok"'
CFLAGS_mod_ok.o := -DFAKE_TAG='"klp_rt_ok"'
CFLAGS_vmlinux_min.o := -DFAKE_TAG='"klp_rt_min"' -DFAKE_MINIMAL
CFLAGS_vmlinux_fail.o := -DFAKE_TAG='"klp_rt_fail"' -DFAKE_FAIL
CFLAGS_vmlinux_long.o := -DFAKE_TAG='"klp_rt_longobj"' -DFAKE_LONG_OBJNAME
CFLAGS_syscall_kpatch.o := -DUSE_KPATCH
CFLAGS_syscall_klp.o := -DUSE_KLP
EOF
  if make -C "$kdir" M="$stage" "${good_objs[@]}" >"$stage/make.log" 2>&1; then
    pass "$tag: fake diff objects and directive sources compile"
  else
    cat "$stage/make.log"
    fail "$tag: compiling the test objects"
    return
  fi
  warn=$(grep -c 'warning:' "$stage/make.log" || true)
  check "$tag: only the KPATCH_FORCE_UNSAFE warning (warnings: $warn)" \
    [ "$warn" = 1 ]
  check "$tag: KPATCH_FORCE_UNSAFE warns" \
    grep -q 'kpatch_compat.c:.*KPATCH_FORCE_UNSAFE has no effect' "$stage/make.log"

  for c in "${bad_cases[@]}"; do
    if make -C "$kdir" M="$stage" "bad_${c%%:*}.o" >"$stage/bad_${c%%:*}.log" 2>&1; then
      fail "$tag: ${c%%:*} compiled"
    else
      check "$tag: ${c%%:*} does not compile (\"${c#*:}\")" \
        grep -q -- "${c#*:}" "$stage/bad_${c%%:*}.log"
    fi
  done

  check_callback_layout "$stage/directives.o" "$tag: directives.o"
  check_callback_layout "$stage/kpatch_compat.o" "$tag: kpatch_compat.o"
  check "$tag: directives.o: __klp_states is two 16-byte records" \
    [ "$(sec_size "$stage/directives.o" __klp_states)" = 32 ]
  local states
  states=$(sec_hex "$stage/directives.o" __klp_states)
  check "$tag: directives.o: state 0x1234 version 1" \
    grep -q '34120000000000000100000000000000' <<<"$states"
  check "$tag: directives.o: state 0x5678 version 3" \
    grep -q '78560000000000000300000000000000' <<<"$states"
  check "$tag: directives.o: KLP_IGNORE_FUNCTION record" \
    grep -q '^0 R_X86_64_64 directives_changed_by_side_effect' \
    <<<"$(sec_relocs "$stage/directives.o" __klp_ignore_functions)"
  check "$tag: kpatch_compat.o: KPATCH_IGNORE_FUNCTION record" \
    grep -q '^0 R_X86_64_64 kp_ignored' \
    <<<"$(sec_relocs "$stage/kpatch_compat.o" __klp_ignore_functions)"
  check "$tag: kpatch_compat.o: KPATCH_FORCE_UNSAFE/IGNORE_SECTION emit nothing" \
    bash -c '! readelf -SW "$1" | grep -q kpatch' _ "$stage/kpatch_compat.o"
  check "$tag: vmlinux_ok.o: __klp_funcs is two 32-byte records" \
    [ "$(sec_size "$stage/vmlinux_ok.o" __klp_funcs)" = 64 ]
  check "$tag: vmlinux_min.o: no callback or state sections" \
    bash -c '! readelf -SW "$1" | grep -Eq "__klp_(callbacks|states)"' _ "$stage/vmlinux_min.o"

  # syscalls: same symbols as SYSCALL_DEFINE3 but for the body's name, and
  # traceable stubs
  local syms_orig syms
  syms_orig=$(nm --defined-only "$stage/syscall_orig.o" | awk '{print $2, $3}' | sort)
  for f in syscall_kpatch syscall_klp; do
    syms=$(nm --defined-only "$stage/$f.o" | awk '{print $2, $3}' | sed 's/__klp_do_sys_/__do_sys_/' | sort)
    check "$tag: $f.o has SYSCALL_DEFINE3's symbols (body renamed)" \
      [ "$syms" = "$syms_orig" ]
    check "$tag: $f.o: __x64_sys_klp_runtime_test calls __fentry__" \
      bash -c 'objdump -dr --disassemble=__x64_sys_klp_runtime_test "$1" | grep -q __fentry__' _ "$stage/$f.o"
    check "$tag: $f.o: syscall metadata as in the original" \
      [ "$(sec_size "$stage/$f.o" __syscalls_metadata)" = "$(sec_size "$stage/syscall_orig.o" __syscalls_metadata)" ]
  done
  echo "  syscall_klp.o symbols: $(nm --defined-only "$stage/syscall_klp.o" | awk '{print $3}' | grep -v '^__UNIQUE\|^_note' | tr '\n' ' ')"

  # 2. modules
  local m ok=1
  assemble_module "$kdir" "$work/klp_rt_ok" klp_rt_ok true "$stage/vmlinux_ok.o" "$stage/mod_ok.o" || ok=0
  assemble_module "$kdir" "$work/klp_rt_min" klp_rt_min false "$stage/vmlinux_min.o" || ok=0
  assemble_module "$kdir" "$work/klp_rt_fail" klp_rt_fail true "$stage/vmlinux_fail.o" || ok=0
  assemble_module "$kdir" "$work/klp_rt_nullobj" klp_rt_nullobj true "$stage/directives.o" || ok=0
  assemble_module "$kdir" "$work/klp_rt_longobj" klp_rt_longobj true "$stage/vmlinux_long.o" || ok=0
  assemble_module "$kdir" "$work/klp_rt_dup" klp_rt_dup true "$stage/vmlinux_min.o" "$stage/vmlinux_min.o" || ok=0
  assemble_module "$kdir" "$work/klp_rt_empty" klp_rt_empty true || ok=0
  check "$tag: all seven modules build (make modules)" [ $ok = 1 ]
  ((ok)) || return
  check "$tag: no compiler or modpost warning in the module builds" \
    bash -c '! grep -h "warning" "$@"' _ "$work"/klp_rt_*/make.log

  # 3. the .ko files
  local ko=$work/klp_rt_ok/klp_rt_ok.ko
  check "$tag: klp_rt_ok.ko: modinfo livepatch=Y" [ "$(modinfo -F livepatch "$ko")" = Y ]
  check "$tag: klp_rt_ok.ko: modinfo license=GPL" [ "$(modinfo -F license "$ko")" = GPL ]
  check "$tag: klp_rt_ok.ko: modinfo description" \
    [ "$(modinfo -F description "$ko")" = "klp-build runtime test: klp_rt_ok" ]
  check "$tag: klp_rt_ok.ko: __klp_funcs has 3 records from 2 diff objects" \
    [ "$(sec_size "$ko" __klp_funcs)" = 96 ]
  for f in pre_patch post_patch pre_unpatch post_unpatch; do
    check "$tag: klp_rt_ok.ko: __klp_callbacks_$f has 2 records" \
      [ "$(sec_size "$ko" __klp_callbacks_$f)" = 32 ]
  done
  check "$tag: klp_rt_ok.ko: __klp_states has 1 record" [ "$(sec_size "$ko" __klp_states)" = 16 ]
  check "$tag: klp_rt_ok.ko: linker-script symbols bracket __klp_funcs" \
    [ "$(sym_value "$ko" __klp_funcs_start)-$(sym_value "$ko" __klp_funcs_end)" = 0-96 ]
  local kmin=$work/klp_rt_min/klp_rt_min.ko
  for f in __klp_callbacks_pre_patch __klp_callbacks_post_unpatch __klp_states; do
    check "$tag: klp_rt_min.ko: empty $f exists, allocatable" \
      [ "$(sec_size "$kmin" $f)/$(sec_flags "$kmin" $f)" = 0/A ]
  done
  check "$tag: klp_rt_nullobj.ko: __klp_ignore_functions discarded" \
    [ "$(sec_size "$work/klp_rt_nullobj/klp_rt_nullobj.ko" __klp_ignore_functions)" = none ]
  check "$tag: klp_rt_empty.ko: all descriptor sections empty" \
    [ "$(sec_size "$work/klp_rt_empty/klp_rt_empty.ko" __klp_funcs)" = 0 ]
}

boot_test() {
  local work=$out/testkernel b=$testkernel_boot init list log rc=0 start secs
  echo "=== QEMU: $b/arch/x86/boot/bzImage"
  init=$work/init
  write_guest_init "$init"
  list=$work/initramfs.list
  {
    echo "dir /dev 0755 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "dir /bin 0755 0 0"
    echo "file /bin/busybox /bin/busybox 0755 0 0"
    echo "file /init $init 0755 0 0"
    echo "dir /lib 0755 0 0"
    echo "dir /lib/modules 0755 0 0"
    echo "file /lib/modules/klp_test_mod.ko $b/drivers/misc/klp_test_mod/klp_test_mod.ko 0644 0 0"
    for m in klp_rt_ok klp_rt_min klp_rt_fail klp_rt_nullobj klp_rt_longobj klp_rt_dup; do
      echo "file /lib/modules/$m.ko $work/$m/$m.ko 0644 0 0"
    done
  } >"$list"
  "$b/usr/gen_init_cpio" "$list" >"$work/initramfs.cpio"
  log=$out/boot.log
  start=$(date +%s)
  timeout --foreground -k 10 "$timeout_s" \
    qemu-system-x86_64 -accel tcg -cpu qemu64 -m 512 -smp 1 -nographic -no-reboot \
      -kernel "$b/arch/x86/boot/bzImage" -initrd "$work/initramfs.cpio" \
      -append "console=ttyS0 panic=-1" </dev/null >"$log" 2>&1 || rc=$?
  secs=$(($(date +%s) - start))
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  echo "----- guest results ($log, ${secs}s, qemu status $rc) -----"
  grep -E '^RT' "$log" || tail -n 30 "$log"
  echo "----- end -----"
  check "QEMU exited normally (reboot -f)" [ $rc = 0 ]
  local e
  local expected=(
    "RT: cmdline original: console=ttyS0 panic=-1"
    "RT: klp_rt_fail refused: insmod: can't insert '/lib/modules/klp_rt_fail.ko': Device or resource busy"
    "RT: klp_rt_fail left nothing behind"
    "RT: cmdline after klp_rt_fail: console=ttyS0 panic=-1"
    "RT: klp_rt_nullobj refused: insmod: can't insert '/lib/modules/klp_rt_nullobj.ko': Invalid argument"
    "RT: klp_rt_nullobj left nothing behind"
    "RT: klp_rt_longobj refused: insmod: can't insert '/lib/modules/klp_rt_longobj.ko': Invalid argument"
    "RT: klp_rt_longobj left nothing behind"
    "RT: klp_rt_dup refused: insmod: can't insert '/lib/modules/klp_rt_dup.ko': Invalid argument"
    "RT: klp_rt_dup left nothing behind"
    "RT: klp_rt_min enabled=1"
    "RT: klp_rt_min transition=0"
    "RT: cmdline with klp_rt_min: this has been live patched by klp_rt_min"
    "RT: klp_rt_ok enabled=1"
    "RT: klp_rt_ok transition=0"
    "RT: klp_rt_ok objects: klp_test_mod vmlinux "
    "RT: klp_rt_ok vmlinux funcs: cmdline_proc_show,1 version_proc_show,1 "
    "RT: cmdline with klp_rt_ok: this has been live patched by klp_rt_ok"
    "RT: version with klp_rt_ok: version patched by klp_rt_ok"
    "RT: klp_rt_min replaced and removed"
    "RT: klp_test_mod with klp_rt_ok: klp_test_mod: patched by klp_rt_ok"
    "RT: cmdline after disable: console=ttyS0 panic=-1"
    "RT: version after disable: Linux version"
    "RT: klp_rt_ok removed"
    "RT: klp_test_mod unpatched: klp_test_mod: original"
    "RT-LOG: .*klp_rt_fail: pre_patch vmlinux failing with -EBUSY"
    "RT-LOG: .*livepatch: pre-patch callback failed for object 'vmlinux'"
    "RT-LOG: .*klp_rt_nullobj: pre-patch callback directives_pre_patch.*: no object name"
    "RT-LOG: .*klp_rt_longobj: function cmdline_proc_show: object name '.*' is longer than 55 characters"
    "RT-LOG: .*klp_rt_dup: object vmlinux: function cmdline_proc_show,1 replaced twice"
    "RT-LOG: .*klp_rt_ok: livepatch enabled (replace=1)"
    "RT-LOG: .*klp_rt_min: livepatch enabled (replace=0)"
    "RT: DONE"
  )
  for e in "${expected[@]}"; do
    check "guest: $e" grep -q -- "^${e//[()]/.}" "$log"
  done
  check "guest: klp_rt_fail never ran post_patch" \
    bash -c '! grep -q "klp_rt_fail: post_patch" "$1"' _ "$log"
  check "guest: no FAIL line" bash -c '! grep -q "^RT: FAIL" "$1"' _ "$log"
  check "guest: no kernel warning/oops" \
    bash -c '! grep -Eq "WARNING:|BUG:|Oops|Call Trace" "$1"' _ "$log"
  # callbacks: right objects, right order
  local order
  order=$(grep -oE 'klp_rt_ok: (pre|post)_(un)?patch (vmlinux|klp_test_mod)( state=[^ ]* prev=[a-z]*)?' "$log" | tr '\n' ';')
  local want="klp_rt_ok: pre_patch vmlinux state=0x6b6c7062/2 prev=none;klp_rt_ok: post_patch vmlinux;"
  want+="klp_rt_ok: pre_patch klp_test_mod;klp_rt_ok: post_patch klp_test_mod;"
  want+="klp_rt_ok: pre_unpatch klp_test_mod;klp_rt_ok: post_unpatch klp_test_mod;"
  want+="klp_rt_ok: pre_unpatch vmlinux;klp_rt_ok: post_unpatch vmlinux;"
  echo "  callback order: $order"
  check "guest: klp_rt_ok callbacks ran for the right objects in the right order" \
    [ "$order" = "$want" ]
}

for k in "${kdirs[@]}"; do
  test_kdir "$k"
done
if ((boot)) && [[ " ${kdirs[*]} " == *" $testkernel_boot "* ]] && ((failures == 0)); then
  command -v qemu-system-x86_64 >/dev/null || { fail "qemu-system-x86_64 not found"; exit 1; }
  boot_test
fi
if ((failures)); then
  echo "build-module: $failures check(s) FAILED"
  exit 1
fi
echo "build-module: all checks passed"
