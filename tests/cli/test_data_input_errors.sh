#!/bin/bash
# Data that does not fit the model: the error names the model's input layer and the file, and the
# array (or feature, or columns) the data came from when that is named otherwise: a single input
# reads an .npz array `x` whatever its layer is called, and `input 'x'` would point nowhere.
source "$(dirname "$0")/common.bash" "$@"
TRAINER="$SC_BUILD_DIR/sc_demo_trainer"
[ -x "$TRAINER" ] || fail "expected $TRAINER"
"$TRAINER" --out "$TMP/run" --epochs 1 --write-model "$TMP/model.json" >/dev/null || fail "trainer"
CK="$TMP/run/ckpt-1"
LOSS=(--loss sparse_categorical_crossentropy)

# The demo model with its input layer called "tokens" (16 features); a text model whose input
# "tokens" has a free length; data with 7x4 examples as `x`, complex `x`, and a 5-column CSV.
"$PYTHON" - "$TMP" <<'PY' || fail "writing the data"
import json, struct, sys, zipfile
tmp = sys.argv[1]
def npy(shape, descr, data):
    hdr = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, tuple(shape))
    hdr += " " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + data
n = 5
y = npy((n,), "<i8", struct.pack("<%dq" % n, *([1] * n)))
with zipfile.ZipFile(tmp + "/bad.npz", "w") as z:
    z.writestr("x.npy", npy((n, 7, 4), "<f4", struct.pack("<%df" % (n * 28), *([0.5] * n * 28))))
    z.writestr("y.npy", y)
with zipfile.ZipFile(tmp + "/complex.npz", "w") as z:
    z.writestr("x.npy", npy((n, 16), "<c8", b"\0" * (n * 16 * 8)))
    z.writestr("y.npy", y)
with open(tmp + "/bad.csv", "w") as f:
    f.write("a,b,c,d,e,y\n" + "".join("1,2,3,4,5,1\n" for _ in range(n)))
m = open(tmp + "/model.json").read()
assert '"dense_input"' in m
open(tmp + "/tokens.json", "w").write(m.replace('"dense_input"', '"tokens"'))
text = {"class_name": "Sequential", "config": {"name": "text", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, None], "dtype": "int32",
                                            "name": "tokens"}},
    {"class_name": "Embedding", "config": {"name": "emb", "input_dim": 6, "output_dim": 2}},
    {"class_name": "GlobalMaxPooling1D", "config": {"name": "pool"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 2, "activation": "softmax"}}]},
    "keras_version": "2.15.0"}
json.dump(text, open(tmp + "/text.json", "w"))
# The text model with a Conv1D (kernel 2) and sequences of one token: the shapes fit the input,
# the model cannot run on them.
text["config"]["layers"].insert(2, {"class_name": "Conv1D", "config": {
    "name": "conv", "filters": 3, "kernel_size": [2], "strides": [1], "padding": "valid",
    "dilation_rate": [1], "activation": "relu"}})
json.dump(text, open(tmp + "/conv.json", "w"))
with zipfile.ZipFile(tmp + "/short.npz", "w") as z:
    z.writestr("x.npy", npy((n, 1), "<i8", struct.pack("<%dq" % n, *([1] * n))))
    z.writestr("y.npy", y)
PY

has() { grep -qF -- "$1" "$ERR" || fail "$2: expected '$1' in: $(cat "$ERR")"; }

run eval "$CK" --model "$TMP/text.json" --data "$TMP/bad.npz" "${LOSS[@]}"
expect_rc 1 "7x4 examples for a free-length text input"
has "bad.npz: input layer 'tokens' (array 'x') takes examples of shape (None,), the data has (7, 4)" \
    "free-length input"

run eval "$CK" --model "$TMP/tokens.json" --data "$TMP/bad.npz" "${LOSS[@]}"
expect_rc 1 "7x4 examples for 16 features"
has "bad.npz: input layer 'tokens' (array 'x') takes examples of shape (16,), the data has (7, 4)" \
    "fixed input"

run eval "$CK" --model "$TMP/tokens.json" --data "$TMP/complex.npz" "${LOSS[@]}"
expect_rc 1 "complex inputs"
has "input layer 'tokens': $TMP/complex.npz: array 'x': dtype '<c8' is not supported" "dtype"

run eval "$CK" --model "$TMP/tokens.json" --data "$TMP/bad.csv" --label y "${LOSS[@]}"
expect_rc 1 "5 CSV columns for 16 features"
has "bad.csv: input layer 'tokens'" "CSV"
has "takes examples of shape (16,)" "CSV shape"
has "the data has 5 values per example" "CSV count"
run eval "$CK" --model "$TMP/conv.json" --data "$TMP/short.npz" "${LOSS[@]}"
expect_rc 1 "sequences too short for the convolution"
has "short.npz: model 'text' cannot run on inputs of shape (1,) (input layer 'tokens')" "too short"
has "layer 'conv'" "too short: the layer"
echo "PASS"
