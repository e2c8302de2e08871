"""Cost of DLC scoring against K plain dense forward passes, side by side.

For each workload this times, in interleaved repetitions within one process:

- ``dense``: K plain forward passes of the unmasked module over the data,
  batched by slicing, under ``torch.no_grad`` (the floor any K-subnet score
  must pay);
- ``dlc``: ``DLCHardness(net, n_subnets=K).fit(X, y)``, the whole scorer
  (validation, masks, prototype head, losses);
- ``prune``: the straightforward alternative, iterative
  ``torch.nn.utils.prune.global_unstructured`` (L1, ``step`` of the remaining
  weights per subnet) with the same forward passes and prototype losses.

in an order rotated from one repetition to the next, and reports the median
time of each and the ratios ``dlc / dense`` (target <= 1.05: the median over
repetitions of the ratio of the two runs of one repetition, which a machine
whose speed drifts disturbs least; also the ratio of the minima, and the
median paired ratio of process CPU time, which other processes on a busy
machine disturb less than wall time) and ``prune / dlc``. Peak memory
is measured per approach in a fresh child process: the growth of the
resident set, sampled every millisecond (CPU), or
``torch.cuda.max_memory_allocated`` (GPU), over the state after loading the
model and data.

Run ``python benchmarks/bench_scoring.py`` (CPU) or ``--device cuda``.
"""

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F
from _common import machine, timed
from _workloads import SmallResNet
from torch import nn
from torch.nn.utils import prune

from sklearn_dlc import DLCHardness, load_digits_cnn, to_digits_input


def workload(name, device, copies=6):
    """Return ``(module, X, y)`` for a named workload.

    ``digits`` repeats scikit-learn's 1,797 digits ``copies`` times (10,782
    samples by default), so that the fixed costs of a fit (validation, masks,
    the head probe) weigh on the ratio as they would on a real data set.
    """
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X, y = np.concatenate([X] * copies), np.concatenate([y] * copies)
        return load_digits_cnn(), to_digits_input(X), y
    n = 50_000 if device == "cuda" else 256
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    module = SmallResNet().eval()
    X = torch.rand(n, 3, 32, 32, generator=gen).numpy()
    y = torch.randint(0, 10, (n,), generator=gen).numpy()
    return module, X, y


def _sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def run_dense(module, X_t, n_subnets, batch_size, device):
    with torch.no_grad():
        for _ in range(n_subnets):
            for start in range(0, len(X_t), batch_size):
                module(X_t[start : start + batch_size].to(device, non_blocking=True))
    _sync(device)


def run_dlc(module, X, y, n_subnets, step, batch_size, device):
    scorer = DLCHardness(
        module, n_subnets=n_subnets, step=step, batch_size=batch_size, device=device
    )
    scorer.fit(X, y)
    _sync(device)
    return scorer.hardness_


def run_prune(module, X_t, y, n_subnets, step, batch_size, device):
    m = copy.deepcopy(module).eval()
    head = m.head
    feats = []
    head.register_forward_pre_hook(lambda mod, a: feats.append(a[0].float()))
    targets = [
        (mod, "weight")
        for mod in m.modules()
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))
        and mod is not head
    ]
    y_t = torch.as_tensor(y, device=device)
    n_classes = int(y_t.max()) + 1
    total = torch.zeros(len(X_t), dtype=torch.float64, device=device)
    with torch.no_grad():
        for k in range(n_subnets):
            if k > 0:
                prune.global_unstructured(
                    targets, pruning_method=prune.L1Unstructured, amount=step
                )
            feats.clear()
            for start in range(0, len(X_t), batch_size):
                m(X_t[start : start + batch_size].to(device, non_blocking=True))
            z = torch.cat(feats)
            if k == 0:
                protos = torch.zeros(n_classes, z.shape[1], device=device)
                protos.index_add_(0, y_t, z)
                protos /= torch.bincount(y_t, minlength=n_classes)[:, None]
            logits = 1.0 / torch.cdist(z, protos).clamp_min(1e-12)
            total += F.cross_entropy(logits, y_t, reduction="none")
    _sync(device)
    return (total / n_subnets).cpu().numpy()


class RssSampler:
    """Peak growth of the resident set over its value at start, sampled."""

    def __init__(self, interval=0.001):
        self._page = resource.getpagesize()
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,))
        self._thread.start()

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self._page

    def _run(self, interval):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        return self.peak - self.base


