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
