#!/usr/bin/env bash
# Every C++ source of the project (the tools, their tests and fuzz targets) is formatted as
# .clang-format says; prints the files that are not and how to fix them. The kernel C under
# runtime/, templates/ and testdata/ keeps the kernel's own style and is not checked.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
cf=${CLANG_FORMAT:-clang-format-14}
command -v "$cf" >/dev/null || { echo "style: $cf not found (apt-get install clang-format-14)" >&2; exit 1; }
cd "$repo"
mapfile -t files < <(find create-diff-object klp-build klp-diff tests/unit fuzz \
  \( -name '*.cpp' -o -name '*.h' \) -type f | sort)
((${#files[@]} > 100)) || { echo "style: only ${#files[@]} sources found under $repo" >&2; exit 1; }
bad=()
for f in "${files[@]}"; do
  "$cf" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
  printf 'style: %s: not formatted as .clang-format says\n' "${bad[@]}" >&2
  echo "style: fix with: $cf -i ${bad[*]}" >&2
  exit 1
fi
echo "style: ${#files[@]} sources formatted as .clang-format says"
