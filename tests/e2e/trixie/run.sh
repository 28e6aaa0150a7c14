#!/usr/bin/env bash
# End-to-end test on Debian 13 "trixie"'s stock kernel (6.12.*+deb13-amd64, built by gcc-14),
# with klp-build built and run inside a trixie root (scripts/trixie-root.sh), as a user of
# that release does:
#   refusal          the host's klp-build (Debian 12, gcc-12) refuses the trixie kernel
#                    before building anything, naming scripts/trixie-root.sh
#   build            klp-build is configured and built inside the root (trixie's gcc-14,
#                    LLVM 19, CLI11, GoogleTest, zstd, elfutils), build dir build/trixie
#   cmdline          vmlinux: /proc/cmdline, with the match proof (--kernel-image, --modules)
#   shadow           vmlinux: shadow variables attached and freed by callbacks
#   callbacks        vmlinux: pre/post (un)patch callbacks, in order
#   binfmt-misc      the stock module binfmt_misc, its symbols from its .ko.xz (the kallsyms
#                    copy, taken with KASLR on, lacks it)
# Then the stock vmlinuz boots in QEMU on the host and each module loads, transitions
# (enabled=1, transition back to 0), changes behaviour, is disabled (original behaviour back)
# and unloaded; the kernel log has no Call Trace / WARNING: / BUG:.
#
# Usage: tests/e2e/trixie/run.sh [HOST_KLP_BUILD]   (default <repo>/build/klp-build/klp-build)
# Prints one "PASS: ..." or "FAIL: ..." line per check, the time of each stage and a closing
# "N passed, N failed"; exit status 1 on any failure (2: setup error). Everything is kept in
# $KLP_E2E_OUT (default <repo>/build/e2e/trixie): serial.log, klp-build-<name>.log, modules/,
# timings.txt.
#
# Environment: KLP_CACHE (scripts/debian-kernel.sh; default <repo>/build/cache), KLP_TRIXIE_ROOT
# (scripts/trixie-root.sh), KLP_E2E_OUT, KLP_BOOT_TIMEOUT (QEMU, seconds, default 900),
# KLP_JOBS (klp-build -j and the build's, default 2).
set -uo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/../../.." && pwd)
host_klp_build=${1:-$repo/build/klp-build/klp-build}
out=${KLP_E2E_OUT:-$repo/build/e2e/trixie}
boot_timeout=${KLP_BOOT_TIMEOUT:-900}
jobs=${KLP_JOBS:-2}
export KLP_CACHE=${KLP_CACHE:-$repo/build/cache}
troot_sh=$repo/scripts/trixie-root.sh
tbuild=build/trixie # relative to the checkout, inside the root too

die() { echo "e2e-trixie: error: $*" >&2; exit 2; }
log() { echo "e2e-trixie: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

npass=0 nfail=0
pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
t_start=$(now)
finish() {
  timing total "$(elapsed "$t_start")"
  echo "e2e-trixie: logs in $out"
  echo "e2e-trixie: timings (s): $(tr '\n' ' ' <"$out/timings.txt")"
  echo "e2e-trixie: $npass passed, $nfail failed"
  ((nfail == 0)) || exit 1
  exit 0
}

[[ -x $host_klp_build ]] || die "klp-build binary $host_klp_build not found (cmake --build build)"
for tool in qemu-system-x86_64 timeout gcc modinfo xz readelf mmdebstrap; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/install-deps)"
done
[[ -x /bin/busybox ]] || die "/bin/busybox not found (install busybox-static)"

rm -rf "$out"
mkdir -p "$out/modules"
: >"$out/timings.txt"
timing() { echo "$1 $2" >>"$out/timings.txt"; log "$1 took $2 s"; }

# ---- the root and the target -------------------------------------------------
t=$(now)
bash "$troot_sh" prepare >"$out/trixie-root.path" 2>"$out/trixie-root.log" || {
  tail -n 20 "$out/trixie-root.log" >&2
  die "scripts/trixie-root.sh prepare failed"
}
timing trixie_root "$(elapsed "$t")"
t=$(now)
env_file=$out/debian-kernel.env
bash "$repo/scripts/debian-kernel.sh" trixie >"$env_file" 2>"$out/debian-kernel.log" || {
  tail -n 20 "$out/debian-kernel.log" >&2
  die "scripts/debian-kernel.sh trixie failed"
}
timing debian_kernel_script "$(elapsed "$t")"
# shellcheck disable=SC1090
source "$env_file"
log "target: $DEBIAN_VMLINUZ; kallsyms $(grep -E '^(kaslr|modules)' "$DEBIAN_KALLSYMS_INFO" | tr '\n' ' ')"
want_cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$DEBIAN_CONFIG")
[[ $want_cc == *gcc-14\ * ]] || die "$DEBIAN_CONFIG: CONFIG_CC_VERSION_TEXT is '$want_cc', not a gcc-14"
! grep -q '\[binfmt_misc\]$' "$DEBIAN_KALLSYMS" ||
  die "$DEBIAN_KALLSYMS lists binfmt_misc; this test wants its symbols from the .ko.xz"

