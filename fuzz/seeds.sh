#!/bin/bash
# fuzz/seeds.sh OUT: the seed corpora of the fuzz targets (OUT/corpus/<target>/) and the fixed
# inputs the pair targets keep (OUT/data/: orig.o, symtab.txt, Module.symvers), all from
# testdata/ (the differ's cases compiled with the kernel's flags, as the unit tests compile them)
# and, when present, small slices of the cached kernels' kallsyms, Module.symvers and .config.
set -euo pipefail
out=${1:?usage: fuzz/seeds.sh OUT}
src=$(cd "$(dirname "$0")/.." && pwd)
td=$src/testdata
mkdir -p "$out/data" "$out/obj"
for t in elf diff module kallsyms readelf symvers config patch vmlinuz; do
  mkdir -p "$out/corpus/$t"
done
cflags="-O2 -std=gnu11 -nostdinc -fno-strict-aliasing -fno-common -fshort-wchar -fno-PIE
  -mcmodel=kernel -mno-red-zone -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx
  -fno-asynchronous-unwind-tables -fno-jump-tables -fno-delete-null-pointer-checks
  -fno-stack-protector -fno-omit-frame-pointer -mskip-rax-setup
  -pg -mfentry -mrecord-mcount -ffunction-sections -fdata-sections -c"

# The differ's cases: orig and patched of each, compiled from the same path as kpatch-build does.
for dir in "$td"/diff/*/; do
  name=$(basename "$dir")
  ext=c; [ -f "$dir/orig.S" ] && ext=S
  [ -f "$dir/orig.$ext" ] || continue
  for v in orig patched; do
    inc=; [ -d "$dir/$v" ] && inc="-I$dir/$v"
    mkdir -p "$out/obj/$name"
    cp "$dir/$v.$ext" "$out/obj/$name/$name.$ext"
    # shellcheck disable=SC2086
    gcc $cflags $inc -o "$out/obj/$name/$v.o" "$out/obj/$name/$name.$ext" 2>/dev/null || continue
    for t in elf diff module; do cp "$out/obj/$name/$v.o" "$out/corpus/$t/$name-$v.o"; done
    readelf -s --wide "$out/obj/$name/$v.o" > "$out/corpus/readelf/$name-$v.txt"
  done
done
for s in "$td"/special/*.S; do
  gcc -c -o "$out/obj/$(basename "$s" .S).o" "$s" 2>/dev/null || continue
  for t in elf module; do cp "$out/obj/$(basename "$s" .S).o" "$out/corpus/$t/"; done
done
# A compressed .debug_info, zlib and zstd, for the inflaters.
for c in zlib zstd; do
  o=$out/obj/changed_string/patched.o
  objcopy --compress-debug-sections=$c "$o" "$out/corpus/elf/changed_string-$c.o" 2>/dev/null &&
    cp "$out/corpus/elf/changed_string-$c.o" "$out/corpus/diff/" || true
done

# The pair targets' fixed side: changed_string's original, its symbol table and Module.symvers.
c=$out/obj/changed_string
gcc $cflags -o "$c/target.o" "$td/diff/changed_string/target.c"
ld -r -o "$c/combined.o" "$c/orig.o" "$c/target.o"
cp "$c/orig.o" "$out/data/orig.o"
readelf -s --wide "$c/combined.o" > "$out/data/symtab.txt"
{ nm -u "$c/orig.o"; nm -u "$c/patched.o"; } | awk '{print $2}' | sort -u |
  awk '{printf "0x%08x\t%s\tvmlinux\tEXPORT_SYMBOL\t\n", NR * 2654435761 % 4294967296, $1}' \
    > "$out/data/Module.symvers"

# Text inputs: symbol tables, Module.symvers, configs, patches.
cp "$out/data/symtab.txt" "$out/corpus/readelf/"
cp "$out/data/Module.symvers" "$out/corpus/symvers/"
printf '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL_GPL\tNS\n0x0\tfoo\tfs/ext4/ext4\tEXPORT_SYMBOL\t\n' \
  > "$out/corpus/symvers/two"
printf 'ffffffff81000000 T _text\nffffffff81001000 t foo\nffffffff81002000 t foo\n0000000000000000 t bar\t[ext4]\n' \
  > "$out/corpus/kallsyms/small"
cache=${KLP_CACHE:-/work/cache}
if [ -f "$cache/debian/kallsyms" ]; then
  head -c 4000 "$cache/debian/kallsyms" > "$out/corpus/kallsyms/debian-head"
  grep -m 40 '\[' "$cache/debian/kallsyms" > "$out/corpus/kallsyms/debian-modules" || true
fi
for f in $(find "$cache/testkernel" -maxdepth 4 -name Module.symvers 2>/dev/null | head -1); do
  head -c 4000 "$f" > "$out/corpus/symvers/testkernel-head"
done
for f in $(find "$cache/testkernel" -maxdepth 4 -name .config 2>/dev/null | head -1); do
  head -c 4000 "$f" > "$out/corpus/config/testkernel-head"
done
cp "$td/kernel/config.fragment" "$out/corpus/config/"
printf 'CONFIG_LIVEPATCH=y\nCONFIG_CC_VERSION_TEXT="gcc (Debian 12.2.0-14) 12.2.0"\n# CONFIG_X is not set\n\0CONFIG_LIVEPATCH=y\nCONFIG_Y=m\n' \
  > "$out/corpus/config/pair"
for p in "$td"/patches/*.patch; do
  [ "$(stat -c %s "$p")" -le 65536 ] && cp "$p" "$out/corpus/patch/"
done

# Kernel images: a tiny ELF bare, compressed each way, and in a bzImage each way.
python3 - "$out/corpus/vmlinuz" <<'PY'
import gzip, lzma, struct, subprocess, sys, os
d = sys.argv[1]
elf = bytearray(b'\x7fELF\x02\x01\x01' + bytes(9))
elf += struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0, 0, 0, 0, 64, 0, 0, 64, 0, 0)
elf += bytes(range(256)) * 4
elf = bytes(elf)
def zstd(b):
    return subprocess.run(['zstd', '-q', '-c', '-19'], input=b, capture_output=True, check=True).stdout
streams = {'gzip': gzip.compress(elf, 9), 'xz': lzma.compress(elf, lzma.FORMAT_XZ),
           'lzma': lzma.compress(elf, lzma.FORMAT_ALONE), 'zstd': zstd(elf)}
open(os.path.join(d, 'elf'), 'wb').write(elf)
for name, s in streams.items():
    open(os.path.join(d, name), 'wb').write(s)
    payload = s + struct.pack('<I', len(elf))
    img = bytearray(b'\xcc' * (4 * 512 + 0x80))
    img[0x1f1] = 3
    img[0x1fe:0x200] = b'\x55\xaa'
    img[0x202:0x206] = b'HdrS'
    img[0x206:0x208] = struct.pack('<H', 0x020f)
    img[0x248:0x250] = struct.pack('<II', 0x80, len(payload))
    img += payload + bytes(64)
    open(os.path.join(d, 'bzimage-' + name), 'wb').write(bytes(img))
    # The decompressor alone: 0xfc + index (gzip, xz, lzma, zstd), then the stream.
    idx = ['gzip', 'xz', 'lzma', 'zstd'].index(name)
    open(os.path.join(d, 'raw-' + name), 'wb').write(bytes([0xfc + idx]) + s)
PY
for t in "$out"/corpus/*; do
  echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"
done
