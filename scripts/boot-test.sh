#!/usr/bin/env bash
# Boot the test kernel (scripts/testkernel.sh, built if needed) in QEMU with a
# busybox initramfs and check that live patching works on it:
#   - the kernel's own livepatch sample (samples/livepatch/livepatch-sample.ko)
#     loads, is enabled, finishes its transition, changes /proc/cmdline to
#     "this has been live patched", then disables and unloads;
#   - klp_test_mod.ko loads and /proc/klp_test_mod reads "klp_test_mod: original".
# The serial log is printed and kept in <cache>/boot-test.log. Exit status 0
# only if every expected line is in the log.
#
# Environment: KLP_CACHE (see testkernel.sh), KLP_BOOT_TIMEOUT (seconds, 300).
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/.." && pwd)
timeout_s=${KLP_BOOT_TIMEOUT:-300}

die() { echo "boot-test: error: $*" >&2; exit 1; }

for tool in qemu-system-x86_64 timeout; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/install-deps)"
done
busybox=/bin/busybox
[[ -x $busybox ]] || die "$busybox not found (install busybox-static)"
file -L "$busybox" 2>/dev/null | grep -q 'dynamically linked' && die "$busybox is not static (install busybox-static)"

kdir=$(bash "$repo/scripts/testkernel.sh" --print-dir)
boot=$kdir/boot
bzimage=$boot/arch/x86/boot/bzImage
sample_ko=$boot/samples/livepatch/livepatch-sample.ko
testmod_ko=$boot/drivers/misc/klp_test_mod/klp_test_mod.ko
gen_init_cpio=$boot/usr/gen_init_cpio
for f in "$bzimage" "$sample_ko" "$testmod_ko" "$gen_init_cpio"; do
  [[ -e $f ]] || die "missing $f"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/klp-boot-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The guest's /init. Every check prints a "BOOT-TEST:" line; the host checks
# them (and the real /proc output) in the serial log.
{ cat "$repo/scripts/guest-init-preamble.sh"; cat <<'EOF'; } >"$work/init"
guest_tag=BOOT-TEST

echo "BOOT-TEST: kernel $(uname -r)"
echo "BOOT-TEST: cmdline before: $(cat /proc/cmdline)"

lp=/sys/kernel/livepatch/livepatch_sample
insmod /lib/modules/livepatch-sample.ko || fail "insmod livepatch-sample.ko"
[ "$(cat $lp/enabled)" = 1 ] || fail "livepatch_sample not enabled"
echo "BOOT-TEST: enabled=$(cat $lp/enabled)"
wait_for $lp/transition 0 || fail "livepatch_sample transition did not finish"
echo "BOOT-TEST: transition=$(cat $lp/transition)"
echo "BOOT-TEST: cmdline patched: $(cat /proc/cmdline)"

echo 0 >$lp/enabled || fail "cannot disable livepatch_sample"
i=0
while [ -e $lp ]; do
  i=$((i + 1)); [ $i -le 60 ] || fail "livepatch_sample did not go away after disable"
  sleep 1
done
echo "BOOT-TEST: cmdline unpatched: $(cat /proc/cmdline)"
rmmod livepatch_sample || fail "rmmod livepatch_sample"
grep -q '^livepatch_sample ' /proc/modules && fail "livepatch_sample still loaded"
echo "BOOT-TEST: livepatch_sample unloaded"

insmod /lib/modules/klp_test_mod.ko || fail "insmod klp_test_mod.ko"
echo "BOOT-TEST: klp_test_mod says: $(head -n 1 /proc/klp_test_mod)"
rmmod klp_test_mod || fail "rmmod klp_test_mod"

echo "BOOT-TEST: livepatch messages:"
dmesg | grep -E 'livepatch|klp_test_mod'
echo "BOOT-TEST: DONE"
reboot -f
EOF

# gen_init_cpio (from the kernel build) makes /dev/console without root.
cat >"$work/initramfs.list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /bin 0755 0 0
file /bin/busybox $busybox 0755 0 0
file /init $work/init 0755 0 0
dir /lib 0755 0 0
dir /lib/modules 0755 0 0
file /lib/modules/livepatch-sample.ko $sample_ko 0644 0 0
file /lib/modules/klp_test_mod.ko $testmod_ko 0644 0 0
EOF
"$gen_init_cpio" "$work/initramfs.list" >"$work/initramfs.cpio"

log=$(dirname "$kdir")/boot-test.log
echo "boot-test: booting $bzimage (timeout ${timeout_s}s)" >&2
start=$(date +%s)
rc=0
timeout --foreground -k 10 "$timeout_s" \
  qemu-system-x86_64 -accel tcg -cpu qemu64 -m 512 -smp 1 -nographic -no-reboot \
    -kernel "$bzimage" -initrd "$work/initramfs.cpio" \
    -append "console=ttyS0 panic=-1" </dev/null >"$log" 2>&1 || rc=$?
secs=$(($(date +%s) - start))
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
echo "----- serial log ($log) -----"
cat "$log"
echo "----- end of serial log -----"

((rc != 124)) || die "QEMU timed out after ${timeout_s}s"
((rc == 0)) || die "QEMU exited with status $rc"

missing=0
expect() {
  if ! grep -qF -- "$1" "$log"; then
    echo "boot-test: expected line not found: $1" >&2
    missing=1
  fi
}
expect "BOOT-TEST: cmdline before: console=ttyS0 panic=-1"
expect "BOOT-TEST: enabled=1"
expect "BOOT-TEST: transition=0"
expect "BOOT-TEST: cmdline patched: this has been live patched"
expect "BOOT-TEST: cmdline unpatched: console=ttyS0 panic=-1"
expect "BOOT-TEST: livepatch_sample unloaded"
expect "BOOT-TEST: klp_test_mod says: klp_test_mod: original"
expect "BOOT-TEST: DONE"
if grep -q "BOOT-TEST: FAIL" "$log"; then
  echo "boot-test: the guest reported a failure" >&2
  missing=1
fi
((!missing)) || die "boot test FAILED (${secs}s)"
echo "boot-test: PASS (${secs}s in QEMU)"
