#!/usr/bin/env python3
"""Float64 NumPy goldens for what the tfjs generator does not cover in recurrent models:
return_state (several output tensors per call, addressed by tensor_index), Bidirectional with
merge_mode=None, both with and without a Keras mask.

Writes tests/golden/data_rnn/ in the format of tests/golden/data/ (README.md beside this file):
model.json, weights.safetensors, weights.json, x*.npy, y_<output>.npy, MANIFEST.json.
Deterministic (seeded); run with Debian's python3 + python3-numpy:

    python3 scripts/golden/rnn_numpy.py

The forward pass follows tf_keras 2.15 (layers/rnn/{simple_rnn,lstm,gru,bidirectional}.py,
non-cuDNN path): gates i f c o (LSTM) and z r h (GRU), recurrent_activation sigmoid, a masked
step keeps the state and repeats the previous output (zeros inside a Bidirectional that returns
sequences), the backward layer of a Bidirectional runs go_backwards and its sequence is
reversed back; return_state returns [output, h(, c)], Bidirectional [y_fw, y_bw] (None) or
[merged], then the forward then the backward states.
"""
import json
import os
import shutil
import struct

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden",
                    "data_rnn")
RTOL = 1e-5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def rnn_run(kind, w, x, mask, go_backwards, return_sequences, zero_output, reset_after=True):
    """x [B, T, F] float64; returns (output, [states]) in Keras' order."""
    B, T, _ = x.shape
    k, rk = w[0], w[1]
    b = w[2] if len(w) > 2 else None
    u = rk.shape[0]
    h = np.zeros((B, u))
    c = np.zeros((B, u))
    prev_out = np.zeros((B, u))
    outs = []
    steps = range(T - 1, -1, -1) if go_backwards else range(T)
    for t in steps:
        xt = x[:, t, :]
        if kind == "SimpleRNN":
            nh = np.tanh(xt @ k + (b if b is not None else 0) + h @ rk)
            nc = c
        elif kind == "LSTM":
            z = xt @ k + h @ rk + (b if b is not None else 0)
            i, f, cc, o = np.split(z, 4, axis=1)
            nc = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
            nh = sigmoid(o) * np.tanh(nc)
        else:  # GRU
            if reset_after:
                bi, br = (b[0], b[1]) if b is not None else (0, 0)
                xz = xt @ k + bi
                hz = h @ rk + br
                z = sigmoid(xz[:, :u] + hz[:, :u])
                r = sigmoid(xz[:, u:2 * u] + hz[:, u:2 * u])
                hh = np.tanh(xz[:, 2 * u:] + r * hz[:, 2 * u:])
            else:
                bb = b if b is not None else np.zeros(3 * u)
                xz = xt @ k + bb
                z = sigmoid(xz[:, :u] + h @ rk[:, :u])
                r = sigmoid(xz[:, u:2 * u] + h @ rk[:, u:2 * u])
                hh = np.tanh(xz[:, 2 * u:] + (r * h) @ rk[:, 2 * u:])
            nh = z * h + (1 - z) * hh
            nc = c
        if mask is not None:  # backend.rnn: masked steps keep the state
            m = mask[:, t:t + 1]
            h = np.where(m, nh, h)
            c = np.where(m, nc, c)
            out = np.where(m, nh, 0.0 if zero_output else prev_out)
        else:
            h, c, out = nh, nc, nh
        prev_out = out
        outs.append(out)
    seq = np.stack(outs, axis=1)  # processing order (reversed for go_backwards)
    states = [h, c] if kind == "LSTM" else [h]
    return (seq if return_sequences else seq[:, -1, :]), states


def rng_weights(rs, shape, scale=0.5):
    return (rs.uniform(-scale, scale, size=shape)).astype(np.float32)


def rnn_vars(rs, kind, F, u, reset_after=True):
    g = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
    k = rng_weights(rs, (F, g * u))
    rk = rng_weights(rs, (u, g * u))
    b = rng_weights(rs, (2, g * u) if kind == "GRU" and reset_after else (g * u,), 0.2)
    return [("kernel", k), ("recurrent_kernel", rk), ("bias", b)]


