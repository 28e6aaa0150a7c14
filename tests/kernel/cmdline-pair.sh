#!/usr/bin/env bash
# A real patched pair from the kernel tree: fs/proc/cmdline.c with testdata/patches/cmdline.patch,
# compiled exactly as kbuild compiled the original. The diff must be exactly cmdline_proc_show,
# calling exported seq_printf directly, with a klp_func descriptor naming it in vmlinux.
source "$(dirname "$0")/lib.sh"
cdo=${1:?usage: cmdline-pair.sh CREATE_DIFF_OBJECT}
kdir=$(testkernel_dir)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/tree/fs/proc"
cp "$kdir/src/fs/proc/cmdline.c" "$tmp/tree/fs/proc/"
(cd "$tmp/tree" && patch -s -p1 < "$repo/testdata/patches/cmdline.patch")
compile_like_kbuild "$kdir/fsections" fs/proc/cmdline.o "$tmp/tree/fs/proc/cmdline.c" "$tmp/patched.o"

"$cdo" --orig "$kdir/fsections/fs/proc/cmdline.o" --patched "$tmp/patched.o" --target vmlinux \
  --symtab "$kdir/boot/vmlinux" --symvers "$kdir/boot/Module.symvers" -o "$tmp/out.o" \
  > "$tmp/stdout" || fail "create-diff-object exited $?"
cat "$tmp/stdout"
[[ $(grep -c 'changed function' "$tmp/stdout") -eq 1 ]] || fail "expected exactly one changed function"
grep -q "changed function: cmdline_proc_show$" "$tmp/stdout" || fail "cmdline_proc_show not reported"
! grep -q "new function" "$tmp/stdout" || fail "unexpected new function"

readelf -sW "$tmp/out.o" > "$tmp/syms"
readelf -rW "$tmp/out.o" > "$tmp/relocs"
grep -q ' FUNC .* cmdline_proc_show$' "$tmp/syms" || fail "no cmdline_proc_show symbol in output"
! grep -q 'proc_cmdline_init' "$tmp/syms" || fail "unchanged __init function leaked into output"
grep -q 'UND seq_printf$' "$tmp/syms" || fail "exported seq_printf must stay an undefined symbol"
grep -q '__klp_funcs' "$tmp/relocs" || fail "no __klp_funcs descriptor"
grep -A4 "'.rela__klp_funcs'" "$tmp/relocs" | grep -q 'cmdline_proc_show + 0' \
  || fail "descriptor does not point at the new cmdline_proc_show"
strings -a "$tmp/out.o" | grep -q 'this has been live patched' || fail "new string missing"
echo "cmdline-pair: ok"
