#!/bin/busybox sh
# The start of every QEMU guest's /init (scripts/boot-test.sh, tests/runtime/build-module.sh,
# tests/e2e/lib.sh): a busybox initramfs with /proc, /sys and /dev mounted and kernel messages
# kept off the console, so they do not split the result lines the host reads. Each test's own
# part follows.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
dmesg -n 1
