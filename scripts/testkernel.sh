#!/usr/bin/env bash
# Prepare klp-build's test kernel from Debian's linux-source-6.1 tarball.
#
# Usage: scripts/testkernel.sh [--clang] [--print-dir] [--force] [-h|--help]
#
# --clang builds the same config with clang and lld (make LLVM=$KLP_LLVM,
# default -14: Debian bookworm's clang-14/lld-14) into $KLP_CACHE/testkernel-clang
# instead of $KLP_CACHE/testkernel; the layout below is the same.
#
# Layout of the cache directory ($KLP_CACHE/testkernel, default
# <repo>/build/cache/testkernel):
#   src/         the extracted tarball plus drivers/misc/klp_test_mod/ (copied
#                from testdata/kernel/klp_test_mod); nothing else is modified
#   boot/        O= build of tinyconfig + testdata/kernel/config.fragment:
#                arch/x86/boot/bzImage, vmlinux, System.map, Module.symvers, *.ko
#   fsections/   O= build of the same .config with
#                KCFLAGS="-ffunction-sections -fdata-sections" (vmlinux + modules;
#                the objects are for diffing, the kernel is never booted)
#   logs/        make output of each step
#   timings.txt  seconds taken by each step of the last full preparation
#
# The cache is reused while its key is unchanged: sha256 of the tarball's
# path+size+mtime, the config fragment, gcc's version and this script. A
# change of key rebuilds boot/ and fsections/ from scratch (src/ is kept while
# the tarball is unchanged). A change of the test module's source alone only
# re-copies it and re-runs make incrementally.
#
# Environment: KLP_CACHE (cache root), KLP_KERNEL_TARBALL (default
# /usr/src/linux-source-6.1.tar.xz), KLP_JOBS (default: nproc).
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/.." && pwd)
tarball=${KLP_KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
fragment=$repo/testdata/kernel/config.fragment
testmod=$repo/testdata/kernel/klp_test_mod
cache_root=${KLP_CACHE:-$repo/build/cache}
jobs=${KLP_JOBS:-$(nproc)}
fsections_kcflags="-ffunction-sections -fdata-sections"

print_dir=0
force=0
clang=0
for arg in "$@"; do
  case $arg in
    --clang) clang=1 ;;
    --print-dir) print_dir=1 ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$script"; exit 0 ;;
    *) echo "testkernel: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { echo "testkernel: $*" >&2; }
die() { echo "testkernel: error: $*" >&2; exit 1; }

[[ -f $tarball ]] || die "kernel tarball $tarball not found (install linux-source-6.1: scripts/install-deps)"
[[ -f $fragment ]] || die "missing $fragment"
[[ -d $testmod ]] || die "missing $testmod"
for tool in gcc make flex bison bc xz tar sha256sum flock; do
  command -v "$tool" >/dev/null || die "'$tool' not found (run scripts/install-deps)"
done

# The compiler: gcc, or with --clang the LLVM toolchain named by LLVM= (kbuild's
# own convention: -NN is a version suffix, a path ending in / a directory).
llvm=${KLP_LLVM:--14}
make_cc=()
variant=testkernel
if ((clang)); then
  variant=testkernel-clang
  make_cc=(LLVM="$llvm")
  if [[ $llvm == */ ]]; then clang_bin=${llvm}clang lld_bin=${llvm}ld.lld
  elif [[ $llvm == -* ]]; then clang_bin=clang$llvm lld_bin=ld.lld$llvm
  else clang_bin=clang lld_bin=ld.lld
  fi
  for tool in "$clang_bin" "$lld_bin"; do
    command -v "$tool" >/dev/null || die "'$tool' not found (KLP_LLVM=$llvm; apt-get install clang${llvm#-} lld${llvm#-})"
  done
  cc_id="clang $llvm $("$clang_bin" --version | head -n1)"
else
  cc_id="gcc $(gcc --version | head -n1)"
fi

mkdir -p "$cache_root"
cache_root=$(cd "$cache_root" && pwd)
dir=$cache_root/$variant
src=$dir/src
boot=$dir/boot
fsec=$dir/fsections
logs=$dir/logs

