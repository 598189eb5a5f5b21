#!/bin/bash
# sidecar inspect on real TensorFlow checkpoints from ../shared/fixtures (path in SC_FIXTURES).
source "$(dirname "$0")/common.bash" "$@"

F=${SC_FIXTURES:-}
if [ -z "$F" ] || [ ! -d "$F" ]; then
    echo "SKIPPED: ${F:-\$SC_FIXTURES} not found (conformance needs ../shared/fixtures)"
    exit 0
fi

# Keras ModelCheckpoint(save_weights_only=True), OptimizerV2: step from optimizer/iter.
P="$F/01_spd3_titanic_cp_ckpt/training_1/cp.ckpt"
run inspect "$P" --values 4
expect_rc 0 "01 cp.ckpt"
expect_out_line '^layout +keras_weights, model at the root$' "01 layout"
expect_out_line '^step +2300, from optimizer/iter$' "01 step"
expect_out_line '^tensors +30, ' "01 tensor count"
expect_values "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE" \
    "[0.0295362268, -0.175565481, -0.137390077, -0.281871736, ... 380 more]"
expect_values "layer_with_weights-3/bias/.ATTRIBUTES/VARIABLE_VALUE" "[0.0467431098]"
expect_values "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE" "2300"
value_line _CHECKPOINTABLE_OBJECT_GRAPH | grep -q '\.\.\.(3602 bytes)$' ||
    fail "01 object graph: expected a cut string ending in ...(3602 bytes)"
run inspect "$P" --json --values 1
expect_rc 0 "01 --json"
expect_json "01 --json" \
    "d['step'] == 2300 and len(d['tensors']) == 30 and d['num_shards'] == 1" \
    "[t['values'] for t in d['tensors'] if t['key'] == 'optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE'] == [[2300]]"

# 01's state file names cp.ckpt2, which is not there.
run inspect "$F/01_spd3_titanic_cp_ckpt/training_1"
expect_rc 1 "01 state file naming a missing prefix"
expect_one_error_line "cp.ckpt2" "01 state file naming a missing prefix"

# Two data shards, the kernel in shard 1.
run inspect "$F/06_byeongjuncho_two_shard_cp_epoch/training_2/cp-0000.ckpt" --values 2
expect_rc 0 "06 two shards"
expect_out_line '^shards +2$' "06 shard count"
expect_values "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE" \
    "[-0.0650411919, -0.0160988607, ... 401406 more]"

# A SavedModel directory resolves to variables/variables (Snappy-compressed index block).
run inspect "$F/05_tf_serving_testdata_savedmodels/saved_model_half_plus_two_tf2_cpu/00000123" --json --values 1
expect_rc 0 "05 SavedModel dir"
expect_json "05 SavedModel prefix, layout, values" \
    "d['prefix'].endswith('/00000123/variables/variables') and d['layout'] == 'saved_model'" \
    "{t['key']: t['values'] for t in d['tensors'] if t['dtype'] == 'float32'} == {'a/.ATTRIBUTES/VARIABLE_VALUE': [0.5], 'b/.ATTRIBUTES/VARIABLE_VALUE': [2], 'c/.ATTRIBUTES/VARIABLE_VALUE': [3]}"

# Index only: the data file is missing, and the message names it.
run inspect "$F/02_nighthawks_tf_tutorial_cp_epoch/training_2/cp-0050.ckpt"
expect_rc 1 "02 index only"
expect_out_empty "02 index only"
expect_one_error_line "cp-0050.ckpt.data-00000-of-00001" "02 index only"
echo "PASS: test_inspect_fixtures"
