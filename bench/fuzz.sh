#!/bin/bash
# bench/fuzz.sh [-t SECONDS] [-b BUILD] [-j N] [TARGET...]: runs each libFuzzer target (fuzz/,
# built with -DKLP_FUZZ=ON into BUILD, default build-fuzz) for SECONDS (default 60) on its corpus
# (BUILD/fuzz/corpus/<target>, seeded by fuzz/seeds.sh on the first run and grown by every run),
# with -timeout=1 (an input taking more than a second is a failure), and prints per target:
# execs/s, total execs, corpus size and coverage (libFuzzer's cov: edges, ft: features), then
# the totals. Crashes, timeouts, leaks and OOMs are kept in BUILD/fuzz/artifacts/<target>/; the
# exit status is 1 if there is any.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=60 build=$src/build-fuzz jobs=1
while getopts t:b:j: o; do
  case $o in
  t) secs=$OPTARG ;;
  b) build=$(cd "$OPTARG" && pwd) ;;
  j) jobs=$OPTARG ;;
  *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(elf diff module kallsyms readelf symvers config patch vmlinuz)
work=$build/fuzz
[ -f "$work/data/orig.o" ] || "$src/fuzz/seeds.sh" "$work" >/dev/null
dict_of() {
  case $1 in
  elf | diff | module) echo "$src/fuzz/elf.dict" ;;
  vmlinuz) echo "$src/fuzz/vmlinuz.dict" ;;
  *) echo "$src/fuzz/text.dict" ;;
  esac
}
# Objects need room; the text parsers and decompressors find more, faster, in small inputs.
max_len_of() {
  case $1 in
  elf | diff | module) echo 65536 ;;
  vmlinuz) echo 8192 ;;
  *) echo 4096 ;;
  esac
}
run_one() {
  local t=$1
  local bin=$build/fuzz/fuzz-$t
  [ -x "$bin" ] || { echo "$t: no $bin (build the target fuzz-all with -DKLP_FUZZ=ON)" >&2; return 1; }
  mkdir -p "$work/artifacts/$t" "$work/corpus/$t"
  "$bin" -max_total_time="$secs" -timeout=1 -rss_limit_mb=2048 -max_len="$(max_len_of "$t")" \
    -dict="$(dict_of "$t")" -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" \
    "$work/corpus/$t" >"$work/$t.log" 2>&1
  echo "$t exit $?" >>"$work/$t.log"
}
export -f run_one dict_of max_len_of
export build work secs src
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}'

printf '%-9s %10s %12s %8s %8s %8s %7s\n' target execs/s execs corpus cov ft crashes
total=0 crashes=0
for t in "${targets[@]}"; do
  log=$work/$t.log
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(ls "$work/corpus/$t" | wc -l)
  n=$(find "$work/artifacts/$t" -type f | wc -l)
  printf '%-9s %10s %12s %8s %8s %8s %7s\n' "$t" "${rate:-?}" "${execs:-?}" "$corpus" \
    "${cov:-?}" "${ft:-?}" "$n"
  total=$((total + ${execs:-0}))
  crashes=$((crashes + n))
done
printf '%-9s %10s %12s %8s %8s %8s %7s\n' total "" "$total" "" "" "" "$crashes"
[ "$crashes" -eq 0 ]
