#!/usr/bin/env bash
# End-to-end test of batch builds: one fix (testdata/patches/cmdline.patch) for every kernel in
# one `klp-build --targets` run, its compiles spread by distcc, each module proven in its kernel.
#   - targets: the test kernel, Debian 12's stock 6.1.0-56 and backports' 6.12.95 (their inputs
#     from scripts/debian-kernel.sh), and the test kernel's source with a config without
#     CONFIG_LIVEPATCH, which must show in the summary with its reason while the others build,
#     and the test kernel once more, which must reuse the first one's prepared tree;
#   - two distccd daemons on loopback ports (127.0.0.1 only, --allow 127.0.0.1), DISTCC_HOSTS
#     naming both and no local fallback (DISTCC_FALLBACK=0): the batch runs with
#     --compiler-launcher distcc and an empty cache, and the daemons' logs must show the units
#     klp-build compiles (the original and patched cmdline.c, the module's runtime);
#   - the same batch without distcc, another empty cache: every module bit-identical;
#   - each kernel boots in QEMU with its module (one boot per kernel): /proc/cmdline patched,
#     then back after the patch is disabled.
#
# Usage: tests/e2e/batch.sh [KLP_BUILD_BINARY]
# Prints one "PASS: ..." or "FAIL: ..." line per check and "N passed, N failed"; exit status 1
# on any failure (2: setup error). Kept in $KLP_E2E_OUT (default <repo>/build/e2e/batch):
# targets.toml, distcc/ and local/ (the batches' outputs and summaries; distcc/daemons/: the
# daemons' logs), guest/.
# Environment: KLP_CACHE (the kernels' inputs), KLP_E2E_OUT, KLP_JOBS (-j, default nproc).
set -uo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/../.." && pwd)
# shellcheck source=lib.sh
. "$repo/tests/e2e/lib.sh"
klp_build=${1:-$repo/build/klp-build/klp-build}
out=${KLP_E2E_OUT:-$repo/build/e2e/batch}
jobs=${KLP_JOBS:-$(nproc)}
patch=$repo/testdata/patches/cmdline.patch

die() { echo "e2e-batch: error: $*" >&2; exit 2; }
log() { echo "e2e-batch: $*" >&2; }
npass=0 nfail=0
pass() { echo "PASS: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
daemons=() dd=
cleanup() {
  local pid
  for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${daemons[@]}"; do wait "$pid" 2>/dev/null; done
  daemons=()
  [[ -z $dd ]] || rm -rf "$dd"
}
trap cleanup EXIT
finish() {
  echo "e2e-batch: logs in $out"
  echo "e2e-batch: $npass passed, $nfail failed"
  ((nfail == 0)) || exit 1
  exit 0
}

[[ -x $klp_build ]] || die "klp-build binary $klp_build not found (cmake --build build)"
for tool in distcc distccd python3 qemu-system-x86_64; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/install-deps)"
done
rm -rf "$out"
mkdir -p "$out/distcc" "$out/local" "$out/guest"

# ---- the targets ---------------------------------------------------------------------------
e2e_testkernel
env61=$out/debian-6.1.env env612=$out/debian-6.12.env
bash "$repo/scripts/debian-kernel.sh" >"$env61" 2>"$out/debian-kernel-6.1.log" ||
  die "scripts/debian-kernel.sh failed (log: $out/debian-kernel-6.1.log)"
bash "$repo/scripts/debian-kernel.sh" 6.12 >"$env612" 2>"$out/debian-kernel-6.12.log" ||
  die "scripts/debian-kernel.sh 6.12 failed (log: $out/debian-kernel-6.12.log)"
val() { sed -n "s/^$2=//p" "$1"; }
grep -v '^CONFIG_LIVEPATCH=' "$E2E_CONFIG" >"$out/config-no-livepatch"
echo '# CONFIG_LIVEPATCH is not set' >>"$out/config-no-livepatch"
cat >"$out/targets.toml" <<TOML
# One fix, every kernel: the test kernel, Debian 12's 6.1 and 6.12, and a config that cannot
# take a livepatch.
[target.testkernel]
sourcedir = "$E2E_SRC"
config = "$E2E_CONFIG"
vmlinux = "$E2E_VMLINUX"

[target."debian-6.1"]
sourcedir = "$(val "$env61" DEBIAN_SRC)"
config = "$(val "$env61" DEBIAN_CONFIG)"
kallsyms = "$(val "$env61" DEBIAN_KALLSYMS)"
headers = "$(val "$env61" DEBIAN_HEADERS)"

[target."debian-6.12"]
sourcedir = "$(val "$env612" DEBIAN_SRC)"
config = "$(val "$env612" DEBIAN_CONFIG)"
kallsyms = "$(val "$env612" DEBIAN_KALLSYMS)"
headers = "$(val "$env612" DEBIAN_HEADERS)"

# The same tree and config again: the two share one prepared tree (whichever starts first
# prepares it).
[target.testkernel-again]
sourcedir = "$E2E_SRC"
config = "$E2E_CONFIG"
vmlinux = "$E2E_VMLINUX"