def rnn_config(kind, name, units, **kw):
    cfg = {"name": name, "trainable": True, "dtype": "float32", "units": units,
           "activation": "tanh", "use_bias": True, "return_sequences": False,
           "return_state": False, "go_backwards": False, "stateful": False, "unroll": False,
           "time_major": False, "dropout": 0.0, "recurrent_dropout": 0.0}
    if kind != "SimpleRNN":
        cfg["recurrent_activation"] = "sigmoid"
        cfg["implementation"] = 2
    if kind == "GRU":
        cfg["reset_after"] = True
    cfg.update(kw)
    return {"module": "keras.layers", "class_name": kind, "config": cfg, "registered_name": None}


def entry(obj, name, inbound):
    e = dict(obj)
    e["name"] = name
    e["inbound_nodes"] = inbound
    return e


def ref(name, node=0, tensor=0):
    return [name, node, tensor, {}]


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for key in sorted(tensors):
        a = np.ascontiguousarray(tensors[key], dtype="<f4")
        header[key] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    header["__metadata__"] = {"format": "sidecar-golden"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class Case:
    def __init__(self, name, batch):
        self.name, self.batch = name, batch
        self.layers, self.weights, self.inputs, self.outputs = [], [], [], []
        self.wl = 0  # layer_with_weights counter
        self.h5_count = {}

    def add_weights(self, layer_name, cls, vars_, sub=""):
        """vars_: [(keras name, array, cell path)]; sub: checkpoint path below the layer."""
        snake = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn",
                 "Bidirectional": "bidirectional", "Dense": "dense", "Embedding": "embedding",
                 "Concatenate": "concatenate"}[cls]
        k = self.h5_count.get(snake, 0)
        self.h5_count[snake] = k + 1
        group = "layers/" + snake + (f"_{k}" if k else "")
        out = []
        for i, (nm, arr, path) in enumerate(vars_):
            h5_index = {"kernel": 0, "recurrent_kernel": 1, "bias": 2}.get(nm, 0)
            if path:
                h5 = f"{group}/{path}/vars/{h5_index}"
            else:
                h5 = f"{group}/vars/{i}"
            out.append({"index": i, "name": nm, "shape": list(arr.shape), "dtype": "float32",
                        "safetensors_key": f"{layer_name}/vars/{i}", "keras3_h5_path": h5,
                        "keras2_checkpoint_key":
                            f"layer_with_weights-{self.wl}/{path + '/' if path else ''}{nm}"
                            "/.ATTRIBUTES/VARIABLE_VALUE",
                        "array": arr})
        self.weights.append({"name": layer_name, "class_name": cls,
                             "keras2_layer_with_weights": self.wl, "keras3_h5_group": group,
                             "vars": out})
        self.wl += 1

    def write(self, input_layers, output_layers, tol_why="default"):
        d = os.path.join(ROOT, self.name)
        os.makedirs(d)
        model = {"class_name": "Functional",
                 "config": {"name": "model", "trainable": True, "layers": self.layers,
                            "input_layers": input_layers, "output_layers": output_layers},
                 "keras_version": "2.15.0", "backend": "tensorflow"}
        with open(os.path.join(d, "model.json"), "w") as f:
            json.dump(model, f, indent=1)
        tensors = {}
        wj = {"format": "sidecar-golden-weights", "case": self.name, "layers": []}
        for L in self.weights:
            vars_ = []
            for v in L["vars"]:
                tensors[v["safetensors_key"]] = v["array"]
                vars_.append({k: v[k] for k in v if k != "array"})
            wj["layers"].append({**{k: L[k] for k in L if k != "vars"}, "vars": vars_})
        write_safetensors(os.path.join(d, "weights.safetensors"), tensors)
        with open(os.path.join(d, "weights.json"), "w") as f:
            json.dump(wj, f, indent=1)
        files_in, files_out = [], []
        for name, arr in self.inputs:
            fn = f"x_{name}.npy"
            np.save(os.path.join(d, fn), arr)
            files_in.append({"file": fn, "input": name, "dtype": str(arr.dtype),
                             "shape": list(arr.shape)})
        for name, arr in self.outputs:
            fn = f"y_{name}.npy"
            y = arr.astype(np.float32)
            np.save(os.path.join(d, fn), y)
            mx = float(np.max(np.abs(y)))
            files_out.append({"file": fn, "output": name, "dtype": "float32",
                              "shape": list(y.shape), "max_abs": mx, "atol": RTOL * mx})
        return {"name": self.name, "dir": self.name, "keras_json": 2, "keras_version": "2.15.0",
                "model_class": "Functional", "batch": self.batch,
                "files": {"model": "model.json", "weights": "weights.safetensors",
                          "weights_index": "weights.json", "inputs": files_in,
                          "outputs": files_out},
                "tolerance": {"rtol": RTOL, "compare": "|got - want| <= atol + rtol * |want|",
                              "why": tol_why},
                "oracle": "numpy-float64 (scripts/golden/rnn_numpy.py)"}


