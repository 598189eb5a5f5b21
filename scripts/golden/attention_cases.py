#!/usr/bin/env python3
"""Goldens for what tfjs lacks: MultiHeadAttention, EinsumDense and a Transformer encoder.

    /usr/bin/python3 scripts/golden/attention_cases.py [OUT_DIR]   (default tests/golden/data_mha)

Writes, per case, the same files as generate.mjs (model.json, weights.safetensors, weights.json,
x_<input>.npy, y_<output>.npy) and a MANIFEST.json in the same form, so tests/golden/
test_model_golden.c runs each case through safetensors, TF checkpoints and .weights.h5.

The oracle is float64 NumPy written from the Keras definitions (tf_keras 2.15
layers/attention/multi_head_attention.py, layers/core/einsum_dense.py,
layers/activation/softmax.py, layers/normalization/layer_normalization.py; Keras 3's
equivalents for the Keras 3 case), on the float32 weights and inputs that are written. One
step is kept in float32 on purpose: the masked softmax adds -1e9 to the dropped scores in
float32, so a fully masked row comes out uniform in Keras; float64 would keep the scores'
differences. Deterministic: a second run writes identical bytes.
"""
import json
import re
import os
import shutil
import struct
import sys

import numpy as np

RTOL = 1e-5


# ---------------------------------------------------------------- the Keras definitions (f64)

def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def einsum_dense(x, eq, kernel, bias=None, act=None):
    """EinsumDense.call: einsum(equation, x, kernel) + bias (broadcast from the right)."""
    y = np.einsum(eq, x, kernel)
    if bias is not None:
        y = y + bias
    return act(y) if act else y


def mha(w, name, query, value, key=None, qmask=None, vmask=None, kmask=None, causal=False,
        num_heads=None, key_dim=None, use_bias=True, robust=False):
    """tf_keras 2.15 MultiHeadAttention.call at inference (dropout off), rank-3 inputs."""
    if key is None:
        key, kmask = value, vmask  # key = value, so its mask is the value's
    p = lambda sub: (w[f"{name}/{sub}/kernel"], w.get(f"{name}/{sub}/bias") if use_bias else None)
    q = einsum_dense(query, "abc,cde->abde", *p("_query_dense"))
    k = einsum_dense(key, "abc,cde->abde", *p("_key_dense"))
    v = einsum_dense(value, "abc,cde->abde", *p("_value_dense"))
    q = q * (1.0 / np.sqrt(float(key_dim)))
    scores = np.einsum("aecd,abcd->acbe", k, q)  # [B, N, T, S]
    B, N, T, S = scores.shape
    keep = None  # _compute_attention_mask
    if qmask is not None:
        keep = qmask[:, :, None]
    if vmask is not None:
        m = vmask[:, None, :]
        keep = m if keep is None else keep & m
    if kmask is not None:
        m = kmask[:, None, :]
        keep = m if keep is None else keep & m
    if causal:
        m = np.tril(np.ones((1, T, S), bool))
        keep = m if keep is None else keep & m
    if keep is not None:
        keep = np.broadcast_to(keep[:, None, :, :], scores.shape)
        # Softmax(mask): inputs += (1 - mask) * -1e9, a float32 addition in Keras
        f32 = scores.astype(np.float32)
        dropped = (np.float32(-1e9) if robust else f32 + np.float32(-1e9)).astype(np.float64)
        scores = np.where(keep, scores, dropped)
    probs = softmax(scores)
    out = np.einsum("acbe,aecd->abcd", probs, v)  # [B, T, N, Hv]
    ok, ob = p("_output_dense")
    outs = "efgh"[:ok.ndim - 2]  # _build_proj_equation(2, bound_dims=2, output_dims=len)
    return einsum_dense(out, f"abcd,cd{outs}->ab{outs}", ok, ob)


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def masked_gap1d(x, mask):
    if mask is None:
        return x.mean(1)
    m = mask[:, :, None].astype(np.float64)
    return (x * m).sum(1) / m.sum(1)


relu = lambda x: np.maximum(x, 0.0)


# ---------------------------------------------------------------- Keras JSON


