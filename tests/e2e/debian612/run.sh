#!/usr/bin/env bash
# End-to-end test on Debian 12 backports' stock kernel 6.12.95+deb12-amd64, a
# kernel with prefix symbols (CALL_PADDING), IBT, call depth tracking, module
# BTF and modules shipped as .ko.xz. klp-build makes livepatch modules against
# what a user of that machine has (the image's /boot config, the linux-headers
# kbuild tree, linux-source-6.12, a copy of /proc/kallsyms taken with KASLR on
# and NO module loaded, /lib/modules with its .ko.xz), then the stock vmlinuz
# boots in QEMU and loads them:
#   cmdline          vmlinux: /proc/cmdline; the module is signed (--sign-key,
#                    --sign-cert) and its signature checked on the host
#   new-static-func  vmlinux: /proc/version through a new static function
#   debian612-new-global  vmlinux: a new global variable and function
#   shadow           vmlinux: shadow variables attached and freed by callbacks
#   callbacks        vmlinux: pre/post (un)patch callbacks, in order
#   debian612-syscall     vmlinux: uname(2)'s version string
#   debian612-binfmt-misc the stock module binfmt_misc, its symbols from its
#                    .ko.xz (the kallsyms copy lacks it); also loaded before
#                    binfmt_misc itself
#   state-takeover, consistency, reversal, fake-signal, force
#                    the livepatch semantics of issue 19, the corpus cases'
#                    own guest scripts (testdata/patches/*.expect; with
#                    state-setup and state-unaware)
# Each of the others: original behaviour before; enabled=1 and transition back to 0; patched
# behaviour; disable -> original; rmmod; no Call Trace / WARNING: / BUG: in
# the kernel log. Also: the match proof (--kernel-image, --modules) covered
# every function, no module carries .BTF, each replaced function begins with
# ENDBR64 as the kernel's own do, and --check-reproducible holds for cmdline.
#
# Usage: tests/e2e/debian612/run.sh [KLP_BUILD_BINARY]
#   (default binary: <repo>/build/klp-build/klp-build)
# Prints one "PASS: ..." or "FAIL: ..." line per check and a closing
# "N passed, N failed"; exit status 1 on any failure (2: setup error).
# Everything is kept in $KLP_E2E_OUT (default <repo>/build/e2e/debian612):
#   serial.log, klp-build-<name>.log, modules/*.ko, timings.txt
#
# Environment: KLP_CACHE (see scripts/debian-kernel.sh), KLP_E2E_OUT,
# KLP_BOOT_TIMEOUT (QEMU, seconds, default 900), KLP_JOBS (klp-build -j).
set -uo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/../../.." && pwd)
# shellcheck source=../lib.sh
. "$repo/tests/e2e/lib.sh"
klp_build=${1:-$repo/build/klp-build/klp-build}
out=${KLP_E2E_OUT:-$repo/build/e2e/debian612}
boot_timeout=${KLP_BOOT_TIMEOUT:-900}
jobs=${KLP_JOBS:-$(nproc)}

die() { echo "e2e-debian612: error: $*" >&2; exit 2; }
log() { echo "e2e-debian612: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

npass=0 nfail=0
pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
t_start=$(now)
finish() {
  timing total "$(elapsed "$t_start")"
  echo "e2e-debian612: logs in $out"
  [[ -f $out/timings.txt ]] && echo "e2e-debian612: timings (s): $(tr '\n' ' ' <"$out/timings.txt")"
  echo "e2e-debian612: $npass passed, $nfail failed"
  ((nfail == 0)) || exit 1
  exit 0
}

[[ -x $klp_build ]] || die "klp-build binary $klp_build not found (cmake --build build)"
for tool in qemu-system-x86_64 timeout gcc modinfo openssl xz objdump readelf; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/install-deps)"
done
[[ -x /bin/busybox ]] || die "/bin/busybox not found (install busybox-static)"

rm -rf "$out"
mkdir -p "$out/modules"
: >"$out/timings.txt"
timing() { echo "$1 $2" >>"$out/timings.txt"; }

