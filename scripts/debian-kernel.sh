#!/usr/bin/env bash
# Prepare one of Debian's stock kernels as a klp-build target: what a user
# of that machine has, nothing rebuilt.
#   6.1     bookworm's 6.1.0-56-amd64 (6.1.192-2), the default
#   6.12    bookworm-backports' 6.12.95+deb12-amd64 (6.12.95-1~bpo12+1): prefix
#           symbols, IBT, call depth tracking, modules shipped as .ko.xz
#   trixie  Debian 13's current stock 6.12 kernel, the one whose headers the
#           trixie root holds (scripts/trixie-root.sh, made if missing): built
#           by gcc-14, so klp-build runs inside that root for it. The packages
#           are fetched with apt-get download inside the root; as for 6.12.
#
# Usage: scripts/debian-kernel.sh [6.1|6.12|trixie] [--force] [-h|--help]
#
# Prints shell assignments (eval-able) of the paths, logs to stderr:
#   DEBIAN_KREL       6.1.0-56-amd64 (6.12.95+deb12-amd64)
#   DEBIAN_VMLINUZ    the stock vmlinuz of linux-image-$KREL (6.12: its -unsigned
#                     variant, the same kernel without the EFI signature)
#   DEBIAN_CONFIG     its /boot/config-$KREL
#   DEBIAN_MODULES    its lib/modules/$KREL (6.1: uncompressed .ko files;
#                     6.12: .ko.xz as shipped)
#   DEBIAN_HEADERS    6.1: /usr/src/linux-headers-6.1.0-56-amd64 (installed with
#                     apt-get if missing, and so is dwarves/pahole); 6.12: the
#                     linux-headers (+ -common, linux-kbuild) packages unpacked
#                     into the cache, not installed (kbuild tree, Module.symvers)
#   DEBIAN_SRC        pristine linux-source tree (Debian patches applied)
#   DEBIAN_TARBALL    the linux-source tarball it was extracted from
#   DEBIAN_KALLSYMS   a copy of /proc/kallsyms of the stock kernel booted in QEMU
#                     WITH KASLR (as a user's copy is), KALLSYMS_MODULES loaded
#   DEBIAN_KALLSYMS_INFO  how it was captured (cmdline, _text, KASLR offset, modules)
#
# Cache layout ($KLP_CACHE/debian for 6.1, $KLP_CACHE/debian-6.12 for 6.12;
# default KLP_CACHE <repo>/build/cache):
#   deb/          the downloaded .deb files (apt-get download)
#   image/        6.1: dpkg -x of linux-image (boot/, lib/modules/)
#   root/         6.12: dpkg -x of image, headers, kbuild and source packages
#   src/          linux-source, extracted from the tarball, never modified
#   kallsyms, kallsyms.info, kallsyms-boot.log
#   timings.txt   seconds per step of the last run that did any work
# Each step is skipped while its stamp matches (package version, tarball
# identity, vmlinuz hash + module list).
#
# Environment: KLP_CACHE (cache root), KLP_KERNEL_TARBALL (6.1 only, default
# /usr/src/linux-source-6.1.tar.xz), KLP_DEBIAN_KREL (6.1 only, default
# 6.1.0-56-amd64), KALLSYMS_MODULES (stock modules loaded before the capture,
# default "binfmt_misc" for 6.1, none for 6.12: its module patches take their
# symbols from the .ko.xz), KLP_BOOT_TIMEOUT (seconds, default 300).
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/.." && pwd)
cache_root=${KLP_CACHE:-$repo/build/cache}
timeout_s=${KLP_BOOT_TIMEOUT:-300}

force=0
series=6.1
for arg in "$@"; do
  case $arg in
    6.1|6.12|trixie) series=$arg ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$script"; exit 0 ;;
    *) echo "debian-kernel: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

