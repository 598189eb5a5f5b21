#!/usr/bin/env bash
# install_consumer.sh BUILD_DIR SOURCE_DIR
# Installs the build into a temporary prefix with DESTDIR (as a packager does), then builds and
# runs examples/hello.c against it twice: with pkg-config and with find_package(sidecar).
# Also: the man page renders and the installed command runs.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=/opt/sidecar-test
DESTDIR=$tmp/stage cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
root=$tmp/stage$prefix
libdir=$(dirname "$(find "$root" -name 'libsidecar.so' | head -1)")
[[ -n $libdir ]] || { echo "FAIL: no libsidecar.so installed"; cat "$tmp/install.log"; exit 1; }
for f in "$libdir/libsidecar.a" "$root/include/sidecar/sidecar.h" "$root/include/sidecar/version.h" \
         "$libdir/pkgconfig/sidecar.pc" "$libdir/cmake/sidecar/sidecarConfig.cmake" \
         "$root/bin/sidecar" "$root/share/man/man1/sidecar.1"; do
  [[ -e $f ]] || { echo "FAIL: $f not installed"; exit 1; }
done
soname=$(objdump -p "$libdir/libsidecar.so" | awk '/SONAME/ {print $2}')
[[ $soname == libsidecar.so.* ]] || { echo "FAIL: SONAME '$soname'"; exit 1; }

# pkg-config: the .pc names the final prefix; point it at the staged copy.
export PKG_CONFIG_PATH=$libdir/pkgconfig
flags=$(pkg-config --define-variable=prefix="$root" --cflags --libs sidecar)
${CC:-cc} -std=c11 -Wall -Werror -o "$tmp/hello_pc" "$src/examples/hello.c" $flags
out=$(LD_LIBRARY_PATH=$libdir "$tmp/hello_pc" "$tmp")
echo "pkg-config: $out"
[[ $out == "sidecar "* ]] || { echo "FAIL: pkg-config build printed '$out'"; exit 1; }
# Static: libsidecar.a with pkg-config --static.
sflags=$(pkg-config --define-variable=prefix="$root" --static --cflags --libs sidecar |
         sed 's/-lsidecar/-l:libsidecar.a/')
${CC:-cc} -std=c11 -o "$tmp/hello_static" "$src/examples/hello.c" $sflags
out=$("$tmp/hello_static" "$tmp")
[[ $out == "sidecar "* ]] || { echo "FAIL: static build printed '$out'"; exit 1; }
ldd "$tmp/hello_static" | grep -q libsidecar && { echo "FAIL: static build loads libsidecar.so"; exit 1; }

# CMake package.
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$root" > "$tmp/cmake.log" 2>&1 ||
  { cat "$tmp/cmake.log"; exit 1; }
cmake --build "$tmp/ex" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
out=$(LD_LIBRARY_PATH=$libdir "$tmp/ex/hello" "$tmp")
echo "cmake: $out"
[[ $out == "sidecar "* ]] || { echo "FAIL: CMake build printed '$out'"; exit 1; }

# The command and its man page.
"$root/bin/sidecar" --version | grep -qx "sidecar $(pkg-config --modversion sidecar)" ||
  { echo "FAIL: sidecar --version disagrees with the .pc version"; exit 1; }
if command -v man > /dev/null; then
  MANWIDTH=100 man -l "$root/share/man/man1/sidecar.1" 2>/dev/null > "$tmp/man.txt"
  # Every long option of every command's --help appears in the rendered page.
  for cmd in inspect eval run; do
    for opt in $("$root/bin/sidecar" help $cmd | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
      grep -q -- "$opt" "$tmp/man.txt" || { echo "FAIL: man page lacks $cmd $opt"; exit 1; }
    done
  done
  echo "man: $(wc -l < "$tmp/man.txt") lines"
fi
# The Python package, from the staged prefix (its _libpath names the final prefix, so point it
# at the staged library).
pydir=$(dirname "$(find "$root" -path '*/sidecar/__init__.py' | head -1)")
[[ -f $pydir/_libpath.py ]] || { echo "FAIL: Python package not installed"; exit 1; }
grep -q "$prefix/" "$pydir/_libpath.py" || { echo "FAIL: _libpath.py does not name $prefix"; exit 1; }
pyout=$(cd "$tmp" && PYTHONPATH=$(dirname "$pydir") SIDECAR_LIBRARY=$libdir/libsidecar.so \
        /usr/bin/python3 -c 'import sidecar; print(sidecar.__file__, sidecar.version())')
echo "python: $pyout"
[[ $pyout == "$pydir/__init__.py $(pkg-config --modversion sidecar)" ]] ||
  { echo "FAIL: installed Python package: '$pyout'"; exit 1; }
echo "OK"