# ---- the target: stock kernel, headers, source, kallsyms ------------------
t=$(now)
env_file=$out/debian-kernel.env
bash "$repo/scripts/debian-kernel.sh" 6.12 >"$env_file" 2>"$out/debian-kernel.log" || {
  cat "$out/debian-kernel.log" >&2
  die "scripts/debian-kernel.sh 6.12 failed"
}
timing debian_kernel_script "$(elapsed "$t")"
# shellcheck disable=SC1090
source "$env_file"
log "target: $DEBIAN_VMLINUZ; kallsyms $(grep -E '^(kaslr|modules)' "$DEBIAN_KALLSYMS_INFO" | tr '\n' ' ')"
if grep -q '\[binfmt_misc\]$' "$DEBIAN_KALLSYMS"; then
  die "$DEBIAN_KALLSYMS lists binfmt_misc; this test wants its symbols from the .ko.xz"
fi

# A signing key of our own: the stock kernel does not trust it, and with
# MODULE_SIG but not MODULE_SIG_FORCE loads the module all the same.
key=$out/signing_key.pem
openssl req -new -nodes -utf8 -sha256 -days 2 -batch -x509 -subj "/CN=klp-build e2e/" \
  -newkey rsa:2048 -keyout "$key" -out "$out/signing_cert.pem" -outform PEM >/dev/null 2>&1 ||
  die "openssl could not make a signing key"

# ---- klp-build -------------------------------------------------------------
declare -A ko=()
# build_patch NAME LOGFILE EXTRA_ARG...: run klp-build for testdata/patches/NAME.patch.
build_patch() {
  local name=$1 logf=$2 rc=0 t
  shift 2
  local -a cmd=("$klp_build" --sourcedir "$DEBIAN_SRC" --config "$DEBIAN_CONFIG"
    --kallsyms "$DEBIAN_KALLSYMS" --headers "$DEBIAN_HEADERS" -j "$jobs" -o "$out/modules"
    --kernel-image "$DEBIAN_VMLINUZ" --modules "$DEBIAN_MODULES" "$@"
    "$repo/testdata/patches/$name.patch")
  log "klp-build $name: ${cmd[*]}"
  echo "${cmd[*]}" >"$logf"
  t=$(now)
  "${cmd[@]}" >>"$logf" 2>&1 </dev/null || rc=$?
  timing "klp_build_$name" "$(elapsed "$t")"
  echo "exit status $rc" >>"$logf"
  local f=$out/modules/livepatch-$name.ko
  ((rc == 0)) && [[ -s $f ]] || return 1
  ko[$name]=$f
}
check_build() {
  local name=$1 logf=$out/klp-build-$1.log
  shift
  if build_patch "$name" "$logf" "$@"; then
    pass "klp-build $name -> ${ko[$name]##*/} ($(grep -E '^klp-build: .*\): (patched|new) ' "$logf" | sed 's/^klp-build: //' | paste -sd';'))"
  else
    fail "klp-build $name failed; last lines of $logf:"
    sed 1d "$logf" | tail -n 15 | sed 's/^/    /'
  fi
}

all_cases=(cmdline new-static-func debian612-new-global shadow callbacks debian612-syscall debian612-binfmt-misc)
check_build cmdline --sign-key "$key" --sign-cert "$out/signing_cert.pem"
for name in "${all_cases[@]:1}"; do
  check_build "$name"
done
# state-takeover's script loads state-setup and state-unaware too.
for name in "${e2e_runtime_cases[@]}"; do
  check_build "$name"
done

# The match proof covered every replaced function: in the vmlinuz, and in binfmt_misc.ko.xz.
proof() { # proof NAME WANT
  local logf=$out/klp-build-$1.log
  if grep -qF "klp-build: the original build matches the target: $2" "$logf"; then
    pass "$1: original build matches the stock kernel ($2)"
  else
    fail "$1: no 'matches the target: $2' in $logf: $(grep -F 'matches the target' "$logf")"
  fi
}
proof cmdline "1 function(s) in $DEBIAN_VMLINUZ"
proof debian612-syscall "$(grep -c '): patched ' "$out/klp-build-debian612-syscall.log") function(s) in $DEBIAN_VMLINUZ"
proof debian612-binfmt-misc "0 function(s) in $DEBIAN_VMLINUZ, 1 in module files"