class Model:
    """Collects layers (Keras 2.15 or Keras 3 form) and their variables in Keras order."""

    def __init__(self, keras3, seed):
        self.k3 = keras3
        self.rng = np.random.default_rng(seed)
        self.layers = []  # JSON entries
        self.vars = []  # (layer, keras name, h5 sub, h5 index, array)
        self.weight_layers = []
        self.shapes = {}

    def tensor(self, name, shape):
        if self.k3:
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": [None] + list(shape), "dtype": "float32",
                               "keras_history": [name, 0, 0]}}
        return [name, 0, 0]

    def input(self, name, shape, dtype="float32"):
        if self.k3:
            cfg = {"batch_shape": [None] + list(shape), "dtype": dtype, "sparse": False,
                   "ragged": False, "name": name, "optional": False}
        else:
            cfg = {"batch_input_shape": [None] + list(shape), "dtype": dtype, "sparse": False,
                   "ragged": False, "name": name}
        self.layers.append({"module": "keras.layers", "class_name": "InputLayer", "config": cfg,
                            "registered_name": None, "name": name, "inbound_nodes": []})
        self.shapes[name] = list(shape)
        return name

    def dtype(self):
        if self.k3:
            return {"module": "keras", "class_name": "DTypePolicy",
                    "config": {"name": "float32"}, "registered_name": None}
        return "float32"

    def layer(self, cls, name, cfg, inputs, out_shape, kwargs=None, variables=(), package=None):
        """inputs: tensor names (the first is the call's first argument; Keras 2 puts the rest
        in kwargs via `kwargs`, Keras 3 passes them as given)."""
        config = {"name": name, "trainable": True, "dtype": self.dtype()}
        config.update(cfg)
        kwargs = dict(kwargs or {})
        if self.k3:
            args = [self.tensor(t, self.shapes[t]) for t in inputs["args"]]
            kw = {k: (self.tensor(v, self.shapes[v]) if isinstance(v, str) and v in self.shapes
                      else v) for k, v in kwargs.items()}
            if len(args) == 1 and not inputs.get("list"):
                node = {"args": args, "kwargs": kw}
            else:
                node = {"args": [args] if inputs.get("list") else args, "kwargs": kw}
            nodes = [node]
        else:
            kw = {k: ([v, 0, 0] if isinstance(v, str) and v in self.shapes else v)
                  for k, v in kwargs.items()}
            nodes = [[[t, 0, 0, kw] for t in inputs["args"]]]
        e = {"module": "keras.layers", "class_name": cls, "config": config,
             "registered_name": None, "name": name, "inbound_nodes": nodes}
        if package:  # a registered class: Keras 2 "pkg>Cls" in class_name, Keras 3 apart
            e["registered_name"] = f"{package}>{cls}"
            if self.k3:
                e["module"] = package
            else:
                e["class_name"] = e["registered_name"]
        self.layers.append(e)
        self.shapes[name] = list(out_shape)
        if variables:
            self.weight_layers.append(name)
        for v in variables:
            self.vars.append((name,) + v)
        return name

    def rand(self, shape, scale):
        return self.rng.uniform(-scale, scale, size=shape).astype(np.float32)

    def weights(self):
        return {f"{l}/{n}": a.astype(np.float64) for (l, n, _, _, a) in self.vars}

    def to_json(self, inputs, outputs):
        if self.k3:
            cfg = {"name": "functional", "trainable": True, "layers": self.layers,
                   "input_layers": [[i, 0, 0] for i in inputs],
                   "output_layers": [[o, 0, 0] for o in outputs]}
            return {"module": "keras.src.models.functional", "class_name": "Functional",
                    "config": cfg, "registered_name": "Functional",
                    "build_config": {"input_shape": None}}
        cfg = {"name": "model", "trainable": True, "layers": self.layers,
               "input_layers": [[i, 0, 0] for i in inputs],
               "output_layers": [[o, 0, 0] for o in outputs]}
        return {"class_name": "Functional", "config": cfg, "keras_version": "2.15.0",
                "backend": "tensorflow"}


