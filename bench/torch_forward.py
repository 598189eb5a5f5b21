#!/usr/bin/env python3
"""PyTorch reference for bench_forward (run by it; not a test).

    torch_forward.py DIR [MIN_TIME]

DIR holds what bench_forward wrote: Keras-layout weights <model>_<layer>_<var>.npy, the inputs
mlp_x.npy [256,784], cnn_x.npy [256,28,28,1], deep_x.npy and mobile_x.npy [128,32,32,3]
(NHWC), and sidecar's outputs mlp32.npy, mlp256.npy, cnn256.npy, deep128.npy, mobile128.npy. Builds the same models in PyTorch (eval(), no_grad()), converting the
layouts:
  Dense kernel [in, out]            -> Linear weight [out, in]           (transpose)
  Conv2D kernel (kh, kw, cin, cout) -> Conv2d weight (cout, cin, kh, kw)
  input NHWC                        -> NCHW (converted once, outside the timing)
  DepthwiseConv2D kernel (kh, kw, c, 1) -> Conv2d(groups=c) weight (c, 1, kh, kw)
  BatchNormalization                -> BatchNorm2d(eps=1e-3) with the moving statistics
  'same' with stride 2 on an even size pads only the bottom/right (TensorFlow): ZeroPad2d
  Keras flattens (h, w, c), torch (c, h, w): the first Dense kernel's rows are permuted to match.
Times each case like bench_forward (best single call after warm-up, calls repeated until
MIN_TIME seconds passed) with 1 and 2 threads (torch.set_num_threads, and the same count for the
OpenBLAS that torch's Linear calls: torch.set_num_threads does not reach it), each with
torch.backends.mkldnn.enabled on and off (this build's oneDNN convolution is far slower than
its own im2col path on a 1-channel input), keeps the fastest setting, and prints
  RESULT case=<name> threads=<n> mkldnn=<0|1> best_s=<seconds> cpu1_s=<seconds> rel_err=<r>
with cpu1_s the best process CPU time of a call at one thread (either mkldnn setting; unlike the
wall clock it ignores other processes on a busy machine) and r = max|sidecar - torch| /
max|torch| (torch's output at 1 thread, mkldnn on). Other lines are informational and echoed by
bench_forward.
"""
import ctypes
import math
import os
import sys
import time

import numpy as np
import torch

WARMUP = 5
MIN_REPS = 10
MAX_TIME = 4.0  # seconds: slow settings stop at fewer than MIN_REPS calls


def loaded_openblas():
    """The OpenBLAS this process loaded (Debian's torch reaches it through libblas.so.3)."""
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "blas" in line})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads.argtypes = [ctypes.c_int]
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return path, lib
        except (OSError, AttributeError):
            continue
    return None, None


def set_threads(n, blas):
    torch.set_num_threads(n)
    if blas is not None:
        blas.openblas_set_num_threads(n)


def load(d, stem):
    return np.load(os.path.join(d, stem + ".npy"))


def linear(d, prefix, layer, rows_perm=None):
    k = load(d, f"{prefix}_{layer}_kernel")
    if rows_perm is not None:
        k = k[rows_perm]
    lin = torch.nn.Linear(k.shape[0], k.shape[1])
    lin.weight.data = torch.from_numpy(np.ascontiguousarray(k.T))
    lin.bias.data = torch.from_numpy(load(d, f"{prefix}_{layer}_bias"))
    return lin


def conv(d, layer, prefix="cnn", padding=0):
    k = load(d, f"{prefix}_{layer}_kernel")  # (kh, kw, cin, cout)
    c = torch.nn.Conv2d(k.shape[2], k.shape[3], (k.shape[0], k.shape[1]), padding=padding)
    c.weight.data = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
    c.bias.data = torch.from_numpy(load(d, f"{prefix}_{layer}_bias"))
    return c


def deep(d):
    # 3x3 'same' convolutions (stride 1: Keras pads 1 on each side, as padding=1 does)
    layers = []
    for name in ("c1", "c2", "p", "c3", "c4", "p", "c5", "c6"):
        if name == "p":
            layers.append(torch.nn.MaxPool2d(2))
        else:
            layers += [conv(d, name, "deep", 1), torch.nn.ReLU()]
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), linear(d, "deep", "dense")]
    return torch.nn.Sequential(*layers).eval()


def bn(d, layer, channels):
    b = torch.nn.BatchNorm2d(channels, eps=1e-3)
    b.weight.data = torch.from_numpy(load(d, f"mobile_{layer}_bn_gamma"))
    b.bias.data = torch.from_numpy(load(d, f"mobile_{layer}_bn_beta"))
    b.running_mean.data = torch.from_numpy(load(d, f"mobile_{layer}_bn_moving_mean"))
    b.running_var.data = torch.from_numpy(load(d, f"mobile_{layer}_bn_moving_variance"))
    return b


