#!/usr/bin/env bash
# End-to-end test on Debian 12's stock kernel 6.1.0-56-amd64: klp-build makes
# livepatch modules from source patches against what a user of that machine
# has (the image's config, the linux-headers kbuild tree, linux-source-6.1, a
# copy of /proc/kallsyms taken with KASLR on), then the stock, signed vmlinuz
# boots in QEMU and loads them:
#   (a) testdata/patches/cmdline.patch           -> vmlinux: /proc/cmdline
#   (b) testdata/patches/debian-binfmt-misc.patch -> the stock module
#       binfmt_misc.ko: its "status" file (reads the module's static `enabled`)
#   (c) testdata/patches/multifile-global.patch -> vmlinux: a new global
#       function in fs/proc/cmdline.c, called from fs/proc/meminfo.c too
#   (d) testdata/patches/debian-warn-exit.patch -> vmlinux: do_exit(), which
#       keeps its WARN_ON()s, prints a line for tasks named klp_exit_probe
#   (e) testdata/patches/debian-binfmt-dyndbg.patch -> binfmt_misc.ko: the
#       register path refuses one entry name; every pr_debug() of the file
#       moves to another line
#   (f) the livepatch semantics of issue 19, the corpus cases' own guest
#       scripts (testdata/patches/*.expect): system states (state-takeover,
#       with state-setup and state-unaware), per-task consistency, reversal,
#       fake signals and force on a task parked in fifo_open()
# For (a) to (e): original behaviour before; enabled=1 and transition back to 0;
# patched behaviour; disable -> original; rmmod. (b) is also loaded before
# binfmt_misc itself (the patch is applied when the module comes). Finally no
# "Call Trace", "WARNING:" or "BUG:" in dmesg. Also: the match proof covered every function,
# and --check-reproducible holds with Debian's DEBUG_INFO config, and the reviewer's page of the
# cmdline module (--explain) holds in headless Chromium what klp-diff --json reports, with the
# source lines DWARF gives (tests/kernel/check-page.sh; page and screenshot in $out/page).
#
# Usage: tests/e2e/debian/run.sh [KLP_BUILD_BINARY]
#   (default binary: <repo>/build/klp-build/klp-build; klp-diff is taken from the same build)
# Prints one "PASS: ..." or "FAIL: ..." line per check and a closing
# "N passed, N failed"; exit status 1 on any failure (2: setup error).
# Everything is kept in $KLP_E2E_OUT (default <repo>/build/e2e/debian):
#   serial.log, klp-build-<name>.log, modules/*.ko, timings.txt
#
# Environment: KLP_CACHE (see scripts/debian-kernel.sh), KLP_E2E_OUT,
# KLP_BOOT_TIMEOUT (QEMU, seconds, default 600), KLP_JOBS (klp-build -j).
set -uo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/../../.." && pwd)
# shellcheck source=../lib.sh
. "$repo/tests/e2e/lib.sh"
klp_build=${1:-$repo/build/klp-build/klp-build}
klp_diff=$(dirname "$klp_build")/../klp-diff/klp-diff
out=${KLP_E2E_OUT:-$repo/build/e2e/debian}
boot_timeout=${KLP_BOOT_TIMEOUT:-600}
jobs=${KLP_JOBS:-$(nproc)}

die() { echo "e2e-debian: error: $*" >&2; exit 2; }
log() { echo "e2e-debian: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

npass=0 nfail=0
pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
finish() {
  echo "e2e-debian: logs in $out"
  [[ -f $out/timings.txt ]] && echo "e2e-debian: timings (s): $(tr '\n' ' ' <"$out/timings.txt")"
  echo "e2e-debian: $npass passed, $nfail failed"
  ((nfail == 0)) || exit 1
  exit 0
}

[[ -x $klp_build ]] || die "klp-build binary $klp_build not found (cmake --build build)"
for tool in qemu-system-x86_64 timeout gcc modinfo; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/install-deps)"
done
busybox=/bin/busybox
[[ -x $busybox ]] || die "$busybox not found (install busybox-static)"

rm -rf "$out"
mkdir -p "$out/modules"
: >"$out/timings.txt"
timing() { echo "$1 $2" >>"$out/timings.txt"; }

