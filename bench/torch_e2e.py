#!/usr/bin/env python3
"""PyTorch reference for bench_e2e (run by it; not a test).

    torch_e2e.py DIR CASE:BATCH [CASE:BATCH ...]

DIR holds what bench_e2e wrote: per case (cnn, deep) the weights <case>_weights.npz (Keras
layout, arrays <layer>_<var>) and the data <case>.npz (x float32 NHWC, y int64). Builds the same
model in PyTorch (eval(), no_grad()), converting the layouts:
  Dense kernel [in, out]            -> Linear weight [out, in]           (transpose)
  Conv2D kernel (kh, kw, cin, cout) -> Conv2d weight (cout, cin, kh, kw)
  input NHWC                        -> NCHW (converted once, outside the timing)
  Keras flattens (h, w, c), torch (c, h, w): the first Dense kernel's rows are permuted to match.
Then times the forward loop alone: every batch of BATCH examples, already in memory as
contiguous NCHW tensors, through the model and its softmax (no reading, no metrics), with 1 and
2 threads (torch.set_num_threads, and the same count for the OpenBLAS torch's Linear calls),
each with torch.backends.mkldnn on and off; best loop of REPS after a warm-up loop (fewer for
a setting already twice as slow as the best one). Prints
  RESULT case=<name> threads=<n> mkldnn=<0|1> best_s=<s> cpu1_s=<s> loss=<x> acc=<x>
with the fastest setting, cpu1_s the best process CPU time of a loop at one thread, and Keras'
sparse categorical cross-entropy and accuracy of the outputs (the loss from the logits, as
Keras computes it for a softmax output; the accuracy from the argmax of the probabilities).
"""
import math
import sys
import time

import numpy as np
import torch

from torch_forward import loaded_openblas  # beside this script

REPS = 3


def linear(w, layer, rows_perm=None):
    k = w[f"{layer}_kernel"]
    if rows_perm is not None:
        k = k[rows_perm]
    lin = torch.nn.Linear(k.shape[0], k.shape[1])
    lin.weight.data = torch.from_numpy(np.ascontiguousarray(k.T))
    lin.bias.data = torch.from_numpy(w[f"{layer}_bias"])
    return lin


def conv(w, layer, padding=0):
    k = w[f"{layer}_kernel"]  # (kh, kw, cin, cout)
    c = torch.nn.Conv2d(k.shape[2], k.shape[3], (k.shape[0], k.shape[1]), padding=padding)
    c.weight.data = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
    c.bias.data = torch.from_numpy(w[f"{layer}_bias"])
    return c


def cnn(w):
    # torch's flattened index c*25 + h*5 + w must read Keras' row (h*5 + w)*64 + c
    perm = np.arange(5 * 5 * 64).reshape(5, 5, 64).transpose(2, 0, 1).reshape(-1)
    return torch.nn.Sequential(
        conv(w, "conv2d"), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        conv(w, "conv2d_1"), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), linear(w, "dense", perm), torch.nn.ReLU(),
        linear(w, "dense_1")).eval()


def deep(w):
    layers = []
    for name in ("c1", "c2", "p", "c3", "c4", "p", "c5", "c6"):
        if name == "p":
            layers.append(torch.nn.MaxPool2d(2))
        else:  # 3x3 'same', stride 1: Keras pads 1 on each side
            layers += [conv(w, name, 1), torch.nn.ReLU()]
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), linear(w, "dense")]
    return torch.nn.Sequential(*layers).eval()


def forward_loop(logits_model, batches):
    for xb in batches:
        torch.softmax(logits_model(xb), dim=1)


def timed_loop(model, batches):
    c0, t0 = time.process_time(), time.perf_counter()
    forward_loop(model, batches)
    return time.perf_counter() - t0, time.process_time() - c0


def best_loop(model, batches, best_so_far):
    """Best of REPS loops after a warm-up loop. A setting more than twice as slow as the best so
    far stops early (it cannot win, and the bench stays short): after the warm-up loop, whose
    time (one-time costs included) then stands for it, or after one timed loop."""
    with torch.no_grad():
        best, cpu = timed_loop(model, batches)  # warm-up
        if best > 2 * best_so_far:
            return best, cpu
        best, cpu = math.inf, math.inf
        for _ in range(REPS):
            wall, c = timed_loop(model, batches)
            best, cpu = min(best, wall), min(cpu, c)
            if best > 2 * best_so_far:
                break
    return best, cpu


def metrics(model, batches, y):
    with torch.no_grad():
        z = torch.cat([model(xb) for xb in batches]).double()
        p = torch.softmax(z.float(), dim=1)
    yt = torch.from_numpy(y)
    loss = (torch.logsumexp(z, dim=1) - z.gather(1, yt.view(-1, 1)).squeeze(1)).mean().item()
    acc = (p.argmax(dim=1) == yt).double().mean().item()
    return loss, acc


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: torch_e2e.py DIR CASE:BATCH [CASE:BATCH ...]")
    d = sys.argv[1]
    _, blas = loaded_openblas()
    print(f"torch {torch.__version__}: default threads {torch.get_num_threads()}", flush=True)
    for arg in sys.argv[2:]:
        name, batch = arg.split(":")
        batch = int(batch)
        w = dict(np.load(f"{d}/{name}_weights.npz"))
        model = {"cnn": cnn, "deep": deep}[name](w)
        data = np.load(f"{d}/{name}.npz")
        x = torch.from_numpy(data["x"]).permute(0, 3, 1, 2).contiguous()
        y = data["y"]
        batches = [x[i:i + batch].contiguous() for i in range(0, x.shape[0], batch)]
        torch.set_num_threads(1)
        torch.backends.mkldnn.enabled = True
        loss, acc = metrics(model, batches, y)
        timings, cpu = {}, {}
        for threads in (1, 2):
            for mkldnn in (1, 0):
                torch.set_num_threads(threads)
                if blas is not None:
                    blas.openblas_set_num_threads(threads)
                torch.backends.mkldnn.enabled = bool(mkldnn)
                timings[threads, mkldnn], cpu[threads, mkldnn] = best_loop(
                    model, batches, min(timings.values(), default=math.inf))
        threads, mkldnn = min(timings, key=timings.get)
        print(f"torch {name}: " + ", ".join(
            f"{t} thread{'s' if t > 1 else ''} mkldnn {'on' if m else 'off'} {s:.3f} s"
            for (t, m), s in timings.items()), flush=True)
        print(f"RESULT case={name} threads={threads} mkldnn={mkldnn} "
              f"best_s={timings[threads, mkldnn]:.9g} cpu1_s={min(cpu[1, 0], cpu[1, 1]):.9g} "
              f"loss={loss:.9g} acc={acc:.9g}", flush=True)


if __name__ == "__main__":
    main()
