#!/usr/bin/env bash
# sidecar inspect --model: the binding table (human and JSON), a model whose variables are not all
# in the checkpoint (table shown, then one error line, exit 1), a shape mismatch, a bad model.
source "$(dirname "$0")/common.bash" "$@"

"$WRITER" "$TMP/ck" >/dev/null || fail "writer failed"
cat > "$TMP/ok.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "demo", "layers": [
 {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "in"}},
 {"class_name": "Dense", "config": {"name": "dense", "units": 3, "activation": "relu"}}]},
 "keras_version": "2.15.0", "backend": "tensorflow"}
JSON
sed 's/"units": 3, "activation": "relu"}}]}/"units": 3}}, {"class_name": "Dense", "config": {"name": "dense_1", "units": 2}}]}/' \
    "$TMP/ok.json" > "$TMP/more.json"
sed 's/"batch_input_shape": \[null, 4\]/"batch_input_shape": [null, 5]/' "$TMP/ok.json" > "$TMP/wide.json"
echo '{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "in"}}, {"class_name": "Transformer", "config": {"name": "t"}}]}}' > "$TMP/bad.json"

run inspect "$TMP/ck" --model "$TMP/ok.json"
expect_rc 0 "binding a matching model"
expect_out_line '^dense/kernel +\[4,3\] +model/layer_with_weights-0/kernel/\.ATTRIBUTES/VARIABLE_VALUE$' "kernel row"
expect_out_line '^dense/bias +\[3\] +model/layer_with_weights-0/bias/\.ATTRIBUTES/VARIABLE_VALUE$' "bias row"

run inspect --json --model "$TMP/ok.json" "$TMP/ck"
expect_rc 0 "--json --model"
"$PYTHON" - "$OUT" <<'PY' || fail "--json binding fields"
import json, sys
o = json.load(open(sys.argv[1]))
b = {e["variable"]: e for e in o["binding"]}
assert b["dense/kernel"]["shape"] == [4, 3], b
assert b["dense/kernel"]["key"] == "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", b
assert o["unused"] == [], o["unused"]
assert o["step"] == 32 and o["layout"] == "checkpoint_manager", o
PY

run inspect "$TMP/ck" --model "$TMP/more.json"
expect_rc 1 "a model with a layer the checkpoint lacks"
expect_out_line '^dense_1/kernel +\[3,2\] +MISSING$' "missing row shown"
expect_one_error_line "layer 'dense_1': variable 'kernel' not found" "missing variable"

run inspect "$TMP/ck" --model "$TMP/wide.json"
expect_rc 1 "shape mismatch"
expect_one_error_line "has shape [4,3], the model expects [5,3]" "shape mismatch message"

run inspect "$TMP/ck" --model "$TMP/bad.json"
expect_rc 1 "unknown layer"
expect_out_empty "unknown layer"
expect_one_error_line "class 'Transformer' is not supported" "unknown layer message"

run inspect "$TMP/ck" --model
expect_rc 2 "--model without a file"
echo "test_inspect_model: all checks passed"