# ---- the host's klp-build refuses, early, with the remedy --------------------
if ! command -v gcc-14 >/dev/null; then
  logf=$out/klp-build-host-refusal.log
  t=$(now)
  rc=0
  "$host_klp_build" --sourcedir "$DEBIAN_SRC" --config "$DEBIAN_CONFIG" --kallsyms "$DEBIAN_KALLSYMS" \
    --headers "$DEBIAN_HEADERS" -o "$out/host" "$repo/testdata/patches/cmdline.patch" >"$logf" 2>&1 </dev/null || rc=$?
  secs=$(elapsed "$t")
  if ((rc == 1)) && grep -qF "built with '$want_cc' but gcc is 'gcc (Debian 12." "$logf" &&
     grep -qF "scripts/trixie-root.sh run klp-build" "$logf" && [[ ! -e $out/host/livepatch-cmdline.ko ]] &&
     awk -v s="$secs" 'BEGIN { exit !(s < 5) }'; then
    pass "the host's klp-build refuses in ${secs}s: $(tail -n1 "$logf")"
  else
    fail "the host's klp-build did not refuse early with the remedy (status $rc, ${secs}s): $(tail -n 3 "$logf" | tr '\n' ' ')"
  fi
else
  log "gcc-14 is installed on this host: the refusal is not checked"
fi

# ---- klp-build built inside the root ------------------------------------------
t=$(now)
if (cd "$repo" && bash "$troot_sh" run bash -euc 'cmake -S . -B "$1" -DKLP_WERROR=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo && nice -n 10 cmake --build "$1" -j"$2" --target klp-build create-diff-object' \
      - "$tbuild" "$jobs") >"$out/build.log" 2>&1; then
  pass "klp-build built inside the trixie root ($(grep -m1 -o 'LLVM [0-9.]* from' "$out/build.log" | sed 's/ from//'), $(bash "$troot_sh" run gcc --version | head -n1))"
else
  fail "the build inside the trixie root failed; last lines of $out/build.log:"
  tail -n 15 "$out/build.log" | sed 's/^/    /'
  finish
fi
timing build_in_root "$(elapsed "$t")"
klp_build=$repo/$tbuild/klp-build/klp-build

# ---- klp-build inside the root ---------------------------------------------------
declare -A ko=()
check_build() {
  local name=$1 logf=$out/klp-build-$1.log rc=0 t
  local -a cmd=("$klp_build" --sourcedir "$DEBIAN_SRC" --config "$DEBIAN_CONFIG"
    --kallsyms "$DEBIAN_KALLSYMS" --headers "$DEBIAN_HEADERS" -j "$jobs" -o "$out/modules"
    --kernel-image "$DEBIAN_VMLINUZ" --modules "$DEBIAN_MODULES"
    "$repo/testdata/patches/$name.patch")
  echo "${cmd[*]}" >"$logf"
  t=$(now)
  (cd "$repo" && bash "$troot_sh" run "${cmd[@]}") >>"$logf" 2>&1 </dev/null || rc=$?
  timing "klp_build_$name" "$(elapsed "$t")"
  echo "exit status $rc" >>"$logf"
  local f=$out/modules/livepatch-$name.ko
  if ((rc == 0)) && [[ -s $f ]]; then
    ko[$name]=$f
    pass "klp-build $name -> ${f##*/} ($(grep -E '^klp-build: .*\): (patched|new) ' "$logf" | sed 's/^klp-build: //' | paste -sd';'))"
  else
    fail "klp-build $name failed; last lines of $logf:"
    sed 1d "$logf" | tail -n 15 | sed 's/^/    /'
  fi
}
all_cases=(cmdline shadow callbacks debian612-binfmt-misc)
for name in "${all_cases[@]}"; do check_build "$name"; done

