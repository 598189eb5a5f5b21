#!/usr/bin/env bash
# Keras 2 evaluate of a two-output model (sidecar eval): one loss per output from a dict,
# loss_weights, metrics per output; logs loss, <output>_loss, <output>_<metric> equal to a
# float64 reference written here in plain Python from Keras 2.15's definitions
# (compile_utils.LossesContainer: "loss" = Mean over batches, weighted by batch size, of
# sum(loss_weight * loss); "<output>_loss" = the same Mean of the unweighted loss).
# Labels per output come from .npz arrays named after the output layers.
source "$(dirname "$0")/common.bash" "$@"
"$PYTHON" - "$TMP" <<'PY' >"$TMP/ref.json" || fail "writing the case"
import json, math, random, struct, sys, zipfile
d = sys.argv[1]
rnd = random.Random(11)
N, F, H, C = 50, 4, 5, 3
def mat(r, c, a): return [[rnd.uniform(-a, a) for _ in range(c)] for _ in range(r)]
W1, b1 = mat(F, H, 0.9), [rnd.uniform(-.1, .1) for _ in range(H)]
Wc, bc = mat(H, C, 0.9), [rnd.uniform(-.1, .1) for _ in range(C)]
Wr, br = mat(H, 1, 0.9), [rnd.uniform(-.1, .1)]
f32 = lambda v: struct.unpack('<f', struct.pack('<f', v))[0]
W1, Wc, Wr = ([[f32(v) for v in row] for row in M] for M in (W1, Wc, Wr))
b1, bc, br = ([f32(v) for v in b] for b in (b1, bc, br))
X = [[f32(rnd.uniform(-1, 1)) for _ in range(F)] for _ in range(N)]
Yc = [rnd.randrange(C) for _ in range(N)]
Yr = [[f32(rnd.uniform(-1, 1))] for _ in range(N)]

def dense(x, W, b, relu=False):
    y = [b[j] + sum(x[i] * W[i][j] for i in range(len(x))) for j in range(len(b))]
    return [max(v, 0.0) for v in y] if relu else y

def lay(name, cls, cfg, inp):
    return {"class_name": cls, "config": dict(name=name, trainable=True, dtype="float32", **cfg),
            "name": name, "inbound_nodes": [[[inp, 0, 0, {}]]]}
dcfg = lambda u, a: {"units": u, "activation": a, "use_bias": True}
model = {"class_name": "Functional", "keras_version": "2.15.0", "backend": "tensorflow", "config": {
    "name": "two_heads", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, F], "dtype": "float32",
         "name": "x"}, "name": "x", "inbound_nodes": []},
        lay("dense", "Dense", dcfg(H, "relu"), "x"),
        lay("cls", "Dense", dcfg(C, "softmax"), "dense"),
        lay("reg", "Dense", dcfg(1, "linear"), "dense")],
    "input_layers": [["x", 0, 0]], "output_layers": [["cls", 0, 0], ["reg", 0, 0]]}}
json.dump(model, open(d + "/model.json", "w"))
compile_cfg = {"optimizer": "adam", "loss": {"cls": "sparse_categorical_crossentropy", "reg": "mse"},
               "loss_weights": {"cls": 1.0, "reg": 0.5},
               "metrics": {"cls": ["accuracy"], "reg": ["mae"]}}
json.dump(compile_cfg, open(d + "/compile.json", "w"))

def flat(M): return [v for row in M for v in row] if isinstance(M[0], list) else M
tensors = {"dense/vars/0": (W1, [F, H]), "dense/vars/1": (b1, [H]), "cls/vars/0": (Wc, [H, C]),
           "cls/vars/1": (bc, [C]), "reg/vars/0": (Wr, [H, 1]), "reg/vars/1": (br, [1])}
hdr, data = {}, b""
for k in sorted(tensors):
    v = flat(tensors[k][0]); raw = struct.pack("<%df" % len(v), *v)
    hdr[k] = {"dtype": "F32", "shape": tensors[k][1], "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
open(d + "/w.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + data)

def npy(fmt, descr, shape, vals):
    head = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ", ".join(map(str, shape)) + ("," if len(shape) == 1 else ""))
    head += " " * (-(10 + len(head) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + struct.pack("<%d%s" % (len(vals), fmt), *vals)
with zipfile.ZipFile(d + "/data.npz", "w") as z:
    z.writestr("x.npy", npy("f", "<f4", [N, F], flat(X)))
    z.writestr("cls.npy", npy("i", "<i4", [N], Yc))
    z.writestr("reg.npy", npy("f", "<f4", [N, 1], flat(Yr)))

B = 16
tot = [0.0] * 3; acc = mae = 0.0
for s in range(0, N, B):
    rows = range(s, min(s + B, N)); n = len(rows)
    lc = lr = 0.0
    for i in rows:
        h1 = dense(X[i], W1, b1, True)
        z = dense(h1, Wc, bc); m = max(z); lse = m + math.log(sum(math.exp(v - m) for v in z))
        lc += lse - z[Yc[i]]
        acc += 1.0 if max(range(C), key=lambda j: z[j]) == Yc[i] else 0.0
        r = dense(h1, Wr, br)[0]
        lr += (r - Yr[i][0]) ** 2; mae += abs(r - Yr[i][0])
    lc /= n; lr /= n
    tot[0] += (lc * 1.0 + lr * 0.5) * n; tot[1] += lc * n; tot[2] += lr * n
print(json.dumps({"loss": tot[0] / N, "cls_loss": tot[1] / N, "reg_loss": tot[2] / N,
                  "cls_accuracy": acc / N, "reg_mae": mae / N}))
PY

run eval "$TMP/w.safetensors" --model "$TMP/model.json" --compile "$TMP/compile.json" \
    --data "$TMP/data.npz" --batch-size 16 --json
expect_rc 0 "two-output eval"
"$PYTHON" - "$TMP/ref.json" "$OUT" <<'PY' || fail "values differ from the float64 reference"
import json, sys
ref = json.load(open(sys.argv[1]))
got = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])["metrics"]
assert list(got) == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"], list(got)
for k, want in ref.items():
    assert abs(got[k] - want) <= 1e-5 * max(abs(want), 1e-3), (k, got[k], want)
print("max rel diff", max(abs(got[k] - w) / max(abs(w), 1e-12) for k, w in ref.items()), file=sys.stderr)
PY

# --loss/--metrics cannot say which output they are for.
run eval "$TMP/w.safetensors" --model "$TMP/model.json" --data "$TMP/data.npz" --loss mse
expect_rc 1 "--loss on a two-output model"
grep -q "compile config" "$ERR" || fail "the refusal points to --compile"
# A loss for an output the model lacks is named.
echo '{"loss": {"cls": "mse", "nope": "mse"}}' >"$TMP/bad.json"
run eval "$TMP/w.safetensors" --model "$TMP/model.json" --compile "$TMP/bad.json" --data "$TMP/data.npz"
expect_rc 1 "unknown output in the loss dict"
grep -q "'nope' is not an output" "$ERR" || fail "the unknown output is named"
echo "test_multi_output: all checks passed"
