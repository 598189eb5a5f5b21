# tests/cli/common.bash — sourced by tests/cli/test_*.sh (named .bash so the test glob *.sh
# does not run it). Usage in a test: source "$(dirname "$0")/common.bash" "$@"
#
# Every check that fails prints what it expected and what it got, and exits 1.

set -u
CLI=${1:-}
if [ -z "$CLI" ] || [ ! -x "$CLI" ]; then
    echo "FAIL: usage: $0 PATH_TO_SIDECAR (got '${CLI}')" >&2
    exit 1
fi
if [ -z "${SC_BUILD_DIR:-}" ]; then
    echo "FAIL: SC_BUILD_DIR is not set (ctest sets it to the build directory)" >&2
    exit 1
fi
WRITER="$SC_BUILD_DIR/sc_write_demo_ckpt"
if [ ! -x "$WRITER" ]; then
    echo "FAIL: expected $WRITER: build the sc_write_demo_ckpt target" >&2
    exit 1
fi
# The system interpreter starts faster than a pyenv shim; any python3 will do.
PYTHON=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 )}
if [ -z "$PYTHON" ]; then
    echo "FAIL: python3 is needed to check the --json output" >&2
    exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sc_cli_test.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
OUT="$TMP/stdout"
ERR="$TMP/stderr"
RC=0

fail() {
    echo "FAIL: $*" >&2
    local f
    for f in stdout:"$OUT" stderr:"$ERR"; do
        # The first 4000 bytes, and the last 4000 too when there is more: an error ending a
        # long run is at the end.
        echo "--- ${f%%:*}:" >&2; head -c 4000 "${f#*:}" >&2 2>/dev/null
        if [ "$(wc -c <"${f#*:}" 2>/dev/null || echo 0)" -gt 8000 ]; then
            printf "\n[...] (last 4000 bytes:)\n" >&2; tail -c 4000 "${f#*:}" >&2
        elif [ "$(wc -c <"${f#*:}" 2>/dev/null || echo 0)" -gt 4000 ]; then
            tail -c +4001 "${f#*:}" >&2
        fi
    done
    exit 1
}

# run ARGS...: runs the CLI, keeping stdout, stderr and the exit code.
run() {
    "$CLI" "$@" >"$OUT" 2>"$ERR"
    RC=$?
}

expect_rc() { # CODE WHAT
    [ "$RC" -eq "$1" ] || fail "$2: expected exit code $1, got $RC"
}

expect_out_line() { # REGEX WHAT: some stdout line matches the extended regex
    grep -Eq -- "$1" "$OUT" || fail "$2: expected a stdout line matching /$1/"
}

expect_out_empty() { # WHAT
    [ ! -s "$OUT" ] || fail "$1: expected nothing on stdout"
}

# expect_one_error_line TEXT WHAT: stderr is exactly one line "sidecar: ..." containing TEXT.
expect_one_error_line() {
    local n
    n=$(wc -l <"$ERR")
    [ "$n" -eq 1 ] || fail "$2: expected exactly one line on stderr, got $n"
    grep -q '^sidecar: ' "$ERR" || fail "$2: expected stderr to start with 'sidecar: '"
    grep -qF -- "$1" "$ERR" || fail "$2: expected stderr to name '$1'"
}

# expect_usage_error WHAT: exit 2, stdout empty, stderr names the problem and shows the usage.
expect_usage_error() {
    expect_rc 2 "$1"
    expect_out_empty "$1"
    grep -q '^sidecar: ' "$ERR" || fail "$1: expected a 'sidecar: ' line naming the problem"
    grep -q 'usage: sidecar' "$ERR" || fail "$1: expected a usage hint on stderr"
}

# value_line KEY: the "    = ..." line printed under KEY's table row by --values.
value_line() {
    awk -v k="$1" 'found { print; exit } $1 == k { found = 1 }' "$OUT"
}

expect_values() { # KEY EXPECTED_TEXT
    local got
    got=$(value_line "$1")
    [ "$got" = "    = $2" ] || fail "values of $1: expected '    = $2', got '$got'"
}

# expect_json WHAT EXPR...: the whole stdout is one JSON object d for which every Python
# expression holds (one interpreter run for all of them).
expect_json() {
    local what=$1
    shift
    "$PYTHON" - "$OUT" "$@" <<'PY' || fail "$what: the JSON check above does not hold"
import json, sys
with open(sys.argv[1]) as f:
    text = f.read()
try:
    d = json.loads(text)
except ValueError as e:
    sys.exit("not one JSON object: %s" % e)
for expr in sys.argv[2:]:
    if not eval(expr, {"d": d}):
        sys.exit("expected: %s" % expr)
PY
}

# demo_ckpt DIR [--all-dtypes]: writes the demo checkpoint into DIR.
demo_ckpt() {
    "$WRITER" "$@" >/dev/null 2>"$TMP/writer.err" ||
        { cat "$TMP/writer.err" >&2; echo "FAIL: $WRITER $* failed" >&2; exit 1; }
}
