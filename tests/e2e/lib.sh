# Host-side library of klp-build's end-to-end tests: boot the test kernel in
# QEMU with a busybox initramfs and collect per-check results from the serial
# log. Sourced by tests/e2e/*.sh; bash.
#
#   e2e_testkernel                 set E2E_KDIR/E2E_SRC/E2E_BOOT/E2E_BZIMAGE/...
#   e2e_initramfs OUT TESTS [DEST=SRC...]
#                                  OUT: a cpio with busybox, /init, the guest
#                                  helpers (/e2e/guest-lib.sh), the test script
#                                  TESTS (/e2e/tests.sh) and the given files
#   e2e_qemu INITRAMFS LOG [TIMEOUT [APPEND]]
#                                  boot E2E_BZIMAGE; serial log in LOG; status
#                                  124 on timeout
#   e2e_report LOG CASE...         per-check report of the guest's result
#                                  lines; status 1 if any check failed or a
#                                  case did not finish
#   e2e_sq STRING                  STRING single-quoted for sh
#   e2e_guest_script_fn CASE FUNC  the guest script of testdata/patches/
#                                  CASE.expect as shell function FUNC (for
#                                  runs that reuse corpus cases' scripts)
#   e2e_add_runtime_cases          the livepatch-semantics cases built
#                                  (ko[NAME] set): modules onto files,
#                                  guest cases onto cases
#   e2e_runtime_guest_fns          their guest scripts as rt_NAME functions
#
# Guest protocol (tests/e2e/guest-lib.sh): "E2E <case> <check> PASS|FAIL
# <detail>" result lines, "E2E-CASE <case> begin|exit N|end" markers, the
# case's kernel log as "E2E-LOG <case> | <line>", and "E2E-DONE" when /init
# ran to the end.
#
# Environment: KLP_CACHE (scripts/testkernel.sh), E2E_TESTKERNEL ("clang": the
# test kernel built by clang, scripts/testkernel.sh --clang), E2E_QEMU_TIMEOUT (seconds,
# default 600), E2E_QEMU_MEM (MiB, default 512).

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_LIB_DIR/../.." && pwd)
E2E_BUSYBOX=${E2E_BUSYBOX:-/bin/busybox}

e2e_log() { echo "e2e: $*" >&2; }
e2e_die() { echo "e2e: error: $*" >&2; exit 1; }

e2e_sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

e2e_guest_script_fn() {
  local f=$E2E_REPO/testdata/patches/$1.expect
  grep -q '^guest-script[[:space:]]*$' "$f" || e2e_die "$f has no guest-script"
  echo "$2() {"
  awk 'on { print "\t" $0 } /^guest-script[ \t]*$/ { on = 1 }' "$f"
  echo "}"
}

# The corpus' livepatch-semantics cases (issue 19) that the Debian runs reuse:
# state-takeover's guest script loads state-setup and state-unaware too, so it
# runs only when all three were built.
e2e_runtime_cases=(state-setup state-unaware state-takeover consistency reversal fake-signal force)
e2e_runtime_guest_cases=(state-takeover consistency reversal fake-signal force)

# Uses the caller's ko (case -> module path), files and cases arrays.
e2e_add_runtime_cases() {
  local name
  for name in "${e2e_runtime_cases[@]}"; do
    [[ -z ${ko[$name]:-} ]] || files+=("/lib/modules/livepatch-$name.ko=${ko[$name]}")
  done
  [[ -z ${ko[state-setup]:-} || -z ${ko[state-unaware]:-} || -z ${ko[state-takeover]:-} ]] ||
    cases+=(state-takeover)
  for name in consistency reversal fake-signal force; do
    [[ -z ${ko[$name]:-} ]] || cases+=("$name")
  done
}

e2e_runtime_guest_fns() {
  local name
  for name in "${e2e_runtime_guest_cases[@]}"; do
    e2e_guest_script_fn "$name" "rt_${name//-/_}"
  done
}

# e2e_testkernel: locate the prepared test kernel (never builds it: that is
# the kernel.prepare fixture's job).
e2e_testkernel() {
  local variant=()
  [[ ${E2E_TESTKERNEL:-} != clang ]] || variant=(--clang)
  E2E_KDIR=$("$E2E_REPO/scripts/testkernel.sh" "${variant[@]}" --print-dir) ||
    e2e_die "scripts/testkernel.sh ${variant[*]} failed"
  E2E_SRC=$E2E_KDIR/src
  E2E_BOOT=$E2E_KDIR/boot
  E2E_BZIMAGE=$E2E_BOOT/arch/x86/boot/bzImage
  E2E_VMLINUX=$E2E_BOOT/vmlinux
  E2E_CONFIG=$E2E_BOOT/.config
  E2E_GEN_INIT_CPIO=$E2E_BOOT/usr/gen_init_cpio
  E2E_TESTMOD_KO=$E2E_BOOT/drivers/misc/klp_test_mod/klp_test_mod.ko
  local f
  for f in "$E2E_BZIMAGE" "$E2E_VMLINUX" "$E2E_CONFIG" "$E2E_GEN_INIT_CPIO" "$E2E_TESTMOD_KO"; do
    [[ -e $f ]] || e2e_die "missing $f (run scripts/testkernel.sh)"
  done
}

e2e_check_tools() {
  local t
  for t in qemu-system-x86_64 timeout; do
    command -v "$t" >/dev/null || e2e_die "'$t' not found (run scripts/install-deps)"
  done
  [[ -x $E2E_BUSYBOX ]] || e2e_die "$E2E_BUSYBOX not found (install busybox-static)"
  if file -L "$E2E_BUSYBOX" 2>/dev/null | grep -q 'dynamically linked'; then
    e2e_die "$E2E_BUSYBOX is not static (install busybox-static)"
  fi
}

