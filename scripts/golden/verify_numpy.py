#!/usr/bin/env python3
"""Independent float64 cross-check of the goldens (optional; needs python3-numpy).

Reads each case exactly as the C engine will: the Keras model JSON (Keras 2 or 3
form), weights.safetensors (validated with the reference reader's rules), the
NPY inputs; runs the forward pass in float64 NumPy from the Keras definitions,
and compares with the tfjs goldens under the manifest's tolerance.

    python3 scripts/golden/verify_numpy.py [tests/golden/data]
Exit status 0 when every case agrees.
"""
import functools
import json
import math
import os
import struct
import sys

import numpy as np

SQRT2 = math.sqrt(2.0)
_erf = np.vectorize(math.erf)


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack_from("<Q", buf, 0)
    assert n % 8 == 0 and 8 + n <= len(buf), "header length"
    hdr = json.loads(buf[8:8 + n].decode("utf-8"))
    meta = hdr.pop("__metadata__", None)
    assert meta == {"format": "sidecar-golden"}, meta
    items = sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"])
    pos, out = 0, {}
    for key, e in items:
        b, end = e["data_offsets"]
        assert b == pos and end >= b, key
        dt = {"F32": "<f4", "I64": "<i8"}[e["dtype"]]
        count = int(np.prod(e["shape"], dtype=np.int64))
        assert end - b == count * np.dtype(dt).itemsize, key
        out[key] = np.frombuffer(buf, dt, count, 8 + n + b).reshape(e["shape"]).astype(np.float64)
        pos = end
    assert 8 + n + pos == len(buf), "trailing bytes"
    return out


def activation(a, keras2):
    if isinstance(a, dict):
        assert a.get("config") == "sidecar>gelu_approximate", a
        a = "gelu_approximate"
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    softplus = lambda x: np.logaddexp(0.0, x)
    table = {
        "linear": lambda x: x,
        "relu": lambda x: np.maximum(x, 0.0),
        "relu6": lambda x: np.clip(x, 0.0, 6.0),
        "sigmoid": sig,
        "hard_sigmoid": (lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0)) if keras2
        else (lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0),
        "tanh": np.tanh,
        "softmax": lambda x: softmax(x, -1),
        "softplus": softplus,
        "softsign": lambda x: x / (1.0 + np.abs(x)),
        "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
        "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
        "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / SQRT2)),
        "gelu_approximate": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))),
        "swish": lambda x: x * sig(x),
        "silu": lambda x: x * sig(x),
        "exponential": np.exp,
        "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
        "mish": lambda x: x * np.tanh(softplus(x)),
    }
    return table[a]


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def same_pads(n, k, s, d):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def pad_spatial(x, ks, ss, ds, padding, value=0.0):
    """Pads the spatial dims (1..-2) of a channels_last tensor as TF does."""
    if padding == "valid":
        return x
    pads = [(0, 0)] + [same_pads(x.shape[1 + i], ks[i], ss[i], ds[i]) for i in range(len(ks))] + [(0, 0)]
    return np.pad(x, pads, constant_values=value)


