#!/bin/bash
# sidecar eval / run with no --model, on real files that carry their model (../shared/fixtures,
# path in SC_FIXTURES): a TF 2.3 Keras SavedModel (metadata in saved_model.pb) and Keras 3's
# legacy model.save("model.h5"). Loss and accuracy are checked against a float64 forward pass in
# Python over the weights `sidecar inspect --values` lists, to 1e-5.
source "$(dirname "$0")/common.bash" "$@"

F=${SC_FIXTURES:-}
if [ -z "$F" ] || [ ! -d "$F" ]; then
    echo "SKIPPED: ${F:-\$SC_FIXTURES} not found (conformance needs ../shared/fixtures)"
    exit 0
fi

make_csv() { # FILE NFEATURES SEED
    "$PYTHON" - "$@" <<'PY'
import random, sys
path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, "w") as f:
    f.write(",".join(["f%d" % i for i in range(n)] + ["y"]) + "\n")
    for _ in range(70):
        f.write(",".join(["%.5f" % r.gauss(0, 1.5) for _ in range(n)] + [str(r.randint(0, 1))]) + "\n")
PY
}

# check_against_reference CKPT CSV: eval's JSON (in $OUT) equals the float64 reference of a
# relu, relu, sigmoid MLP with binary crossentropy and accuracy (what both files hold).
check_against_reference() {
    "$CLI" inspect "$1" --values 100000 --json >"$TMP/weights.json" 2>"$TMP/inspect.err" ||
        fail "inspect $1"
    "$PYTHON" - "$TMP/weights.json" "$2" "$OUT" <<'PY' || fail "reference for $1"
import json, math, sys
w = json.load(open(sys.argv[1]))
ks = sorted(t["key"] for t in w["tensors"] if t["key"].split("/.ATTRIBUTES")[0].endswith("kernel")
            and "OPTIMIZER" not in t["key"] and not t["key"].startswith("optimizer"))
by = {t["key"]: t for t in w["tensors"]}
layers = []
for k in ks:
    kt, bt = by[k], by[k.replace("kernel", "bias")]
    rows, cols = kt["shape"]
    layers.append(([kt["values"][i * cols:(i + 1) * cols] for i in range(rows)], bt["values"]))
rows = [l.strip().split(",") for l in open(sys.argv[2])][1:]
eps = 1e-7
loss = acc = 0.0
for r in rows:
    h, y = [float(v) for v in r[:-1]], float(r[-1])
    for j, (K, b) in enumerate(layers):
        z = [sum(h[i] * K[i][c] for i in range(len(h))) + b[c] for c in range(len(b))]
        h = [max(v, 0.0) for v in z] if j < len(layers) - 1 else [1 / (1 + math.exp(-v)) for v in z]
    p = min(max(h[0], eps), 1 - eps)
    loss += -(y * math.log(p) + (1 - y) * math.log(1 - p))
    acc += 1.0 if (p > 0.5) == (y > 0.5) else 0.0
loss /= len(rows)
acc /= len(rows)
got = json.loads(open(sys.argv[3]).read().splitlines()[-1])["metrics"]
assert abs(got["loss"] - loss) <= 1e-5 * max(1.0, abs(loss)), (got, loss)
assert abs(got["accuracy"] - acc) <= 1e-6, (got, acc)
PY
}

# A Keras SavedModel written by TF 2.3: no keras_metadata.pb, the config in saved_model.pb.
SM="$F/14_tf_rust_examples_keras_savedmodels/keras_single_input_saved_model"
make_csv "$TMP/d5.csv" 5 1
run eval "$SM" --data "$TMP/d5.csv" --json
expect_rc 0 "SavedModel without --model"
expect_out_line '"step":1,' "SavedModel step (optimizer/iter)"
check_against_reference "$SM" "$TMP/d5.csv"

# Keras 3.11's legacy model.save("model.h5"): model_config, training_config, model_weights.
H5="$F/11_aamaninamdar_keras_zip_and_legacy_h5/model.h5"
make_csv "$TMP/d12.csv" 12 2
run eval "$H5" --data "$TMP/d12.csv" --json
expect_rc 0 "legacy .h5 without --model"
expect_out_line '"step":3750,' "legacy .h5 step (optimizer_weights/adam/iteration)"
check_against_reference "$H5" "$TMP/d12.csv"

# Options given replace the file's compile config.
run eval "$H5" --data "$TMP/d12.csv" --loss mse --json
expect_rc 0 "--loss overrides"
"$PYTHON" -c 'import json,sys; m=json.loads(open(sys.argv[1]).read())["metrics"]; assert list(m)==["loss"], m' "$OUT" ||
    fail "--loss mse: expected only the loss"

# run --every with no --model: the model comes from the first checkpoint; legacy .h5 files
# ModelCheckpoint("ckpt-{epoch}.h5") would write are watched and numbered.
mkdir -p "$TMP/ck"
cp "$H5" "$TMP/ck/ckpt-1.h5"
cp "$H5" "$TMP/ck/ckpt-2.h5"
run run --checkpoint-dir "$TMP/ck" --data "$TMP/d12.csv" --every --max-evaluations 2 --json \
    --timeout 60
expect_rc 0 "run without --model"
[ "$(grep -c '"step":3750' "$OUT")" -eq 2 ] || fail "run: expected 2 evaluations at step 3750"
grep -q 'ckpt-2.h5' "$OUT" || fail "run: ckpt-2.h5 evaluated"

# A checkpoint that carries no model still needs --model, and says so.
run eval "$F/01_spd3_titanic_cp_ckpt/training_1/cp.ckpt" --data "$TMP/d5.csv"
expect_rc 1 "bundle without --model"
grep -q 'give --model' "$ERR" || fail "bundle without --model: the message names --model"
echo "PASS"