# e2e_initramfs OUT TESTS [DEST=SRC...]: DEST is a path in the guest
# (directories are created), SRC a host file.
e2e_initramfs() {
  local out=$1 tests=$2 spec dest src d
  shift 2
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/klp-e2e-initramfs.XXXXXX")
  # Each case prints its own part of the kernel log.
  { cat "$E2E_LIB_DIR/../../scripts/guest-init-preamble.sh"; cat <<'EOF'; } >"$work/init"
. /e2e/guest-lib.sh
echo "E2E-BEGIN $(uname -r)"
dmesg -c >/tmp/e2e-log.boot
cat /tmp/e2e-log.boot >/tmp/e2e-log.all
E2E_CASE=boot
e2e_log_check boot /tmp/e2e-log.boot
E2E_CASE=none
. /e2e/tests.sh
dmesg >>/tmp/e2e-log.all
E2E_CASE=all
e2e_log_check all /tmp/e2e-log.all
echo "E2E-DONE"
sync
reboot -f
EOF
  {
    echo "dir /dev 0755 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "dir /bin 0755 0 0"
    echo "file /bin/busybox $E2E_BUSYBOX 0755 0 0"
    echo "file /init $work/init 0755 0 0"
    echo "dir /e2e 0755 0 0"
    echo "file /e2e/guest-lib.sh $E2E_LIB_DIR/guest-lib.sh 0644 0 0"
    echo "file /e2e/tests.sh $tests 0644 0 0"
    local -A dirs=([/dev]=1 [/bin]=1 [/e2e]=1)
    for spec in "$@"; do
      dest=${spec%%=*} src=${spec#*=}
      [[ -f $src ]] || e2e_die "initramfs: $src does not exist"
      d=$(dirname "$dest")
      local parts=() p=
      IFS=/ read -ra parts <<<"${d#/}"
      for x in "${parts[@]}"; do
        p+=/$x
        [[ -n ${dirs[$p]:-} ]] && continue
        dirs[$p]=1
        echo "dir $p 0755 0 0"
      done
      echo "file $dest $src 0644 0 0"
    done
  } >"$work/list"
  "$E2E_GEN_INIT_CPIO" "$work/list" >"$out" || { rm -rf "$work"; e2e_die "gen_init_cpio failed"; }
  rm -rf "$work"
}

# e2e_qemu INITRAMFS LOG [TIMEOUT [APPEND]]
e2e_qemu() {
  local initramfs=$1 log=$2 timeout_s=${3:-${E2E_QEMU_TIMEOUT:-600}}
  local append=${4:-"console=ttyS0 panic=-1 oops=panic"}
  local rc=0
  timeout --foreground -k 10 "$timeout_s" \
    qemu-system-x86_64 -accel tcg -cpu qemu64 -m "${E2E_QEMU_MEM:-512}" -smp 1 \
      -nographic -no-reboot -kernel "$E2E_BZIMAGE" -initrd "$initramfs" \
      -append "$append" </dev/null >"$log" 2>&1 || rc=$?
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  return $rc
}

# e2e_report LOG CASE...: print the guest's results per case and check; the
# given cases must each have begun and ended. Status 1 on any failure.
e2e_report() {
  local log=$1
  shift
  awk -v cases="$*" '
    BEGIN { n = split(cases, want, " ") }
    /^E2E-DONE$/ { done = 1; next }
    /^E2E-CASE / { if ($3 == "begin") began[$2] = 1; if ($3 == "end") ended[$2] = 1; next }
    /^E2E [^ ]+ [^ ]+ (PASS|FAIL)( |$)/ {
      c = $2; k = $3; r = $4
      d = $0; sub(/^E2E [^ ]+ [^ ]+ (PASS|FAIL) ?/, "", d)
      if (!(c in seen)) { order[++nc] = c; seen[c] = 1 }
      total[c]++
      if (r == "PASS") pass[c]++
      else { fail[c]++; failed[++nf] = sprintf("  FAIL %s %s: %s", c, k, d) }
      next
    }
    END {
      bad = 0
      for (i = 1; i <= n; i++) {
        c = want[i]
        # boot and all are /init checks of the whole kernel log, not cases.
        if (c == "boot" || c == "all") { if (!(c in seen)) failed[++nf] = sprintf("  FAIL %s: no kernel-log check (guest died or timed out earlier)", c) }
        else if (!(c in began)) { failed[++nf] = sprintf("  FAIL %s: never started (guest died or timed out earlier)", c) }
        else if (!(c in ended)) { failed[++nf] = sprintf("  FAIL %s: started but did not finish (guest crash or timeout)", c) }
        if (!(c in seen)) { order[++nc] = c; seen[c] = 1 }
      }
      if (!done) failed[++nf] = "  FAIL guest: /init did not reach E2E-DONE"
      printf "%-20s %6s %6s  %s\n", "guest case", "pass", "fail", "result"
      for (i = 1; i <= nc; i++) {
        c = order[i]
        ok = (fail[c] == 0 && (c == "boot" || c == "all" || c in ended))
        printf "%-20s %6d %6d  %s\n", c, pass[c], fail[c], ok ? "PASS" : "FAIL"
      }
      if (nf) {
        print "failed checks:"
        for (i = 1; i <= nf; i++) print failed[i]
        exit 1
      }
    }' "$log"
}
