#!/usr/bin/env python3
"""Float64 NumPy reference for tests/cli/test_masked_loss.sh: Keras 2.15 evaluate of models whose
outputs carry a Keras mask (Embedding(mask_zero=True) -> LSTM(return_sequences) -> ...).

Usage: masked_ref.py DIR   writes DIR/{seq,multi}.json (models), DIR/{seq,multi}.safetensors,
DIR/data.npz, DIR/compile.json, and prints {"seq": {...}, "multi": {...}, "seq_nomask": {...},
"multi_nomask": {...}} (the logs of evaluate with batch size 4; *_nomask = the same numbers with
the mask ignored, which the test checks are far from the real ones).

What Keras 2.15 does with a prediction's mask (tf_keras/engine/compile_utils.py,
tf_keras/utils/losses_utils.py, tf_keras/losses.py Loss.__call__, metrics MeanMetricWrapper):
- LossesContainer: sw = apply_mask(y_pred, sw, mask) = sample_weight x mask (or the mask);
  then Loss.__call__ sees the mask again (in_mask) and apply_valid_mask, for
  SUM_OVER_BATCH_SIZE, scales it by total/valid: loss = sum(l * sw * mask) / sum(mask), NaN
  when every row of the batch is masked (0 * inf).
- MetricsContainer: metrics get sample_weight=mask, weighted_metrics sample_weight x mask;
  a mean metric is sum(v * w) / sum(w) over all batches.
- The mask travels: Embedding(mask_zero) makes ids != 0; LSTM(return_sequences) and
  TimeDistributed / Dense pass it on; GlobalMaxPooling1D ignores it (max over every step) and
  drops it, so the "cls" output is unmasked.
- A masked LSTM step keeps its state and repeats the previous output.
- TimeDistributed(Dense(softmax)): the output is a reshape, not a Softmax op, so the
  crossentropy clips probabilities to [1e-7, 1 - 1e-7] (no logits shortcut).
"""
import json
import struct
import sys
import zipfile
import io

import numpy as np

D = sys.argv[1]
rs = np.random.RandomState(4242)
N, T, V, E, U, C, K = 10, 6, 7, 4, 5, 3, 2
EPS = 1e-7


def f32(a):
    return np.asarray(a, dtype=np.float32)


emb = f32(rs.uniform(-1, 1, (V, E)))
lk, lrk, lb = f32(rs.uniform(-.6, .6, (E, 4 * U))), f32(rs.uniform(-.6, .6, (U, 4 * U))), \
    f32(rs.uniform(-.2, .2, (4 * U,)))
tk, tb = f32(rs.uniform(-1, 1, (U, C))), f32(rs.uniform(-.2, .2, (C,)))
pk, pb = f32(rs.uniform(-1, 1, (U, 1))), f32(rs.uniform(-.2, .2, (1,)))
ck, cb = f32(rs.uniform(-1, 1, (U, K))), f32(rs.uniform(-.2, .2, (K,)))

ids = rs.randint(1, V, size=(N, T)).astype(np.int32)
lengths = [6, 3, 5, 1, 0, 4, 6, 2, 5, 3]  # example 4: every step masked
for i, n in enumerate(lengths):
    ids[i, n:] = 0
ids[6, 2] = 0  # a hole in the middle
y_tags = rs.randint(0, C, size=(N, T)).astype(np.int32)
y_pos = f32(rs.uniform(-1, 1, (N, T, 1)))
y_cls = rs.randint(0, K, size=(N,)).astype(np.int32)
sw = f32(rs.uniform(0.2, 2.0, (N,)))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def forward(ids):
    x = emb.astype(np.float64)[ids]
    mask = ids != 0
    B = ids.shape[0]
    h, c, prev = np.zeros((B, U)), np.zeros((B, U)), np.zeros((B, U))
    seq = []
    for t in range(T):
        z = x[:, t] @ lk + h @ lrk + lb
        i, f, g, o = np.split(z, 4, axis=1)
        nc = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        nh = sigmoid(o) * np.tanh(nc)
        m = mask[:, t:t + 1]
        h, c = np.where(m, nh, h), np.where(m, nc, c)
        prev = np.where(m, nh, prev)
        seq.append(prev)
    seq = np.stack(seq, 1)
    tags = softmax(seq @ tk + tb)
    pos = seq @ pk + pb
    pooled = seq.max(1)  # GlobalMaxPooling1D: Keras 2 and 3 ignore the mask (README "Masks")
    cls = softmax(pooled @ ck + cb)
    return tags, pos, cls, mask


def sparse_ce(p, y):
    q = np.clip(np.take_along_axis(p, y[..., None], -1)[..., 0], EPS, 1 - EPS)
    return -np.log(q)