# The module as the kernel must see it: vermagic, livepatch=Y, no .BTF, ENDBR64 at the entry
# of every replacement function (IBT: the kernel's own functions have it, indirect calls need
# it), the signature sign-file appended.
want_vm=$(modinfo -F vermagic "$(find "$DEBIAN_MODULES" -name binfmt_misc.ko.xz)")
for name in "${!ko[@]}"; do
  f=${ko[$name]}
  vm=$(modinfo -F vermagic "$f")
  [[ $vm == "$want_vm" ]] && pass "$name: vermagic '$vm'" || fail "$name: vermagic '$vm', the stock modules have '$want_vm'"
  [[ $(modinfo -F livepatch "$f") == Y ]] && pass "$name: modinfo livepatch=Y" || fail "$name: modinfo lacks livepatch=Y"
  if readelf -SW "$f" | grep -qE ' \.BTF +'; then fail "$name: the module carries .BTF"; else pass "$name: no .BTF section"; fi
  funcs=$(grep -E '^klp-build: .*\): patched ' "$out/klp-build-$name.log" | sed 's/.*: patched //')
  bad=
  for fn in $funcs; do
    first=$(objdump -d --no-show-raw-insn "$f" --disassemble="$fn" 2>/dev/null | awk '/^ +[0-9a-f]+:/ { $1 = ""; print; exit }')
    [[ $first == *endbr64* ]] || bad+=" $fn(${first:-none})"
  done
  [[ -z $bad ]] && pass "$name: every replacement function begins with endbr64" || fail "$name: no endbr64 at:$bad"
done
if [[ -n ${ko[cmdline]:-} ]]; then
  # The appendix: PKCS#7 signature, struct module_signature, the marker; the signature is
  # over everything before it and verifies with the certificate.
  f=${ko[cmdline]}
  marker='~Module signature appended~'
  if [[ $(tail -c 28 "$f") == "$marker" ]]; then
    size=$(stat -c %s "$f")
    siglen=$(tail -c 40 "$f" | head -c 12 | od -An -tu1 | awk '{ print $9 * 16777216 + $10 * 65536 + $11 * 256 + $12 }')
    idtype=$(tail -c 40 "$f" | head -c 12 | od -An -tu1 | awk '{ print $3 }')
    body=$((size - 40 - siglen))
    head -c "$body" "$f" >"$out/cmdline.unsigned"
    tail -c $((siglen + 40)) "$f" | head -c "$siglen" >"$out/cmdline.p7s"
    if [[ $idtype == 2 ]] && openssl cms -verify -binary -inform DER -in "$out/cmdline.p7s" \
         -content "$out/cmdline.unsigned" -certfile "$out/signing_cert.pem" -nointern -noverify \
         -out /dev/null >"$out/cms-verify.log" 2>&1; then
      pass "cmdline: signed; the PKCS#7 signature ($siglen bytes) verifies with the certificate"
    else
      fail "cmdline: the signature does not verify (id_type $idtype; $(tr '\n' ' ' <"$out/cms-verify.log"))"
    fi
  else
    fail "cmdline: no '$marker' at the end of ${f##*/}"
  fi
fi

# Reproducible with Debian's config (DEBUG_INFO, prefix symbols, IBT): --check-reproducible
# builds again from a fresh tree at other paths, with another -j, and compares the two modules.
repro_log=$out/klp-build-reproducible.log
mkdir -p "$out/repro"
t=$(now)
if "$klp_build" --sourcedir "$DEBIAN_SRC" --config "$DEBIAN_CONFIG" --kallsyms "$DEBIAN_KALLSYMS" \
     --headers "$DEBIAN_HEADERS" -j "$jobs" -o "$out/repro" --check-reproducible \
     "$repo/testdata/patches/cmdline.patch" >"$repro_log" 2>&1 </dev/null &&
   grep -q "reproducible: a second build is bit-identical" "$repro_log"; then
  pass "cmdline: --check-reproducible: a second build is bit-identical"
else
  fail "cmdline: --check-reproducible (log: $repro_log):"
  tail -n 12 "$repro_log" | sed 's/^/    /'
fi
timing klp_build_reproducible "$(elapsed "$t")"

# The stock /boot config needs no help but the tolerated rustc probes, which a build that
# prepares its tree (this one: no cache) names.
if grep -q "tolerated): CONFIG_RUSTC_VERSION" "$repro_log" || ! command -v rustc >/dev/null; then
  pass "the stock config-$DEBIAN_KREL is taken ($(grep -c 'tolerated)' "$repro_log") tolerated probe value(s) named)"
else
  fail "no tolerated CONFIG_RUSTC_VERSION in $repro_log though rustc is on PATH"
fi

