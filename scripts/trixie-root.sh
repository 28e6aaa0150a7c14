#!/usr/bin/env bash
# A Debian 13 "trixie" root for building livepatches against trixie's stock kernel: its kernel
# is built with gcc-14 (CONFIG_CC_VERSION_TEXT), and a livepatch must be compiled by the same
# compiler, which a Debian 12 host does not have. The root holds trixie's build tools (gcc-14,
# CMake, LLVM 19, libelf/libdw, CLI11, GoogleTest, zstd, nlohmann-json), linux-source-6.12,
# the headers of the current stock trixie kernel (linux-headers-amd64) and what klp-build and
# kbuild need. It is made once with mmdebstrap and kept; a second run downloads nothing.
#
# Usage:
#   scripts/trixie-root.sh [prepare]      make the root if it is missing or stale; prints its path
#   scripts/trixie-root.sh run CMD...     run CMD inside the root (the checkout and KLP_CACHE are
#                                         visible at their own paths, cwd kept)
#   scripts/trixie-root.sh test [ARGS]    build klp-build inside the root (build dir
#                                         build/trixie, -DKLP_WERROR=ON) and run `ctest -L unit`
#                                         (ARGS replace `-L unit`)
#   scripts/trixie-root.sh shell          an interactive shell inside the root
#   scripts/trixie-root.sh --force        make the root anew
#
# As root (CI), mmdebstrap runs in its root mode and commands run through unshare(1) (a private
# mount namespace: the bind mounts vanish with the command) and chroot(8). As a user,
# mmdebstrap runs in its unshare mode (needs unprivileged user namespaces and subuids) and
# commands run through bwrap(1) (package bubblewrap), which needs no privilege either.
#
# Environment: KLP_TRIXIE_ROOT (default <repo>/build/trixie-root), KLP_CACHE (bind-mounted when
# set), KLP_TRIXIE_MIRROR (default http://deb.debian.org/debian), KLP_JOBS (test: -j, default 2).
# Times of each stage are printed as "trixie-root: <stage> took N s".
set -euo pipefail

