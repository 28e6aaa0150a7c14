#!/bin/busybox sh
# The start of every QEMU guest's /init (scripts/boot-test.sh, tests/runtime/build-module.sh,
# tests/e2e/lib.sh): a busybox initramfs with /proc, /sys and /dev mounted and kernel messages
# kept off the console, so they do not split the result lines the host reads, and the helpers
# the guests share. Each test's own part follows; it sets guest_tag, the prefix of its result
# lines, first.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
dmesg -n 1

# fail MESSAGE: a "<guest_tag>: FAIL: MESSAGE" line and the kernel log's tail, then power off.
fail() {
  echo "$guest_tag: FAIL: $*"
  dmesg | tail -n 40
  reboot -f
}
# wait_for FILE VALUE: up to 60 s for FILE to contain VALUE.
wait_for() {
  i=0
  while [ "$(cat "$1" 2>/dev/null)" != "$2" ]; do
    i=$((i + 1))
    [ $i -le 60 ] || return 1
    sleep 1
  done
}