if [[ $series == 6.1 ]]; then
  krel=${KLP_DEBIAN_KREL:-6.1.0-56-amd64}
  tarball=${KLP_KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
  kallsyms_modules=${KALLSYMS_MODULES-binfmt_misc}
  image_pkg=linux-image-$krel
  headers_pkg=linux-headers-$krel
  dirname=debian
  kseries=6.1
elif [[ $series == 6.12 ]]; then
  krel=6.12.95+deb12-amd64
  pkgver=6.12.95-1~bpo12+1
  kallsyms_modules=${KALLSYMS_MODULES-}
  image_pkg=linux-image-$krel-unsigned
  headers_pkg=linux-headers-$krel
  # linux-source-6.12 of the same version: bookworm-security's newer ones
  # would not match the image.
  pkgs_612=("$image_pkg" "$headers_pkg" "linux-headers-${krel%-amd64}-common"
    "linux-kbuild-${krel%-amd64}" linux-source-6.12)
  dirname=debian-6.12
  kseries=6.12
else
  # trixie: the kernel of the headers linux-headers-amd64 brought into the root.
  troot=$(KLP_CACHE=$cache_root bash "$repo/scripts/trixie-root.sh" prepare) ||
    { echo "debian-kernel: error: scripts/trixie-root.sh failed" >&2; exit 1; }
  krel=$(cd "$troot/usr/src" && ls -d linux-headers-*-amd64 2>/dev/null | sed 's/^linux-headers-//' | sort -V | tail -n1)
  [[ -n $krel ]] || { echo "debian-kernel: error: no linux-headers-*-amd64 in $troot/usr/src" >&2; exit 1; }
  pkgver=$(awk -v p="linux-headers-$krel" '$1 == "Package:" { on = ($2 == p) } on && $1 == "Version:" { print $2; exit }' "$troot/var/lib/dpkg/status")
  kallsyms_modules=${KALLSYMS_MODULES-}
  image_pkg=linux-image-$krel-unsigned
  headers_pkg=linux-headers-$krel
  pkgs_612=("$image_pkg" "$headers_pkg" "linux-headers-${krel%-amd64}-common"
    "linux-kbuild-${krel%-amd64}" linux-source-6.12)
  dirname=debian-trixie
  kseries=6.12
fi

log() { echo "debian-kernel: $*" >&2; }
die() { echo "debian-kernel: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
read_file() { if [[ -f $1 ]]; then cat "$1"; fi; }

mkdir -p "$cache_root"
cache_root=$(cd "$cache_root" && pwd)
dir=$cache_root/$dirname
mkdir -p "$dir"
exec 9>"$cache_root/$dirname.lock"
flock 9

declare -A timing=()
did_work=0
apt_updated=0
apt_update_once() {
  ((apt_updated)) && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 ||
    log "warning: apt-get update failed; trying with the lists there are"
  apt_updated=1
}

# ---- 1. linux-image: vmlinuz, config, modules -----------------------------
if [[ $series == 6.1 ]]; then
image=$dir/image
vmlinuz=$image/boot/vmlinuz-$krel
config=$image/boot/config-$krel
modules=$image/lib/modules/$krel
image_stamp_want() { printf '%s\n' "$image_pkg" "$(basename "$(ls "$dir"/deb/"${image_pkg}"_*.deb 2>/dev/null | head -n1)")"; }
if ((force)) || [[ ! -s $vmlinuz || ! -s $config || ! -d $modules/kernel || $(read_file "$image/.stamp") != "$(image_stamp_want)" ]]; then
  t=$(now)
  did_work=1
  mkdir -p "$dir/deb"
  if ((force)) || ! ls "$dir"/deb/"${image_pkg}"_*.deb >/dev/null 2>&1; then
    log "downloading $image_pkg"
    rm -f "$dir"/deb/*.deb
    # apt-get download writes to the current directory; _apt cannot always
    # write there, which only costs a warning.
    if ! (cd "$dir/deb" && apt-get download -q "$image_pkg" >/dev/null 2>&1); then
      apt_update_once
      (cd "$dir/deb" && apt-get download -q "$image_pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
        die "apt-get download $image_pkg failed"
    fi
  fi
  deb=$(ls "$dir"/deb/"${image_pkg}"_*.deb | head -n1)
  [[ -s $deb ]] || die "no $image_pkg .deb in $dir/deb"
  log "unpacking ${deb##*/}"
  rm -rf "$image" "$image.tmp"
  dpkg-deb -x "$deb" "$image.tmp"
  mv "$image.tmp" "$image"
  [[ -s $vmlinuz && -s $config && -d $modules/kernel ]] || die "$deb lacks boot/vmlinuz-$krel, boot/config-$krel or lib/modules/$krel"
  # Stock modules are shipped uncompressed in bookworm; decompress any that
  # are not (busybox insmod loads plain ELF only).
  while IFS= read -r -d '' f; do
    case $f in
      *.ko.xz) xz -d "$f" ;;
      *.ko.zst) zstd -q -d --rm "$f" ;;
      *.ko.gz) gzip -d "$f" ;;
    esac
  done < <(find "$modules" \( -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) -print0)
  # modules.dep & co. are made by the package's postinst; make them here.
  depmod -b "$image" "$krel" || die "depmod failed"
  image_stamp_want >"$image/.stamp"
  timing[image]=$(elapsed "$t")
