"""Wall time of sharded DLC scoring on 1 and 2 workers: loky and a Dask cluster.

One workload (a CIFAR-sized residual CNN with random weights over CIFAR-10
training images, prototype head, ``n_subnets`` subnets) is scored

- in this process (``n_jobs=1``, the single-process path);
- by loky with ``n_jobs=2`` (two local worker processes);
- by a ``dask.distributed.LocalCluster`` of 1 and of 2 worker processes,
  through ``joblib.parallel_config(backend="dask")`` (the single worker has
  two threads, hence two ranges, which it scores in turn: with one thread,
  ``n_jobs`` would be 1, the in-process path).

Every run uses one torch thread per process, so that the speed-up measures
the sharding and not intra-op threads. For each configuration the script
prints the wall time, the speed-up over the single-process run, the parallel
efficiency (speed-up / workers), the maximal relative difference of the
scores from the single-process ones, and the fixed overhead per fit: the
time of a tiny fit (64 samples, 2 subnets) through that configuration, with
its workers already started, minus the same fit in this process. The first
tiny fit also gives the cold start (starting workers, importing torch).

Run ``python benchmarks/bench_scaling.py`` (about 2-4 minutes on two cores);
``--data`` is the folder holding ``cifar10.npz`` (default ``../shared/data``
in this repository's layout; random images when it is absent). The results
go to ``bench_scaling.txt`` in ``--out`` (default ``benchmarks/out/``).

``--resnet50`` instead measures the per-image cost of one forward pass of a
ResNet-50-shaped network (plain torch: bottleneck blocks 3-4-6-3, 25.6 M
parameters, random weights, 224x224 inputs, batch 16, one thread), the unit of
the cost model of ``docs/cluster.rst``, and appends it to that file.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import torch
import torch.nn.functional as F
from _common import (
    add_data_argument,
    add_out_argument,
    command_line,
    load_cifar10,
)
from _workloads import SmallResNet
from torch import nn

from sklearn_dlc import DLCHardness


class Bottleneck(nn.Module):
    def __init__(self, c_in, width, stride):
        super().__init__()
        c_out = 4 * width
        self.body = nn.Sequential(
            nn.Conv2d(c_in, width, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class ResNet50(nn.Module):
    """ResNet-50's layer shapes (He et al., 2016), in plain torch."""

    def __init__(self, n_classes=1000):
        super().__init__()
        layers = [
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        ]
        c_in = 64
        for width, n_blocks, stride in [
            (64, 3, 1),
            (128, 4, 2),
            (256, 6, 2),
            (512, 3, 2),
        ]:
            for i in range(n_blocks):
                layers.append(Bottleneck(c_in, width, stride if i == 0 else 1))
                c_in = 4 * width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(c_in, n_classes)

    def forward(self, x):
        return self.head(self.features(x))


def resnet50_forward_cost(out, argv):
    torch.manual_seed(0)
    model = ResNet50().eval()
    n_params = sum(p.numel() for p in model.parameters())
    x = torch.rand(16, 3, 224, 224)
    with torch.no_grad():
        model(x)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) / len(x))
    runs = ", ".join(f"{t * 1e3:.0f}" for t in times)
    line = (
        f"ResNet-50-shaped network ({n_params / 1e6:.1f} M parameters), 224x224, "
        "batch 16, one torch thread, forward only: median "
        f"{np.median(times) * 1e3:.0f} ms per image (runs: {runs} ms); "
        "the machine was shared with other jobs."
    )
    print(line)
    with open(out, "a") as f:
        f.write(f"\n$ {command_line('bench_scaling.py', argv)}\n{line}\n")


def load_data(folder, n_samples):
    path = Path(folder) / "cifar10.npz"
    if path.exists():
        X, y = load_cifar10(folder, "train")
        X, y = X[:n_samples], y[:n_samples]
        X = (X.astype(np.float32) / 255.0).transpose(0, 3, 1, 2).copy()
        return X, y, f"CIFAR-10 train[:{n_samples}] from {path}"
    rng = np.random.RandomState(0)
    X = rng.rand(n_samples, 3, 32, 32).astype(np.float32)
    y = rng.randint(0, 10, n_samples)
    return X, y, f"random 32x32 images ({path} not found)"


def timed_fit(module, X, y, args, n_subnets, **kwargs):
    scorer = DLCHardness(
        module,
        n_subnets=n_subnets,
        step=args.step,
        batch_size=args.batch_size,
        **kwargs,
    )
    start = time.perf_counter()
    scorer.fit(X, y)
    return time.perf_counter() - start, scorer.hardness_