def conv_nb(d, layer, var, stride, depthwise=False):
    """A bias-free Conv2d ('same' padding as TensorFlow pads it) from a Keras kernel."""
    k = load(d, f"mobile_{layer}_{var}")  # (kh, kw, cin, cout) or depthwise (kh, kw, c, 1)
    kh, c = k.shape[0], k.shape[2]
    out = c if depthwise else k.shape[3]
    w = k.transpose(2, 3, 0, 1) if depthwise else k.transpose(3, 2, 0, 1)
    layers = []
    if kh == 3 and stride == 2:  # even input: TensorFlow pads 0 before, 1 after
        layers.append(torch.nn.ZeroPad2d((0, 1, 0, 1)))
    pad = 1 if kh == 3 and stride == 1 else 0
    cv = torch.nn.Conv2d(c, out, kh, stride=stride, padding=pad, bias=False,
                         groups=c if depthwise else 1)
    cv.weight.data = torch.from_numpy(np.ascontiguousarray(w))
    return layers + [cv]


def mobile(d):
    layers = conv_nb(d, "c1", "kernel", 2) + [bn(d, "c1", 32), torch.nn.ReLU6()]
    for dw, pw, filters, stride, cin in (("dw1", "pw1", 64, 1, 32), ("dw2", "pw2", 128, 2, 64),
                                         ("dw3", "pw3", 128, 1, 128)):
        layers += conv_nb(d, dw, "depthwise_kernel", stride, True) + [bn(d, dw, cin),
                                                                      torch.nn.ReLU6()]
        layers += conv_nb(d, pw, "kernel", 1) + [bn(d, pw, filters), torch.nn.ReLU6()]
    layers += conv_nb(d, "sep", "depthwise_kernel", 2, True)
    layers += conv_nb(d, "sep", "pointwise_kernel", 1) + [bn(d, "sep", 256), torch.nn.ReLU6()]
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), linear(d, "mobile", "dense")]
    return torch.nn.Sequential(*layers).eval()


def mlp(d):
    return torch.nn.Sequential(linear(d, "mlp", "dense"), torch.nn.ReLU(),
                               linear(d, "mlp", "dense_1")).eval()


def cnn(d):
    # torch's flattened index c*25 + h*5 + w must read Keras' row (h*5 + w)*64 + c
    h, w, ch = 5, 5, 64
    perm = np.arange(h * w * ch).reshape(h, w, ch).transpose(2, 0, 1).reshape(-1)
    return torch.nn.Sequential(
        conv(d, "conv2d"), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        conv(d, "conv2d_1"), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        linear(d, "cnn", "dense", perm), torch.nn.ReLU(),
        linear(d, "cnn", "dense_1")).eval()


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
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: torch_forward.py DIR [MIN_TIME]")
    d = sys.argv[1]
    min_time = float(sys.argv[2]) if len(sys.argv) == 3 else 0.5
    cfg = torch.__config__.show()
    wanted = ("BLAS_INFO=", "USE_MKLDNN=", "USE_OPENMP=", "CPU capability usage:")
    facts = [f.strip(" -") for line in cfg.splitlines() for f in line.split(",")
             if any(w in f for w in wanted)]
    blas_path, blas = loaded_openblas()
    blas_info = (f"OpenBLAS {blas_path}, core {blas.openblas_get_corename().decode()}, "
                 f"threads {blas.openblas_get_num_threads()}" if blas else "no OpenBLAS loaded")
    print(f"torch {torch.__version__} ({sys.executable}): {', '.join(facts)}; default threads "
          f"{torch.get_num_threads()}; {blas_info}", flush=True)
    mx = torch.from_numpy(load(d, "mlp_x"))
    cx = torch.from_numpy(load(d, "cnn_x")).permute(0, 3, 1, 2).contiguous()
    dx = torch.from_numpy(load(d, "deep_x")).permute(0, 3, 1, 2).contiguous()
    mbx = torch.from_numpy(load(d, "mobile_x")).permute(0, 3, 1, 2).contiguous()
    cases = [("mlp32", mlp(d), mx[:32].contiguous()), ("mlp256", mlp(d), mx),
             ("cnn256", cnn(d), cx), ("deep128", deep(d), dx), ("mobile128", mobile(d), mbx)]
    for name, model, x in cases:
        set_threads(1, blas)
        torch.backends.mkldnn.enabled = True
        with torch.no_grad():
            ref = model(x).numpy()
        ours = load(d, name)
        if ours.shape != ref.shape:
            sys.exit(f"{name}: sidecar output shape {ours.shape}, torch {ref.shape}")
        rel = float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), 1e-30))
        timings, cpu = {}, {}
        for threads in (1, 2):
            for mkldnn in (1, 0):
                set_threads(threads, blas)
                torch.backends.mkldnn.enabled = bool(mkldnn)
                timings[threads, mkldnn], cpu[threads, mkldnn] = best_time(model, x, min_time)
        threads, mkldnn = min(timings, key=timings.get)
        print(f"torch {name}: " + ", ".join(
            f"{t} thread{'s' if t > 1 else ''} mkldnn {'on' if m else 'off'} {s * 1e3:.3f} ms"
            for (t, m), s in timings.items()))
        print(f"RESULT case={name} threads={threads} mkldnn={mkldnn} "
              f"best_s={timings[threads, mkldnn]:.9g} cpu1_s={min(cpu[1, 0], cpu[1, 1]):.9g} "
              f"rel_err={rel:.6g}", flush=True)


if __name__ == "__main__":
    main()
