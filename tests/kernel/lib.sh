# Shared by the real-kernel tests: locate the test kernel and compile one translation unit of it
# the way kbuild did, from the command line kbuild recorded in its .cmd file.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

# The test kernel's cache dir (builds it on first use); KLP_TESTKERNEL=clang: the clang-built one.
testkernel_dir() {
  if [[ ${KLP_TESTKERNEL:-} == clang ]]; then
    "$repo/scripts/testkernel.sh" --clang --print-dir
  else
    "$repo/scripts/testkernel.sh" --print-dir
  fi
}

# compile_like_kbuild BUILD_DIR OBJ SOURCE OUT: runs the compile and objtool commands kbuild used
# for OBJ (relative to BUILD_DIR), but reading SOURCE and writing OUT.
compile_like_kbuild() {
  local build=$1 obj=$2 src=$3 out=$4
  local cmdfile="$build/$(dirname "$obj")/.$(basename "$obj").cmd"
  [[ -f $cmdfile ]] || fail "$cmdfile: no kbuild command recorded for $obj"
  local cmd
  cmd=$(sed -n "s|^cmd_$obj := ||p" "$cmdfile")
  [[ -n $cmd ]] || fail "$cmdfile: no cmd_$obj line"
  local orig_src
  orig_src=$(sed -n "s|^source_$obj := ||p" "$cmdfile")
  # Dependency output goes elsewhere; source and object are swapped for ours.
  cmd=${cmd//-Wp,-MMD,$(dirname "$obj")\/.$(basename "$obj").d/-Wp,-MMD,$out.d}
  cmd=${cmd//$orig_src/$src}
  cmd=${cmd//$obj/$out}
  (cd "$build" && eval "$cmd")
}

# hold_launcher DIR: writes DIR/hold-launcher, a compiler launcher that holds the first compile
# it runs (sleeps until killed) and runs every later one; the first one makes DIR/held. So a
# signal sent once DIR/held exists lands inside kbuild however fast or cached the rest is.
hold_launcher() {
  printf '#!/bin/sh\nif mkdir "%s" 2>/dev/null; then sleep 600; fi\nexec "$@"\n' "$1/held" \
    >"$1/hold-launcher"
  chmod +x "$1/hold-launcher"
}

# wait_held DIR PID LOG: waits (up to 5 minutes) until the launcher holds a compile; fails with
# LOG shown if PID ended first.
wait_held() {
  local i
  for ((i = 0; i < 1500; i++)); do
    [[ -d $1/held ]] && return
    kill -0 "$2" 2>/dev/null || break
    sleep 0.2
  done
  cat "$3"
  fail "klp-build never ran the compiler launcher"
}