proof() { # proof NAME WANT
  local logf=$out/klp-build-$1.log
  if grep -qF "klp-build: the original build matches the target: $2" "$logf"; then
    pass "$1: original build matches the stock kernel ($2)"
  else
    fail "$1: no 'matches the target: $2' in $logf: $(grep -F 'matches the target' "$logf")"
  fi
}
proof cmdline "1 function(s) in $DEBIAN_VMLINUZ"
proof debian612-binfmt-misc "0 function(s) in $DEBIAN_VMLINUZ, 1 in module files"

want_vm=$(modinfo -F vermagic "$(find "$DEBIAN_MODULES" -name binfmt_misc.ko.xz)")
for name in "${!ko[@]}"; do
  f=${ko[$name]}
  vm=$(modinfo -F vermagic "$f")
  [[ $vm == "$want_vm" ]] && pass "$name: vermagic '$vm'" || fail "$name: vermagic '$vm', the stock modules have '$want_vm'"
  [[ $(modinfo -F livepatch "$f") == Y ]] && pass "$name: modinfo livepatch=Y" || fail "$name: modinfo lacks livepatch=Y"
  # the module's own objects are gcc-14's, as the kernel's
  if readelf -p .comment "$f" 2>/dev/null | grep -q 'GCC: (Debian 14\.'; then
    pass "$name: compiled by trixie's gcc-14 (.comment)"
  else
    fail "$name: .comment names no gcc-14: $(readelf -p .comment "$f" 2>&1 | grep -o 'GCC.*' | sort -u | paste -sd';')"
  fi
done

# ---- QEMU (tests/e2e/lib.sh, with the stock vmlinuz) ----------------------------
if ((${#ko[@]} == 0)); then
  fail "no livepatch module was built; not booting"
  finish
fi
# shellcheck source=../lib.sh
. "$repo/tests/e2e/lib.sh"
e2e_check_tools
mkdir -p "$out/guest"
gcc -O2 -o "$out/guest/gen_init_cpio" "$DEBIAN_SRC/usr/gen_init_cpio.c" || die "cannot build gen_init_cpio"
E2E_GEN_INIT_CPIO=$out/guest/gen_init_cpio
E2E_BZIMAGE=$DEBIAN_VMLINUZ
E2E_QEMU_MEM=${E2E_QEMU_MEM:-1024}

stock_bm=$(find "$DEBIAN_MODULES" -name binfmt_misc.ko.xz)
xz -dc "$stock_bm" >"$out/guest/binfmt_misc.ko"
deps=$(modinfo -F depends "$out/guest/binfmt_misc.ko")
[[ -z $deps ]] || die "binfmt_misc.ko now depends on '$deps'; add them to the initramfs"
files=("/lib/modules/binfmt_misc.ko=$out/guest/binfmt_misc.ko")
cases=()
for name in "${all_cases[@]}"; do
  [[ -z ${ko[$name]:-} ]] && continue
  files+=("/lib/modules/livepatch-$name.ko=${ko[$name]}")
  cases+=("$name")
done

tests=$out/guest/tests.sh
{
  echo "E2E_CASES='${cases[*]}'"
  echo "KREL='$DEBIAN_KREL'"
  cat <<'GUEST'
BM=/mnt/binfmt
STATUS="cat $BM/status"

UPTIME="cat /proc/uptime; cat /proc/uptime"
SHADOW_LOG="dmesg | sed -n 's/.*klp-e2e shadow: //p' | tr '\n' ';'"
case_shadow() {
	e2e_expect before "*.* *.* *.* *.*" "$UPTIME"
	e2e_load shadow
	e2e_funcs shadow "vmlinux:uptime_proc_show"
	e2e_expect during "klp-e2e shadow reads=101 klp-e2e shadow reads=102" "$UPTIME"
	e2e_expect during-log "attached;" "$SHADOW_LOG"
	e2e_disable shadow
	e2e_expect after "*.* *.* *.* *.*" "$UPTIME"
	e2e_expect after-log "attached;freed, reads=102;" "$SHADOW_LOG"
	e2e_unload shadow
}

ORDER="dmesg | sed -n 's/.*klp-e2e callbacks: //p' | tr '\n' ';'"
case_callbacks() {
	e2e_expect before "[0-9]*.* */* *" "cat /proc/loadavg"
	e2e_load callbacks
	e2e_funcs callbacks "vmlinux:loadavg_proc_show"
	e2e_expect during "klp-e2e callbacks: *.* */* *" "cat /proc/loadavg"
	e2e_expect during-order "pre_patch vmlinux;post_patch vmlinux;" "$ORDER"
	e2e_disable callbacks
	e2e_expect after "[0-9]*.* */* *" "cat /proc/loadavg"
	e2e_expect after-order "pre_patch vmlinux;post_patch vmlinux;pre_unpatch vmlinux;post_unpatch vmlinux;" "$ORDER"
	e2e_unload callbacks
}

case_binfmt() {
	e2e_run insmod-binfmt_misc "insmod /lib/modules/binfmt_misc.ko"
	e2e_run mount "mkdir -p $BM && mount -t binfmt_misc binfmt_misc $BM"
	e2e_expect before "enabled" "$STATUS"
	e2e_load debian612-binfmt-misc
	e2e_funcs debian612-binfmt-misc "binfmt_misc:bm_status_read"
	e2e_expect during "enabled, live patched" "$STATUS"
	e2e_run status-0 "echo 0 >$BM/status"
	e2e_expect during-disabled "disabled, live patched" "$STATUS"
	e2e_run status-1 "echo 1 >$BM/status"
	e2e_expect during-enabled "enabled, live patched" "$STATUS"
	e2e_disable debian612-binfmt-misc
	e2e_expect after "enabled" "$STATUS"
	e2e_unload debian612-binfmt-misc
	e2e_run umount "umount $BM"
	e2e_run rmmod-binfmt_misc "rmmod binfmt_misc"
}

echo "E2E-INFO kernel $(uname -r) (want $KREL); cmdline $(cat /proc/cmdline)"
for c in $E2E_CASES; do
	case $c in
	cmdline) e2e_case cmdline case_cmdline ;;
	shadow) e2e_case shadow case_shadow ;;
	callbacks) e2e_case callbacks case_callbacks ;;
	debian612-binfmt-misc) e2e_case debian612-binfmt-misc case_binfmt ;;
	esac