def measure(name, workers, module, X, y, tiny, args, reference, tiny_local):
    """Cold tiny fit, warm tiny fit, full fit, in the active joblib context."""
    n_jobs = None if name.startswith("dask") else workers
    cold, _ = timed_fit(module, *tiny, args, 2, n_jobs=n_jobs)
    warm, _ = timed_fit(module, *tiny, args, 2, n_jobs=n_jobs)
    wall, h = timed_fit(module, X, y, args, args.n_subnets, n_jobs=n_jobs)
    return {
        "config": name,
        "workers": workers,
        "wall_s": wall,
        "cold_start_s": cold,
        "overhead_s": warm - tiny_local,
        "max_rel_diff": float(np.max(np.abs(h - reference) / np.abs(reference))),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--n-subnets", type=int, default=10)
    parser.add_argument("--step", type=float, default=0.02)
    parser.add_argument("--batch-size", type=int, default=250)
    add_out_argument(parser, "bench_scaling.txt")
    parser.add_argument("--resnet50", action="store_true", help="forward cost only")
    parser.add_argument(
        "--dask-malloc-trim",
        action="store_true",
        help="keep Dask's default MALLOC_TRIM_THRESHOLD_=65536 in the workers",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "bench_scaling.txt"
    os.environ["OMP_NUM_THREADS"] = "1"  # for the worker processes
    torch.set_num_threads(1)
    if args.resnet50:
        resnet50_forward_cost(out, argv)
        return

    import dask
    from dask.distributed import Client, LocalCluster

    # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536, which made
    # torch's CPU forward passes about 2x slower in a worker than in this
    # process (measured here); unset, workers run at this process's speed.
    if not args.dask_malloc_trim:
        dask.config.set(
            {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
        )

    X, y, source = load_data(args.data, args.n_samples)
    torch.manual_seed(0)
    module = SmallResNet().eval()
    tiny = (X[:64], y[:64])
    lines = [
        f"# bench_scaling: {source}; n_subnets={args.n_subnets} step={args.step} "
        f"batch_size={args.batch_size}; one torch thread per process; "
        f"dask workers' MALLOC_TRIM_THRESHOLD_="
        f"{'65536 (default)' if args.dask_malloc_trim else 'unset'}; "
        f"torch={torch.__version__} joblib={joblib.__version__} "
        f"python={platform.python_version()} cpus={os.cpu_count()}",
        "# The machine was shared with other jobs while this ran: wall times "
        "are noisy, and 2 cores bound the speed-up by 2.",
    ]
    print(*lines, sep="\n", flush=True)

    timed_fit(module, *tiny, args, 2)  # warm-up of this process
    tiny_local = min(timed_fit(module, *tiny, args, 2)[0] for _ in range(3))
    single, reference = timed_fit(module, X, y, args, args.n_subnets)
    rows = [
        {
            "config": "in-process (n_jobs=1)",
            "workers": 1,
            "wall_s": single,
            "cold_start_s": 0.0,
            "overhead_s": 0.0,
            "max_rel_diff": 0.0,
        }
    ]
    print(f"in-process: {single:.1f} s", flush=True)
    with joblib.parallel_config(backend="loky"):
        rows.append(
            measure(
                "loky (n_jobs=2)", 2, module, X, y, tiny, args, reference, tiny_local
            )
        )
    print(rows[-1], flush=True)
    for n_workers in (1, 2):
        with (
            LocalCluster(
                n_workers=n_workers,
                # One worker with two threads gets two ranges (scored in
                # turn): one thread would make n_jobs 1, the in-process path.
                threads_per_worker=3 - n_workers,
                processes=True,
                dashboard_address=None,
            ) as cluster,
            Client(cluster),
            joblib.parallel_config(backend="dask"),
        ):
            rows.append(
                measure(
                    f"dask LocalCluster ({n_workers} worker{'s' * (n_workers > 1)})",
                    n_workers,
                    module,
                    X,
                    y,
                    tiny,
                    args,
                    reference,
                    tiny_local,
                )
            )
        print(rows[-1], flush=True)

    header = (
        "| configuration | workers | wall s | speed-up | efficiency | "
        "overhead per fit s | cold start s | max rel diff |"
    )
    table = [header, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        speedup = single / r["wall_s"]
        table.append(
            f"| {r['config']} | {r['workers']} | {r['wall_s']:.1f} | {speedup:.2f} | "
            f"{speedup / r['workers']:.2f} | {r['overhead_s']:.2f} | "
            f"{r['cold_start_s']:.1f} | {r['max_rel_diff']:.1e} |"
        )
    dask1 = next(
        r for r in rows if r["config"].startswith("dask") and r["workers"] == 1
    )
    dask2 = rows[-1]
    table.append(
        f"\nDask, 2 workers over 1 worker: speed-up "
        f"{dask1['wall_s'] / dask2['wall_s']:.2f}, efficiency "
        f"{dask1['wall_s'] / dask2['wall_s'] / 2:.2f}"
    )
    lines += ["", f"$ {command_line('bench_scaling.py', argv)}", "", *table]
    print(*table, sep="\n")
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