# One preparation at a time per cache (parallel test runs may all ask).
exec 9>"$cache_root/$variant.lock"
flock 9

tarball_id() {
  local p
  p=$(readlink -f "$tarball")
  printf 'tarball %s %s %s\n' "$p" "$(stat -c %s "$p")" "$(stat -c %Y "$p")"
}
src_key=$(tarball_id | sha256sum | cut -d' ' -f1)
key=$({
  tarball_id
  printf 'fragment %s\n' "$(sha256sum <"$fragment" | cut -d' ' -f1)"
  printf '%s\n' "$cc_id"
  printf 'script %s\n' "$(sha256sum <"$script" | cut -d' ' -f1)"
} | sha256sum | cut -d' ' -f1)
mod_key=$(cd "$testmod" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)

read_file() { if [[ -f $1 ]]; then cat "$1"; fi; }

if ((!force)) && [[ $(read_file "$dir/.key") == "$key" && $(read_file "$dir/.mod-key") == "$mod_key" ]]; then
  if ((print_dir)); then echo "$dir"; else echo "testkernel: $dir"; fi
  exit 0
fi

# Reproducible version strings (init/version.c) in both builds.
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 1970"
export KBUILD_BUILD_USER=klp-build KBUILD_BUILD_HOST=klp-build

declare -A timing=()
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# run_logged NAME CMD...: run CMD with its output in logs/NAME.log; on failure
# show the end of the log.
run_logged() {
  local name=$1; shift
  local logf=$logs/$name.log
  if ! "$@" >"$logf" 2>&1; then
    echo "----- last 80 lines of $logf -----" >&2
    tail -n 80 "$logf" >&2
    die "step '$name' failed (full log: $logf)"
  fi
}

kmake() { make -C "$src" "${make_cc[@]}" "$@"; }

install_testmod() {
  local dest=$src/drivers/misc/klp_test_mod
  mkdir -p "$dest"
  # Copy only what changed so that make rebuilds only what it must.
  local f
  for f in "$testmod"/*; do
    cmp -s "$f" "$dest/${f##*/}" || cp "$f" "$dest/"
  done
  grep -qx 'source "drivers/misc/klp_test_mod/Kconfig"' "$src/drivers/misc/Kconfig" ||
    echo 'source "drivers/misc/klp_test_mod/Kconfig"' >>"$src/drivers/misc/Kconfig"
  grep -qx 'obj-$(CONFIG_KLP_TEST_MOD) += klp_test_mod/' "$src/drivers/misc/Makefile" ||
    echo 'obj-$(CONFIG_KLP_TEST_MOD) += klp_test_mod/' >>"$src/drivers/misc/Makefile"
}

