#!/usr/bin/python3
"""Float64 NumPy reference outputs for the keras.applications configs (Debian python3-numpy).

    /usr/bin/python3 scripts/applications/make_reference.py [DIR]   (default tests/golden/applications)

For each DIR/<model>/model.json (written by make_configs.py) this writes:
  weights.json  every variable: Keras 2 checkpoint key, Keras 3 .weights.h5 path, shape, dtype
                and the generator parameters (seed string, center, amplitude; int64: value);
  x.npy         3 seeded input images (float32);
  y.npy         the float64 forward pass of the model on x (the Keras layer definitions of
                scripts/golden/verify_numpy.py) with the generated float32 weights.

The weights are not stored: tests/golden/test_applications.c regenerates them bit for bit
(tests/support/app_weights.c) from weights.json. The generator is counter based, so both sides
get the same float32 values in any order:
  h(x)   = lowbias32 (x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16)
  seed   = FNV-1a 32 of the seed string ("<layer>/<variable>")
  u_i    = h(h(i) ^ seed) >> 8                 (24 bits)
  t_i    = (u_i - 2^23) / 2^23                 (exact, in [-1, 1))
  w_i    = float32(center + (amplitude * t_i)) (float64 arithmetic, two roundings, no FMA)

Scales keep activations O(1) through the 50-160 layers, so the comparison means something:
convolution and dense kernels He-uniform (amplitude sqrt(6 / fan_in)), biases +-0.1, gamma
1 +- 0.2, beta +-0.1; each BatchNormalization's moving_variance is centred on the variance its
input actually has on these images (moving_mean on 0 +- 0.1 std) and the Normalization layer's
mean/variance on the image statistics: one calibration pass, layer by layer in graph order,
whose rounded results are written into weights.json as plain numbers.
"""
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../golden"))
import verify_numpy as V  # noqa: E402

BATCH = 3
M32 = np.uint64(0xFFFFFFFF)


def _h(x):
    x = x.astype(np.uint64)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & M32
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & M32
    x ^= x >> np.uint64(16)
    return x


def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def generate(seed, center, amplitude, shape):
    n = int(np.prod(shape, dtype=np.int64))
    u = _h(_h(np.arange(n, dtype=np.uint64)) ^ np.uint64(fnv1a(seed))) >> np.uint64(8)
    t = (u.astype(np.float64) - 8388608.0) / 8388608.0
    return (center + amplitude * t).astype(np.float32).reshape(shape)


def inbound(layer):
    return [e[0] for e in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []


def fan_in(shape):
    return int(np.prod(shape[:-1])) if len(shape) == 4 else shape[0]


def static_spec(cls, var, shape):
    """Generator parameters that do not depend on data; None for calibrated ones."""
    if var in ("kernel", "depthwise_kernel"):
        fi = shape[0] * shape[1] if var == "depthwise_kernel" else fan_in(shape)
        return 0.0, math.sqrt(6.0 / fi)
    if var == "bias" or var == "beta":
        return 0.0, 0.1
    if var == "gamma":
        return 1.0, 0.2
    return None


def nice(v):
    return float(f"{v:.4g}")


def run(model, x, specs, calibrate):
    """Forward pass in float64. With calibrate, fills the data-dependent specs on the way."""
    cfg = model["config"]
    values, stats = {}, []
    for layer in cfg["layers"]:
        name, cls, c = layer["name"], layer["class_name"], layer["config"]
        if cls == "InputLayer":
            values[name] = x.astype(np.float64)
            continue
        xs = [values[s] for s in inbound(layer)]
        w = []
        for v in specs.get(name, []):
            if calibrate and v.get("center") is None and v["dtype"] == "float32":
                axes = tuple(range(xs[0].ndim - 1))
                var = float(xs[0].var(axis=axes).mean())
                mean = float(xs[0].mean())
                if v["name"] == "moving_mean":
                    v["center"], v["amplitude"] = 0.0, nice(0.1 * math.sqrt(var))
                elif v["name"] == "mean":
                    v["center"], v["amplitude"] = nice(mean), nice(0.1 * math.sqrt(var))
                else:  # moving_variance, variance
                    v["center"], v["amplitude"] = nice(var), nice(0.2 * var)
            if v["dtype"] == "int64":
                w.append(np.float64(v["value"]))
            else:
                w.append(generate(v["seed"], v["center"], v["amplitude"], v["shape"]).astype(np.float64))
        values[name] = V.forward(cls, c, xs, w, True)
        stats.append((name, float(np.abs(values[name]).max()), float(values[name].std())))
    out = cfg["output_layers"][0][0]
    return values[out], stats


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../tests/golden/applications")
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isfile(os.path.join(d, "model.json")):
            continue
        model = json.load(open(os.path.join(d, "model.json")))
        table = json.load(open(os.path.join(d, "weights.json")))
        layers = table["layers"]
        specs = {}
        for l in layers:
            for v in l["vars"]:
                v["seed"] = f"{l['name']}/{v['name']}"
                if v["dtype"] == "int64":
                    v["value"] = 1000  # Normalization's `count`: not used by the forward pass
                else:
                    s = static_spec(l["class_name"], v["name"], v["shape"])
                    v["center"], v["amplitude"] = s if s else (None, None)
            specs[l["name"]] = l["vars"]
        shape = model["config"]["layers"][0]["config"]["batch_input_shape"]
        lo, hi = (0.0, 255.0) if name.startswith("efficientnet") else (-1.0, 1.0)
        # Pixel values as the application expects them: [0, 255] for EfficientNet (it rescales
        # itself), [-1, 1] for the others (what mobilenet_v2.preprocess_input gives).
        x = generate(f"{name}/images", (lo + hi) / 2, (hi - lo) / 2, [BATCH] + shape[1:])
        run(model, x, specs, calibrate=True)
        y, stats = run(model, x, specs, calibrate=False)
        with open(os.path.join(d, "weights.json"), "w") as f:
            table["generator"] = "lowbias32 counter, see scripts/applications/make_reference.py"
            json.dump(table, f, indent=1)
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "y.npy"), y)
        big = max(stats, key=lambda s: s[1])
        print(f"{name}: y {y.shape}, max|y| {np.abs(y).max():.4g}; largest activation "
              f"{big[1]:.4g} at {big[0]}; std of the last 5 layers "
              + " ".join(f"{s[2]:.3g}" for s in stats[-5:]))


if __name__ == "__main__":
    main()