# ---- QEMU (tests/e2e/lib.sh, with the stock vmlinuz) -----------------------
if ((${#ko[@]} == 0)); then
  fail "no livepatch module was built; not booting"
  finish
fi
e2e_check_tools
mkdir -p "$out/guest"
gcc -O2 -o "$out/guest/gen_init_cpio" "$DEBIAN_SRC/usr/gen_init_cpio.c" || die "cannot build gen_init_cpio"
E2E_GEN_INIT_CPIO=$out/guest/gen_init_cpio
E2E_BZIMAGE=$DEBIAN_VMLINUZ
E2E_QEMU_MEM=${E2E_QEMU_MEM:-1024}

# busybox insmod takes plain ELF: the stock binfmt_misc.ko.xz, decompressed.
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
  [[ $name != debian612-binfmt-misc ]] || cases+=(debian612-binfmt-misc-late)
done
e2e_add_runtime_cases

tests=$out/guest/tests.sh
{
  echo "E2E_CASES='${cases[*]}'"
  e2e_runtime_guest_fns
  cat <<'GUEST'
BM=/mnt/binfmt
STATUS="cat $BM/status"

case_new_static_func() {
	e2e_expect before "Linux version 6.12.*" "cat /proc/version"
	e2e_load new-static-func
	e2e_funcs new-static-func "vmlinux:version_proc_show"
	e2e_expect during "klp-e2e: new static function, release 6.12.95+deb12-amd64" "cat /proc/version"
	e2e_disable new-static-func
	e2e_expect after "Linux version 6.12.*" "cat /proc/version"
	e2e_unload new-static-func
}

RCU="cat /sys/kernel/rcu_normal; cat /sys/kernel/rcu_normal"
case_new_global() {
	e2e_expect before "0 0" "$RCU"
	e2e_load debian612-new-global
	e2e_funcs debian612-new-global "vmlinux:rcu_normal_show"
	e2e_expect during "0 global=8 0 global=9" "$RCU"
	e2e_disable debian612-new-global
	e2e_expect after "0 0" "$RCU"
	e2e_unload debian612-new-global
}

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

case_syscall() {
	orig=$(uname -v)
	e2e_expect before "#1 SMP PREEMPT_DYNAMIC Debian 6.12.95*" "uname -v"
	e2e_load debian612-syscall
	e2e_expect during "klp-e2e syscall patched" "uname -v"
	e2e_disable debian612-syscall
	e2e_expect after "$orig" "uname -v"
	e2e_unload debian612-syscall
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

# The livepatch first: it is applied when binfmt_misc comes.
case_binfmt_late() {
	e2e_load debian612-binfmt-misc
	e2e_run insmod-binfmt_misc "insmod /lib/modules/binfmt_misc.ko"
	e2e_run mount "mkdir -p $BM && mount -t binfmt_misc binfmt_misc $BM"
	e2e_funcs debian612-binfmt-misc "binfmt_misc:bm_status_read"
	e2e_expect during "enabled, live patched" "$STATUS"
	e2e_run umount "umount $BM"
	e2e_run rmmod-binfmt_misc "rmmod binfmt_misc"
	e2e_disable debian612-binfmt-misc
	e2e_unload debian612-binfmt-misc
}

echo "E2E-INFO kernel $(uname -r); cmdline $(cat /proc/cmdline)"
for c in $E2E_CASES; do
	case $c in
	cmdline) e2e_case cmdline case_cmdline ;;
	new-static-func) e2e_case new-static-func case_new_static_func ;;
	debian612-new-global) e2e_case debian612-new-global case_new_global ;;
	shadow) e2e_case shadow case_shadow ;;
	callbacks) e2e_case callbacks case_callbacks ;;
	debian612-syscall) e2e_case debian612-syscall case_syscall ;;
	debian612-binfmt-misc) e2e_case debian612-binfmt-misc case_binfmt ;;
	debian612-binfmt-misc-late) e2e_case debian612-binfmt-misc-late case_binfmt_late ;;
	*) e2e_case "$c" "rt_$(echo "$c" | tr - _)" ;;
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
re='^E2E ([^ ]+) ([^ ]+) (PASS|FAIL) ?(.*)$'
while IFS= read -r line; do
  [[ $line =~ $re ]] || continue
  if [[ ${BASH_REMATCH[3]} == PASS ]]; then
    pass "guest ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}: ${BASH_REMATCH[4]}"
  else
    fail "guest ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}: ${BASH_REMATCH[4]}"
  fi
done <"$serial"
if e2e_report "$serial" "${cases[@]}" >"$out/report.txt"; then
  pass "guest: every case ran to its end (${cases[*]})"
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
grep -E '^E2E-INFO ' "$serial" | sed 's/^E2E-INFO /e2e-debian612: guest: /'
finish