# check_config CONFIG: every line of the fragment must hold in CONFIG.
check_config() {
  local cfg=$1 line sym want bad=0
  while IFS= read -r line; do
    if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
      sym=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
      if ! grep -qxF "$sym=$want" "$cfg"; then
        log "config option did not stick: $sym=$want (final: $(grep -E "^(# )?${sym}[= ]" "$cfg" || echo 'absent'))"
        bad=1
      fi
    elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
      sym=${BASH_REMATCH[1]}
      if grep -qE "^$sym=" "$cfg"; then
        log "config option did not stick: $sym should be unset (final: $(grep -E "^$sym=" "$cfg"))"
        bad=1
      fi
    fi
  done <"$fragment"
  ((!bad)) || die "the kernel config does not match $fragment (see above)"
}

build_boot() {
  local t
  t=$(now)
  log "boot build: make bzImage modules (-j$jobs), log in $logs/boot-build.log"
  run_logged boot-build kmake O="$boot" -j"$jobs" bzImage modules
  timing[boot_build]=$(elapsed "$t")
  local f
  for f in arch/x86/boot/bzImage vmlinux System.map Module.symvers \
           samples/livepatch/livepatch-sample.ko drivers/misc/klp_test_mod/klp_test_mod.ko; do
    [[ -s $boot/$f ]] || die "boot build did not produce $f"
  done
}

build_fsections() {
  local t
  t=$(now)
  log "fsections build: make vmlinux modules KCFLAGS=\"$fsections_kcflags\" (-j$jobs), log in $logs/fsections-build.log"
  run_logged fsections-build kmake O="$fsec" -j"$jobs" KCFLAGS="$fsections_kcflags" vmlinux modules
  timing[fsections_build]=$(elapsed "$t")
  local f
  for f in vmlinux drivers/misc/klp_test_mod/klp_test_mod.o drivers/misc/klp_test_mod/klp_test_mod.ko; do
    [[ -s $fsec/$f ]] || die "fsections build did not produce $f"
  done
  # The flags must really be in the objects: a function gets its own section.
  grep -q -- '-ffunction-sections' "$fsec/drivers/misc/klp_test_mod/.klp_test_mod.o.cmd" ||
    die "fsections objects were not built with $fsections_kcflags"
}

mkdir -p "$dir"

if [[ $(read_file "$dir/.key") == "$key" ]] && ((!force)); then
  # Only the test module changed: copy it and let make rebuild incrementally.
  log "test module changed; rebuilding incrementally in $dir"
  mkdir -p "$logs"
  install_testmod
  build_boot
  build_fsections
  echo "$mod_key" >"$dir/.mod-key"
  if ((print_dir)); then echo "$dir"; else echo "testkernel: $dir"; fi
  exit 0
fi

log "preparing test kernel in $dir (key ${key:0:16})"
rm -f "$dir/.key" "$dir/.mod-key"
rm -rf "$boot" "$fsec" "$logs" "$dir/timings.txt"
mkdir -p "$logs"
total_start=$(now)

# 1. Source: extracted once per tarball.
if [[ $(read_file "$src/.klp-src-key") != "$src_key" ]] || ((force)); then
  t=$(now)
  log "extracting $tarball"
  rm -rf "$src" "$dir/src.tmp"
  mkdir -p "$dir/src.tmp"
  tar -xf "$tarball" -C "$dir/src.tmp" --strip-components=1
  [[ -f $dir/src.tmp/Makefile ]] || die "unexpected tarball layout in $tarball"
  echo "$src_key" >"$dir/src.tmp/.klp-src-key"
  mv "$dir/src.tmp" "$src"
  timing[extract]=$(elapsed "$t")
else
  log "reusing extracted source $src"
  timing[extract]=0
fi
install_testmod

# 2. Configuration: tinyconfig + fragment, identical for both builds.
t=$(now)
log "configuring (tinyconfig + ${fragment#"$repo"/})"
run_logged config-tiny kmake O="$boot" tinyconfig
run_logged config-merge "$src/scripts/kconfig/merge_config.sh" -m -O "$boot" "$boot/.config" "$fragment"
run_logged config-olddef kmake O="$boot" olddefconfig
check_config "$boot/.config"
mkdir -p "$fsec"
cp "$boot/.config" "$fsec/.config"
run_logged config-fsections kmake O="$fsec" olddefconfig
cmp -s "$boot/.config" "$fsec/.config" || die "boot/ and fsections/ ended up with different .config files"
timing[config]=$(elapsed "$t")

# 3. and 4. The two builds.
build_boot
build_fsections

timing[total]=$(elapsed "$total_start")
nobj=$(find "$fsec" -name '*.o' -type f | wc -l)
{
  echo "extract ${timing[extract]}"
  echo "config ${timing[config]}"
  echo "boot_build ${timing[boot_build]}"
  echo "fsections_build ${timing[fsections_build]}"
  echo "total ${timing[total]}"
  echo "fsections_objects $nobj"
  echo "jobs $jobs"
} >"$dir/timings.txt"
log "timings (s): extract ${timing[extract]}, config ${timing[config]}, boot build ${timing[boot_build]}, fsections build ${timing[fsections_build]}; $nobj .o files in fsections/"

echo "$mod_key" >"$dir/.mod-key"
echo "$key" >"$dir/.key"
if ((print_dir)); then echo "$dir"; else echo "testkernel: $dir"; fi
