"""DLC + FlexRand on real pre-trained networks and real downstream data.

Two workloads (see ``benchmarks/_workloads.py``):

- ``minilm``: all-MiniLM-L6-v2 (22.7M parameters, headless sentence
  encoder) on BANKING77 intents (77 classes);
- ``efficientnet``: EfficientNet-Lite0 pre-trained on ImageNet (4.65M
  parameters) on CIFAR-10 images upsampled to 64 px.

Per network, a fixed training pool and test set are drawn once; every score
is computed once on the pool (DLC never trains), and every selection then
reuses it through ``FlexRandSampler(...).fit_resample(..., hardness=...)``,
so cross-validating the sampler never re-scores. Seeds vary the random draws
of the selection (and, in the fine-tuning protocol, the head's
initialization and the batch order).

Protocols (downstream model trained on the kept samples only):

- ``probe``: a logistic regression on the frozen dense features of the
  network (the pooled 1280-d features of EfficientNet, the 384-d sentence
  embeddings of MiniLM), standardized with the pool's label-free statistics.
- ``finetune`` (MiniLM only): the last encoder layer plus a new linear head,
  trained with Adam on the kept samples (the lower five layers are frozen,
  their outputs cached once).

Selections: random (stratified); DLC top-K easy / hard; DLC + FlexRand at
split 0.3, 0.5, 0.7 and at the split chosen by 3-fold ``GridSearchCV`` on
the pool (``cv``); the dense prototype score (DLC with K=1, column 0 of the
same run's per-subnet scores); FlexRand on a random permutation of the DLC
scores (control: must match random); probe confidence (least confidence and
margin of out-of-fold logistic regressions, 3 folds: training-based, it
needs labels and fitted probes, but no network training); and the
training-dynamics scores of ``TrainingDynamicsHardness`` (loss integral,
forgetting, EL2N, GraNd), which for MiniLM fine-tune the top layer and head
and for EfficientNet train the linear probe on the frozen features. All
non-DLC scores are used with FlexRand at split 0.3 and with top-K hard.

The last lines are ``SUMMARY network=<minilm|efficientnet>
flex_minus_random_keep10=<points> flex_minus_random_keep5=<points>
spearman_vs_loss_integral=<rho> dlc_cost_epochs=<x>``, where "flex" is DLC +
FlexRand with the cross-validated split in the probe protocol.

Usage::

    python benchmarks/bench_transfer.py --quick     # < 10 min on 2 CPU cores
    python benchmarks/bench_transfer.py             # full run, writes
                                                    # benchmarks/results/

Timings are wall-clock seconds measured side by side in one process with
torch on ``--threads`` threads; compare them as ratios only.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn import set_config
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import LabelEncoder, StandardScaler
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import _workloads as W  # noqa: E402
from imblearn.pipeline import Pipeline  # noqa: E402

from sklearn_dlc import (  # noqa: E402
    ConfidenceHardness,
    DLCHardness,
    FlexRandSampler,
    TrainingDynamicsHardness,
    fine_tune,
)
from sklearn_dlc._training_hardness import count_forgetting_events  # noqa: E402

FRACTIONS = (0.01, 0.02, 0.05, 0.10, 0.20, 0.30, 0.50)
SPLITS = (0.3, 0.5, 0.7)
OTHER_SPLIT = 0.3  # FlexRand split of the training-free non-DLC scores
TRAINING = ("loss integral", "forgetting", "EL2N", "GraNd")
PROBE_C = 1.0

# Sizes chosen for 2 shared CPU cores; --quick shrinks them.
CONFIG = {
    "full": {
        "minilm": dict(
            n_per_class=30,
            seq_len=32,
            n_subnets=10,
            step=0.1,
            ft_epochs=5,
            ft_lr=1e-3,
            ft_batch=32,
            el2n_epoch=1,
            score_runs={"el2n": 3, "grand": 1},
            ft_fractions=(0.05, 0.10),
            ft_test_per_class=20,
        ),
        "efficientnet": dict(
            n_pool=3000,
            n_holdout=1000,
            size=64,
            n_subnets=10,
            step=0.1,
            probe_epochs=10,
            probe_lr=1e-3,
            el2n_epoch=1,
            score_runs={"el2n": 10, "grand": 10},
            epoch_sample=1024,
        ),
        "seeds": 5,
    },
    "quick": {
        "minilm": dict(
            # 20 per class, so that 5% and 10% keep 1 and 2 queries per
            # class (10 per class would keep one at every fraction <= 10%).
            n_per_class=20,
            seq_len=32,
            n_subnets=4,
            step=0.25,
            ft_epochs=3,
            ft_lr=1e-3,
            ft_batch=32,
            el2n_epoch=1,
            score_runs={"el2n": 1, "grand": 1},
            ft_fractions=(),
            ft_test_per_class=20,
        ),
        "efficientnet": dict(
            n_pool=1000,
            n_holdout=0,
            size=64,
            n_subnets=5,
            step=0.2,
            probe_epochs=5,
            probe_lr=1e-3,
            el2n_epoch=1,
            score_runs={"el2n": 2, "grand": 2},
            epoch_sample=256,
        ),
        "seeds": 3,
    },
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(W.DEFAULT_DATA), help="shared data folder")
    p.add_argument("--quick", action="store_true", help="small run, < 10 min")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds")
    p.add_argument(
        "--networks", default="minilm,efficientnet", help="comma-separated subset"
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--out", default=str(HERE / "results"), help="output folder")
    p.add_argument("--tag", default=None, help="output file stem")
    p.add_argument(
        "--combine",
        nargs="+",
        metavar="JSON",
        help="only merge the results of earlier runs (one network each, run "
        "side by side) into one report under --tag",
    )
    return p.parse_args(argv)


def machine(threads):
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if "model name" in line),
                platform.processor(),
            )
    except OSError:
        cpu = platform.processor()
    return (
        f"{cpu}, {os.cpu_count()} cores (shared with other jobs), torch "
        f"{torch.__version__} on {threads} thread(s), "
        f"Python {platform.python_version()}"
    )


class Clock:
    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self):
        return time.perf_counter() - self.start


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


# -- selection and downstream models ----------------------------------


def select(hardness, y, keep, strategy, seed, split=0.5):
    sampler = FlexRandSampler(
        1.0 - keep, split=split, strategy=strategy, random_state=seed
    )
    index = np.arange(len(y)).reshape(-1, 1)
    sampler.fit_resample(index, y, hardness=hardness)
    return sampler.sample_indices_


def probe(F_train, y_train, F_test, y_test):
    clf = LogisticRegression(C=PROBE_C, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on tiny subsets
        clf.fit(F_train, y_train)
    return float(clf.score(F_test, y_test))


def cv_split(F, y, hardness, keep, seed):
    """Split chosen by 3-fold GridSearchCV of the sampler + probe on the pool."""
    sampler = FlexRandSampler(1.0 - keep, random_state=seed)
    sampler.set_fit_resample_request(hardness=True)
    pipe = Pipeline(
        [("prune", sampler), ("clf", LogisticRegression(C=PROBE_C, max_iter=300))]
    )
    search = GridSearchCV(
        pipe,
        {"prune__split": list(SPLITS)},
        cv=StratifiedKFold(3, shuffle=True, random_state=seed),
        refit=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(F, y, hardness=hardness)
    return float(search.best_params_["prune__split"])


def selections(scores, y, keep, seed, F_pool, do_cv):
    """Kept indices of every method at one kept fraction and seed."""
    dlc = scores["DLC"]
    out = {"random": select(None, y, keep, "random", seed)}
    out["DLC easy"] = select(dlc, y, keep, "easy", seed)
    out["DLC hard"] = select(dlc, y, keep, "hard", seed)
    for split in SPLITS:
        out[f"DLC flex {split}"] = select(dlc, y, keep, "flexrand", seed, split)
    chosen = None
    if do_cv:
        chosen = cv_split(F_pool, y, dlc, keep, seed)
        out["DLC flex cv"] = select(dlc, y, keep, "flexrand", seed, chosen)
    permuted = np.random.default_rng(1000 + seed).permutation(dlc)
    out["permuted DLC flex 0.3"] = select(permuted, y, keep, "flexrand", seed, 0.3)
    for name, h in scores.items():
        if name == "DLC":
            continue
        if name not in TRAINING or name == "loss integral":
            out[f"{name} flex {OTHER_SPLIT}"] = select(
                h, y, keep, "flexrand", seed, OTHER_SPLIT
            )
        if name in TRAINING:
            # Their papers keep the hardest (highest-scoring) samples.
            out[f"{name} hard"] = select(h, y, keep, "hard", seed)
    return out, chosen


def probe_confidence(F, y, n_classes, seed):
    """Out-of-fold confidence of 3 logistic-regression probes (two methods)."""
    scores = {m: np.empty(len(y)) for m in ("least_confidence", "margin")}
    folds = StratifiedKFold(3, shuffle=True, random_state=seed)
    for train, held in folds.split(F, y):
        clf = LogisticRegression(C=PROBE_C, max_iter=300).fit(F[train], y[train])
        head = torch.nn.Linear(F.shape[1], n_classes)
        with torch.no_grad():
            head.weight.zero_()
            head.bias.fill_(-1e4)  # classes absent from the fold: never predicted
            head.weight[clf.classes_] = torch.from_numpy(clf.coef_).float()
            head.bias[clf.classes_] = torch.from_numpy(clf.intercept_).float()
        for method in scores:
            scorer = ConfidenceHardness(head, method=method, batch_size=1024)
            scores[method][held] = scorer.fit(F[held], y[held]).hardness_
    return scores


def training_scores(make_module, X, y, epochs, lr, batch, el2n_epoch, runs, log):
    """``runs``: number of independent runs averaged by EL2N and by GraNd."""
    # Loss integral and forgetting come from one run (cost counted for each).
    common = dict(lr=lr, batch_size=batch, max_epochs=epochs)
    scores, cost = {}, {}
    li, t = timed(
        TrainingDynamicsHardness(
            make_module(0), method="loss_integral", random_state=0, **common
        ).fit,
        X,
        y,
    )
    scores["loss integral"] = li.hardness_
    scores["forgetting"] = count_forgetting_events(li.correct_history_).astype(float)
    cost["loss integral"] = cost["forgetting"] = t
    log(f"  loss integral + forgetting ({epochs} epochs, 1 run): {t:.1f} s")
    for method, epoch in (("el2n", el2n_epoch), ("grand", 0)):
        total, t0 = 0.0, time.perf_counter()
        n_runs = runs[method]
        for run in range(n_runs):
            scorer = TrainingDynamicsHardness(
                make_module(run),
                method=method,
                score_epoch=epoch,
                random_state=run,
                **common,
            )
            total = total + scorer.fit(X, y).hardness_
        name = {"el2n": "EL2N", "grand": "GraNd"}[method]
        scores[name] = total / n_runs
        cost[name] = time.perf_counter() - t0
        log(f"  {name} (epoch {epoch}, {n_runs} runs): {cost[name]:.1f} s")
    return scores, cost


# -- workloads ----------------------------------------------------------


def standardize(F_pool, F_test):
    scaler = StandardScaler().fit(F_pool)
    return scaler.transform(F_pool), scaler.transform(F_test)


def prepare_minilm(cfg, data, log):
    model = W.load_minilm(max_seq_length=cfg["seq_len"])
    texts, labels = W.banking77(data, "train", n_per_class=cfg["n_per_class"])
    test_texts, test_labels = W.banking77(data, "test")
    enc = LabelEncoder().fit(labels)
    y, y_test = enc.transform(labels), enc.transform(test_labels)
    tok, tok_test = W.tokenize(model, texts), W.tokenize(model, test_texts)
    log(
        f"minilm: pool {len(y)} ({cfg['n_per_class']}/class), test {len(y_test)}, "
        f"77 classes, {cfg['seq_len']} tokens"
    )
    dlc, t_dlc = timed(
        DLCHardness(
            model,
            n_subnets=cfg["n_subnets"],
            step=cfg["step"],
            batch_size=128,
            store_subnet_scores=True,
            random_state=0,
        ).fit,
        tok,
        y,
    )
    log(
        f"  DLC K={cfg['n_subnets']}: {t_dlc:.1f} s; head {dlc.head_layer_}, "
        f"{dlc.n_masked_weights_} masked weights, max sparsity "
        f"{dlc.sparsities_[-1]:.2f}"
    )
    F_pool, t_dense = timed(W.minilm_embeddings, model, tok)
    H_pool, t_cache = timed(W.minilm_hidden_states, model, tok)
    H_test = W.minilm_hidden_states(model, tok_test)
    n_classes = len(enc.classes_)

    def make_top(seed):
        return W.MiniLMTop(model, n_classes, seed=seed)

    # The dense top layer on the cached states gives MiniLM's embeddings.
    with torch.no_grad():
        F_test = torch.nn.functional.normalize(
            make_top(0).pooled(torch.from_numpy(H_test)), dim=-1
        ).numpy()

    _, t_top_epoch = timed(
        fine_tune,
        make_top(0),
        H_pool,
        y,
        epochs=1,
        lr=cfg["ft_lr"],
        batch_size=cfg["ft_batch"],
    )
    epoch_s = t_cache + t_top_epoch
    log(
        f"  one fine-tuning epoch: {epoch_s:.1f} s (frozen layers {t_cache:.1f} s "
        f"+ top layer and head {t_top_epoch:.1f} s); dense pass {t_dense:.1f} s"
    )
    train_scores, train_cost = training_scores(
        make_top,
        H_pool,
        y,
        cfg["ft_epochs"],
        cfg["ft_lr"],
        cfg["ft_batch"],
        cfg["el2n_epoch"],
        cfg["score_runs"],
        log,
    )
    # Training-based scores also pay for the frozen layers' forward pass.
    train_cost = {k: v + t_cache for k, v in train_cost.items()}

    # Fine-tuned models are evaluated on a fixed stratified part of the test
    # set (ft_test_per_class per class), to keep 5 seeds affordable.
    ft_test = W._subsample(y_test, cfg["ft_test_per_class"], np.random.default_rng(0))
    H_ft, y_ft = torch.from_numpy(H_test[ft_test]), y_test[ft_test]

    def finetune_acc(idx, seed):
        net = fine_tune(
            make_top(seed),
            H_pool[idx],
            y[idx],
            epochs=cfg["ft_epochs"],
            lr=cfg["ft_lr"],
            seed=seed,
            batch_size=cfg["ft_batch"],
        )
        with torch.no_grad():
            pred = torch.cat(
                [net(H_ft[s : s + 512]).argmax(1) for s in range(0, len(H_ft), 512)]
            ).numpy()
        return float((pred == y_ft).mean())

    return dict(
        y=y,
        y_test=y_test,
        dlc=dlc,
        t_dlc=t_dlc,
        F_pool=F_pool,
        F_test=F_test,
        epoch_s=epoch_s,
        train_scores=train_scores,
        train_cost=train_cost,
        t_dense=t_dense,
        finetune=finetune_acc,
        n_classes=n_classes,
    )


def prepare_efficientnet(cfg, data, log):
    model = W.load_efficientnet_lite0()
    X, y, pool_idx = W.cifar10(data, "train", n=cfg["n_pool"], size=cfg["size"])
    X_test, y_test, _ = W.cifar10(data, "test", size=cfg["size"])
    if cfg["n_holdout"]:
        X_hold, y_hold, _ = W.cifar10(
            data,
            "train",
            n=cfg["n_holdout"],
            size=cfg["size"],
            random_state=1,
            exclude=pool_idx,
        )
        X_test = np.concatenate([X_test, X_hold])
        y_test = np.concatenate([y_test, y_hold])
    log(
        f"efficientnet: pool {len(y)}, test {len(y_test)} (1,000 official + "
        f"{cfg['n_holdout']} held out of the training set), {cfg['size']} px"
    )
    dlc, t_dlc = timed(
        DLCHardness(
            model,
            n_subnets=cfg["n_subnets"],
            step=cfg["step"],
            batch_size=128,
            store_subnet_scores=True,
            random_state=0,
        ).fit,
        X,
        y,
    )
    log(
        f"  DLC K={cfg['n_subnets']}: {t_dlc:.1f} s; head {dlc.head_layer_}, "
        f"{dlc.n_masked_weights_} masked weights, max sparsity "
        f"{dlc.sparsities_[-1]:.2f}"
    )
    F_raw, t_dense = timed(W.efficientnet_features, model, X)
    F_test = W.efficientnet_features(model, X_test)
    # One full-network fine-tuning epoch, timed on a subset and scaled to the pool.
    m = min(cfg["epoch_sample"], len(y))
    sub = np.random.default_rng(0).choice(len(y), m, replace=False)
    ft_model = W.load_efficientnet_lite0()
    ft_model._fc = torch.nn.Linear(1280, 10)
    _, t_sub = timed(fine_tune, ft_model, X[sub], y[sub], epochs=1, batch_size=64)
    epoch_s = t_sub * len(y) / m
    log(
        f"  one fine-tuning epoch of the whole network: {epoch_s:.1f} s "
        f"({t_sub:.1f} s on {m} samples); dense pass {t_dense:.1f} s"
    )
    F_pool, F_test = standardize(F_raw, F_test)
    F32 = F_pool.astype(np.float32)

    def make_probe(seed):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return torch.nn.Linear(F32.shape[1], 10)

    train_scores, train_cost = training_scores(
        make_probe,
        F32,
        y,
        cfg["probe_epochs"],
        cfg["probe_lr"],
        64,
        cfg["el2n_epoch"],
        cfg["score_runs"],
        log,
    )
    # Probe-based scores also pay for the dense pass that gives the features.
    train_cost = {k: v + t_dense for k, v in train_cost.items()}
    return dict(
        y=y,
        y_test=y_test,
        dlc=dlc,
        t_dlc=t_dlc,
        F_pool=F_pool,
        F_test=F_test,
        epoch_s=epoch_s,
        train_scores=train_scores,
        train_cost=train_cost,
        t_dense=t_dense,
        finetune=None,
        n_classes=10,
        F_raw=F_raw,
    )


def run_network(name, cfg, seeds, data, log):
    clock = Clock()
    prep = (prepare_minilm if name == "minilm" else prepare_efficientnet)(
        cfg, data, log
    )
    y, dlc = prep["y"], prep["dlc"]
    F_pool, F_test = prep["F_pool"], prep["F_test"]
    if name == "minilm":
        F_pool, F_test = standardize(F_pool, F_test)
    conf, t_conf = timed(probe_confidence, F_pool, y, prep["n_classes"], 0)
    scores = {
        "DLC": dlc.hardness_,
        "DLC K=1": dlc.subnet_scores_[:, 0],
        "least confidence (probe)": conf["least_confidence"],
        "margin (probe)": conf["margin"],
        **prep["train_scores"],
    }
    cost = {
        "DLC": prep["t_dlc"],
        "DLC K=1": prep["t_dlc"] / cfg["n_subnets"],
        "least confidence (probe)": t_conf + prep["t_dense"],
        "margin (probe)": t_conf + prep["t_dense"],
        **prep["train_cost"],
    }
    li = scores["loss integral"]
    spearman = {k: float(spearmanr(v, li)[0]) for k, v in scores.items()}
    counts = {f: int(len(select(None, y, f, "random", 0))) for f in FRACTIONS}
    n_min = {
        f: int(
            sum(
                c == 1
                for c in np.unique(
                    y[select(None, y, f, "random", 0)], return_counts=True
                )[1]
            )
        )
        for f in FRACTIONS
    }

    probe_acc, ft_acc, cv_chosen = {}, {}, {f: [] for f in FRACTIONS}
    for seed in range(seeds):
        for f in FRACTIONS:
            sel, chosen = selections(scores, y, f, seed, F_pool, do_cv=True)
            cv_chosen[f].append(chosen)
            for method, idx in sel.items():
                acc = probe(F_pool[idx], y[idx], F_test, prep["y_test"])
                probe_acc.setdefault(method, {}).setdefault(f, []).append(acc)
            if prep["finetune"] is not None and f in cfg["ft_fractions"]:
                for method in FT_METHODS:
                    acc = prep["finetune"](sel[method], seed)
                    ft_acc.setdefault(method, {}).setdefault(f, []).append(acc)
        log(f"  {name} seed {seed} done ({clock():.0f} s in this network)")
    full_probe = probe(F_pool, y, F_test, prep["y_test"])
    full_ft = None
    if prep["finetune"] is not None and cfg["ft_fractions"]:
        full_ft = prep["finetune"](np.arange(len(y)), 0)

    # Diagnostics: how spread the scores are, and how good the dense prototypes are.
    proto_F = prep.get("F_raw", prep["F_pool"])
    means = np.stack([proto_F[y == c].mean(0) for c in range(prep["n_classes"])])
    dense = dlc.subnet_scores_[:, 0]
    diag = dict(
        ln_n_classes=float(np.log(prep["n_classes"])),
        dlc_mean=float(dlc.hardness_.mean()),
        dlc_std=float(dlc.hardness_.std()),
        dlc_k1_mean=float(dense.mean()),
        per_subnet_mean=dlc.subnet_scores_.mean(0).tolist(),
        sparsities=dlc.sparsities_.tolist(),
        pool_nearest_mean_accuracy=float(
            (
                np.linalg.norm(proto_F[:, None] - means[None], axis=2).argmin(1) == y
            ).mean()
        ),
        class_sizes=np.bincount(y).tolist(),
        kept_counts=counts,
        classes_at_one_sample=n_min,
        cv_chosen_split=cv_chosen,
        full_pool_probe_accuracy=full_probe,
        full_pool_finetune_accuracy=full_ft,
    )
    return dict(
        network=name,
        config=cfg,
        seeds=seeds,
        n_pool=int(len(y)),
        n_test=int(len(prep["y_test"])),
        epoch_s=prep["epoch_s"],
        cost_s=cost,
        cost_epochs={k: v / prep["epoch_s"] for k, v in cost.items()},
        dense_pass_s=prep["t_dense"],
        spearman_vs_loss_integral=spearman,
        probe=probe_acc,
        finetune=ft_acc,
        diagnostics=diag,
        wall_s=clock(),
    )


FT_METHODS = (
    "random",
    "DLC easy",
    "DLC hard",
    "DLC flex 0.3",
    "DLC flex cv",
    "permuted DLC flex 0.3",
    "forgetting hard",
    "EL2N hard",
)


# -- reporting ----------------------------------------------------------


def paired(acc, method, f):
    a = np.asarray(acc[method][f]) - np.asarray(acc["random"][f])
    return 100 * a.mean(), 100 * a.std(ddof=1) if len(a) > 1 else float("nan")


def table(acc, counts, title):
    fr = sorted(next(iter(acc.values())).keys())
    lines = [
        f"#### {title}",
        "",
        "Accuracy (%) of random, then paired difference to random in points "
        "(mean ± std over seeds). Kept counts in the header.",
        "",
        "| method | " + " | ".join(f"{f:.0%} (n={counts[f]})" for f in fr) + " |",
        "|---|" + "---|" * len(fr),
    ]
    r = acc["random"]
    lines.append(
        "| random (accuracy) | "
        + " | ".join(
            f"{100 * np.mean(r[f]):.1f} ± {100 * np.std(r[f], ddof=1):.1f}" for f in fr
        )
        + " |"
    )
    for method in acc:
        if method == "random":
            continue
        cells = []
        for f in fr:
            m, s = paired(acc, method, f)
            cells.append(f"{m:+.1f} ± {s:.1f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def report(results, run):
    lines = [
        "# bench_transfer: DLC + FlexRand on pre-trained networks",
        "",
        f"- command: `{run['command']}`",
        f"- machine: {run['machine']}",
        f"- date: {run['date']}; wall time {run['wall_s'] / 60:.1f} min",
        "",
    ]
    for res in results:
        name, cfg, d = res["network"], res["config"], res["diagnostics"]
        lines += [
            f"## {name}",
            "",
            f"pool {res['n_pool']}, test {res['n_test']}, {res['seeds']} seeds; "
            f"config `{json.dumps(cfg)}`",
            "",
            f"- probe on the whole pool: {100 * d['full_pool_probe_accuracy']:.1f}%"
            + (
                f"; fine-tuned on the whole pool: "
                f"{100 * d['full_pool_finetune_accuracy']:.1f}%"
                if d["full_pool_finetune_accuracy"] is not None
                else ""
            ),
            f"- one fine-tuning epoch on the pool: {res['epoch_s']:.1f} s; dense "
            f"forward pass: {res['dense_pass_s']:.1f} s",
            f"- DLC scores: mean {d['dlc_mean']:.3f}, std {d['dlc_std']:.3f} "
            f"(ln C = {d['ln_n_classes']:.3f}); mean loss per subnet "
            + ", ".join(
                f"{s:.2f}:{v:.2f}"
                for s, v in zip(d["sparsities"], d["per_subnet_mean"])
            )
            + " (sparsity:loss)",
            f"- nearest-class-mean accuracy of the dense features on the pool: "
            f"{100 * d['pool_nearest_mean_accuracy']:.1f}%",
            "- classes kept at a single sample: "
            + ", ".join(
                f"{float(f):.0%}: {n}" for f, n in d["classes_at_one_sample"].items()
            ),
            "- CV-chosen split per kept fraction (per seed): "
            + "; ".join(
                f"{float(f):.0%}: {v}" for f, v in d["cv_chosen_split"].items()
            ),
            "",
            "| score | Spearman vs loss integral | cost (s) "
            "| cost (fine-tuning epochs) |",
            "|---|---|---|---|",
        ]
        for k, rho in res["spearman_vs_loss_integral"].items():
            lines.append(
                f"| {k} | {rho:.3f} | {res['cost_s'][k]:.1f} | "
                f"{res['cost_epochs'][k]:.2f} |"
            )
        counts = {float(f): c for f, c in d["kept_counts"].items()}
        lines += [""] + table(res["probe"], counts, "Linear probe") + [""]
        if res["finetune"]:
            lines += table(res["finetune"], counts, "Fine-tuning") + [""]
    return lines


def summary(res):
    def diff(f):
        if f not in res["probe"].get("DLC flex cv", {}):
            return float("nan")
        return paired(res["probe"], "DLC flex cv", f)[0]

    return (
        f"SUMMARY network={res['network']} "
        f"flex_minus_random_keep10={diff(0.10):.2f} "
        f"flex_minus_random_keep5={diff(0.05):.2f} "
        f"spearman_vs_loss_integral={res['spearman_vs_loss_integral']['DLC']:.3f} "
        f"dlc_cost_epochs={res['cost_epochs']['DLC']:.2f}"
    )


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(r, "probe") for r in results] + [
        (r, "finetune") for r in results if r["finetune"]
    ]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5 * len(panels), 4), squeeze=False
    )
    shown = (
        "DLC flex cv",
        "DLC flex 0.3",
        "DLC hard",
        "DLC easy",
        "permuted DLC flex 0.3",
        "loss integral flex 0.3",
        "EL2N hard",
    )
    colors = dict(zip(shown, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, (res, protocol) in zip(axes[0], panels):
        acc = res[protocol]
        for method in shown:
            if method not in acc:
                continue
            fr = sorted(acc[method])
            d = [paired(acc, method, f) for f in fr]
            ax.errorbar(
                [100 * f for f in fr],
                [m for m, _ in d],
                yerr=[s for _, s in d],
                label=method,
                color=colors[method],
                capsize=2,
                marker="o",
                ms=3,
            )
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ticks = sorted(acc["random"])
        ax.set_xticks([100 * f for f in ticks], [f"{100 * f:g}" for f in ticks])
        ax.minorticks_off()
        ax.set_xlabel("kept fraction of every class (%)")
        ax.set_ylabel("accuracy minus random (points)")
        ax.set_title(f"{res['network']}, {protocol}")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _fractions_as_float(obj):
    """JSON turns the float keys (kept fractions) into str; turn them back."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            with contextlib.suppress(ValueError):
                k = float(k)
            out[k] = _fractions_as_float(v)
        return out
    if isinstance(obj, list):
        return [_fractions_as_float(v) for v in obj]
    return obj