def mha_layer(M, name, query, value, key=None, num_heads=2, key_dim=4, value_dim=None,
              output_shape=None, use_bias=True, causal=False):
    dq, dv = M.shapes[query][-1], M.shapes[value][-1]
    dk = M.shapes[key][-1] if key else dv
    hv = value_dim or key_dim
    outs = ([output_shape] if isinstance(output_shape, int) else list(output_shape)) \
        if output_shape else [dq]
    var = []
    for sub, h5, din, hd in (("_query_dense", "query_dense", dq, key_dim),
                             ("_key_dense", "key_dense", dk, key_dim),
                             ("_value_dense", "value_dense", din_v := dv, hv)):
        var.append((f"{sub}/kernel", h5, 0, M.rand((din, num_heads, hd), 0.6)))
        if use_bias:
            var.append((f"{sub}/bias", h5, 1, M.rand((num_heads, hd), 0.3)))
    var.append(("_output_dense/kernel", "output_dense", 0, M.rand([num_heads, hv] + outs, 0.6)))
    if use_bias:
        var.append(("_output_dense/bias", "output_dense", 1, M.rand(outs, 0.3)))
    del din_v
    cfg = {"num_heads": num_heads, "key_dim": key_dim, "value_dim": hv, "dropout": 0.1,
           "use_bias": use_bias, "output_shape": output_shape, "attention_axes": None,
           "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                  "config": {"seed": None}, "registered_name": None},
           "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                "config": {}, "registered_name": None},
           "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
           "kernel_constraint": None, "bias_constraint": None}
    kwargs = {}
    if M.k3:
        cfg["seed"] = None
        args = [query, value] + ([key] if key else [])
        # Keras 3 records what the call passed: query and value positionally here
        inputs = {"args": [query, value]}
        if key:
            kwargs["key"] = key
    else:
        cfg.update({"query_shape": [None] + M.shapes[query], "key_shape":
                    [None] + M.shapes[key or value], "value_shape": [None] + M.shapes[value],
                    "softmax_robust_masking": False})
        inputs = {"args": [query]}
        kwargs["value"] = value
        if key:
            kwargs["key"] = key
        args = None
    del args
    if causal:
        kwargs["use_causal_mask"] = True
    out_shape = M.shapes[query][:-1] + outs
    return M.layer("MultiHeadAttention", name, cfg, inputs, out_shape, kwargs, var)


def simple(M, cls, name, cfg, inputs, out_shape, variables=()):
    return M.layer(cls, name, cfg, {"args": inputs, "list": len(inputs) > 1}, out_shape,
                   None, variables)


def dense(M, name, x, units, act="linear"):
    din = M.shapes[x][-1]
    var = [("kernel", None, 0, M.rand((din, units), 0.5)), ("bias", None, 1, M.rand((units,), 0.2))]
    return simple(M, "Dense", name, {"units": units, "activation": act, "use_bias": True}, [x],
                  M.shapes[x][:-1] + [units], var)


def layer_norm_layer(M, name, x, eps):
    d = M.shapes[x][-1]
    var = [("gamma", None, 0, (1.0 + M.rand((d,), 0.2)).astype(np.float32)),
           ("beta", None, 1, M.rand((d,), 0.2))]
    return simple(M, "LayerNormalization", name,
                  {"axis": -1 if M.k3 else [2], "epsilon": eps, "center": True, "scale": True},
                  [x], M.shapes[x], var)


def embedding(M, name, x, vocab, dim, mask_zero):
    var = [("embeddings", None, 0, M.rand((vocab, dim), 0.8))]
    return simple(M, "Embedding", name, {"input_dim": vocab, "output_dim": dim,
                                         "mask_zero": mask_zero}, [x],
                  M.shapes[x] + [dim], var)


def einsum_layer(M, name, x, eq, out_shape_cfg, bias_axes, act, kernel_shape, bias_shape,
                 out_shape):
    var = [("kernel", None, 0, M.rand(kernel_shape, 0.5))]
    if bias_axes:
        var.append(("bias", None, 1, M.rand(bias_shape, 0.3)))
    cfg = {"output_shape": out_shape_cfg, "equation": eq, "activation": act,
           "bias_axes": bias_axes}
    return simple(M, "EinsumDense", name, cfg, [x], out_shape, var)


def ids(rng, B, T, vocab, pads):
    x = rng.integers(1, vocab, size=(B, T)).astype(np.int32)
    for b, (start, mid) in enumerate(pads):
        if start is not None:
            x[b, start:] = 0  # padded tail
        if mid is not None:
            x[b, mid] = 0  # a padded step in the middle
    return x


# ---------------------------------------------------------------- cases


