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

# hold_wrapper FILE DIR [PATTERN [PROGRAM]]: writes FILE, a wrapper that holds the first run
# whose arguments match the shell pattern PATTERN (default: any): that run writes its pid to
# DIR/pid, makes DIR/held and sleeps until killed. Every other run executes PROGRAM with its
# arguments, or without PROGRAM its arguments as the command (a compiler launcher). So a signal
# sent once DIR/held exists lands inside that step however fast or cached the rest is.
hold_wrapper() {
  local file=$1 dir=$2 pattern=${3:-*} program=${4:-}
  mkdir -p "$(dirname "$file")"
  cat >"$file" <<EOF
#!/bin/sh
case "\$*" in
$pattern) if mkdir "$dir/first" 2>/dev/null; then
    echo \$\$ >"$dir/pid" && mkdir "$dir/held" && exec sleep 600
  fi ;;
esac
exec $program "\$@"
EOF
  chmod +x "$file"
}

# hold_launcher DIR: DIR/hold-launcher, a compiler launcher that holds the first compile.
hold_launcher() { hold_wrapper "$1/hold-launcher" "$1"; }

# wait_held DIR PID LOG: waits (up to 5 minutes) until a hold_wrapper holds its step; fails with
# LOG shown if PID ended first.
wait_held() {
  local i
  for ((i = 0; i < 1500; i++)); do
    [[ -d $1/held ]] && return
    kill -0 "$2" 2>/dev/null || break
    sleep 0.2
  done
  cat "$3"
  fail "klp-build never reached the held step ($1)"
}