done
echo "E2E-INFO tainted $(cat /proc/sys/kernel/tainted)"
GUEST
} >"$tests"
e2e_initramfs "$out/guest/initramfs.cpio" "$tests" "${files[@]}"

serial=$out/serial.log
log "booting $DEBIAN_VMLINUZ (timeout ${boot_timeout}s), serial log $serial"
t=$(now)
rc=0
e2e_qemu "$out/guest/initramfs.cpio" "$serial" "$boot_timeout" || rc=$?
timing qemu_run "$(elapsed "$t")"

if ((rc == 124)); then fail "QEMU timed out after ${boot_timeout}s"
elif ((rc != 0)); then fail "QEMU exited with status $rc"
fi
if grep -q "^E2E-INFO kernel $DEBIAN_KREL " "$serial"; then
  pass "the guest runs the stock $DEBIAN_KREL"
else
  fail "the guest does not report kernel $DEBIAN_KREL: $(grep -m1 '^E2E-INFO kernel' "$serial")"
fi
re='^E2E ([^ ]+) ([^ ]+) (PASS|FAIL) ?(.*)$'
while IFS= read -r line; do
  [[ $line =~ $re ]] || continue
  if [[ ${BASH_REMATCH[3]} == PASS ]]; then
    pass "guest ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}: ${BASH_REMATCH[4]}"
  else
    fail "guest ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}: ${BASH_REMATCH[4]}"
  fi
done <"$serial"
if e2e_report "$serial" "${all_cases[@]}" >"$out/report.txt"; then
  pass "guest: every case ran to its end (${all_cases[*]})"
else
  fail "guest: not every case ran to its end, or a check failed (report below)"
fi
sed 's/^/    /' "$out/report.txt"
if grep -nE 'Call Trace|WARNING:|BUG:|Oops|general protection|Kernel panic' "$serial" |
  grep -vE '^[0-9]+:E2E [^ ]+ [^ ]+ (PASS|FAIL) ' >"$out/kernel-trouble.txt"; then
  fail "kernel reported trouble (first lines below; all in $out/kernel-trouble.txt)"
  head -n 10 "$out/kernel-trouble.txt" | sed 's/^/    /'
else
  pass "no Call Trace / WARNING: / BUG: anywhere in the serial log"
  rm -f "$out/kernel-trouble.txt"
fi
grep -E '^E2E-INFO ' "$serial" | sed 's/^E2E-INFO /e2e-trixie: guest: /'
finish
