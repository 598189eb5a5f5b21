#!/usr/bin/env bash
# Keras 2 evaluate of a two-output model (sidecar eval): one loss per output from a dict,
# loss_weights, metrics per output; logs loss, <output>_loss, <output>_<metric> equal to a
# float64 reference written here in plain Python from Keras 2.15's definitions
# (compile_utils.LossesContainer: "loss" = Mean over batches, weighted by batch size, of
# sum(loss_weight * loss); "<output>_loss" = the same Mean of the unweighted loss).
# Labels per output come from .npz arrays named after the output layers. Then `sidecar run`:
# every name in the journal, --json and TensorBoard tags, and --export-best --monitor by name.
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
def safetensors(path):
    hdr, data = {}, b""
    for k in sorted(tensors):
        v = flat(tensors[k][0]); raw = struct.pack("<%df" % len(v), *v)
        hdr[k] = {"dtype": "F32", "shape": tensors[k][1], "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(hdr).encode(); h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)
safetensors(d + "/w.safetensors")
# A second checkpoint for `sidecar run`: the classifier's kernel negated, the regressor's halved.
tensors["cls/vars/0"] = ([[-v for v in row] for row in Wc], [H, C])
tensors["reg/vars/0"] = ([[v / 2 for v in row] for row in Wr], [H, 1])
safetensors(d + "/w2.safetensors")

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
# sidecar run on two checkpoints: every logged name reaches the journal, the TensorBoard tags
# (evaluation_<name>_vs_iterations) and --json, and --export-best --monitor <output>_<metric>
# exports the checkpoint the journal says is best by that name (for both directions).
for monitor in cls_accuracy reg_loss; do
    rm -rf "$TMP/ckpts" "$TMP/logs" "$TMP/best"
    mkdir -p "$TMP/ckpts"
    cp "$TMP/w.safetensors" "$TMP/ckpts/ckpt-1.safetensors"
    cp "$TMP/w2.safetensors" "$TMP/ckpts/ckpt-2.safetensors"
    run run --checkpoint-dir "$TMP/ckpts" --model "$TMP/model.json" --compile "$TMP/compile.json" \
        --data "$TMP/data.npz" --batch-size 16 --every --max-evaluations 2 --logdir "$TMP/logs" \
        --export-best "$TMP/best" --monitor "$monitor" --json
    expect_rc 0 "two-output run, --monitor $monitor"
    "$PYTHON" - "$TMP" "$OUT" "$monitor" <<'PY' || fail "names in journal / TensorBoard / export ($monitor)"
import glob, json, os, struct, sys
d, out, monitor = sys.argv[1:]
names = ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
journal = [json.loads(l) for l in open(d + "/logs/sidecar_journal.jsonl")]
assert len(journal) == 2, journal
for j in journal:
    assert list(j["metrics"]) == names, j["metrics"]
rows = [json.loads(l) for l in open(out).read().split("\n") if l.strip()]
assert [list(r["metrics"]) for r in rows] == [names, names], rows
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1; v |= (c & 0x7F) << s; s += 7
        if c < 0x80: return v, i
def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0: v, i = varint(b, i)
        elif wt == 1: v = b[i:i + 8]; i += 8
        elif wt == 5: v = b[i:i + 4]; i += 4
        elif wt == 2:
            n, i = varint(b, i); v = b[i:i + n]; i += n
        else: raise ValueError("wire type %d" % wt)
        yield f, v
tags = {}
for path in glob.glob(d + "/logs/validation/events.out.tfevents.*"):
    raw = open(path, "rb").read(); i = 0
    while i < len(raw):
        n = struct.unpack_from("<Q", raw, i)[0]; rec = raw[i + 12:i + 12 + n]; i += 16 + n
        ev = dict(fields(rec))
        step = ev.get(2, 0)
        if 5 not in ev: continue
        for f, val in fields(ev[5]):  # Summary.value
            if f == 1:
                tag = dict(fields(val))[1].decode()
                tags.setdefault(tag, set()).add(step)
want = {"evaluation_%s_vs_iterations" % n for n in names}
assert want <= set(tags), (sorted(want - set(tags)), sorted(tags))
# one point per checkpoint, at its step (a safetensors checkpoint's step is its number)
assert all(tags[t] == {j["step"] for j in journal} for t in want), tags
assert {j["step"] for j in journal} == {1, 2}, journal
vals = [j["metrics"][monitor] for j in journal]
best = journal[vals.index(max(vals) if "acc" in monitor else min(vals))]
assert vals[0] != vals[1], vals
exported = os.listdir(d + "/best")
want_file = os.path.basename(best["checkpoint"])
assert want_file in exported, (monitor, vals, exported, want_file)
others = [os.path.basename(j["checkpoint"]) for j in journal if j is not best]
assert not set(others) & set(exported), (others, exported)
print(monitor, "best", want_file, vals, file=sys.stderr)
PY
done
echo "test_multi_output: all checks passed"