def case_mha_self_masked():
    M = Model(False, 11)
    B, T = 4, 7
    M.input("tokens", [T], "int32")
    e = embedding(M, "embedding", "tokens", 20, 12, True)
    a = mha_layer(M, "multi_head_attention", e, e, num_heads=3, key_dim=4)
    g = simple(M, "GlobalAveragePooling1D", "global_average_pooling1d",
               {"data_format": "channels_last", "keepdims": False}, [a], [12])
    x = ids(M.rng, B, T, 20, [(5, None), (None, 2), (3, 1), (1, None)])
    w = M.weights()
    emb = w["embedding/embeddings"][x]
    mask = x != 0
    y = mha(w, "multi_head_attention", emb, emb, qmask=mask, vmask=mask, num_heads=3, key_dim=4)
    return M, ["tokens"], {"tokens": x}, [a, g], {a: y, g: masked_gap1d(y, mask)}, (
        "Embedding(mask_zero) -> MultiHeadAttention(3 heads, key_dim 4) self-attention: the "
        "query and value masks (padded tails and a padded middle step; a row whose query is "
        "padded comes out uniform) -> GlobalAveragePooling1D with the query's mask")


def case_mha_cross():
    M = Model(False, 12)
    B, T, S = 3, 5, 6
    M.input("target", [T, 6])
    M.input("context", [S, 10])
    M.input("keys", [S, 4])
    a = mha_layer(M, "multi_head_attention", "target", "context", "keys", num_heads=2,
                  key_dim=3, value_dim=5, output_shape=8)
    b = mha_layer(M, "multi_head_attention_1", "target", "context", num_heads=3, key_dim=2,
                  value_dim=4, output_shape=[2, 3], use_bias=False)
    xs = {"target": M.rand((B, T, 6), 1.0), "context": M.rand((B, S, 10), 1.0),
          "keys": M.rand((B, S, 4), 1.0)}
    w = M.weights()
    f = {k: v.astype(np.float64) for k, v in xs.items()}
    ya = mha(w, a, f["target"], f["context"], f["keys"], num_heads=2, key_dim=3)
    yb = mha(w, b, f["target"], f["context"], num_heads=3, key_dim=2, use_bias=False)
    return M, list(xs), xs, [a, b], {a: ya, b: yb}, (
        "cross-attention: query [5,6], value [6,10], key [6,4], value_dim 5, output_shape 8; "
        "a second MHA without bias, key = value, output_shape [2,3] (output kernel [3,4,2,3])")


def case_mha_causal_k3():
    M = Model(True, 13)
    B, T = 3, 6
    M.input("input_layer", [T, 8])
    a = mha_layer(M, "multi_head_attention", "input_layer", "input_layer", num_heads=2,
                  key_dim=4, causal=True)
    xs = {"input_layer": M.rand((B, T, 8), 1.0)}
    w = M.weights()
    x = xs["input_layer"].astype(np.float64)
    y = mha(w, a, x, x, causal=True, num_heads=2, key_dim=4)
    return M, list(xs), xs, [a], {a: y}, (
        "Keras 3 JSON: MultiHeadAttention(x, x, use_causal_mask=True) (the call argument in the "
        "node's kwargs)")