# ---- the target: stock kernel, headers, source, kallsyms ------------------
t=$(now)
env_file=$out/debian-kernel.env
bash "$repo/scripts/debian-kernel.sh" >"$env_file" 2>"$out/debian-kernel.log" || {
  cat "$out/debian-kernel.log" >&2
  die "scripts/debian-kernel.sh failed"
}
timing debian_kernel_script "$(elapsed "$t")"
# shellcheck disable=SC1090
source "$env_file"
log "target: $DEBIAN_VMLINUZ; kallsyms $(grep -E '^kaslr' "$DEBIAN_KALLSYMS_INFO" | tr '\n' ' ')"

# ---- klp-build -------------------------------------------------------------
# build_patch PATCH CONFIG LOGFILE: run klp-build for one patch; on success
# set ko[name] and return 0. Does not count a check.
declare -A ko=()
build_patch() {
  local patch=$1 config=$2 logf=$3 name rc=0 t
  name=$(basename "$patch" .patch)
  local tag=${logf##*/klp-build-}; tag=${tag%.log}
  local -a cmd=("$klp_build" --sourcedir "$DEBIAN_SRC" --config "$config"
    --kallsyms "$DEBIAN_KALLSYMS" --headers "$DEBIAN_HEADERS" -j "$jobs" -o "$out/modules"
    --explain)
  # The match proof: vmlinux functions against the stock vmlinuz, module functions against
  # the stock .ko files.
  cmd+=(--kernel-image "$DEBIAN_VMLINUZ" --modules "$DEBIAN_MODULES")
  cmd+=("$patch")
  log "klp-build $tag: ${cmd[*]}"
  echo "${cmd[*]}" >"$logf"
  t=$(now)
  "${cmd[@]}" >>"$logf" 2>&1 </dev/null || rc=$?
  timing "klp_build_$tag" "$(elapsed "$t")"
  sed -n 's/^klp-build: \([a-z]*\) *\([0-9.]*\) s$/\1 \2/p' "$logf" |
    while read -r phase s; do timing "klp_build_${tag}_$phase" "$s"; done
  echo "exit status $rc" >>"$logf"
  local f=$out/modules/livepatch-$name.ko
  ((rc == 0)) && [[ -s $f ]] || return 1
  ko[$name]=$f
}
# check_build PATCH CONFIG: build_patch, counted as a check.
check_build() {
  local name logf
  name=$(basename "$1" .patch)
  logf=$out/klp-build-$name.log
  if build_patch "$1" "$2" "$logf"; then
    pass "klp-build $name -> ${ko[$name]##*/} ($(grep -E '^klp-build: .*\): (patched|new) ' "$logf" | sed 's/^klp-build: //' | paste -sd';'))"
  else
    fail "klp-build $name failed; last lines of $logf:"
    sed 1d "$logf" | tail -n 15 | sed 's/^/    /'
  fi
}

# The config a user has is /boot/config-$krel (klp-build's own default).
# Debian's build adds BUILD_SALT, MODULE_SIG_ALL, MODULE_SIG_KEY and
# SYSTEM_TRUSTED_KEYS to the headers' .config only. If klp-build refuses the
# /boot config, that is a failure, and the rest goes on with the headers'
# .config (the exact config of the build) so that it is still tested.
config=$DEBIAN_CONFIG
boot_log=$out/klp-build-cmdline.boot-config.log
if build_patch "$repo/testdata/patches/cmdline.patch" "$DEBIAN_CONFIG" "$boot_log"; then
  pass "klp-build accepts the stock config-$DEBIAN_KREL"
  pass "klp-build cmdline -> ${ko[cmdline]##*/}"
else
  fail "klp-build with the stock config-$DEBIAN_KREL (log: $boot_log):"
  sed 1d "$boot_log" | grep -vE '^klp-build: (kept work|resolve|generate|prepare|original|patched|diff|verify|link|write) ' | tail -n 4 | sed 's/^/    /'
  config=$DEBIAN_HEADERS/.config
  log "going on with --config $config"
  check_build "$repo/testdata/patches/cmdline.patch" "$config"
fi
check_build "$repo/testdata/patches/debian-binfmt-misc.patch" "$config"
for name in multifile-global debian-warn-exit debian-binfmt-dyndbg; do
  check_build "$repo/testdata/patches/$name.patch" "$config"
done
# (f): state-takeover's script loads state-setup and state-unaware too.
for name in "${e2e_runtime_cases[@]}"; do
  check_build "$repo/testdata/patches/$name.patch" "$config"
done

# The prepared tree: Debian's config has CONFIG_DEBUG_INFO_BTF, for which kbuild's prepare builds
# resolve_btfids; klp-build's prepare leaves it out and builds objtool, which the compiles run.
tree_dir=$(sed -n 's/^klp-build: \(prepared\|reusing\) the \(prepared \)\{0,1\}tree in \([^ :]*\).*/\3/p' \
  "$out"/klp-build-*.log | head -n 1)
if [[ -z $tree_dir ]]; then
  fail "no klp-build log names its prepared tree"
elif [[ -e $tree_dir/build/tools/bpf/resolve_btfids ]]; then
  fail "prepare built resolve_btfids in $tree_dir/build"
elif [[ ! -x $tree_dir/build/tools/objtool/objtool ]]; then
  fail "prepare did not build objtool in $tree_dir/build"
else
  pass "prepared tree without resolve_btfids, with objtool ($tree_dir)"
fi

# The match proof covered every replaced function: in the vmlinuz, and in binfmt_misc.ko.
proof() { # proof NAME LOG WANT
  if grep -qF "klp-build: the original build matches the target: $3" "$2"; then
    pass "$1: original build matches the stock kernel ($3)"
  else
    fail "$1: no 'matches the target: $3' in $2: $(grep -F 'matches the target' "$2")"
  fi
}
cmdline_log=$out/klp-build-cmdline.log
[[ -f $cmdline_log ]] || cmdline_log=$boot_log
proof cmdline "$cmdline_log" "1 function(s) in $DEBIAN_VMLINUZ"
proof debian-binfmt-misc "$out/klp-build-debian-binfmt-misc.log" \
  "0 function(s) in $DEBIAN_VMLINUZ, 1 in module files"

# Reproducible with Debian's config, which has DEBUG_INFO: --check-reproducible builds again
# from a fresh tree at other paths, with another -j, and compares the two modules.
repro_log=$out/klp-build-reproducible.log
mkdir -p "$out/repro"
if "$klp_build" --sourcedir "$DEBIAN_SRC" --config "$config" --kallsyms "$DEBIAN_KALLSYMS" \
     --headers "$DEBIAN_HEADERS" -j "$jobs" -o "$out/repro" --check-reproducible \
     "$repo/testdata/patches/cmdline.patch" >"$repro_log" 2>&1 </dev/null &&
   grep -q "reproducible: a second build is bit-identical" "$repro_log"; then
  pass "cmdline: --check-reproducible: a second build is bit-identical"
else
  fail "cmdline: --check-reproducible (log: $repro_log):"
  tail -n 12 "$repro_log" | sed 's/^/    /'
fi

# The reviewer's page of a Debian build: Debian's config has DEBUG_INFO, so the page shows the
# source lines each function covers.
page_log=$out/check-page.log
if [[ -n ${ko[cmdline]:-} ]]; then
  if "$repo/tests/kernel/check-page.sh" "$klp_diff" "${ko[cmdline]}" "$out/page" >"$page_log" 2>&1 &&
     grep -q 'class="lines">lines (DWARF): ' "${ko[cmdline]%.ko}.explain.html"; then
    pass "cmdline: the reviewer's page in chromium holds what klp-diff --json reports, with DWARF lines"
  else
    fail "cmdline: the reviewer's page (log: $page_log):"
    tail -n 8 "$page_log" | sed 's/^/    /'
  fi
fi

# The modules as the kernel must see them.
for name in "${!ko[@]}"; do
  f=${ko[$name]}
  vm=$(modinfo -F vermagic "$f")
  want=$(modinfo -F vermagic "$DEBIAN_MODULES/kernel/fs/binfmt_misc.ko")
  if [[ $vm == "$want" ]]; then pass "$name: vermagic '$vm'"; else fail "$name: vermagic '$vm', the stock modules have '$want'"; fi
  [[ $(modinfo -F livepatch "$f") == Y ]] && pass "$name: modinfo livepatch=Y" || fail "$name: modinfo lacks livepatch=Y"
done

# ---- QEMU (tests/e2e/lib.sh, with the stock vmlinuz) -----------------------
if ((${#ko[@]} == 0)); then
  fail "no livepatch module was built; not booting"
  finish
fi
e2e_check_tools
mkdir -p "$out/guest"
# gen_init_cpio from the kernel source (lib.sh would take the test kernel's).
gcc -O2 -o "$out/guest/gen_init_cpio" "$DEBIAN_SRC/usr/gen_init_cpio.c" || die "cannot build gen_init_cpio"
E2E_GEN_INIT_CPIO=$out/guest/gen_init_cpio
E2E_BZIMAGE=$DEBIAN_VMLINUZ
E2E_QEMU_MEM=${E2E_QEMU_MEM:-1024}

stock_bm=$DEBIAN_MODULES/kernel/fs/binfmt_misc.ko
deps=$(modinfo -F depends "$stock_bm")
[[ -z $deps ]] || die "binfmt_misc.ko now depends on '$deps'; add them to the initramfs"
files=("/lib/modules/binfmt_misc.ko=$stock_bm")
cases=()
for name in cmdline debian-binfmt-misc multifile-global debian-warn-exit debian-binfmt-dyndbg; do
  [[ -z ${ko[$name]:-} ]] || files+=("/lib/modules/livepatch-$name.ko=${ko[$name]}")
done
[[ -z ${ko[cmdline]:-} ]] || cases+=(cmdline)
[[ -z ${ko[debian-binfmt-misc]:-} ]] || cases+=(debian-binfmt-misc debian-binfmt-misc-late)
for name in multifile-global debian-warn-exit debian-binfmt-dyndbg; do
  [[ -z ${ko[$name]:-} ]] || cases+=("$name")
done
e2e_add_runtime_cases

# The guest's part (tests/e2e/guest-lib.sh helpers; case C loads
# /lib/modules/livepatch-C.ko, sysfs name livepatch_C).
tests=$out/guest/tests.sh
{
  echo "E2E_CASES='${cases[*]}'"
  e2e_runtime_guest_fns
  cat <<'GUEST'
BM=/mnt/binfmt
STATUS="cat $BM/status"

# (a) vmlinux: /proc/cmdline
# (b) the stock module binfmt_misc, loaded first; the patched bm_status_read()
# reads the module's static `enabled`, which the original write sets.
case_binfmt() {
	e2e_run insmod-binfmt_misc "insmod /lib/modules/binfmt_misc.ko"
	e2e_run mount "mkdir -p $BM && mount -t binfmt_misc binfmt_misc $BM"
	e2e_expect before "enabled" "$STATUS"
	e2e_load debian-binfmt-misc
	e2e_funcs debian-binfmt-misc "binfmt_misc:bm_status_read"
	e2e_expect during "enabled, live patched" "$STATUS"
	e2e_run status-0 "echo 0 >$BM/status"
	e2e_expect during-disabled "disabled, live patched" "$STATUS"
	e2e_run status-1 "echo 1 >$BM/status"
	e2e_expect during-enabled "enabled, live patched" "$STATUS"
	e2e_disable debian-binfmt-misc
	e2e_expect after "enabled" "$STATUS"
	e2e_unload debian-binfmt-misc
	e2e_run umount "umount $BM"
	e2e_run rmmod-binfmt_misc "rmmod binfmt_misc"
}

# (b') the livepatch first: it is applied when binfmt_misc comes.
case_binfmt_late() {
	e2e_load debian-binfmt-misc
	e2e_run insmod-binfmt_misc "insmod /lib/modules/binfmt_misc.ko"
	e2e_run mount "mkdir -p $BM && mount -t binfmt_misc binfmt_misc $BM"
	e2e_funcs debian-binfmt-misc "binfmt_misc:bm_status_read"
	e2e_expect during "enabled, live patched" "$STATUS"
	e2e_run umount "umount $BM"
	e2e_run rmmod-binfmt_misc "rmmod binfmt_misc"
	e2e_disable debian-binfmt-misc
	e2e_unload debian-binfmt-misc
}

# (c) one new global function, called from two patched objects.
case_multifile() {
	orig=$(cat /proc/cmdline)
	e2e_expect before-meminfo "" "grep KlpTag /proc/meminfo"
	e2e_load multifile-global
	e2e_funcs multifile-global "vmlinux:cmdline_proc_show,meminfo_proc_show"
	e2e_expect during-cmdline "$orig multi-file" "cat /proc/cmdline"
	e2e_expect during-meminfo "KlpTag: * multi-file" "grep KlpTag /proc/meminfo"
	e2e_disable multifile-global
	e2e_expect after-cmdline "$orig" "cat /proc/cmdline"
	e2e_expect after-meminfo "" "grep KlpTag /proc/meminfo"
	e2e_unload multifile-global
}

# (d) do_exit() with its WARN_ON()s: the patched one prints a line for each
# exiting klp_exit_probe (busybox under that name: "applet not found").
EXIT_PROBES="dmesg | grep -c 'klp-e2e: do_exit patched (klp_exit_probe)'"
exit_probe() { /tmp/klp_exit_probe >/dev/null 2>&1; true; }
case_warn_exit() {
	cp /bin/busybox /tmp/klp_exit_probe
	exit_probe
	e2e_expect before 0 "$EXIT_PROBES"
	e2e_load debian-warn-exit
	e2e_funcs debian-warn-exit "vmlinux:do_exit"
	exit_probe
	exit_probe
	e2e_expect during 2 "$EXIT_PROBES"
	e2e_disable debian-warn-exit
	exit_probe
	e2e_expect after 2 "$EXIT_PROBES"
	e2e_unload debian-warn-exit
}

# (e) binfmt_misc's register path, whose pr_debug() descriptors (and the jump
# labels keyed by them) the patch carries anew: "klp-refused" is refused.
REGISTER="echo ':klp-refused:E::klpx::/bin/sh:' >$BM/register && cat $BM/klp-refused && echo -1 >$BM/klp-refused"
case_binfmt_dyndbg() {
	e2e_run insmod-binfmt_misc "insmod /lib/modules/binfmt_misc.ko"
	e2e_run mount "mkdir -p $BM && mount -t binfmt_misc binfmt_misc $BM"
	e2e_expect before "enabled interpreter /bin/sh flags:*extension .klpx" "$REGISTER"
	e2e_load debian-binfmt-dyndbg
	e2e_funcs debian-binfmt-dyndbg "binfmt_misc:bm_register_write"
	e2e_expect during "*Invalid argument*" "$REGISTER"
	e2e_expect during-gone "" "ls $BM | grep klp-refused"
	e2e_disable debian-binfmt-dyndbg
	e2e_expect after "enabled interpreter /bin/sh flags:*extension .klpx" "$REGISTER"
	e2e_unload debian-binfmt-dyndbg
	e2e_run umount "umount $BM"
	e2e_run rmmod-binfmt_misc "rmmod binfmt_misc"
}

echo "E2E-INFO kernel $(uname -r); cmdline $(cat /proc/cmdline)"
for c in $E2E_CASES; do
	case $c in
	cmdline) e2e_case cmdline case_cmdline ;;
	debian-binfmt-misc) e2e_case debian-binfmt-misc case_binfmt ;;
	debian-binfmt-misc-late) e2e_case debian-binfmt-misc-late case_binfmt_late ;;
	multifile-global) e2e_case multifile-global case_multifile ;;
	debian-warn-exit) e2e_case debian-warn-exit case_warn_exit ;;
	debian-binfmt-dyndbg) e2e_case debian-binfmt-dyndbg case_binfmt_dyndbg ;;
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
# One line per guest check.
re='^E2E ([^ ]+) ([^ ]+) (PASS|FAIL) ?(.*)$'
while IFS= read -r line; do
  [[ $line =~ $re ]] || continue
  if [[ ${BASH_REMATCH[3]} == PASS ]]; then
    pass "guest ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}: ${BASH_REMATCH[4]}"
  else
    fail "guest ${BASH_REMATCH[1]} ${BASH_REMATCH[2]}: ${BASH_REMATCH[4]}"
  fi
done <"$serial"
# Every case began and ended, /init reached its end (lib.sh's report).
if e2e_report "$serial" "${cases[@]}" >"$out/report.txt"; then
  pass "guest: every case ran to its end (${cases[*]})"
else
  fail "guest: not every case ran to its end, or a check failed (report below)"
fi
sed 's/^/    /' "$out/report.txt"
# Kernel trouble anywhere on the console (also catches a crash between cases).
if grep -nE 'Call Trace|WARNING:|BUG:|Oops|general protection|Kernel panic' "$serial" |
  grep -vE '^[0-9]+:E2E [^ ]+ [^ ]+ (PASS|FAIL) ' >"$out/kernel-trouble.txt"; then
  fail "kernel reported trouble (first lines below; all in $out/kernel-trouble.txt)"
  head -n 10 "$out/kernel-trouble.txt" | sed 's/^/    /'
else
  pass "no Call Trace / WARNING: / BUG: anywhere in the serial log"
  rm -f "$out/kernel-trouble.txt"
fi
grep -E '^E2E-INFO ' "$serial" | sed 's/^E2E-INFO /e2e-debian: guest: /'
finish
