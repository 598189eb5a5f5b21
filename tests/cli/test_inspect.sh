#!/bin/bash
# sidecar inspect on the demo checkpoint: human output, --json, --values, path resolution, help.
source "$(dirname "$0")/common.bash" "$@"

D="$TMP/run"
demo_ckpt "$D"
K="model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
B="model/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE"
IT="optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
SC="save_counter/.ATTRIBUTES/VARIABLE_VALUE"

# --- human output, PATH = the directory holding the `checkpoint` state file
run inspect "$D"
expect_rc 0 "inspect DIR"
[ ! -s "$ERR" ] || fail "inspect DIR: expected nothing on stderr"
expect_out_line "^prefix +$D/ckpt-1\$" "resolved prefix"
expect_out_line '^layout +checkpoint_manager$' "layout"
expect_out_line '^step +32, from optimizer/_iterations$' "step and its source"
expect_out_line '^shards +1$' "shard count"
expect_out_line '^tensors +4, 76 bytes$' "tensor count and total bytes"
expect_out_line '^KEY +DTYPE +SHAPE +BYTES$' "table heading"
expect_out_line "^$K +float32 +\\[4,3\\] +48\$" "kernel row"
expect_out_line "^$B +float32 +\\[3\\] +12\$" "bias row"
expect_out_line "^$IT +int64 +\\[\\] +8\$" "scalar row"
expect_out_line "^$SC +int64 +\\[\\] +8\$" "save_counter row"
# Aligned columns: every table line has the same length (BYTES is right-aligned) and each
# column starts at the same offset as its heading.
"$PYTHON" - "$OUT" <<'PY' || fail "table columns are not aligned"
import sys
lines = open(sys.argv[1]).read().splitlines()
table = lines[lines.index(next(l for l in lines if l.startswith("KEY "))):]
assert len(table) == 5, table
assert len({len(l) for l in table}) == 1, [len(l) for l in table]
head = table[0]
for row in table[1:]:
    for col in ("DTYPE", "SHAPE"):
        at = head.index(col)
        assert row[at - 1] == " " and row[at] != " ", (col, row)
PY
# Rows come in key order.
got=$(awk '/^KEY /{t=1; next} t{print $1}' "$OUT" | tr '\n' ' ')
[ "$got" = "$B $K $IT $SC " ] || fail "rows in key order: expected '$B $K $IT $SC ', got '$got'"

# --- the prefix itself, and a relative path, give the same listing
cp "$OUT" "$TMP/by_dir"
run inspect "$D/ckpt-1"
expect_rc 0 "inspect PREFIX"
cmp -s "$OUT" "$TMP/by_dir" || fail "inspect PREFIX: expected the same output as inspect DIR"
(cd "$TMP" && "$CLI" inspect run/ckpt-1 >"$OUT" 2>"$ERR")
expect_out_line '^prefix +run/ckpt-1$' "relative prefix is shown as given"

# --- --values
run inspect "$D" --values 3
expect_rc 0 "--values 3"
expect_values "$B" "[0.5, -0.25, 0.125]"
expect_values "$K" "[-0.6875, -0.5625, -0.4375, ... 9 more]"
expect_values "$IT" "32"
expect_values "$SC" "1"
run inspect --values=20 "$D"
expect_rc 0 "--values=20 before PATH"
expect_values "$K" "[-0.6875, -0.5625, -0.4375, -0.3125, -0.1875, -0.0625, 0.0625, 0.1875, 0.3125, 0.4375, 0.5625, 0.6875]"

# --- --json
run inspect "$D" --json
expect_rc 0 "--json"
[ "$(wc -l <"$OUT")" -eq 1 ] || fail "--json: expected one line of output"
expect_json "--json without --values" \
    "d['prefix'] == '$D/ckpt-1' and d['layout'] == 'checkpoint_manager'" \
    "d['step'] == 32 and d['step_source'] == 'optimizer/_iterations' and d['num_shards'] == 1" \
    "set(d) == {'prefix', 'layout', 'step', 'step_source', 'step_key', 'num_shards', 'tensors'}" \
    "d['step_key'] == '$IT'" \
    "[t['key'] for t in d['tensors']] == ['$B', '$K', '$IT', '$SC']" \
    "d['tensors'][1] == {'key': '$K', 'dtype': 'float32', 'shape': [4, 3], 'bytes': 48}" \
    "d['tensors'][2]['shape'] == [] and d['tensors'][2]['dtype'] == 'int64'" \
    "all('values' not in t for t in d['tensors'])"

run inspect "$D" --json --values 3
expect_rc 0 "--json --values 3"
expect_json "--json values" \
    "[t['values'] for t in d['tensors']] == [[0.5, -0.25, 0.125], [-0.6875, -0.5625, -0.4375], [32], [1]]"

# --- no optimizer step: the step falls back to save_counter, and says so
demo_ckpt "$TMP/noopt" --no-optimizer
run inspect "$TMP/noopt"
expect_rc 0 "inspect without an optimizer step"
expect_out_line '^step +1, from save_counter \(fallback\)$' "fallback step is marked"
run inspect "$TMP/noopt" --json
expect_json "--json fallback step" "d['step'] == 1 and d['step_source'] == 'save_counter (fallback)'"

# --- help
run --help
expect_rc 0 "sidecar --help"
expect_out_line '^usage: sidecar <command>' "sidecar --help usage"
expect_out_line '^  inspect PATH' "sidecar --help lists inspect"
run inspect --help
expect_rc 0 "sidecar inspect --help"
expect_out_line '^usage: sidecar inspect PATH \[--model MODEL\] \[--values N\] \[--json\]$' "inspect --help usage"
expect_out_line '--values N' "inspect --help documents --values"
run inspect "$TMP/does-not-exist" --help
expect_rc 0 "--help wins over a bad PATH"
run --version
expect_rc 0 "--version"
expect_out_line '^sidecar [0-9]+\.[0-9]+\.[0-9]+$' "--version"
echo "PASS: test_inspect"