def combine(paths, out, stem):
    runs, results = [], []
    for path in paths:
        data = json.loads(Path(path).read_text())
        runs.append(data["run"])
        results += [_fractions_as_float(r) for r in data["results"]]
    run = dict(
        command=" ; ".join(
            f"{r['command']} [started {r['date']}, {r['wall_s'] / 60:.1f} min]"
            for r in runs
        )
        + " (one process per network; merged with --combine)",
        machine=runs[0]["machine"],
        date=runs[0]["date"],
        wall_s=max(r["wall_s"] for r in runs),
    )
    (out / f"{stem}.json").write_text(
        json.dumps({"run": run, "results": results}, indent=1, default=float)
    )
    (out / f"{stem}.md").write_text("\n".join(report(results, run)) + "\n")
    plot(results, out / f"{stem}.png")
    for res in results:
        print(summary(res))


def main(argv=None):
    args = parse_args(argv)
    if args.combine:
        out = Path(args.out)
        combine(args.combine, out, args.tag or "bench_transfer")
        return
    torch.set_num_threads(args.threads)
    # BLAS threads of the probes would fight over the shared cores.
    threadpool_limits(args.threads)
    set_config(enable_metadata_routing=True)
    mode = "quick" if args.quick else "full"
    seeds = args.seeds or CONFIG[mode]["seeds"]
    clock = Clock()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.tag or ("bench_transfer_quick" if args.quick else "bench_transfer")

    def log(msg):
        print(f"[{clock():6.0f}s] {msg}", flush=True)

    run = dict(
        command="python benchmarks/bench_transfer.py "
        + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        machine=machine(args.threads),
        date=datetime.datetime.now().isoformat(timespec="seconds"),
    )
    results = []
    for name in args.networks.split(","):
        res = run_network(name, CONFIG[mode][name], seeds, args.data, log)
        results.append(res)
        run["wall_s"] = clock()
        (out / f"{stem}.json").write_text(
            json.dumps({"run": run, "results": results}, indent=1, default=float)
        )
        (out / f"{stem}.md").write_text("\n".join(report(results, run)) + "\n")
        print(summary(res), flush=True)
    plot(results, out / f"{stem}.png")
    for res in results:
        print(summary(res))


if __name__ == "__main__":
    main()
