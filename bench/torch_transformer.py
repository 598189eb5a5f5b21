#!/usr/bin/env python3
"""PyTorch reference for bench_transformer (run by it; not a test).

    torch_transformer.py DIR [MIN_TIME]

DIR holds what bench_transformer wrote: the Keras variables as <layer>__<name>.npy ('/' -> '_'),
the input x.npy [32, 128, 128] and sidecar's output y.npy. Builds two
torch.nn.TransformerEncoderLayer(128, 4, 512, activation="relu", batch_first=True,
norm_first=False, layer_norm_eps=1e-5) in eval mode with the same weights:
  MHA query/key/value kernels [d, heads, head_dim] -> in_proj_weight rows (transposed,
  heads side by side as torch's view(B, T, heads, head_dim) expects), biases [heads, head_dim]
  -> in_proj_bias; output kernel [heads, head_dim, d] -> out_proj.weight (transposed);
  Dense kernels [in, out] -> Linear weights (transposed); LayerNormalization gamma/beta ->
  norm1 (after attention) and norm2 (after the feed-forward).
Checks max|sidecar - torch| / max|torch| and times the forward (no_grad; best single call
after warm-up, repeated for MIN_TIME s) at 1 and 2 threads (torch.set_num_threads and the
OpenBLAS count), printing
  RESULT threads=<n> best_s=<s> cpu1_s=<s> rel_err=<r>
for the fastest setting (cpu1_s: best process CPU time per call at one thread).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_forward import best_time, loaded_openblas, set_threads  # noqa: E402

D, HEADS, FF, BLOCKS = 128, 4, 512, 2


def load(d, stem):
    return torch.from_numpy(np.load(os.path.join(d, stem + ".npy")))


def encoder(d):
    layers = []
    for b in range(BLOCKS):
        L = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.1, activation="relu",
                                             batch_first=True, norm_first=False,
                                             layer_norm_eps=1e-5)
        m = f"mha_{b}__"
        w = [load(d, f"{m}_{s}_dense_kernel").reshape(D, D).T for s in ("query", "key", "value")]
        bias = [load(d, f"{m}_{s}_dense_bias").reshape(D) for s in ("query", "key", "value")]
        with torch.no_grad():
            L.self_attn.in_proj_weight.copy_(torch.cat(w, 0))
            L.self_attn.in_proj_bias.copy_(torch.cat(bias, 0))
            L.self_attn.out_proj.weight.copy_(load(d, f"{m}_output_dense_kernel").reshape(D, D).T)
            L.self_attn.out_proj.bias.copy_(load(d, f"{m}_output_dense_bias"))
            L.linear1.weight.copy_(load(d, f"ff_{b}_1__kernel").T)
            L.linear1.bias.copy_(load(d, f"ff_{b}_1__bias"))
            L.linear2.weight.copy_(load(d, f"ff_{b}_2__kernel").T)
            L.linear2.bias.copy_(load(d, f"ff_{b}_2__bias"))
            for ln, norm in (("a", L.norm1), ("b", L.norm2)):
                norm.weight.copy_(load(d, f"ln_{b}{ln}__gamma"))
                norm.bias.copy_(load(d, f"ln_{b}{ln}__beta"))
        layers.append(L)
    return torch.nn.Sequential(*layers).eval()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: torch_transformer.py DIR [MIN_TIME]")
    d = sys.argv[1]
    min_time = float(sys.argv[2]) if len(sys.argv) == 3 else 0.5
    _, blas = loaded_openblas()
    model = encoder(d)
    x = load(d, "x")
    set_threads(1, blas)
    with torch.no_grad():
        ref = model(x).numpy()
    ours = np.load(os.path.join(d, "y.npy"))
    rel = float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), 1e-30))
    timings, cpu = {}, {}
    for threads in (1, 2):
        set_threads(threads, blas)
        timings[threads], cpu[threads] = best_time(model, x, min_time)
    threads = min(timings, key=timings.get)
    print(f"torch {torch.__version__}: " + ", ".join(
        f"{t} thread{'s' if t > 1 else ''} {s * 1e3:.3f} ms" for t, s in timings.items()))
    print(f"RESULT threads={threads} best_s={timings[threads]:.9g} cpu1_s={cpu[1]:.9g} "
          f"rel_err={rel:.6g}", flush=True)


if __name__ == "__main__":
    main()
