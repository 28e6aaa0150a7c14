#!/usr/bin/env bash
# Benchmark: our create-diff-object against kpatch's, on the same inputs in the same run, each
# run the way kpatch-build runs it: one process per object, kpatch's positional CLI
# (ORIG PATCHED vmlinux SYMTAB SYMVERS NAME OUT), the target's symbols as a
# `readelf -s --wide vmlinux` dump (35 k lines) and its Module.symvers.
#
#   bench/vs-kpatch.sh [-r RUNS] [-o a,b,c,d] [-k DIR] [OURS]
#
#   (a) every object of the test kernel's -ffunction-sections build against itself (no change);
#   (b) the pairs of kpatch's unit-test objects (../shared/kpatch-unit-objs), with its run.sh's
#       inputs (the ORIG object's own readelf dump, the case's .symvers and .env);
#   (c) the largest units of the test kernel with a small real change (bench/patches/*.patch on
#       kernel/sched/core.c, kernel/printk/printk.c, kernel/events/core.c, mm/page_alloc.c),
#       compiled here with the compile and objtool command kbuild recorded for the original;
#   (d) vmlinux.o against itself (run once whatever RUNS says).
#
# Each list of commands runs RUNS times (default 3), the two tools alternating, from a small C
# runner (bench/runlist.c) that takes wall time and peak RSS per process (wait4). Printed per
# tool: total wall time of the list, min and median over the runs; per-process peak RSS, median
# and max over the list (each process's smallest over the runs); exit statuses. The ratio is
# kpatch's figure over ours: above 1, ours is faster or smaller. Figures only; no assertion.
#
# Needs the test kernel (scripts/testkernel.sh; KLP_CACHE) and gcc with libelf-dev to build
# kpatch's differ from ../shared/anchors/kpatch-cdo (KLP_SHARED overrides ../shared). The
# target's symbol table and Module.symvers are those of the test kernel's bootable build (boot/).
# -k DIR keeps the inputs and outputs in DIR.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=3 parts=a,b,c,d keep=""
while getopts r:o:k: opt; do
  case $opt in
  k) keep=$OPTARG ;;
  r) runs=$OPTARG ;;
  o) parts=$OPTARG ;;
  *) exit 1 ;;
  esac
done
shift $((OPTIND - 1))
ours=$(readlink -f "${1:-$repo/build/create-diff-object/create-diff-object}")
[[ -x $ours ]] || { echo "bench: $ours not built (cmake --build build)" >&2; exit 1; }
shared=${KLP_SHARED:-$repo/../shared}
kdir=$("$repo/scripts/testkernel.sh" --print-dir)
fs=$kdir/fsections
if [[ -n $keep ]]; then
  tmp=$(mkdir -p "$keep" && cd "$keep" && pwd)
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
fi

gcc -O2 -o "$tmp/runlist" "$repo/bench/runlist.c"
kpatch=$("$shared/anchors/kpatch-cdo/build.sh" "$tmp/kpatch" | tail -n1)
echo "ours:   $ours"
echo "kpatch: $kpatch (dynup/kpatch $(sed -n 's/.*commit \([0-9a-f]*\).*/\1/p' \
  "$shared/anchors/kpatch-cdo/README.md" | head -n1), gcc -O2)"
echo "runs: $runs each; $(nproc) cores; $(uptime | sed 's/.*\(load average\)/\1/')"
echo

# The entry sizes of this tree's special sections (kpatch-build derives them from the kernel;
# both tools get the same).
export PARA_STRUCT_SIZE=16 EX_STRUCT_SIZE=12 BUG_STRUCT_SIZE=12 ALT_STRUCT_SIZE=12 \
  JUMP_STRUCT_SIZE=16 ORC_STRUCT_SIZE=6 STATIC_CALL_STRUCT_SIZE=8 PRINTK_INDEX_STRUCT_SIZE=44
# The target is the bootable build of the same config, as kpatch-build's is the distribution's
# vmlinux: the -ffunction-sections one's orphan sections leave its symbol table unlike any
# kernel's (kpatch's differ fails to match most units' local symbols in it).
readelf -s --wide "$kdir/boot/vmlinux" > "$tmp/vmlinux.symtab"
symvers=$kdir/boot/Module.symvers

# measure LABEL LIST: LIST holds one command a line with @CDO@ for the differ; runs it for both
# tools, alternating, and prints the comparison.
measure() {
  local label=$1 list=$2 r tool
  for ((r = 1; r <= runs; r++)); do
    for tool in kpatch ours; do
      sed "s|@CDO@|${!tool}|; s|@OUT@|$tmp/out-$tool.o|" "$list" > "$tmp/cmds"
      "$tmp/runlist" "$tmp/cmds" > "$tmp/$tool.$r"
    done
  done
  python3 - "$label" "$runs" "$tmp" << 'EOF'
import statistics, sys
label, runs, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
res = {}
for tool in ('kpatch', 'ours'):
    rows = [[l.split() for l in open(f'{tmp}/{tool}.{r}')] for r in range(1, runs + 1)]
    walls = [sum(int(x[0]) for x in run) / 1e6 for run in rows]
    rss = [min(int(run[i][1]) for run in rows) for i in range(len(rows[0]))]
    codes = {}
    for x in rows[0]:
        codes[x[2]] = codes.get(x[2], 0) + 1
    res[tool] = (min(walls), statistics.median(walls), statistics.median(rss), max(rss), codes,
                 len(rows[0]))
def secs(v):
    return f'{v:.3f} s' if v < 10 else f'{v:.1f} s'
print(f'{label}')
for tool in ('kpatch', 'ours'):
    mn, med, rmed, rmax, codes, n = res[tool]
    ex = ', '.join(f'{c}x exit {k}' for k, c in sorted(codes.items()))
    print(f'  {tool:7} {n:4d} processes  wall min {secs(mn):>9} median {secs(med):>9}   '
          f'peak RSS median {rmed / 1024:5.1f} MiB max {rmax / 1024:6.1f} MiB   ({ex})')
k, o = res['kpatch'], res['ours']
print(f'  kpatch/ours: wall {k[0] / o[0]:.2f}x (min) {k[1] / o[1]:.2f}x (median), '
      f'RSS {k[2] / o[2]:.2f}x (median) {k[3] / o[3]:.2f}x (max)')
print()
EOF
}