def peak_memory_child(args, approach):
    """Run one approach in a fresh process; return its peak memory in MiB."""
    cmd = [sys.executable, __file__, "--child", approach] + [
        f"--{k.replace('_', '-')}={v}"
        for k, v in vars(args).items()
        if k in ("workload", "n_subnets", "step", "batch_size", "device", "threads")
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_mib"]


def child(args):
    torch.set_num_threads(args.threads)
    module, X, y = workload(args.workload, args.device)
    module = module.to(args.device)
    X_t = torch.as_tensor(X)
    if args.device == "cuda":
        X_t = X_t.to("cuda")
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        sampler = RssSampler()
    K, p, bs, dev = args.n_subnets, args.step, args.batch_size, args.device
    if args.child == "dense":
        run_dense(module, X_t, K, bs, dev)
    elif args.child == "dlc":
        run_dlc(module, X, y, K, p, bs, dev)
    else:
        run_prune(module, X_t, y, K, p, bs, dev)
    if args.device == "cuda":
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = sampler.stop() / 2**20
    print(json.dumps({"peak_mib": peak}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["digits", "resnet"], default=None)
    parser.add_argument("--n-subnets", type=int, default=50)
    parser.add_argument("--step", type=float, default=0.02)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--child", choices=["dense", "dlc", "prune"])
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    torch.set_num_threads(args.threads)
    workloads = [args.workload] if args.workload else ["digits", "resnet"]
    print(
        f"# bench_scoring: K={args.n_subnets} step={args.step} "
        f"batch_size={args.batch_size} device={args.device} "
        f"threads={args.threads}; {machine(args.threads)}"
        + (f" gpu={torch.cuda.get_device_name()}" if args.device == "cuda" else "")
    )
    rows = []
    for name in workloads:
        module, X, y = workload(name, args.device)
        module = module.to(args.device)
        X_t = torch.as_tensor(X)
        if args.device == "cuda":
            X_t = X_t.to("cuda")
        K, p, bs, dev = args.n_subnets, args.step, args.batch_size, args.device
        h_dlc = run_dlc(module, X, y, K, p, bs, dev)  # warm-up, and agreement
        h_ref = run_prune(module, X_t, y, K, p, bs, dev)
        run_dense(module, X_t, K, bs, dev)
        calls = {
            "dense": (run_dense, module, X_t, K, bs, dev),
            "dlc": (run_dlc, module, X, y, K, p, bs, dev),
            "prune": (run_prune, module, X_t, y, K, p, bs, dev),
        }
        times = {k: [] for k in calls}
        cpu = {k: [] for k in calls}
        keys = list(calls)
        for r in range(args.repeats):
            # Rotated, so that no approach always runs right after another.
            for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
                fn, *fn_args = calls[key]
                cpu_start = time.process_time()
                times[key].append(timed(fn, *fn_args)[1])
                cpu[key].append(time.process_time() - cpu_start)
        med = {k: statistics.median(v) for k, v in times.items()}
        per_rep = [d / b for d, b in zip(times["dlc"], times["dense"])]
        per_rep_cpu = [d / b for d, b in zip(cpu["dlc"], cpu["dense"])]
        row = {
            "workload": name,
            "n_samples": len(X),
            "n_params": sum(q.numel() for q in module.parameters()),
            "dense_s": med["dense"],
            "dlc_s": med["dlc"],
            "prune_s": med["prune"],
            "dlc_over_dense": statistics.median(per_rep),
            "dlc_over_dense_min": min(times["dlc"]) / min(times["dense"]),
            "dlc_over_dense_per_repeat": [round(r, 3) for r in per_rep],
            "dlc_over_dense_cpu": statistics.median(per_rep_cpu),
            "prune_over_dlc": med["prune"] / med["dlc"],
            "max_rel_diff_vs_prune": float(
                np.max(np.abs(h_dlc - h_ref) / np.maximum(np.abs(h_ref), 1e-6))
            ),
        }
        if not args.no_memory:
            for approach in ("dense", "dlc", "prune"):
                args.workload = name
                row[f"{approach}_peak_mib"] = peak_memory_child(args, approach)
        rows.append(row)
        print(json.dumps(row))
    print()
    print(
        "| workload | n | params | dense K passes (s) | DLCHardness (s) | "
        "iterative prune (s) | DLC / dense (median, min, CPU time) | prune / DLC | "
        "peak MiB dense / DLC / prune |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mem = (
            f"{r['dense_peak_mib']:.0f} / {r['dlc_peak_mib']:.0f} / "
            f"{r['prune_peak_mib']:.0f}"
            if "dlc_peak_mib" in r
            else "-"
        )
        print(
            f"| {r['workload']} | {r['n_samples']} | {r['n_params']} | "
            f"{r['dense_s']:.3f} | {r['dlc_s']:.3f} | {r['prune_s']:.3f} | "
            f"{r['dlc_over_dense']:.3f}, {r['dlc_over_dense_min']:.3f}, "
            f"{r['dlc_over_dense_cpu']:.3f} | "
            f"{r['prune_over_dlc']:.2f} | {mem} |"
        )


if __name__ == "__main__":
    main()
