"""Speed and memory of nnlab's training primitives, against PyTorch CPU on the same shapes.

Usage: python bench/lib.py [--repeats N] [--threads T] [--no-memory]

Timed cases (median over N repeats after warm-up; each repeat averages several calls, and
nnlab and torch are timed alternately so background load affects both alike):
  mlp-small   one training step of a 64-128-10 ReLU MLP, batch 64
  mlp-mnist   one training step of a 784-256-10 ReLU MLP, batch 128
  conv        Conv2D forward + backward (incl. input gradient), batch 32, 3->16 channels,
              32x32 input, 3x3 kernel, padding 1
A training step = forward, softmax cross-entropy, backward, SGD update.

PyTorch is the optional [bench] extra; without it only nnlab's times are printed.
Threads: numpy's OpenBLAS uses OPENBLAS_NUM_THREADS / OMP_NUM_THREADS or, by default,
every core (--threads T sets it for both); torch.set_num_threads is set to the same
number so both libraries use the same cores.
Ratios are given against torch in float64 (the precision nnlab computes in) and, for
information, against torch's default float32.

Memory: one epoch of 784-256-10 minibatch training (batch 128) over 60,000 random
samples, run in a fresh subprocess (so torch is not loaded): the process's peak resident
set size and tracemalloc's peak of numpy allocations, both including the 376 MB float64
training set itself.  Target < 500 MB.

Targets: MLP step <= 1.5x torch, Conv2D <= 3x torch.  The last line is a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from nnlab import layers, optim
from nnlab.model import Sequential

MLP_TARGET, CONV_TARGET, MEMORY_TARGET_MB = 1.5, 3.0, 500.0


def numpy_threads() -> int:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit():
            return int(os.environ[var])
    return os.cpu_count() or 1


def interleaved_times(fns, repeats: int, inner: int) -> list[float]:
    """Median seconds per call of each fn, timing the fns alternately.

    Each repeat times a block of `inner` calls of every fn in turn, so a burst of load from
    other processes hits all of them alike; every fn is warmed up first.
    """
    for fn in fns:
        for _ in range(max(3, inner // 2)):
            fn()
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, samples, strict=True):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            bucket.append((time.perf_counter() - start) / inner)
    return [statistics.median(bucket) for bucket in samples]


# --------------------------------------------------------------------------- nnlab


def nnlab_mlp_step(d_in, hidden, d_out, batch, rng):
    model = Sequential(layers.Dense(d_in, hidden, rng), layers.ReLU(),
                       layers.Dense(hidden, d_out, rng))
    opt = optim.SGD(0.01)
    X = rng.normal(size=(batch, d_in))
    y = rng.integers(0, d_out, size=batch)
    params = model.params()

    def step():
        _, grads = model.loss(X, y)
        opt.step(params, grads)

    return step


def nnlab_conv_step(rng):
    conv = layers.Conv2D(3, 16, 3, rng, padding=1)
    x = rng.normal(size=(32, 3, 32, 32))
    dout = rng.normal(size=(32, 16, 32, 32))

    def step():
        conv.forward(x)
        conv.backward(dout)

    return step


# --------------------------------------------------------------------------- torch


def torch_mlp_step(torch, d_in, hidden, d_out, batch, dtype):
    gen = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, d_out)).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    X = torch.randn(batch, d_in, generator=gen, dtype=dtype)
    y = torch.randint(0, d_out, (batch,), generator=gen)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(X), y).backward()
        opt.step()

    return step


def torch_conv_step(torch, dtype):
    gen = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(3, 16, 3, padding=1).to(dtype)
    x = torch.randn(32, 3, 32, 32, generator=gen, dtype=dtype, requires_grad=True)
    dout = torch.randn(32, 16, 32, 32, generator=gen, dtype=dtype)

    def step():
        conv.zero_grad(set_to_none=True)
        x.grad = None
        conv(x).backward(dout)

    return step


# --------------------------------------------------------------------------- memory

MEMORY_SCRIPT = r"""
import json, resource, tracemalloc, numpy as np
from nnlab import layers, optim
from nnlab.model import Sequential, fit
tracemalloc.start()
rng = np.random.default_rng(0)
X = rng.random((60000, 784))
y = rng.integers(0, 10, size=60000)
model = Sequential(layers.Dense(784, 256, rng), layers.ReLU(), layers.Dense(256, 10, rng))
before = tracemalloc.get_traced_memory()[0]
fit(model, X, y, optim.SGD(0.01), epochs=1, batch_size=128, rng=rng)
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"traced_peak": peak, "traced_before_fit": before,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def measure_memory() -> dict:
    out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/torch threads for both libraries (default: numpy's)")
    args = parser.parse_args()
    if args.threads is not None and os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        # OpenBLAS reads its thread count once, at import: restart with it set
        os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(args.threads)
        os.execv(sys.executable, [sys.executable, *sys.argv])

    threads = numpy_threads()
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch not installed (optional: pip install -e '.[bench]'); "
              "timing nnlab only.")
    if torch is not None:
        torch.set_num_threads(threads)
        print(f"threads: numpy/OpenBLAS {threads}, torch.set_num_threads({threads}); "
              f"torch {torch.__version__}, numpy {np.__version__}")

    rng = np.random.default_rng(0)
    cases = [
        ("mlp-small 64-128-10 b64", MLP_TARGET, 200,
         nnlab_mlp_step(64, 128, 10, 64, rng),
         lambda dt: torch_mlp_step(torch, 64, 128, 10, 64, dt)),
        ("mlp-mnist 784-256-10 b128", MLP_TARGET, 50,
         nnlab_mlp_step(784, 256, 10, 128, rng),
         lambda dt: torch_mlp_step(torch, 784, 256, 10, 128, dt)),
        ("conv 32x3x32x32 ->16 k3 p1", CONV_TARGET, 10,
         nnlab_conv_step(rng),
         lambda dt: torch_conv_step(torch, dt)),
    ]
    header = f"{'case':<28}{'nnlab ms':>10}{'torch64 ms':>12}{'ratio':>8}{'target':>8}" \
             f"{'torch32 ms':>12}{'ratio32':>9}"
    print(header)
    print("-" * len(header))
    verdicts = []
    for name, target, inner, ours, theirs in cases:
        if torch is None:
            (t_ours,) = interleaved_times([ours], args.repeats, inner)
            print(f"{name:<28}{t_ours * 1e3:>10.3f}")
            continue
        t_ours, t64, t32 = interleaved_times(
            [ours, theirs(torch.float64), theirs(torch.float32)], args.repeats, inner)
        ratio, ratio32 = t_ours / t64, t_ours / t32
        ok = ratio <= target
        verdicts.append((name.split()[0], ratio, ok))
        print(f"{name:<28}{t_ours * 1e3:>10.3f}{t64 * 1e3:>12.3f}{ratio:>7.2f}x"
              f"{'<=' + str(target):>8}{t32 * 1e3:>12.3f}{ratio32:>8.2f}x"
              f"  {'ok' if ok else 'MISSED'}")

    memory_ok = None
    if not args.no_memory:
        mem = measure_memory()
        rss_mb = mem["maxrss_kb"] / 1024
        traced_mb = mem["traced_peak"] / 2**20
        extra_mb = (mem["traced_peak"] - mem["traced_before_fit"]) / 2**20
        memory_ok = rss_mb < MEMORY_TARGET_MB
        print(f"memory, 784-256-10 epoch over 60000 samples (b128): peak RSS {rss_mb:.0f} MB, "
              f"traced numpy peak {traced_mb:.0f} MB (of which {extra_mb:.0f} MB during fit; "
              f"data alone 359 MiB) -> {'ok' if memory_ok else 'MISSED'} "
              f"(< {MEMORY_TARGET_MB:.0f})")

    parts = [f"{n} {r:.2f}x {'ok' if ok else 'MISSED'}" for n, r, ok in verdicts]
    if memory_ok is not None:
        parts.append(f"memory {'ok' if memory_ok else 'MISSED'}")
    all_ok = all(ok for _, _, ok in verdicts) and memory_ok is not False
    status = "PASS" if all_ok else "FAIL"
    if torch is None:
        status += " (torch absent: ratios not measured)"
    print(f"SUMMARY lib: {status}; " + "; ".join(parts) + f" (threads={threads}, vs torch float64)")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