[target.no-livepatch]
sourcedir = "$E2E_SRC"
config = "config-no-livepatch"
vmlinux = "$E2E_VMLINUX"
TOML
built_targets=(testkernel debian-6.1 debian-6.12)

# ---- two distcc daemons on loopback ----------------------------------------------------------
# distccd drops root for the distccd user: its logs and temporary files must be writable to it,
# and on a path it can reach (a checkout under /root is not), so they live under /tmp; the logs
# are copied to $out/distcc/daemons once the daemons have stopped.
dd=$(mktemp -d /tmp/klp-e2e-distccd.XXXXXX) || die "mktemp failed"
mkdir -p "$dd/tmp" "$out/distcc/client"
chmod 0755 "$dd"
chmod 0777 "$dd/tmp"
free_port() { # a port nothing listens on, from a range other tests do not use
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 10000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  die "no free port found"
}
hosts=()
for i in 1 2; do
  port=$(free_port)
  : >"$dd/distccd-$i.log"
  chmod 0666 "$dd/distccd-$i.log"
  TMPDIR=$dd/tmp distccd --daemon --no-detach --listen 127.0.0.1 --allow 127.0.0.1 \
    --port "$port" --jobs 2 --log-file "$dd/distccd-$i.log" --verbose &
  daemons+=($!)
  hosts+=("127.0.0.1:$port/1")
