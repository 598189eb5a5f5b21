#!/usr/bin/env bash
# A Keras mask on a model output weights its loss and metrics as Keras 2.15 evaluate does
# (tests/cli/masked_ref.py says how, with the tf_keras sources): Embedding(mask_zero) -> LSTM
# (return_sequences) -> TimeDistributed(Dense(softmax)) with sparse categorical crossentropy +
# accuracy, alone (Sequential, --loss/--metrics) and as one of three outputs (a masked
# regression head, an unmasked GlobalMaxPooling1D head, loss_weights, a weighted metric, sample
# weights). Every logged value equals the float64 NumPy reference to 1e-5 relative, and differs
# from what ignoring the mask would give.
source "$(dirname "$0")/common.bash" "$@"
"$PYTHON" "$(dirname "$0")/masked_ref.py" "$TMP" >"$TMP/ref.json" || fail "writing the case"

check() { # NAME: compares the last --json line with ref.json's NAME (and NAME_nomask)
    "$PYTHON" - "$TMP/ref.json" "$OUT" "$1" <<'PY' || fail "$1: values differ from the float64 reference"
import json, sys
refs = json.load(open(sys.argv[1])); case = sys.argv[3]
ref, nomask = refs[case], refs[case + "_nomask"]
got = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])["metrics"]
# Keras 2.15 log order: loss, the outputs' losses, then output by output its metrics and its
# weighted metrics.
assert list(got) == list(ref), (list(got), list(ref))
for k, want in ref.items():
    assert abs(got[k] - want) <= 1e-5 * max(abs(want), 1e-3), (k, got[k], want)
    if want != nomask[k]:  # the masked output's values: ignoring the mask is far off
        assert abs(got[k] - nomask[k]) > 1e-3 * abs(want), (k, got[k], nomask[k])
masked = [k for k in ref if ref[k] != nomask[k]]
assert len(masked) >= 2, masked
print(case, "max rel diff", max(abs(got[k] - w) / abs(w) for k, w in ref.items()),
      "; differ without the mask:", masked, file=sys.stderr)
PY
}

run eval "$TMP/seq.safetensors" --model "$TMP/seq.json" --data "$TMP/data.npz" \
    --loss sparse_categorical_crossentropy --metrics accuracy --sample-weight sw \
    --batch-size 4 --json
expect_rc 0 "masked single-output eval"
check seq

run eval "$TMP/multi.safetensors" --model "$TMP/multi.json" --compile "$TMP/compile.json" \
    --data "$TMP/data.npz" --sample-weight sw --batch-size 4 --json
expect_rc 0 "masked three-output eval"
check multi

# A batch whose every step is masked: Keras' total/valid is 1/0, and 0 * inf makes the batch
# loss NaN (example 4 of the data has no real step).
run eval "$TMP/seq.safetensors" --model "$TMP/seq.json" --data "$TMP/data.npz" \
    --loss sparse_categorical_crossentropy --metrics accuracy --batch-size 1 --json
expect_rc 0 "batch size 1"
"$PYTHON" - "$OUT" <<'PY' || fail "an all-masked batch gives loss NaN"
import json, sys
got = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["metrics"]
assert got["loss"] == "NaN" and got["accuracy"] != "NaN", got
PY

# Labels that align with the predictions in other rows than the mask has ([B, T] against the
# masked [B, T, 1] "pos": the trailing 1 is squeezed and each example is one row of T values):
# refused, as Keras cannot apply such a mask either, naming the loss.
"$PYTHON" - "$TMP" <<'PY' || fail "writing squeezed labels"
import numpy as np, sys
d = np.load(sys.argv[1] + "/data.npz")
np.savez(sys.argv[1] + "/flat.npz", ids=d["ids"], pos=d["pos"][..., 0], tags=d["tags"], cls=d["cls"])
PY
echo '{"loss": {"pos": "mse"}}' >"$TMP/pos.json"
run eval "$TMP/multi.safetensors" --model "$TMP/multi.json" --data "$TMP/flat.npz" \
    --compile "$TMP/pos.json"
expect_rc 1 "labels of [B, T] against a masked [B, T, 1] output"
grep -q "Keras mask of 6 values per example" "$ERR" || fail "the refusal names the mask"
echo "test_masked_loss: all checks passed"
