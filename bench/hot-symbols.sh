#!/usr/bin/env bash
# Makes create-diff-object/static/hot-symbols.txt: the order in which lld lays out
# create-diff-object's functions (see create-diff-object/CMakeLists.txt). Listed are the
# functions runs of it executed, those most runs execute first, so that a small run's code lies
# in few pages of the binary (the kernel maps 64 KiB around each page a process faults in, and
# counts all of it in its RSS).
#
#   bench/hot-symbols.sh [CDO]
#
# The runs, each once under callgrind (what it executes does not depend on the machine's load;
# --demangle=no gives the linker's names): --version and --help; kpatch's unit-test pairs
# (../shared/kpatch-unit-objs, with the inputs bench/vs-kpatch.sh's (b) gives them); and, when
# the test kernel is built (KLP_CACHE, scripts/testkernel.sh), every 16th object of its
# -ffunction-sections build against itself, as in (a). The changed units of (c) are left out:
# the benchmark shows on them what the layout does for runs it was not made from.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cdo=$(readlink -f "${1:-$repo/build/create-diff-object/create-diff-object}")
shared=${KLP_SHARED:-$repo/../shared}
out=$repo/create-diff-object/static/hot-symbols.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PARA_STRUCT_SIZE=16 EX_STRUCT_SIZE=12 BUG_STRUCT_SIZE=12 ALT_STRUCT_SIZE=12 \
  JUMP_STRUCT_SIZE=16 ORC_STRUCT_SIZE=6 STATIC_CALL_STRUCT_SIZE=8 PRINTK_INDEX_STRUCT_SIZE=44
n=0
profile() { # ENV... -- ARGS...: one run under callgrind
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  n=$((n + 1))
  env "${envs[@]}" valgrind --tool=callgrind --demangle=no --callgrind-out-file="$tmp/cg.$n" \
    "$cdo" "$@" > /dev/null 2>&1 || true
}
profile -- --version
profile -- --help
units=$shared/kpatch-unit-objs/x86_64
for orig in "$units"/*.ORIG.o; do
  t=$(basename "$orig" .ORIG.o)
  readelf -s --wide "$orig" | sed -r 's/\s+\[<localentry>: 8\]//' > "$tmp/$t.symtab"
  sv=/dev/null; [[ -f $units/$t.symvers ]] && sv=$units/$t.symvers
  envs=(); [[ -f $units/$t.env ]] && mapfile -t envs < <(grep . "$units/$t.env")
  patched=$units/$t.PATCHED.o
  [[ -f $units/$t.PATCHED.FAIL.o ]] && patched=$units/$t.PATCHED.FAIL.o
  profile "${envs[@]}" -- "$orig" "$patched" vmlinux "$tmp/$t.symtab" "$sv" "test_$t" "$tmp/out.o"
done
kdir=${KLP_CACHE:-$HOME/.cache/klp-build}/testkernel
if [[ -d $kdir/fsections && -f $kdir/boot/vmlinux ]]; then
  readelf -s --wide "$kdir/boot/vmlinux" > "$tmp/vmlinux.symtab"
  (cd "$kdir/fsections" && find . -name '*.o' ! -name '*.mod.o' ! -name vmlinux.o \
    ! -name '.tmp_*' ! -path './tools/*' ! -path './scripts/*' ! -path './arch/x86/tools/*' \
    ! -path './arch/x86/realmode/rm/*' ! -path './arch/x86/boot/*' | sort | awk 'NR % 16 == 1') |
    while read -r o; do
      profile -- "$kdir/fsections/$o" "$kdir/fsections/$o" vmlinux "$tmp/vmlinux.symtab" \
        "$kdir/boot/Module.symvers" livepatch-hot "$tmp/out.o"
    done
fi
nm --defined-only "$cdo" | awk 'NF == 3 { print $3 }' > "$tmp/defined"
python3 - "$tmp" "$out" "$(git -C "$repo" rev-parse --short HEAD)" << 'EOF2'
import collections, glob, re, sys
tmp, out, commit = sys.argv[1:]
runs = collections.Counter()
files = glob.glob(f'{tmp}/cg.*')
for f in files:
    names = set()
    for line in open(f, errors='replace'):
        m = re.match(r'c?fn=\(\d+\) (.*)', line.rstrip('\n'))
        if m:
            name = re.sub(r"'\d+$", '', m.group(1))  # callgrind's recursion marks
            if not name.startswith(('0x', '(below main)')):
                names.add(name)
    runs.update(names)
# Every run's start-up resolves the vDSO's symbols (glibc's setup_vdso and dl_vdso_vsym);
# valgrind gives the programs it runs no vDSO, so no profile shows these functions.
for name in ('_dl_new_object', '_dl_add_to_namespace_list', '_dl_setup_hash',
             '_dl_lookup_symbol_x', 'do_lookup_x', 'check_match'):
    runs[name] = len(files)
order = sorted(runs, key=lambda s: (-runs[s], s))
# glibc picks a string function's variant for the CPU when the program starts (valgrind's is
# not the machine's: no AVX-512): each profiled variant brings its siblings along.
variant = re.compile(r'(__(?:mem|str|stp|wcs|wmem|raw)[a-z0-9]*)_(?:sse|ssse|avx|evex|erms)')
siblings = collections.defaultdict(list)
for name in open(f'{tmp}/defined').read().split():
    m = variant.match(name)
    if m:
        siblings[m.group(1)].append(name)
# The variants come after the rest, those of one instruction set together (a machine runs one
# of each function), the newest first.
lines = [n for n in order if not variant.match(n)]
used = list(dict.fromkeys(variant.match(n).group(1) for n in order if variant.match(n)))
isas = ['avx512', 'evex', 'avx2', 'avx', 'sse4', 'ssse3', 'sse2', '']
for isa in isas:
    for base in used:
        for n in sorted(siblings[base]):
            if next(i for i in isas if i in n[len(base):]) == isa:
                lines.append(n)
with open(out, 'w') as o:
    o.write(f'# made by bench/hot-symbols.sh at {commit} from {len(files)} runs: the functions\n'
            '# they executed, those most runs executed first, each string function with all\n'
            '# its CPU variants (lld --symbol-ordering-file)\n')
    o.write(''.join(n + '\n' for n in lines))
print(f'{out}: {len(runs)} functions from {len(files)} runs, {len(lines)} with the variants')
EOF2