def f64(ws):
    return [a.astype(np.float64) for _, a in ws]


def case_return_state(rs):
    """LSTM(return_sequences, return_state) as three model outputs; GRU(go_backwards,
    reset_after=False, return_state) whose state feeds a Dense through Concatenate."""
    c = Case("rnn_return_state_k2", 3)
    B, T, F = 3, 6, 4
    x = rs.uniform(-1, 1, size=(B, T, F)).astype(np.float32)
    c.inputs.append(("seq", x))
    c.layers.append(entry({"module": "keras.layers", "class_name": "InputLayer",
                           "config": {"batch_input_shape": [None, T, F], "dtype": "float32",
                                      "name": "seq"}, "registered_name": None}, "seq", []))
    lw = rnn_vars(rs, "LSTM", F, 5)
    c.layers.append(entry(rnn_config("LSTM", "lstm", 5, return_sequences=True,
                                     return_state=True), "lstm", [[ref("seq")]]))
    c.add_weights("lstm", "LSTM", [(n, a, "cell") for n, a in lw])
    gw = rnn_vars(rs, "GRU", F, 3, reset_after=False)
    c.layers.append(entry(rnn_config("GRU", "gru", 3, return_state=True, go_backwards=True,
                                     reset_after=False), "gru", [[ref("seq")]]))
    c.add_weights("gru", "GRU", [(n, a, "cell") for n, a in gw])
    c.layers.append(entry({"module": "keras.layers", "class_name": "Concatenate",
                           "config": {"name": "concatenate", "axis": -1}, "registered_name": None},
                          "concatenate", [[ref("lstm", 0, 2), ref("gru", 0, 1), ref("lstm", 0, 1)]]))
    dk, db = rng_weights(rs, (13, 2)), rng_weights(rs, (2,), 0.2)
    c.layers.append(entry({"module": "keras.layers", "class_name": "Dense",
                           "config": {"name": "dense", "units": 2, "activation": "linear",
                                      "use_bias": True}, "registered_name": None},
                          "dense", [[ref("concatenate")]]))
    c.add_weights("dense", "Dense", [("kernel", dk, ""), ("bias", db, "")])
    xd = x.astype(np.float64)
    seq, (h, cc) = rnn_run("LSTM", f64(lw), xd, None, False, True, False)
    gout, (gh,) = rnn_run("GRU", f64(gw), xd, None, True, False, False, reset_after=False)
    dense = np.concatenate([cc, gh, h], axis=1) @ dk.astype(np.float64) + db
    # Output names as Keras 2.15's Functional._set_output_names: lstm, lstm_1, lstm_2, gru, ...
    c.outputs += [("lstm", seq), ("lstm_1", h), ("lstm_2", cc), ("gru", gout), ("gru_1", gh),
                  ("dense", dense)]
    return c.write([["seq", 0, 0]], [["lstm", 0, 0], ["lstm", 0, 1], ["lstm", 0, 2],
                                     ["gru", 0, 0], ["gru", 0, 1], ["dense", 0, 0]])