def windows(x, ks, ss, ds):
    """Patches of a padded channels_last tensor: [B, *out, *k, C]."""
    nd = len(ks)
    outs = [(x.shape[1 + i] - (ks[i] - 1) * ds[i] - 1) // ss[i] + 1 for i in range(nd)]
    if nd == 1:
        r = np.arange(outs[0])[:, None] * ss[0] + np.arange(ks[0])[None, :] * ds[0]
        return x[:, r, :]  # [B, o, k, C]
    rows = np.arange(outs[0])[:, None] * ss[0] + np.arange(ks[0])[None, :] * ds[0]
    cols = np.arange(outs[1])[:, None] * ss[1] + np.arange(ks[1])[None, :] * ds[1]
    p = x[:, rows[:, None, :, None], cols[None, :, None, :], :]  # [B, oh, ow, kh, kw, C]
    return p


def conv(x, w, b, cfg, depthwise=False):
    nd = x.ndim - 2
    ks, ss, ds = cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"]
    xp = pad_spatial(x, ks, ss, ds, cfg["padding"])
    p = windows(xp, ks, ss, ds)
    if depthwise:  # w: [kh, kw, C, M]
        y = np.einsum("bhwijc,ijcm->bhwcm", p, w)
        y = y.reshape(y.shape[0], y.shape[1], y.shape[2], -1)
    elif nd == 1:
        y = np.einsum("bokc,kcf->bof", p, w)
    else:  # = einsum("bhwijc,ijcf->bhwf"), through BLAS: the applications' convolutions are large
        y = np.tensordot(p, w, axes=([3, 4, 5], [0, 1, 2]))
    return y if b is None else y + b


def pool(x, cfg, kind):
    nd = x.ndim - 2
    ks, ss = cfg["pool_size"], cfg["strides"]
    one = [1] * nd
    if kind == "max":
        xp = pad_spatial(x, ks, ss, one, cfg["padding"], -np.inf)
        p = windows(xp, ks, ss, one)
        axes = (2,) if nd == 1 else (3, 4)
        return p.max(axis=axes)
    xp = pad_spatial(x, ks, ss, one, cfg["padding"], 0.0)
    ones = pad_spatial(np.ones_like(x), ks, ss, one, cfg["padding"], 0.0)
    axes = (2,) if nd == 1 else (3, 4)
    return windows(xp, ks, ss, one).sum(axis=axes) / windows(ones, ks, ss, one).sum(axis=axes)


def norm_axes(axis, rank):
    axes = axis if isinstance(axis, list) else [axis]
    return [a % rank for a in axes]


def forward(cls, cfg, xs, w, keras2):
    x = xs[0]
    act = activation(cfg.get("activation", "linear"), keras2)
    if cls == "Dense":
        return act(x @ w[0] + (w[1] if cfg["use_bias"] else 0.0))
    if cls in ("Conv1D", "Conv2D"):
        return act(conv(x, w[0], w[1] if cfg["use_bias"] else None, cfg))
    if cls == "DepthwiseConv2D":
        return act(conv(x, w[0], w[1] if cfg["use_bias"] else None, cfg, depthwise=True))
    if cls == "SeparableConv2D":
        y = conv(x, w[0], None, cfg, depthwise=True)
        y = np.einsum("bhwc,cf->bhwf", y, w[1][0, 0])
        return act(y + w[2] if cfg["use_bias"] else y)
    if cls in ("MaxPooling1D", "MaxPooling2D"):
        return pool(x, cfg, "max")
    if cls in ("AveragePooling1D", "AveragePooling2D"):
        return pool(x, cfg, "avg")
    if cls.startswith("GlobalAveragePooling"):
        return x.mean(axis=tuple(range(1, x.ndim - 1)))
    if cls.startswith("GlobalMaxPooling"):
        return x.max(axis=tuple(range(1, x.ndim - 1)))
    if cls == "Flatten":
        return x.reshape(x.shape[0], -1)
    if cls == "Reshape":
        return x.reshape((x.shape[0],) + tuple(cfg["target_shape"]))
    if cls == "Permute":
        return x.transpose([0] + list(cfg["dims"]))
    if cls == "RepeatVector":
        return np.repeat(x[:, None, :], cfg["n"], axis=1)
    if cls == "ZeroPadding2D":
        return np.pad(x, [(0, 0)] + [tuple(p) for p in cfg["padding"]] + [(0, 0)])
    if cls == "Cropping2D":
        (t, b), (l, r) = cfg["cropping"]
        return x[:, t:x.shape[1] - b, l:x.shape[2] - r, :]
    if cls == "UpSampling2D":
        return np.repeat(np.repeat(x, cfg["size"][0], axis=1), cfg["size"][1], axis=2)
    if cls in ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout"):
        return x
    if cls == "BatchNormalization":
        (ax,) = norm_axes(cfg["axis"], x.ndim)
        assert ax == x.ndim - 1
        g, beta, mm, mv = w
        return g * (x - mm) / np.sqrt(mv + cfg["epsilon"]) + beta
    if cls == "LayerNormalization":
        axes = tuple(norm_axes(cfg["axis"], x.ndim))
        m = x.mean(axis=axes, keepdims=True)
        v = x.var(axis=axes, keepdims=True)
        return (x - m) / np.sqrt(v + cfg["epsilon"]) * w[0] + w[1]
    if cls == "Activation":
        return act(x)
    if cls == "ReLU":
        th, sl, mx = cfg["threshold"], cfg["negative_slope"], cfg["max_value"]
        y = np.where(x >= th, x, sl * (x - th))
        return y if mx is None else np.minimum(y, mx)
    if cls == "LeakyReLU":
        a = cfg["alpha"] if "alpha" in cfg else cfg["negative_slope"]
        return np.where(x >= 0, x, a * x)
    if cls == "PReLU":
        return np.where(x >= 0, x, w[0] * x)
    if cls == "ELU":
        return np.where(x > 0, x, cfg["alpha"] * np.expm1(x))
    if cls == "Softmax":
        return softmax(x, cfg["axis"])
    if cls == "Embedding":
        return w[0][x.astype(np.int64)]
    # Multiply broadcasts ([B,H,W,C] * [B,1,1,C] in EfficientNet's squeeze-excite), as Keras' _Merge.
    merges = {"Add": lambda a: sum(a), "Subtract": lambda a: a[0] - a[1],
              "Multiply": lambda a: functools.reduce(np.multiply, a), "Average": lambda a: sum(a) / len(a),
              "Maximum": lambda a: np.max(np.stack(a), axis=0), "Minimum": lambda a: np.min(np.stack(a), axis=0),
              "Concatenate": lambda a: np.concatenate(a, axis=cfg["axis"])}
    if cls in merges:
        return merges[cls](xs)
    if cls == "Rescaling":
        return x * cfg["scale"] + cfg["offset"]
    if cls == "Normalization":
        mean, var = (cfg["mean"], cfg["variance"]) if cfg["mean"] is not None else (w[0], w[1])
        return (x - np.asarray(mean)) / np.maximum(np.sqrt(np.asarray(var)), 1e-7)
    raise NotImplementedError(cls)


def inbound(layer):
    nodes = layer.get("inbound_nodes", [])
    if not nodes:
        return []
    node = nodes[0]
    if isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        return [e[0] for e in node]
    args = node["args"]  # Keras 3
    flat = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    return [t["config"]["keras_history"][0] for t in flat]


def run_case(root, case):
    d = os.path.join(root, case["dir"])
    model = json.load(open(os.path.join(d, case["files"]["model"])))
    keras2 = "keras_version" in model and model["keras_version"].startswith("2")
    weights = read_safetensors(os.path.join(d, case["files"]["weights"]))
    values = {}
    for f in case["files"]["inputs"]:
        values[f["input"]] = np.load(os.path.join(d, f["file"]))
        values[f["input"]] = values[f["input"]].astype(np.float64 if f["dtype"] == "float32" else np.int64)
    cfg = model["config"]
    prev = None
    for layer in cfg["layers"]:
        c = layer["config"]
        name = layer.get("name", c.get("name"))
        if layer["class_name"] == "InputLayer":
            prev = name
            continue
        srcs = inbound(layer) if model["class_name"] == "Functional" else [prev]
        w = []
        while f"{name}/vars/{len(w)}" in weights:
            w.append(weights[f"{name}/vars/{len(w)}"])
        values[name] = forward(layer["class_name"], c, [values[s] for s in srcs], w, keras2)
        prev = name
    worst = 0.0
    for f in case["files"]["outputs"]:
        want = np.load(os.path.join(d, f["file"])).astype(np.float64)
        got = values[f["output"]]
        assert got.shape == want.shape, (case["name"], got.shape, want.shape)
        tol = f["atol"] + case["tolerance"]["rtol"] * np.abs(want)
        worst = max(worst, float((np.abs(got - want) / tol).max()))
    return worst


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../tests/golden/data")
    manifest = json.load(open(os.path.join(root, "MANIFEST.json")))
    bad = skipped = 0
    for case in manifest["cases"]:
        try:
            worst = run_case(root, case)
        except NotImplementedError as e:  # a layer this cross-check has no definition of:
            skipped += 1                  # tfjs stays that case's only reference
            print(f"{case['name']:24s} skipped: no float64 definition here for {e}")
            continue
        ok = worst <= 1.0
        bad += not ok
        print(f"{case['name']:24s} worst |diff|/tolerance = {worst:.3g} {'ok' if ok else 'FAIL'}")
    print(f"{len(manifest['cases']) - bad - skipped} passed, {bad} failed, {skipped} skipped")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