def case_einsum_dense():
    M = Model(False, 14)
    B = 3
    M.input("seq", [5, 6])
    M.input("flat", [7])
    e1 = einsum_layer(M, "einsum_dense", "seq", "abc,cde->abde", [5, 2, 3], "de", "linear",
                      (6, 2, 3), (2, 3), [5, 2, 3])
    e2 = einsum_layer(M, "einsum_dense_1", e1, "abcd,cde->abe", [5, 4], "e", "tanh",
                      (2, 3, 4), (4,), [5, 4])
    e3 = einsum_layer(M, "einsum_dense_2", "seq", "abc,cd->abd", [None, 3], "bd", "relu",
                      (6, 3), (5, 3), [5, 3])
    e4 = einsum_layer(M, "einsum_dense_3", "flat", "ab,bc->ac", 4, None, "sigmoid",
                      (7, 4), None, [4])
    e5 = einsum_layer(M, "einsum_dense_4", "seq", "...b,bc->...c", 2, "c", "linear",
                      (6, 2), (2,), [5, 2])
    e6 = einsum_layer(M, "einsum_dense_5", "seq", "abc,cd->abd", [5, 4], "b", "linear",
                      (6, 4), (5, 1), [5, 4])
    e7 = einsum_layer(M, "einsum_dense_6", "seq", "abc,dc->abd", [5, 4], "d", "linear",
                      (4, 6), (4,), [5, 4])
    xs = {"seq": M.rand((B, 5, 6), 1.0), "flat": M.rand((B, 7), 1.0)}
    w = M.weights()
    s, fl = xs["seq"].astype(np.float64), xs["flat"].astype(np.float64)
    sig = lambda z: 1 / (1 + np.exp(-z))
    y1 = einsum_dense(s, "abc,cde->abde", w[f"{e1}/kernel"], w[f"{e1}/bias"])
    y2 = einsum_dense(y1, "abcd,cde->abe", w[f"{e2}/kernel"], w[f"{e2}/bias"], np.tanh)
    y3 = einsum_dense(s, "abc,cd->abd", w[f"{e3}/kernel"], w[f"{e3}/bias"], relu)
    y4 = einsum_dense(fl, "ab,bc->ac", w[f"{e4}/kernel"], None, sig)
    y5 = einsum_dense(s, "...b,bc->...c", w[f"{e5}/kernel"], w[f"{e5}/bias"])
    y6 = einsum_dense(s, "abc,cd->abd", w[f"{e6}/kernel"], w[f"{e6}/bias"])
    y7 = einsum_dense(s, "abc,dc->abd", w[f"{e7}/kernel"], w[f"{e7}/bias"])
    return M, list(xs), xs, [e2, e3, e4, e5, e6, e7], {e2: y2, e3: y3, e4: y4, e5: y5, e6: y6,
                                                        e7: y7}, (
        "EinsumDense abc,cde->abde (bias de) -> abcd,cde->abe (tanh); abc,cd->abd with bias "
        "axes bd (bias [5,3] over a free axis) and relu; ab,bc->ac without bias (sigmoid); "
        "...b,bc->...c; abc,cd->abd with bias axes b only (bias [5,1], broadcast over d); "
        "abc,dc->abd (kernel [out, in], read transposed)")