def evaluate(multi, use_mask, batch=4):
    tot = {}
    sums = {"tags_acc": [0, 0], "tags_wacc": [0, 0], "pos_mae": [0, 0], "cls_acc": [0, 0]}
    for s in range(0, N, batch):
        sl = slice(s, min(s + batch, N))
        n = sl.stop - sl.start
        tags, pos, cls, mask = forward(ids[sl])
        m = mask.astype(np.float64) if use_mask else np.ones(mask.shape)
        w = sw[sl].astype(np.float64)[:, None]
        # losses: sum(l * sw * m) / sum(m) (Keras apply_valid_mask)
        lt = (sparse_ce(tags, y_tags[sl]) * w * m).sum() / m.sum()
        lp = (((pos - y_pos[sl]) ** 2)[..., 0] * w * m).sum() / m.sum()
        per = {"tags_loss": lt, "pos_loss": lp}
        total = lt
        if multi:
            lc = (sparse_ce(cls, y_cls[sl]) * sw[sl]).sum() / n
            per["cls_loss"] = lc
            total = 1.0 * lt + 0.5 * lp + 0.3 * lc
        per["loss"] = total
        for k, v in per.items():
            tot[k] = tot.get(k, 0.0) + v * n
        match = (tags.argmax(-1) == y_tags[sl]).astype(np.float64)
        sums["tags_acc"][0] += (match * m).sum()
        sums["tags_acc"][1] += m.sum()
        sums["tags_wacc"][0] += (match * m * w).sum()
        sums["tags_wacc"][1] += (m * w).sum()
        sums["pos_mae"][0] += (np.abs(pos - y_pos[sl])[..., 0] * m).sum()
        sums["pos_mae"][1] += m.sum()
        cm = (cls.argmax(-1) == y_cls[sl]).astype(np.float64)
        sums["cls_acc"][0] += cm.sum()
        sums["cls_acc"][1] += n
    r = lambda k: sums[k][0] / sums[k][1]
    if not multi:
        return {"loss": tot["loss"] / N, "accuracy": r("tags_acc")}
    return {"loss": tot["loss"] / N, "tags_loss": tot["tags_loss"] / N,
            "pos_loss": tot["pos_loss"] / N, "cls_loss": tot["cls_loss"] / N,
            "tags_accuracy": r("tags_acc"), "tags_weighted_accuracy": r("tags_wacc"),
            "pos_mae": r("pos_mae"), "cls_accuracy": r("cls_acc")}


# ---- files ----

def layer(cls, name, cfg, inbound):
    return {"module": "keras.layers", "class_name": cls,
            "config": dict(name=name, trainable=True, dtype="float32", **cfg),
            "registered_name": None, "name": name, "inbound_nodes": inbound}


def dense_cfg(units, act):
    return {"units": units, "activation": act, "use_bias": True}


lstm_cfg = {"units": U, "activation": "tanh", "recurrent_activation": "sigmoid",
            "use_bias": True, "return_sequences": True, "return_state": False,
            "go_backwards": False, "stateful": False, "unroll": False, "time_major": False}
inp = lambda n: [[[n, 0, 0, {}]]]
emb_layer = lambda: layer("Embedding", "embedding", {"input_dim": V, "output_dim": E,
                                                     "mask_zero": True}, inp("ids"))
td = lambda: layer("TimeDistributed", "tags", {"layer": {"module": "keras.layers",
                   "class_name": "Dense", "config": dict(name="tags_dense", **dense_cfg(C, "softmax")),
                   "registered_name": None}}, inp("lstm"))
multi = {"class_name": "Functional", "keras_version": "2.15.0", "backend": "tensorflow",
         "config": {"name": "tagger", "layers": [
             {"class_name": "InputLayer", "config": {"batch_input_shape": [None, T],
              "dtype": "int32", "name": "ids"}, "name": "ids", "inbound_nodes": []},
             emb_layer(), layer("LSTM", "lstm", lstm_cfg, inp("embedding")), td(),
             layer("Dense", "pos", dense_cfg(1, "linear"), inp("lstm")),
             layer("GlobalMaxPooling1D", "pool", {}, inp("lstm")),
             layer("Dense", "cls", dense_cfg(K, "softmax"), inp("pool"))],
             "input_layers": [["ids", 0, 0]],
             "output_layers": [["tags", 0, 0], ["pos", 0, 0], ["cls", 0, 0]]}}
seq_layers = [{"class_name": "InputLayer", "config": {"batch_input_shape": [None, T],
               "dtype": "int32", "name": "ids"}}]
for L in (emb_layer(), layer("LSTM", "lstm", lstm_cfg, []), td()):
    seq_layers.append({k: L[k] for k in ("module", "class_name", "config", "registered_name")})
seq = {"class_name": "Sequential", "keras_version": "2.15.0", "backend": "tensorflow",
       "config": {"name": "seq_tagger", "layers": seq_layers}}
json.dump(multi, open(D + "/multi.json", "w"))
json.dump(seq, open(D + "/seq.json", "w"))
json.dump({"loss": {"tags": "sparse_categorical_crossentropy", "pos": "mse",
                    "cls": "sparse_categorical_crossentropy"},
           "loss_weights": {"tags": 1.0, "pos": 0.5, "cls": 0.3},
           "metrics": {"tags": ["accuracy"], "pos": ["mae"], "cls": ["accuracy"]},
           "weighted_metrics": {"tags": ["accuracy"]}}, open(D + "/compile.json", "w"))


def safetensors(path, tensors):
    hdr, data = {}, b""
    for k in sorted(tensors):
        raw = f32(tensors[k]).tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(np.shape(tensors[k])),
                  "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(hdr).encode()
    h += b" " * (-len(h) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)


common = {"embedding/vars/0": emb, "lstm/vars/0": lk, "lstm/vars/1": lrk, "lstm/vars/2": lb,
          "tags/vars/0": tk, "tags/vars/1": tb}
safetensors(D + "/seq.safetensors", common)
safetensors(D + "/multi.safetensors", dict(common, **{"pos/vars/0": pk, "pos/vars/1": pb,
                                                      "cls/vars/0": ck, "cls/vars/1": cb}))
np.savez(D + "/data.npz", x=ids, ids=ids, y=y_tags, tags=y_tags, pos=y_pos, cls=y_cls, sw=sw)
print(json.dumps({"seq": evaluate(False, True), "multi": evaluate(True, True),
                  "seq_nomask": evaluate(False, False), "multi_nomask": evaluate(True, False)}))
