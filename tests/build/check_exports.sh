#!/usr/bin/env bash
# check_exports.sh LIBSIDECAR_SO SOURCE_DIR GEN_INCLUDE_DIR
# libsidecar.so exports exactly the functions the public headers declare: every defined dynamic
# symbol must be declared in include/sidecar/ (read through the C preprocessor, so comments do
# not count), and every declared function must be exported. Also: sidecar/sidecar.h includes
# every public header.
set -euo pipefail
lib=$1 src=$2 gen=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for h in "$src"/include/sidecar/*.h "$gen"/sidecar/version.h; do
  b=$(basename "$h")
  [[ $b == sidecar.h ]] && continue
  grep -q "#include \"sidecar/$b\"" "$src/include/sidecar/sidecar.h" ||
    { echo "FAIL: sidecar/sidecar.h does not include sidecar/$b"; exit 1; }
done

${CC:-cc} -E -P -I"$src/include" -I"$gen" "$src/include/sidecar/sidecar.h" > "$tmp/api.i"
# Declared functions: an sc_ name followed by '(' but not '(*' (function-pointer types).
grep -oE '\bsc_[A-Za-z0-9_]+[[:space:]]*\([^*]' "$tmp/api.i" | sed -E 's/[[:space:]]*\(.*//' |
  sort -u > "$tmp/declared"
nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"

[[ -s $tmp/exported && -s $tmp/declared ]] || { echo "FAIL: nothing exported or declared"; exit 1; }
extra=$(comm -23 "$tmp/exported" "$tmp/declared")
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
status=0
if [[ -n $extra ]]; then
  echo "FAIL: exported by $(basename "$lib") but not declared in include/sidecar/:"; echo "$extra"; status=1
fi
if [[ -n $missing ]]; then
  echo "FAIL: declared in include/sidecar/ but not exported:"; echo "$missing"; status=1
fi
echo "$(wc -l < "$tmp/exported") symbols exported, $(wc -l < "$tmp/declared") functions declared"
exit $status