def case_transformer():
    M = Model(False, 15)
    B, T, V, D, F, NH = 4, 20, 30, 16, 32, 4
    M.input("tokens", [T], "int32")
    M.input("positions", [T], "int32")
    tok = embedding(M, "token_embedding", "tokens", V, D, True)
    pos = embedding(M, "position_embedding", "positions", T, D, False)
    x = simple(M, "Add", "add", {}, [tok, pos], [T, D])
    names = []
    for blk in range(2):
        a = mha_layer(M, f"mha_{blk}", x, x, num_heads=NH, key_dim=D // NH)
        d = simple(M, "Dropout", f"dropout_{blk}", {"rate": 0.1, "noise_shape": None,
                                                   "seed": None}, [a], [T, D])
        r = simple(M, "Add", f"add_{blk}a", {}, [x, d], [T, D])
        n1 = layer_norm_layer(M, f"ln_{blk}a", r, 1e-6)
        f1 = dense(M, f"ffn_{blk}_1", n1, F, "relu")
        f2 = dense(M, f"ffn_{blk}_2", f1, D)
        r2 = simple(M, "Add", f"add_{blk}b", {}, [n1, f2], [T, D])
        x = layer_norm_layer(M, f"ln_{blk}b", r2, 1e-6)
        names.append((a, n1, f1, f2, x))
    g = simple(M, "GlobalAveragePooling1D", "pool", {"data_format": "channels_last",
                                                     "keepdims": False}, [x], [D])
    out = dense(M, "classifier", g, 3, "softmax")
    tokens = ids(M.rng, B, T, V, [(17, None), (None, 4), (4, 1), (None, None)])
    positions = np.tile(np.arange(T, dtype=np.int32), (B, 1))
    w = M.weights()
    mask = tokens != 0
    h = w["token_embedding/embeddings"][tokens] + w["position_embedding/embeddings"][positions]
    for blk, (a, n1, f1, f2, xn) in enumerate(names):
        att = mha(w, a, h, h, qmask=mask, vmask=mask, num_heads=NH, key_dim=D // NH)
        u = layer_norm(h + att, w[f"{n1}/gamma"], w[f"{n1}/beta"], 1e-6)
        ff = relu(u @ w[f"{f1}/kernel"] + w[f"{f1}/bias"]) @ w[f"{f2}/kernel"] + w[f"{f2}/bias"]
        h = layer_norm(u + ff, w[f"{xn}/gamma"], w[f"{xn}/beta"], 1e-6)
    y = softmax(masked_gap1d(h, mask) @ w["classifier/kernel"] + w["classifier/bias"])
    return M, ["tokens", "positions"], {"tokens": tokens, "positions": positions}, [out], \
        {out: y}, (
            "2-block post-LN Transformer encoder classifier: token Embedding(mask_zero) + "
            "position Embedding on a second input of position ids, MHA(4 heads) -> Dropout -> "
            "Add -> LayerNormalization(1e-6) -> Dense(32, relu) -> Dense(16) -> Add -> "
            "LayerNormalization, masked GlobalAveragePooling1D, Dense(3, softmax)")


def case_keras_nlp_k3():
    M = Model(True, 16)
    B, T, V, L, D = 4, 12, 25, 16, 8
    M.input("input_layer", [T], "int32")
    var = [("token_embedding/embeddings", "token_embedding", 0, M.rand((V, D), 0.8)),
           ("position_embedding/embeddings", "position_embedding", 0, M.rand((L, D), 0.8))]
    e = M.layer("TokenAndPositionEmbedding", "token_and_position_embedding",
                {"vocabulary_size": V, "sequence_length": L, "embedding_dim": D,
                 "tie_weights": True, "mask_zero": True}, {"args": ["input_layer"]}, [T, D],
                None, var, package="keras_nlp")
    a = mha_layer(M, "multi_head_attention", e, e, num_heads=2, key_dim=4)
    g = simple(M, "GlobalAveragePooling1D", "global_average_pooling1d",
               {"data_format": "channels_last", "keepdims": False}, [a], [D])
    out = dense(M, "dense", g, 2)
    x = ids(M.rng, B, T, V, [(9, None), (None, 3), (2, None), (None, None)])
    w = M.weights()
    mask = x != 0
    emb = w[f"{e}/token_embedding/embeddings"][x] + w[f"{e}/position_embedding/embeddings"][:T]
    att = mha(w, a, emb, emb, qmask=mask, vmask=mask, num_heads=2, key_dim=4)
    y = masked_gap1d(att, mask) @ w["dense/kernel"] + w["dense/bias"]
    return M, ["input_layer"], {"input_layer": x}, [out], {out: y}, (
        "Keras 3 JSON: keras_nlp TokenAndPositionEmbedding(mask_zero, sequence_length 16 > 12 "
        "steps) -> MultiHeadAttention with its mask -> masked GlobalAveragePooling1D -> Dense")


def case_keras_nlp_position_k2():
    M = Model(False, 17)
    B, T, V, L, D = 3, 9, 15, 12, 6
    M.input("ids", [T], "int32")
    e = embedding(M, "embedding", "ids", V, D, True)
    p = M.layer("PositionEmbedding", "position_embedding", {"sequence_length": L},
                {"args": [e]}, [T, D], None, [("embeddings", None, 0, M.rand((L, D), 0.8))],
                package="keras_nlp")
    x = simple(M, "Add", "add", {}, [e, p], [T, D])
    a = mha_layer(M, "multi_head_attention", x, x, num_heads=2, key_dim=3, value_dim=2)
    tok = ids(M.rng, B, T, V, [(6, None), (None, 2), (None, None)])
    w = M.weights()
    mask = tok != 0
    h = w["embedding/embeddings"][tok] + w["position_embedding/embeddings"][:T]
    y = mha(w, a, h, h, qmask=mask, vmask=mask, num_heads=2, key_dim=3)
    return M, ["ids"], {"ids": tok}, [a], {a: y}, (
        "Keras 2 JSON: Embedding(mask_zero) + keras_nlp>PositionEmbedding (Add keeps the token "
        "mask) -> MultiHeadAttention(value_dim 2)")


CASES = [("mha_self_masked_k2", case_mha_self_masked), ("mha_cross_k2", case_mha_cross),
         ("mha_causal_k3", case_mha_causal_k3), ("einsum_dense_k2", case_einsum_dense),
         ("transformer_encoder_k2", case_transformer), ("keras_nlp_encoder_k3", case_keras_nlp_k3),
         ("keras_nlp_position_k2", case_keras_nlp_position_k2)]


# ---------------------------------------------------------------- files


def write_safetensors(path, tensors):
    """The reference writer's layout: sorted by dtype then name, header padded to 8."""
    hdr, blobs, off = {}, [], 0
    for key in sorted(tensors):
        a = np.ascontiguousarray(tensors[key], dtype="<f4")
        hdr[key] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    hdr = {"__metadata__": {"format": "sidecar-golden"}, **hdr}
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_case(root, name, build):
    M, input_names, xs, outputs, ys, what = build()
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "model.json"), "w") as f:
        json.dump(M.to_json(input_names, outputs), f)
    # Keras 3 .weights.h5 groups: the snake_case class name, numbered per class in layer order
    # (saving_lib._save_container_state), every layer counted
    counters, h5group, st, wl = {}, {}, {}, []
    for e in M.layers:
        cls = e["class_name"].split(">")[-1]
        base = re.sub(r"([a-z])([A-Z])", r"\1_\2",
                      re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", cls)).lower()
        k = counters.get(base, 0)
        counters[base] = k + 1
        h5group[e["name"]] = base if k == 0 else f"{base}_{k}"
    for lname in M.weight_layers:
        vs = [v for v in M.vars if v[0] == lname]
        entry = {"name": lname, "keras2_layer_with_weights": M.weight_layers.index(lname),
                 "keras3_h5_group": f"layers/{h5group[lname]}", "vars": []}
        for i, (_, vname, sub, h5i, arr) in enumerate(vs):
            key = f"{lname}/vars/{i}"
            st[key] = arr
            g = entry["keras3_h5_group"]
            h5 = f"{g}/{sub}/vars/{h5i}" if sub else f"{g}/vars/{i}"
            entry["vars"].append({
                "index": i, "name": vname, "shape": list(arr.shape), "dtype": "float32",
                "safetensors_key": key, "keras3_h5_path": h5,
                "keras2_checkpoint_key": f"layer_with_weights-{entry['keras2_layer_with_weights']}"
                                         f"/{vname}/.ATTRIBUTES/VARIABLE_VALUE"})
        wl.append(entry)
    del counters
    write_safetensors(os.path.join(d, "weights.safetensors"), st)
    with open(os.path.join(d, "weights.json"), "w") as f:
        json.dump({"format": "sidecar-golden-weights", "case": name, "layers": wl}, f, indent=2)
    files = {"model": "model.json", "weights": "weights.safetensors",
             "weights_index": "weights.json", "inputs": [], "outputs": []}
    batch = None
    for n in input_names:
        fn = f"x_{n}.npy"
        np.save(os.path.join(d, fn), xs[n])
        files["inputs"].append({"file": fn, "input": n, "dtype": str(xs[n].dtype),
                                "shape": list(xs[n].shape)})
        batch = xs[n].shape[0]
    for o in outputs:
        y = ys[o].astype(np.float32)
        fn = f"y_{o}.npy"
        np.save(os.path.join(d, fn), y)
        mx = float(np.abs(ys[o]).max())
        files["outputs"].append({"file": fn, "output": o, "dtype": "float32",
                                 "shape": list(y.shape), "max_abs": mx, "atol": RTOL * mx})
    return {"name": name, "dir": name, "keras_json": 3 if M.k3 else 2,
            "keras_version": "3.x" if M.k3 else "2.15.0", "model_class": "Functional",
            "batch": batch, "files": files, "covers": what,
            "tolerance": {"rtol": RTOL, "atol_rule": "per output: atol = rtol * max|y|",
                          "compare": "|got - want| <= atol + rtol * |want|"},
            "oracle": "numpy-float64-keras-definition"}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "tests",
                                                              "golden", "data_mha")
    root = os.path.normpath(root)
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    cases = [write_case(root, n, f) for n, f in CASES]
    with open(os.path.join(root, "MANIFEST.json"), "w") as f:
        json.dump({"format": "sidecar-golden-manifest", "generator":
                   "scripts/golden/attention_cases.py",
                   "oracle": "float64 NumPy from the Keras definitions (no tfjs layer exists)",
                   "cases": cases}, f, indent=1)
    print(f"{len(cases)} cases written to {root}")


if __name__ == "__main__":
    main()
