#!/usr/bin/env bash
# check_layers.sh BUILD_DIR SOURCE_DIR
# Each library compiles against build/layer-include/<concern>, which links only its own and its
# lower layers' src/ folders (SC_DEPS_* in CMakeLists.txt). Proof that a wrong include fails:
# a file including an upper layer's header does not compile with a lower layer's include path,
# while the same file including an allowed header does.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=$build/layer-include
compile() { # concern header -> 0 when it compiles
  printf '#include "%s"\nint sc_layer_probe;\n' "$2" > "$tmp/probe.c"
  ${CC:-cc} -std=c11 -D_GNU_SOURCE -fsyntax-only -I"$src/include" -I"$build/include" -I"$inc/$1" \
    $(pkg-config --cflags jansson hdf5 2>/dev/null) "$tmp/probe.c" 2> "$tmp/err"
}
expect() { # ok|fail concern header
  if compile "$2" "$3"; then got=ok; else got=fail; fi
  [[ $got == "$1" ]] || { echo "FAIL: $2 including $3: expected $1, got $got"; cat "$tmp/err"; exit 1; }
  echo "$2 -> $3: $got"
}
expect ok   data    tensor/gemm.h
expect fail data    model/model_internal.h
expect fail metrics data/dataset_internal.h
expect fail core    ckpt/sstable.h
expect fail model   eval/eval_internal.h
expect ok   eval    model/model_internal.h
# Every concern sees no src/ folder beyond its declared layers: nothing but links in its dir.
for d in "$inc"/*/; do
  c=$(basename "$d")
  [[ -L $d$c ]] || { echo "FAIL: $c does not see its own headers"; exit 1; }
  [[ -z $(find "$d" -mindepth 1 -maxdepth 1 ! -type l) ]] || { echo "FAIL: $d holds non-links"; exit 1; }
  [[ ! -e $d/eval || $c == eval ]] || { echo "FAIL: $c sees eval/"; exit 1; }
done
echo OK
