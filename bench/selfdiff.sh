#!/usr/bin/env bash
# Benchmark: create-diff-object on real kernel objects, each diffed against itself (the worst
# case for correlation and comparison: everything pairs and everything is compared).
#
#   bench/selfdiff.sh [CREATE_DIFF_OBJECT]
#
# 1. every kernel object of the test kernel's -ffunction-sections build (scripts/testkernel.sh);
# 2. the largest objects of a Debian-config build: kernel/sched/core.o, mm/memory.o,
#    fs/ext4/inode.o, net/ipv4/tcp.o, compiled with Debian's config (needs linux-source-6.1 and
#    linux-config-6.1; the prepared tree is cached in build/cache/bench-debian);
# 3. vmlinux.o of the test kernel (every object in one file).
# Prints wall time and peak RSS per item. Figures only; no assertion.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cdo=${1:-$repo/build/create-diff-object/create-diff-object}
[[ -x $cdo ]] || { echo "bench: $cdo not built (cmake --build build)" >&2; exit 1; }
kdir=$("$repo/scripts/testkernel.sh" --print-dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # measure LABEL OBJ...: total wall seconds, max RSS over the runs
  local label=$1; shift
  local start end max=0 rss
  start=$(date +%s.%N)
  for o in "$@"; do
    /usr/bin/time -f %M -o "$tmp/rss" "$cdo" --orig "$o" --patched "$o" -o "$tmp/out.o" \
      >/dev/null 2>&1 || [[ $? -eq 3 ]] || { echo "bench: $o: unexpected exit" >&2; exit 1; }
    rss=$(tail -n1 "$tmp/rss"); (( rss > max )) && max=$rss || true
  done
  end=$(date +%s.%N)
  printf '%-44s %6d objects %8.2f s wall %8.1f MiB peak RSS\n' "$label" "$#" \
    "$(echo "$end - $start" | bc)" "$(echo "scale=1; $max / 1024" | bc)"
}

cd "$kdir/fsections"
mapfile -t objs < <(find . -name '*.o' ! -name '*.mod.o' ! -name vmlinux.o ! -path './tools/*' \
  ! -path './scripts/*' ! -path './arch/x86/tools/*' ! -path './arch/x86/realmode/rm/*' \
  ! -path './arch/x86/boot/*' | sort)
measure "test kernel: every object" "${objs[@]}"
measure "test kernel: vmlinux.o ($(du -m vmlinux.o | cut -f1) MiB)" vmlinux.o

# Debian config: a prepared tree plus the largest translation units.
deb=$repo/build/cache/bench-debian
config=$(ls /usr/src/linux-config-6.1/config.amd64_none_amd64.xz 2>/dev/null || true)
if [[ -z $config ]]; then
  echo "bench: linux-config-6.1 not installed; skipping the Debian-config objects" >&2
  exit 0
fi
if [[ ! -f $deb/done ]]; then
  rm -rf "$deb"; mkdir -p "$deb"
  tar -C "$deb" -xf /usr/src/linux-source-6.1.tar.xz
  src=$(ls -d "$deb"/linux-source-6.1)
  xz -dc "$config" > "$deb/config"
  mkdir -p "$deb/build"
  cp "$deb/config" "$deb/build/.config"
  make -s -C "$src" O="$deb/build" olddefconfig modules_prepare >/dev/null
  make -s -C "$src" O="$deb/build" -j"$(nproc)" KCFLAGS="-ffunction-sections -fdata-sections" \
    kernel/sched/core.o mm/memory.o fs/ext4/inode.o net/ipv4/tcp.o >/dev/null
  touch "$deb/done"
fi
cd "$deb/build"
for o in kernel/sched/core.o mm/memory.o fs/ext4/inode.o net/ipv4/tcp.o; do
  measure "debian config: $o ($(du -k "$o" | cut -f1) KiB)" "$o"
done