fi
else
  # 6.12: every package of the target unpacked into root/, none installed:
  # the headers must not become the build machine's (its /usr/src, its
  # /lib/modules/*/build) for a kernel it does not run.
  root=$dir/root
  image=$root
  vmlinuz=$root/boot/vmlinuz-$krel
  config=$root/boot/config-$krel
  modules=$root/lib/modules/$krel
  root_stamp_want() { printf '%s\n' "${pkgs_612[@]/%/=$pkgver}" "$(cd "$dir/deb" 2>/dev/null && ls -- *.deb 2>/dev/null)"; }
  if ((force)) || [[ ! -s $vmlinuz || ! -d $modules/kernel || $(read_file "$root/.stamp") != "$(root_stamp_want)" ]]; then
    t=$(now)
    did_work=1
    mkdir -p "$dir/deb"
    local_debs() {
      local p f
      for p in "${pkgs_612[@]}"; do
        for f in "$dir"/deb/"${p}"_*.deb; do
          if [[ -e $f ]]; then echo "$f"; fi
        done
      done
    }
    if ((force)) || (($(local_debs | wc -l) != ${#pkgs_612[@]})); then
      log "downloading ${pkgs_612[*]} ($pkgver, bookworm-backports)"
      rm -f "$dir"/deb/*.deb
      want=("${pkgs_612[@]/%/=$pkgver}")
      if [[ $series == trixie ]]; then
        # trixie's archive is the root's, not this machine's: download inside the root (the
        # cache is visible there at its own path).
        (cd "$dir/deb" && KLP_CACHE=$cache_root bash "$repo/scripts/trixie-root.sh" run \
          apt-get download -q -o APT::Sandbox::User=root "${want[@]}" >&2) ||
          die "apt-get download ${want[*]} inside the trixie root failed"
      elif ! (cd "$dir/deb" && apt-get download -q "${want[@]}" >/dev/null 2>&1); then
        apt_update_once
        (cd "$dir/deb" && apt-get download -q "${want[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
          die "apt-get download ${want[*]} failed (is bookworm-backports in the apt sources? scripts/install-deps)"
      fi
    fi
    (($(local_debs | wc -l) == ${#pkgs_612[@]})) || die "$dir/deb lacks some of ${pkgs_612[*]} $pkgver"
    rm -rf "$root" "$root.tmp"
    mkdir -p "$root.tmp"
    while IFS= read -r deb; do
      log "unpacking ${deb##*/}"
      dpkg-deb -x "$deb" "$root.tmp"
    done < <(local_debs)
    # Debian 13's packages ship their modules under usr/lib only (merged /usr).
    [[ -e $root.tmp/lib || ! -d $root.tmp/usr/lib/modules ]] || ln -s usr/lib "$root.tmp/lib"
    mv "$root.tmp" "$root"
    [[ -s $vmlinuz && -s $config && -d $modules/kernel ]] || die "$root lacks boot/vmlinuz-$krel, boot/config-$krel or lib/modules/$krel"
    # The modules stay .ko.xz, as on the target; modules.dep & co. are made by
    # the package's postinst; make them here.
    depmod -b "$root" "$krel" || die "depmod failed"
    # Absolute links into /usr/src, which is not where the packages are.
    ln -sfn "$root/usr/src/$headers_pkg" "$modules/build"
    ln -sfn "$root/usr/src/linux-headers-${krel%-amd64}-common" "$modules/source"
    # The headers' Makefile includes the -common tree by its absolute path.
    sed -i "s|^include /usr/src/|include $root/usr/src/|" "$root/usr/src/$headers_pkg/Makefile"
    root_stamp_want >"$root/.stamp"
    timing[image]=$(elapsed "$t")
  fi
fi

# ---- 2. linux-headers: the kbuild tree modules are linked against ---------
if [[ $series == 6.1 ]]; then headers=/usr/src/$headers_pkg; else headers=$root/usr/src/$headers_pkg; fi
if [[ $series == 6.1 ]] && [[ ! -s $headers/Module.symvers || ! -f $headers/Makefile ]]; then
  t=$(now)
  did_work=1
  log "installing $headers_pkg"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends \
    "$headers_pkg" >&2 || die "apt-get install $headers_pkg failed"
  [[ -s $headers/Module.symvers ]] || die "$headers/Module.symvers missing after installing $headers_pkg"
  timing[headers]=$(elapsed "$t")
fi
# The headers must describe the same build as the image.
# (Debian's include/config/kernel.release says 6.1.192; UTS_RELEASE, which
# vermagic uses, is the package's release.)
hrel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$headers/include/generated/utsrelease.h" 2>/dev/null || true)
[[ $series == 6.1 || -s $headers/Module.symvers && $(head -n1 "$headers/Makefile") == "include $root/"* ]] ||
  die "$headers: no Module.symvers, or its Makefile does not include the unpacked -common tree"
[[ $hrel == "$krel" ]] || die "$headers/include/generated/utsrelease.h: UTS_RELEASE is '$hrel', not $krel"
# Debian's build adds these to the headers' .config only (they are not in
# /boot/config-*): BUILD_SALT, MODULE_SIG_ALL, MODULE_SIG_KEY, SYSTEM_TRUSTED_KEYS.
cfg_settings() { grep -E '^(# )?CONFIG_' "$1" | grep -vE '^(# )?CONFIG_(BUILD_SALT|MODULE_SIG_ALL|MODULE_SIG_KEY|SYSTEM_TRUSTED_KEYS)[= ]'; }
if ! cmp -s <(cfg_settings "$config") <(cfg_settings "$headers/.config"); then
  die "$headers/.config differs from the image's config-$krel beyond BUILD_SALT and module signing"
fi

# pahole: the config was made with pahole 1.24 (CONFIG_PAHOLE_VERSION=124,
# DEBUG_INFO_BTF=y); without it `make olddefconfig` drops BTF and the config
# no longer matches. Debian 12's dwarves is 1.24.
want_pahole=$(sed -n 's/^CONFIG_PAHOLE_VERSION=//p' "$config")
# (trixie: the root has its own dwarves, the one its kernel was built with.)
if [[ $series != trixie && -n $want_pahole && $want_pahole != 0 ]] && ! command -v pahole >/dev/null; then
  t=$(now)
  did_work=1
  log "installing dwarves (pahole; the config wants version $want_pahole)"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends \
    dwarves >&2 || die "apt-get install dwarves failed"
  timing[headers]=$(awk -v a="${timing[headers]:-0}" -v b="$(elapsed "$t")" 'BEGIN { print a + b }')
fi
if [[ $series != trixie && -n $want_pahole && $want_pahole != 0 ]]; then
  have_pahole=$(pahole --version 2>/dev/null | sed 's/^v//; s/\.//')
  [[ $have_pahole == "$want_pahole" ]] ||
    log "warning: pahole version ${have_pahole:-none}, the config was made with $want_pahole"
fi

# ---- 3. pristine linux-source ---------------------------------------------
src=$dir/src
[[ $series == 6.1 ]] || tarball=$root/usr/src/linux-source-6.12.tar.xz
[[ -f $tarball ]] || die "kernel tarball $tarball not found (install linux-source-$series: scripts/install-deps)"
tarball_id() {
  local p
  p=$(readlink -f "$tarball")
  printf 'tarball %s %s %s\n' "$p" "$(stat -c %s "$p")" "$(stat -c %Y "$p")"
}
src_key=$(tarball_id | sha256sum | cut -d' ' -f1)
if ((force)) || [[ $(read_file "$src/.klp-src-key") != "$src_key" ]]; then
  t=$(now)
  did_work=1
  rm -rf "$src" "$src.tmp"
  # A separate extract rather than a copy of scripts/testkernel.sh's src/
  # (which carries klp_test_mod): extracting takes ~12 s, copying ~13 s.
  log "extracting $tarball"
  mkdir -p "$src.tmp"
  tar -xf "$tarball" -C "$src.tmp" --strip-components=1
  timing[source]=$(elapsed "$t")
  [[ -f $src.tmp/Makefile && -f $src.tmp/fs/binfmt_misc.c ]] || die "unexpected source layout in $src.tmp"
  # Nothing of an earlier build may be in a source tree used with O=.
  [[ ! -e $src.tmp/.config && ! -e $src.tmp/include/config ]] || die "$src.tmp is not pristine (has .config or include/config)"
  echo "$src_key" >"$src.tmp/.klp-src-key"
  mv "$src.tmp" "$src"
fi
srcver=$(make -s -C "$src" kernelversion 2>/dev/null || true)
[[ $srcver == "$kseries".* ]] || die "$src: kernelversion '$srcver' is not $kseries.x"

# ---- 4. /proc/kallsyms of the booted stock kernel (KASLR on) ---------------
# A user's copy of /proc/kallsyms has KASLR-shifted addresses; capture it the
# same way: plain cmdline (no nokaslr), as root, the listed modules loaded.
kallsyms=$dir/kallsyms
kinfo=$dir/kallsyms.info
klog=$dir/kallsyms-boot.log
ks_key=$({
  sha256sum <"$vmlinuz" | cut -d' ' -f1
  echo "modules $kallsyms_modules"
  echo "busybox $(sha256sum </bin/busybox | cut -d' ' -f1)"
} | sha256sum | cut -d' ' -f1)

# mod_closure NAME...: the .ko paths (relative to $modules) of the modules and
# their dependencies, dependencies first, from modules.dep.
mod_closure() {
  local name
  declare -A seen=()
  local -a order=()
  visit() {
    local n=${1//-/_} p line d
    [[ -n ${seen[$n]:-} ]] && return 0
    seen[$n]=1
    line=$(awk -v n="$n" -F: '{ f=$1; sub(/.*\//, "", f); sub(/\.ko.*$/, "", f); gsub(/-/, "_", f); if (f == n) { print; exit } }' "$modules/modules.dep")
    [[ -n $line ]] || die "module $1 not in $modules/modules.dep"
    p=${line%%:*}
    for d in ${line#*:}; do
      d=${d##*/}; d=${d%%.ko*}
      visit "$d"
    done
    order+=("$p")
  }
  for name in "$@"; do visit "$name"; done
  printf '%s\n' "${order[@]}"
}

capture_kallsyms() {
  local work init list rc=0 t
  command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (scripts/install-deps)"
  command -v cpio >/dev/null || die "cpio not found (scripts/install-deps)"
  [[ -x /bin/busybox ]] || die "/bin/busybox not found (install busybox-static)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/klp-debian-ks.XXXXXX")
  ks_work=$work
  mkdir -p "$work/root"/{bin,dev,proc,sys,tmp,lib/modules}
  cp /bin/busybox "$work/root/bin/busybox"
  local -a kos=()
  local p b i=0
  if [[ -n $kallsyms_modules ]]; then
    # shellcheck disable=SC2086
    while IFS= read -r p; do
      i=$((i + 1))
      # busybox insmod loads plain ELF only
      case $p in
        *.ko) cp "$modules/$p" "$work/root/lib/modules/$(printf '%02d' $i)-${p##*/}" ;;
        *.ko.xz) b=${p##*/}; xz -dc "$modules/$p" >"$work/root/lib/modules/$(printf '%02d' $i)-${b%.xz}" ;;
        *) die "$modules/$p: a compression this script does not handle" ;;
      esac
    done < <(mod_closure $kallsyms_modules)
  fi
  cat >"$work/root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
dmesg -n 1
for m in /lib/modules/*.ko; do
  [ -e "$m" ] || continue
  insmod "$m" || echo "KALLSYMS: FAIL insmod $m"
done
echo "KALLSYMS: cmdline $(cat /proc/cmdline)"
echo "KALLSYMS: release $(uname -r)"
echo "KALLSYMS: modules $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
echo "KALLSYMS: kptr_restrict $(cat /proc/sys/kernel/kptr_restrict)"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
cat /proc/kallsyms >/dev/ttyS1
echo "KALLSYMS: lines $(wc -l </proc/kallsyms)"
echo "KALLSYMS: DONE"
reboot -f
EOF
  chmod 755 "$work/root/init"
  (cd "$work/root" && mknod -m 600 dev/console c 5 1 && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$work/initramfs.cpio"
  log "booting $vmlinuz in QEMU to capture /proc/kallsyms (modules: ${kallsyms_modules:-none})"
  timeout --foreground -k 10 "$timeout_s" \
    qemu-system-x86_64 -accel tcg -cpu qemu64 -m 1024 -smp 1 -display none -monitor none -no-reboot \
      -serial "file:$work/console.log" -serial "file:$work/kallsyms.raw" \
      -kernel "$vmlinuz" -initrd "$work/initramfs.cpio" \
      -append "console=ttyS0 panic=-1" </dev/null >"$work/qemu.out" 2>&1 || rc=$?
  tr -d '\r' <"$work/console.log" >"$klog"
  cat "$work/qemu.out" >>"$klog"
  ((rc != 124)) || die "QEMU timed out after ${timeout_s}s (log: $klog)"
  ((rc == 0)) || die "QEMU exited with status $rc (log: $klog)"
  grep -q '^KALLSYMS: DONE' "$klog" || die "the guest did not finish (log: $klog)"
  ! grep -q '^KALLSYMS: FAIL' "$klog" || die "$(grep '^KALLSYMS: FAIL' "$klog" | head -n1) (log: $klog)"
  tr -d '\r' <"$work/kallsyms.raw" >"$work/kallsyms"
  local want got
  want=$(sed -n 's/^KALLSYMS: lines //p' "$klog")
  got=$(wc -l <"$work/kallsyms")
  # /proc/kallsyms can change between two reads only by module (un)loads.
  [[ $want == "$got" ]] || die "captured $got lines of kallsyms, the guest counted $want (log: $klog)"
  local badline
  badline=$(awk 'NF < 3 || NF > 4 || $1 !~ /^[0-9a-f]+$/ || length($1) != 16 { printf "line %d: %s\n", NR, $0; exit }' "$work/kallsyms")
  [[ -z $badline ]] || die "captured kallsyms is malformed at $badline"
  # (per-cpu symbols are legitimately near 0; text addresses are not)
  ! grep -qE '^0000000000000000 [Tt] ' "$work/kallsyms" || die "captured kallsyms has zeroed addresses (kptr_restrict?)"
  local m
  for m in $kallsyms_modules; do
    grep -q "\[${m//-/_}\]\$" "$work/kallsyms" || die "module $m is not in the captured kallsyms"
  done
  # KASLR: _text moved from its link address in the image's System.map-less
  # world: the link address of x86_64 is 0xffffffff81000000.
  local text offset
  text=$(awk '$3 == "_text" { print $1; exit }' "$work/kallsyms")
  offset=$(printf '0x%x' $((0x$text - 0xffffffff81000000)))
  {
    echo "captured $(date -u +%Y-%m-%dT%H:%M:%SZ) by scripts/debian-kernel.sh"
    echo "vmlinuz $vmlinuz"
    echo "vmlinuz_sha256 $(sha256sum <"$vmlinuz" | cut -d' ' -f1)"
    sed -n 's/^KALLSYMS: \(cmdline\|release\|modules\|kptr_restrict\) /\1 /p' "$klog"
    echo "lines $got"
    echo "_text $text"
    echo "kaslr_offset $offset"
    if [[ $offset == 0x0 ]]; then echo "kaslr off"; else echo "kaslr on"; fi
  } >"$kinfo"
  mv "$work/kallsyms" "$kallsyms"
  echo "$ks_key" >"$dir/.kallsyms-key"
  rm -rf "$work"
}
ks_work=
trap '[[ -z $ks_work ]] || rm -rf "$ks_work"' EXIT

if ((force)) || [[ ! -s $kallsyms || $(read_file "$dir/.kallsyms-key") != "$ks_key" ]]; then
  t=$(now)
  did_work=1
  rm -f "$dir/.kallsyms-key"
  capture_kallsyms
  timing[kallsyms]=$(elapsed "$t")
  log "kallsyms: $(wc -l <"$kallsyms") lines, $(grep -E '^kaslr' "$kinfo" | tr '\n' ' ')"
fi

# timings.txt: the latest time of each step (steps skipped this run keep theirs).
if ((did_work)); then
  declare -A old_timing=()
  if [[ -f $dir/timings.txt ]]; then
    while read -r k v; do old_timing[$k]=$v; done <"$dir/timings.txt"
  fi
  {
    for k in image headers source kallsyms; do
      v=${timing[$k]:-${old_timing[$k]:-}}
      [[ -z $v ]] || echo "$k $v"
    done
  } >"$dir/timings.txt.new"
  mv "$dir/timings.txt.new" "$dir/timings.txt"
  log "timings (s) this run: $(for k in "${!timing[@]}"; do printf '%s %s, ' "$k" "${timing[$k]}"; done)"
fi

cat <<EOF
DEBIAN_KREL=$krel
DEBIAN_VMLINUZ=$vmlinuz
DEBIAN_CONFIG=$config
DEBIAN_MODULES=$modules
DEBIAN_HEADERS=$headers
DEBIAN_SRC=$src
DEBIAN_TARBALL=$tarball
DEBIAN_KALLSYMS=$kallsyms
DEBIAN_KALLSYMS_INFO=$kinfo
EOF