def case_bidirectional_none(rs, masked):
    """Bidirectional(GRU, return_sequences, merge_mode=None) -> two outputs (both masked when the
    input is); Bidirectional(LSTM, merge_mode=None, return_state) -> 6 tensors; Bidirectional
    (SimpleRNN, concat, return_state) -> [merged, h_fw, h_bw]; with an Embedding(mask_zero)
    in front when masked."""
    name = "bidirectional_none_masked_k2" if masked else "bidirectional_none_k2"
    c = Case(name, 4)
    B, T, F = 4, 7, 3
    if masked:
        ids = rs.randint(1, 9, size=(B, T)).astype(np.int32)
        ids[0, 5:] = 0
        ids[1, :2] = 0
        ids[2, 3] = 0
        ids[3, :] = 0  # all masked: states stay zero
        c.inputs.append(("ids", ids))
        c.layers.append(entry({"module": "keras.layers", "class_name": "InputLayer",
                               "config": {"batch_input_shape": [None, T], "dtype": "int32",
                                          "name": "ids"}, "registered_name": None}, "ids", []))
        emb = rng_weights(rs, (9, F), 1.0)
        c.layers.append(entry({"module": "keras.layers", "class_name": "Embedding",
                               "config": {"name": "embedding", "input_dim": 9, "output_dim": F,
                                          "mask_zero": True}, "registered_name": None},
                              "embedding", [[ref("ids")]]))
        c.add_weights("embedding", "Embedding", [("embeddings", emb, "")])
        xd = emb.astype(np.float64)[ids]
        mask = ids != 0
        src = "embedding"
    else:
        x = rs.uniform(-1, 1, size=(B, T, F)).astype(np.float32)
        c.inputs.append(("seq", x))
        c.layers.append(entry({"module": "keras.layers", "class_name": "InputLayer",
                               "config": {"batch_input_shape": [None, T, F], "dtype": "float32",
                                          "name": "seq"}, "registered_name": None}, "seq", []))
        xd = x.astype(np.float64)
        mask = None
        src = "seq"

    def bidir(lname, kind, units, merge, **kw):
        fw = rnn_vars(rs, kind, F, units)
        bw = rnn_vars(rs, kind, F, units)
        c.layers.append(entry({"module": "keras.layers", "class_name": "Bidirectional",
                               "config": {"name": lname, "trainable": True, "dtype": "float32",
                                          "layer": rnn_config(kind, kind.lower(), units, **kw),
                                          "merge_mode": merge}, "registered_name": None},
                              lname, [[ref(src)]]))
        c.add_weights(lname, "Bidirectional",
                      [(n, a, "forward_layer/cell") for n, a in fw]
                      + [(n, a, "backward_layer/cell") for n, a in bw])
        rseq = kw.get("return_sequences", False)
        yf, sf = rnn_run(kind, f64(fw), xd, mask, False, rseq, rseq)
        yb, sb = rnn_run(kind, f64(bw), xd, mask, True, rseq, rseq)
        if rseq:
            yb = yb[:, ::-1, :]
        return yf, yb, sf, sb

    yf, yb, _, _ = bidir("bi_gru", "GRU", 4, None, return_sequences=True)
    c.outputs += [("bi_gru", yf), ("bi_gru_1", yb)]
    yf2, yb2, sf2, sb2 = bidir("bi_lstm", "LSTM", 3, None, return_state=True)
    outs2 = [yf2, yb2] + sf2 + sb2
    names2 = ["bi_lstm"] + [f"bi_lstm_{k}" for k in range(1, 6)]
    c.outputs += list(zip(names2, outs2))
    yf3, yb3, sf3, sb3 = bidir("bi_rnn", "SimpleRNN", 2, "concat", return_state=True)
    c.outputs += [("bi_rnn", np.concatenate([yf3, yb3], axis=-1)),
                  ("bi_rnn_1", sf3[0]), ("bi_rnn_2", sb3[0])]
    inputs = [["ids" if masked else "seq", 0, 0]]
    outputs = [["bi_gru", 0, 0], ["bi_gru", 0, 1]]
    outputs += [["bi_lstm", 0, k] for k in range(6)]
    outputs += [["bi_rnn", 0, k] for k in range(3)]
    return c.write(inputs, outputs)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    rs = np.random.RandomState(1107)
    cases = [case_return_state(rs), case_bidirectional_none(rs, False),
             case_bidirectional_none(rs, True)]
    with open(os.path.join(ROOT, "MANIFEST.json"), "w") as f:
        json.dump({"format": "sidecar-golden-manifest", "generator": "scripts/golden/rnn_numpy.py",
                   "oracle": {"package": "numpy", "precision": "float64"}, "cases": cases},
                  f, indent=1)
    print(f"wrote {len(cases)} cases to {os.path.normpath(ROOT)}")


if __name__ == "__main__":
    main()