# (a) Every object of the -ffunction-sections build, as selfdiff.sh picks them.
if [[ $parts == *a* ]]; then
  (cd "$fs" && find . -name '*.o' ! -name '*.mod.o' ! -name vmlinux.o ! -name '.tmp_*' \
    ! -path './tools/*' ! -path './scripts/*' ! -path './arch/x86/tools/*' \
    ! -path './arch/x86/realmode/rm/*' ! -path './arch/x86/boot/*' | sort) |
    while read -r o; do
      echo "@CDO@ $fs/$o $fs/$o vmlinux $tmp/vmlinux.symtab $symvers livepatch-bench @OUT@"
    done > "$tmp/list-a"
  measure "(a) every object of the test kernel against itself, one process each" "$tmp/list-a"
fi

# (b) kpatch's unit-test pairs, with run.sh's inputs.
if [[ $parts == *b* ]]; then
  units=$shared/kpatch-unit-objs/x86_64
  for orig in "$units"/*.ORIG.o; do
    t=$(basename "$orig" .ORIG.o)
    readelf -s --wide "$orig" | sed -r 's/\s+\[<localentry>: 8\]//' > "$tmp/$t.symtab"
    sv=/dev/null; [[ -f $units/$t.symvers ]] && sv=$units/$t.symvers
    env=""; [[ -f $units/$t.env ]] && env="$(tr '\n' ' ' < "$units/$t.env")"
    patched=$units/$t.PATCHED.o
    [[ -f $units/$t.PATCHED.FAIL.o ]] && patched=$units/$t.PATCHED.FAIL.o
    echo "$env@CDO@ $orig $patched vmlinux $tmp/$t.symtab $sv test_$t @OUT@"
  done > "$tmp/list-b"
  measure "(b) kpatch's unit-test object pairs ($(wc -l < "$tmp/list-b"))" "$tmp/list-b"
fi

# (c) Large units with a real change, compiled with kbuild's recorded commands.
if [[ $parts == *c* ]]; then
  for p in sched-show-task printk-suspend perf-throttle page-alloc-warn; do
    file=$(sed -n 's|^+++ b/||p' "$repo/bench/patches/$p.patch")
    obj=${file%.c}.o
    mkdir -p "$tmp/src/$(dirname "$file")"
    cp "$kdir/src/$file" "$tmp/src/$file"
    patch -s -d "$tmp/src" -p1 < "$repo/bench/patches/$p.patch"
    # kbuild's command: its own output and dependency file become ours; __FILE__ stays the same.
    cmdfile=$fs/$(dirname "$obj")/.$(basename "$obj").cmd
    cmd=$(sed -n "s|^savedcmd_$obj := ||p; s|^cmd_$obj := ||p" "$cmdfile")
    cmd=${cmd//-Wp,-MMD,$(dirname "$obj")\/.$(basename "$obj").d/-Wp,-MMD,$tmp/dep.d}
    cmd=${cmd//-o $obj /-o $tmp/$p.o }
    cmd=${cmd//$kdir\/src\/$file/$tmp/src/$file -fmacro-prefix-map=$tmp/src/=}
    [[ $cmd == *" $obj" ]] && cmd="${cmd% $obj} $tmp/$p.o" # objtool's argument
    (cd "$fs" && eval "$cmd") || { echo "bench: compiling $file failed" >&2; exit 1; }
    echo "@CDO@ $fs/$obj $tmp/$p.o vmlinux $tmp/vmlinux.symtab $symvers livepatch-bench @OUT@" \
      > "$tmp/list-c1"
    for ((i = 0; i < 3; i++)); do cat "$tmp/list-c1"; done > "$tmp/list-c"
    kib=$(($(stat -c %s "$fs/$obj") / 1024))
    measure "(c) $obj ($kib KiB) with bench/patches/$p.patch, 3 processes" "$tmp/list-c"
  done
fi

# (d) The whole of vmlinux in one object.
if [[ $parts == *d* ]]; then
  echo "@CDO@ $fs/vmlinux.o $fs/vmlinux.o vmlinux $tmp/vmlinux.symtab $symvers lp-bench @OUT@" \
    > "$tmp/list-d"
  # Once: kpatch's differ works on it for over a minute before it fails.
  mib=$(($(stat -c %s "$fs/vmlinux.o") / 1048576))
  runs=1 measure "(d) vmlinux.o ($mib MiB) against itself, once" "$tmp/list-d"
fi
