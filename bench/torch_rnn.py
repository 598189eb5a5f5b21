#!/usr/bin/env python3
"""PyTorch reference for bench_rnn (run by it; not a test).

    torch_rnn.py DIR [MIN_TIME]

DIR holds what bench_rnn wrote: lstm_x.npy [B, T, F], the Keras LSTM's lstm_kernel.npy [F, 4u],
lstm_recurrent_kernel.npy [u, 4u], lstm_bias.npy [4u], the Dense's dense_kernel.npy [u, n] and
dense_bias.npy [n], and sidecar's output lstm_y.npy [B, n]. Builds nn.LSTM(F, u,
batch_first=True) + nn.Linear with the same weights: Keras' gate order i, f, c, o is PyTorch's
i, f, g, o, so weight_ih = kernel^T, weight_hh = recurrent_kernel^T, bias_ih = bias, bias_hh = 0
(Keras has one bias); the Dense reads the last hidden state. Times the forward (eval(),
no_grad(); best single call after warm-up, calls repeated until MIN_TIME seconds passed) at 1
and 2 threads, mkldnn on and off, and prints
  RESULT case=lstm threads=<n> mkldnn=<0|1> best_s=<seconds> cpu1_s=<seconds> rel_err=<r>
for the fastest setting, with cpu1_s the best process CPU time of a call at one thread and
r = max|sidecar - torch| / max|torch|. Other lines are informational.
"""
import math
import os
import sys
import time

import numpy as np
import torch

WARMUP = 3
MIN_REPS = 5
MAX_TIME = 8.0


def load(d, stem):
    return np.load(os.path.join(d, stem + ".npy"))


class Net(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        k, rk, b = load(d, "lstm_kernel"), load(d, "lstm_recurrent_kernel"), load(d, "lstm_bias")
        self.lstm = torch.nn.LSTM(k.shape[0], rk.shape[0], batch_first=True)
        self.lstm.weight_ih_l0.data = torch.from_numpy(np.ascontiguousarray(k.T))
        self.lstm.weight_hh_l0.data = torch.from_numpy(np.ascontiguousarray(rk.T))
        self.lstm.bias_ih_l0.data = torch.from_numpy(b.copy())
        self.lstm.bias_hh_l0.data = torch.zeros_like(self.lstm.bias_hh_l0)
        dk = load(d, "dense_kernel")
        self.dense = torch.nn.Linear(dk.shape[0], dk.shape[1])
        self.dense.weight.data = torch.from_numpy(np.ascontiguousarray(dk.T))
        self.dense.bias.data = torch.from_numpy(load(d, "dense_bias"))

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.dense(h[0])


def best_time(model, x, min_time):
    with torch.no_grad():
        for _ in range(WARMUP):
            model(x)
        best, cpu, n, start = math.inf, math.inf, 0, time.perf_counter()
        while (time.perf_counter() - start < min_time
               or (n < MIN_REPS and time.perf_counter() - start < MAX_TIME)):
            c0, t0 = time.process_time(), time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
            n += 1
    return best, cpu


def main():
    d = sys.argv[1]
    min_time = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    print(f"torch {torch.__version__}, mkldnn available {torch.backends.mkldnn.is_available()}")
    model = Net(d).eval()
    x = torch.from_numpy(load(d, "lstm_x"))
    torch.set_num_threads(1)
    with torch.no_grad():
        ref = model(x).numpy()
    ours = load(d, "lstm_y")
    rel = float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))
    best, cpu1 = (math.inf, 0, 0), math.inf
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for mkldnn in (1, 0):
            torch.backends.mkldnn.enabled = bool(mkldnn)
            t, c = best_time(model, x, min_time)
            print(f"torch threads={threads} mkldnn={mkldnn}: {t * 1e3:.2f} ms (cpu {c * 1e3:.2f} ms)")
            if threads == 1:
                cpu1 = min(cpu1, c)
            if t < best[0]:
                best = (t, threads, mkldnn)
    print(f"RESULT case=lstm threads={best[1]} mkldnn={best[2]} best_s={best[0]:.6g} "
          f"cpu1_s={cpu1:.6g} rel_err={rel:.3g}")


if __name__ == "__main__":
    main()
