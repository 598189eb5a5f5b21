#!/bin/bash
# TF2 ModelCheckpoint(save_weights_only=False) without an .h5 suffix writes a Keras SavedModel
# directory per epoch (ckpt-1/, ckpt-2/): sidecar run, with no --model, watches for those
# directories, reads the model and compile config from saved_model.pb (the metadata TF <= 2.4
# keeps in the SavedUserObject; written here by hand, tuples as Keras serializes them), binds
# variables/variables, exports the best directory whole, and gives the same metrics as the
# plain checkpoints with the model JSON.
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"
"$TRAINER" --write-data "$TMP/a.npz" --write-model "$TMP/model.json" >/dev/null || fail "data"
"$TRAINER" --out "$TMP/tf" --layout keras --epochs 2 >/dev/null || fail "trainer"

"$PYTHON" - "$TMP" "$(dirname "$0")" <<'PY' || fail "writing the SavedModels"
import json, os, shutil, sys
tmp = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from pbwire import ld, varint
def tuples(v):  # Keras' SavedModel metadata writes tuples as {"class_name": "__tuple__", ...}
    if isinstance(v, dict):
        return {k: (({"class_name": "__tuple__", "items": x}) if k == "batch_input_shape" and isinstance(x, list) else tuples(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [tuples(x) for x in v]
    return v
model = json.load(open(tmp + "/model.json"))
meta = {"name": model["config"]["name"], "trainable": True, "class_name": model["class_name"],
        "config": tuples(model["config"]),
        "training_config": {"loss": "sparse_categorical_crossentropy", "metrics": [["accuracy"]],
                            "weighted_metrics": None, "loss_weights": None,
                            "optimizer_config": {"class_name": "SGD", "config": {"name": "SGD"}}}}
user = ld(1, b"_tf_keras_sequential") + ld(3, json.dumps(meta).encode())
pb = varint(1 << 3) + varint(1) + ld(2, ld(7, ld(1, ld(4, user))))
os.makedirs(tmp + "/sm")
for n in (1, 2):
    d = "%s/sm/ckpt-%d" % (tmp, n)
    os.makedirs(d + "/variables")
    for f in os.listdir(tmp + "/tf"):
        if f.startswith("ckpt-%d." % n):
            shutil.copy(tmp + "/tf/" + f, d + "/variables/" + f.replace("ckpt-%d" % n, "variables"))
    open(d + "/saved_model.pb", "wb").write(pb)
os.makedirs(tmp + "/sm/ckpt-3/variables")  # being written: no saved_model.pb yet
PY

run run --checkpoint-dir "$TMP/sm" --data "$TMP/a.npz" --every --max-evaluations 2 --json \
    --logdir "$TMP/logs" --export-best "$TMP/best" --monitor accuracy --timeout 60
expect_rc 0 "run on SavedModel directories without --model"
[ "$(wc -l <"$OUT")" -eq 2 ] || fail "expected 2 evaluations (ckpt-3/ is incomplete)"
grep -q '"checkpoint":"[^"]*/sm/ckpt-2"' "$OUT" || fail "ckpt-2/ evaluated"
cp "$OUT" "$TMP/sm.json"
[ -f "$TMP/best/checkpoint" ] || fail "export state file"
ls "$TMP"/best/ckpt-*/saved_model.pb >/dev/null 2>&1 || fail "exported SavedModel directory"
ls "$TMP"/best/ckpt-*/variables/variables.index >/dev/null 2>&1 || fail "exported variables"

# The same weights as plain checkpoints with the model JSON give the same numbers and steps.
run eval "$TMP/tf/ckpt-2" --model "$TMP/model.json" --data "$TMP/a.npz" --loss sparse_categorical_crossentropy \
    --metrics accuracy --json
expect_rc 0 "plain checkpoint"
"$PYTHON" - "$TMP/sm.json" "$OUT" <<'PY' || fail "SavedModel and checkpoint differ"
import json, sys
sm = [json.loads(l) for l in open(sys.argv[1])]
tf = json.loads(open(sys.argv[2]).read())
assert sm[-1]["step"] == tf["step"] and sm[-1]["metrics"] == tf["metrics"], (sm[-1], tf)
PY

run inspect "$TMP/sm/ckpt-1"
expect_rc 0 "inspect a SavedModel directory"
expect_out_line '^layout +saved_model$' "layout"
expect_out_line '^model +.*saved_model.pb \(no --model needed\)$' "model config line"
echo "PASS"