done
for port in "${hosts[@]}"; do
  port=${port#127.0.0.1:} port=${port%/1}
  for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
log "distccd on ${hosts[*]}"

# ---- the batch through distcc, then without ----------------------------------------------------
run_batch() { # run_batch DIR [klp-build options...]: summary in DIR/summary.json
  local dir=$1 rc=0
  shift
  log "klp-build --targets $out/targets.toml $* -> $dir"
  "$klp_build" --targets "$out/targets.toml" --cache "$dir/cache" -o "$dir/modules" -j "$jobs" \
    --json "$@" "$patch" >"$dir/summary.json" 2>"$dir/progress.log" </dev/null || rc=$?
  echo "$rc" >"$dir/status"
}
t=$(date +%s.%N)
# --randomize: each compile picks either daemon, so both serve some.
DISTCC_HOSTS="--randomize ${hosts[*]}" DISTCC_FALLBACK=0 DISTCC_SKIP_LOCAL_RETRY=1 DISTCC_DIR=$out/distcc/client \
  run_batch "$out/distcc" --compiler-launcher distcc
echo "distcc $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >"$out/seconds"
t=$(date +%s.%N)
run_batch "$out/local"
echo "local $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >>"$out/seconds"
log "batch wall times (s): $(tr '\n' ' ' <"$out/seconds")"

field() { # field DIR TARGET KEY: the summary's value (empty if absent)
  python3 - "$1/summary.json" "$2" "$3" <<'PY'
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(0)
t = [t for t in s["targets"] if t["name"] == sys.argv[2]]
v = t[0].get(sys.argv[3], "") if t else ""
print("\n".join(v) if isinstance(v, list) else v)
PY
}
for kind in distcc local; do
  dir=$out/$kind
  if [[ $(cat "$dir/status") == 5 ]] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$dir/summary.json" 2>/dev/null; then
    pass "$kind batch: exit 5 (not every target built), a JSON summary"
  else
    fail "$kind batch: exit $(cat "$dir/status"), summary: $(head -c 300 "$dir/summary.json"); progress: $(tail -n 3 "$dir/progress.log")"
    continue
  fi
  for t in "${built_targets[@]}"; do
    if [[ $(field "$dir" "$t" result) == built && -s $(field "$dir" "$t" module) ]] &&
      field "$dir" "$t" functions | grep -qx 'fs/proc/cmdline.o: cmdline_proc_show'; then
      pass "$kind batch: $t built $(field "$dir" "$t" module) in $(field "$dir" "$t" seconds) s"
    else
      fail "$kind batch: $t: $(field "$dir" "$t" result): $(field "$dir" "$t" reason | head -n 1) (log: $dir/modules/$t/klp-build.log)"
    fi
  done
  # The two targets of one tree and config start in whichever order the batch's slots free up:
  # whichever takes the tree's lock first prepares it, the other waits and reuses it.
  tree_lines=$(sed -n 's/^klp-build: \(prepared the tree\|reusing the prepared tree\) in \([^:( ]*\).*/\1 \2/p' \
    "$dir/modules/testkernel/klp-build.log" "$dir/modules/testkernel-again/klp-build.log" | sort)
  if [[ $(field "$dir" testkernel-again result) == built ]] &&
    [[ $(awk '{ print $1 }' <<<"$tree_lines" | tr '\n' ' ') == "prepared reusing " ]] &&
    [[ $(awk '{ print $NF }' <<<"$tree_lines" | sort -u | wc -l) == 1 ]] &&
    [[ $(field "$dir" testkernel-again sha256) == "$(field "$dir" testkernel sha256)" ]]; then
    pass "$kind batch: testkernel and testkernel-again: one prepared the tree, the other reused it, the same module"
  else
    fail "$kind batch: testkernel-again: $(field "$dir" testkernel-again result), tree: $(tr '\n' ';' <<<"$tree_lines"), sha256 $(field "$dir" testkernel-again sha256) vs $(field "$dir" testkernel sha256)"
  fi
  reason=$(field "$dir" no-livepatch reason)
  if [[ $(field "$dir" no-livepatch result) == failed && $reason == *CONFIG_LIVEPATCH* ]]; then
    pass "$kind batch: no-livepatch failed with its reason: $(head -n 1 <<<"$reason")"
  else
    fail "$kind batch: no-livepatch: $(field "$dir" no-livepatch result): $reason"
  fi
done
if grep -q '^klp-build: \[debian-6.12\] prepare ' "$out/distcc/progress.log" &&
  grep -q '^klp-build: \[no-livepatch\] failed in ' "$out/distcc/progress.log"; then
  pass "progress: plain lines per target and phase when not on a terminal"
else
  fail "progress log lacks per-target phase lines: $(head -n 5 "$out/distcc/progress.log")"
fi

# The daemons compiled what klp-build compiles: each daemon some units, the patched unit
# (compiled twice per target, original and patched) and the module's runtime among them.
for i in 1 2; do
  n=$(grep -c 'COMPILE_OK' "$dd/distccd-$i.log")
  if ((n > 0)); then pass "distccd $i (${hosts[i - 1]}): $n compiles"; else fail "distccd $i compiled nothing (log: $out/distcc/daemons/distccd-$i.log)"; fi
done
# (grep -c, not -q: with pipefail, -q's early exit would fail the pipe.)
n=$(grep -h 'COMPILE_OK' "$dd"/distccd-*.log | grep -c '/fs/proc/cmdline\.c$')
if ((n >= 2 * ${#built_targets[@]})); then
  pass "distccd: fs/proc/cmdline.c compiled $n times (original and patched, every target)"
else
  fail "distccd: fs/proc/cmdline.c compiled $n times, want >= $((2 * ${#built_targets[@]})) ($(grep -h 'COMPILE_OK' "$dd"/distccd-*.log | tail -n 2))"
fi
n=$(grep -h 'COMPILE_OK' "$dd"/distccd-*.log | grep -c '/klp_runtime\.c$')
if ((n >= ${#built_targets[@]})); then
  pass "distccd: the module's runtime (klp_runtime.c) compiled $n times, at least once per target kernel (testkernel-again may share testkernel's)"
else
  fail "distccd: the module's runtime (klp_runtime.c) compiled $n times, want ${#built_targets[@]}"
fi
for t in "${built_targets[@]}"; do
  a=$(field "$out/distcc" "$t" sha256) b=$(field "$out/local" "$t" sha256)
  if [[ -n $a && $a == "$b" ]] && cmp -s "$(field "$out/distcc" "$t" module)" "$(field "$out/local" "$t" module)"; then
    pass "$t: the module built through distcc is bit-identical to the local one (sha256 $a)"
  else
    fail "$t: distcc's module (sha256 $a) differs from the local one (sha256 $b)"
  fi
done
for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null; done
for pid in "${daemons[@]}"; do wait "$pid" 2>/dev/null; done
mkdir -p "$out/distcc/daemons"
cp "$dd"/distccd-*.log "$out/distcc/daemons/"
cleanup

# ---- each module in its kernel ---------------------------------------------------------------
e2e_check_tools
# case_cmdline: tests/e2e/guest-lib.sh
cat >"$out/guest/tests.sh" <<'GUEST'
e2e_case cmdline case_cmdline
GUEST
test_bzimage=$E2E_BZIMAGE
for t in "${built_targets[@]}"; do
  ko=$(field "$out/distcc" "$t" module)
  [[ -s $ko ]] || { fail "$t: no module to boot with"; continue; }
  case $t in
  testkernel) E2E_BZIMAGE=$test_bzimage E2E_QEMU_MEM=512 ;;
  debian-6.1) E2E_BZIMAGE=$(val "$env61" DEBIAN_VMLINUZ) E2E_QEMU_MEM=1024 ;;
  debian-6.12) E2E_BZIMAGE=$(val "$env612" DEBIAN_VMLINUZ) E2E_QEMU_MEM=1024 ;;
  esac
  e2e_initramfs "$out/guest/$t.cpio" "$out/guest/tests.sh" "/lib/modules/livepatch-cmdline.ko=$ko"
  rc=0
  e2e_qemu "$out/guest/$t.cpio" "$out/guest/$t.serial.log" 600 || rc=$?
  if ((rc == 0)) && e2e_report "$out/guest/$t.serial.log" cmdline boot all >"$out/guest/$t.report.txt"; then
    pass "$t: booted $(sed -n 's/^E2E-BEGIN //p' "$out/guest/$t.serial.log"); the module patched /proc/cmdline and unpatched it"
  else
    fail "$t: QEMU status $rc; guest report:"
    sed 's/^/    /' "$out/guest/$t.report.txt"
  fi
done
finish