script=$(readlink -f "${BASH_SOURCE[0]}")
repo=$(cd "$(dirname "$script")/.." && pwd)
root=${KLP_TRIXIE_ROOT:-$repo/build/trixie-root}
mirror=${KLP_TRIXIE_MIRROR:-http://deb.debian.org/debian}
jobs=${KLP_JOBS:-2}

log() { echo "trixie-root: $*" >&2; }
die() { echo "trixie-root: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
took() { awk -v s="$2" -v b="$(now)" -v what="$1" 'BEGIN { printf "trixie-root: %s took %.0f s\n", what, b - s }' >&2; }

# What the root holds. Changing this list makes the next run build the root anew.
packages=(
  # klp-build itself, with trixie's own libraries (LLVM: trixie's default, 19)
  build-essential gcc-14 g++-14 cmake make pkg-config git ca-certificates file
  libelf-dev libdw-dev libcli11-dev libzstd-dev zlib1g-dev liblzma-dev nlohmann-json3-dev
  libtomlplusplus-dev llvm-dev clang libbz2-dev libncurses-dev
  googletest libgtest-dev
  # kbuild on Debian's 6.12 (objtool, certs, BTF: the config records pahole's version)
  linux-source-6.12 linux-headers-amd64 xz-utils flex bison bc libssl-dev openssl cpio kmod rsync
  perl python3 dwarves
  # the unit tests: compressed module forms (.ko.zst)
  zstd
)

stamp_want() {
  printf '%s\n' "suite trixie" "mirror $mirror" "packages ${packages[*]}" "options 3"
}

mode=root
((EUID == 0)) || mode=unshare

prepare() {
  local force=$1
  if ((!force)) && [[ -f $root/.klp-trixie-stamp && $(cat "$root/.klp-trixie-stamp") == "$(stamp_want)" ]]; then
    return 0
  fi
  command -v mmdebstrap >/dev/null || die "mmdebstrap not found (run scripts/install-deps)"
  local t
  t=$(now)
  log "making $root with mmdebstrap (mode $mode, ${#packages[@]} packages from $mirror)"
  rm -rf "$root" "$root.tmp"
  mkdir -p "$(dirname "$root")"
  # --skip=cleanup/apt/lists: apt-get download inside the root (scripts/debian-kernel.sh trixie)
  # needs the package lists. The headers depend on the kernel image, whose postinst would make
  # an initramfs nobody boots (minutes): its hooks are not unpacked, nor are docs and manuals.
  mmdebstrap --mode="$mode" --variant=apt --components=main --skip=cleanup/apt/lists \
    --dpkgopt='path-exclude=/etc/kernel/postinst.d/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='force-unsafe-io' --aptopt='Acquire::Languages "none"' \
    --include="$(IFS=,; echo "${packages[*]}")" trixie "$root.tmp" "$mirror" >&2 ||
    die "mmdebstrap failed"
  stamp_want >"$root.tmp/.klp-trixie-stamp"
  mv "$root.tmp" "$root"
  took "mmdebstrap" "$t"
}

# in_root CMD...: CMD inside the root, cwd kept, the checkout and KLP_CACHE at their own paths.
in_root() {
  local -a binds=("$repo")
  [[ -z ${KLP_CACHE:-} ]] || { mkdir -p "$KLP_CACHE"; binds+=("$(cd "$KLP_CACHE" && pwd)"); }
  local cwd
  cwd=$(pwd)
  local -a env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 KLP_IN_TRIXIE_ROOT=1)
  local v
  for v in KLP_CACHE KLP_JOBS KLP_BUILD_DIR KLP_E2E_OUT KLP_BOOT_TIMEOUT CI; do
    [[ -z ${!v:-} ]] || env+=("$v=${!v}")
  done
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  if ((EUID == 0)); then
    local b mounts=""
    for b in "${binds[@]}"; do
      mkdir -p "$root$b"
      mounts+="mount --rbind '$b' '$root$b'; "
    done
    unshare --mount --propagation private bash -euc "
      mount -t proc proc '$root/proc'
      mount --rbind /dev '$root/dev'
      mount --rbind /sys '$root/sys'
      mount -t tmpfs tmpfs '$root/tmp'
      $mounts
      cd '$root$cwd' 2>/dev/null || cd '$root'
      exec chroot '$root' bash -c 'cd \"\$1\" 2>/dev/null || cd /; shift; exec \"\$@\"' - '$cwd' \"\$@\"
    " - "${env[@]}" "$@"
  else
    command -v bwrap >/dev/null || die "bwrap not found (install bubblewrap) to run in the root as a user"
    # The root's files belong to root (or to a subuid), so a user cannot make the mount points
    # of the checkout in it: / is a tmpfs holding the root's top-level entries, and a top-level
    # directory of a bound path (/home, /work) is the tmpfs's, not the root's.
    local -a bw=(bwrap --tmpfs /) tops=()
    for v in "${binds[@]}"; do tops+=("$(echo "$v" | cut -d/ -f2)"); done
    local e name
    for e in "$root"/*; do
      name=${e##*/}
      case " proc dev sys tmp ${tops[*]} " in *" $name "*) continue ;; esac
      if [[ -L $e ]]; then
        bw+=(--symlink "$(readlink "$e")" "/$name")
      else
        bw+=(--bind "$e" "/$name")
      fi
    done
    bw+=(--proc /proc --dev /dev --ro-bind /sys /sys --tmpfs /tmp --unshare-pid --die-with-parent)
    for v in "${binds[@]}"; do bw+=(--bind "$v" "$v"); done
    bw+=(--chdir "$cwd")
    "${bw[@]}" "${env[@]}" "$@"
  fi
}

cmd=${1:-prepare}
case $cmd in
  prepare) prepare 0; echo "$root" ;;
  --force) prepare 1; echo "$root" ;;
  run) shift; prepare 0; in_root "$@" ;;
  shell) prepare 0; in_root bash -i ;;
  test)
    shift
    prepare 0
    (($#)) || set -- -L unit
    build=build/trixie
    t=$(now)
    cd "$repo"
    in_root bash -euc 'cmake -S . -B "$1" -DKLP_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
      nice -n 10 cmake --build "$1" -j"$2"' - "$build" "$jobs" || die "the build inside the root failed"
    took "build inside the root" "$t"
    t=$(now)
    rc=0
    in_root ctest --test-dir "$build" --output-on-failure --no-tests=error "$@" || rc=$?
    took "ctest $* inside the root" "$t"
    exit $rc
    ;;
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$script" ;;
  *) die "unknown command '$cmd' (prepare, run, test, shell, --force)" ;;
esac
