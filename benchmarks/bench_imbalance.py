"""Per-class budgets and ensembles of draws on imbalanced data.

Two workloads with real class imbalance (networks and loaders shared with
``bench_transfer.py``, see ``_workloads.py``):

- ``banking77_full``: all-MiniLM-L6-v2 on BANKING77's whole training split
  (10,003 queries, 35 to 187 per intent; ``--quick``: 15 intents spread
  evenly over the range of sizes, with all their queries), tested on the
  balanced test split (40 per intent) of the same intents;
- ``cifar10_lt``: EfficientNet-Lite0 at 64 px on a long-tailed CIFAR-10
  pool (exponential profile, 500 training images in class 0 down to 10 in
  class 9, 1,401 in all), tested on the 1,000 official test images plus
  1,000 held-out training images (100 per class).

DLC scores (``n_subnets="auto"``), the dense features and the test
features are computed once per workload and cached with ``joblib.Memory``
under ``--cache`` (default ``<--out>/cache``). The downstream model is a
logistic regression probe on the standardized frozen features
(``bench_transfer``'s probe protocol).

Measured at 2, 5, 10 and 20% kept, for every per-class budget
(``class_budget`` = proportional, balanced, hardness (DRoP-style)) and two
selections: stratified random and the recommended recipe
(:func:`sklearn_dlc.choose_selection` with the same ``class_budget``, run
once per budget and allocation with ``random_state=0``; the chosen tilt is
then used with every sampler seed). Metrics: balanced accuracy and
worst-class recall on the test set, over ``--seeds`` sampler seeds (mean,
std, min, max). Ensembles at 5% kept: ``BalancedBaggingClassifier(
bootstrap=False)`` with ``FlexRandSampler`` as its sampler, fitted on the
features marked with the DLC scores as a ``DLCHardness`` step would hand
them over, with 1 to ``n_members`` members (recipe draws, random draws and
FlexRand at split 0.3), against single models at 5% and 25% kept.

The last lines are, per workload, ``SUMMARY workload=<banking77_full|
cifar10_lt> balanced_minus_proportional_bacc_keep5=...
balanced_minus_proportional_worst_keep5=...
ensemble5_minus_random_ensemble5_keep5=... ensemble5_minus_single25=...
seed_std_keep5=...``: points, mean over seeds, for the recommended
selection; the ensemble fields use the proportional allocation and 5
members; ``seed_std_keep5`` is the std over sampler seeds of its balanced
accuracy at 5% kept (proportional).

Usage::

    python benchmarks/bench_imbalance.py --quick   # < 10 min on 2 CPU cores
    python benchmarks/bench_imbalance.py           # full run
    python benchmarks/bench_imbalance.py --out benchmarks/results
"""

import argparse
import datetime
import json
import sys
import warnings
from pathlib import Path

import _workloads as W
import joblib
import numpy as np
import torch
from _common import (
    Clock,
    add_data_argument,
    add_out_argument,
    banking77,
    command_line,
    machine,
    mark_with_hardness,
    paired,
    timed,
)
from _transfer_methods import standardize
from imblearn.ensemble import BalancedBaggingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.preprocessing import LabelEncoder
from threadpoolctl import threadpool_limits

from sklearn_dlc import DLCHardness, FlexRandSampler, choose_selection
from sklearn_dlc.demo import load_minilm

FRACTIONS = (0.02, 0.05, 0.10, 0.20)
ENSEMBLE_KEEP, SINGLE_KEEP = 0.05, 0.25
ALLOCATIONS = ("proportional", "balanced", "hardness")
ENSEMBLE_BUDGETS = ("proportional", "balanced")
SELECTIONS = ("random", "recipe")
FLEX_SPLIT = 0.3
PROBE_C = 1.0

CONFIG = {
    "full": {
        "banking77_full": dict(n_intents=None, seq_len=32),
        "cifar10_lt": dict(largest=500, smallest=10, holdout_per_class=100, size=64),
        "seeds": 20,
        "ensemble_seeds": 10,
        "n_members": 10,
    },
    "quick": {
        "banking77_full": dict(n_intents=15, seq_len=32),
        "cifar10_lt": dict(largest=500, smallest=10, holdout_per_class=100, size=64),
        "seeds": 8,
        "ensemble_seeds": 4,
        "n_members": 5,
    },
}


def score_and_embed(model, X, y, X_test, y_test, features):
    """DLC scores of the pool (``n_subnets="auto"``) and standardized features."""
    dlc, t_dlc = timed(
        DLCHardness(model, n_subnets="auto", batch_size=128, random_state=0).fit,
        X,
        y,
    )
    F_pool, F_test = standardize(features(model, X), features(model, X_test))
    return dict(
        F_pool=F_pool,
        F_test=F_test,
        y=y,
        y_test=y_test,
        hardness=dlc.hardness_,
        t_dlc=t_dlc,
        n_passes=int(dlc.n_passes_),
    )


def prepare_banking77(cfg, data):
    """Scores and standardized features of BANKING77's training split."""
    torch.set_num_threads(1)
    model = load_minilm(max_seq_length=cfg["seq_len"])
    texts, labels = banking77("train")
    test_texts, test_labels = banking77("test")
    if cfg["n_intents"] is not None:
        # Intents spread evenly over the sizes, so the quick pool keeps the
        # whole range of imbalance (35 to 187 queries).
        names, sizes = np.unique(labels, return_counts=True)
        by_size = names[np.argsort(sizes, kind="stable")]
        pick = np.round(np.linspace(0, len(by_size) - 1, cfg["n_intents"]))
        chosen = by_size[pick.astype(int)]
        texts, labels = texts[np.isin(labels, chosen)], labels[np.isin(labels, chosen)]
    in_pool = np.isin(test_labels, labels)
    test_texts, test_labels = test_texts[in_pool], test_labels[in_pool]
    enc = LabelEncoder().fit(labels)
    y, y_test = enc.transform(labels), enc.transform(test_labels)
    tok, tok_test = W.tokenize(model, texts), W.tokenize(model, test_texts)
    return score_and_embed(model, tok, y, tok_test, y_test, W.sentence_embeddings)


def prepare_cifar10_lt(cfg, data):
    """Scores and standardized features of the long-tailed CIFAR-10 pool."""
    torch.set_num_threads(1)
    model = W.load_efficientnet_lite0()
    X, y, X_hold, y_hold = W.cifar10_long_tailed(
        data,
        cfg["largest"],
        cfg["smallest"],
        cfg["holdout_per_class"],
        cfg["size"],
    )
    X_test, y_test, _ = W.cifar10(data, "test", size=cfg["size"])
    X_test, y_test = np.concatenate([X_test, X_hold]), np.concatenate([y_test, y_hold])
    return score_and_embed(model, X, y, X_test, y_test, W.efficientnet_features)


PREPARE = {"banking77_full": prepare_banking77, "cifar10_lt": prepare_cifar10_lt}


def new_probe():
    return LogisticRegression(C=PROBE_C, max_iter=300)


def evaluate(predict_proba_or_model, F_test, y_test, n_classes):
    """Balanced accuracy and worst-class recall of a model or class probabilities."""
    if isinstance(predict_proba_or_model, np.ndarray):
        pred = predict_proba_or_model.argmax(1)
    else:
        pred = predict_proba_or_model.predict(F_test)
    recall = recall_score(
        y_test, pred, labels=np.arange(n_classes), average=None, zero_division=0
    )
    return float(balanced_accuracy_score(y_test, pred)), float(recall.min())


def fit_probe(F, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on tiny subsets
        return new_probe().fit(F, y)


def sampler_for(selection, keep, allocation, tilt, seed=None):
    if selection == "random":
        params = dict(strategy="random")
    elif selection == "recipe":
        params = dict(strategy="tilt", tilt=tilt)
    else:
        params = dict(strategy="flexrand", split=FLEX_SPLIT)
    return FlexRandSampler(
        1.0 - keep, class_budget=allocation, random_state=seed, **params
    )


def recipe_tilts(F, y, h, fractions, allocations, log):
    tilts = {}
    for f in fractions:
        for allocation in allocations:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _, res = choose_selection(
                    new_probe(),
                    F,
                    y,
                    hardness=h,
                    pruning_rate=1.0 - f,
                    class_budget=allocation,
                    random_state=0,
                )
            tilts[(f, allocation)] = res["tilt"]
        log(
            f"  recipe at {f:.0%}: "
            + ", ".join(f"{a} tilt {tilts[(f, a)]:g}" for a in allocations)
        )
    return tilts


def grid(prep, tilts, seeds, n_classes, log, clock):
    """Balanced accuracy and worst recall per (fraction, allocation, selection)."""
    F, y, h = prep["F_pool"], prep["y"], prep["hardness"]
    out, counts = {}, {}
    for f in FRACTIONS:
        for allocation in ALLOCATIONS:
            for seed in range(seeds):
                for selection in SELECTIONS:
                    key = (f, allocation, selection)
                    tilt = tilts[(f, allocation)]
                    if selection == "recipe" and tilt == 0:
                        # tilt 0 draws exactly the random subset of this seed.
                        res = out[(f, allocation, "random")][seed]
                    else:
                        sampler = sampler_for(selection, f, allocation, tilt, seed)
                        sampler.fit_resample(F, y, hardness=h)
                        idx = sampler.sample_indices_
                        counts[(f, allocation)] = list(
                            sampler.sampling_strategy_.values()
                        )
                        res = evaluate(
                            fit_probe(F[idx], y[idx]),
                            prep["F_test"],
                            prep["y_test"],
                            n_classes,
                        )
                    out.setdefault(key, []).append(res)
        log(f"  grid at {f:.0%} done ({clock():.0f} s)")
    return out, counts


def ensembles(prep, tilts, seeds, n_members, n_classes, log, clock):
    """Balanced accuracy and worst recall of ensembles of 1..n_members draws."""
    F, y, h = prep["F_pool"], prep["y"], prep["hardness"]
    marked = mark_with_hardness(F, h)
    out = {}
    for allocation in ENSEMBLE_BUDGETS:
        for selection in ("random", "recipe", "flexrand"):
            for seed in range(seeds):
                bag = BalancedBaggingClassifier(
                    new_probe(),
                    n_estimators=n_members,
                    sampler=sampler_for(
                        selection,
                        ENSEMBLE_KEEP,
                        allocation,
                        tilts[(ENSEMBLE_KEEP, allocation)],
                    ),
                    bootstrap=False,
                    random_state=seed,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    bag.fit(marked, y)
                proba = np.zeros((len(prep["y_test"]), n_classes))
                curve = []
                for m, member in enumerate(bag.estimators_, start=1):
                    # Every member saw every class: its columns are the classes.
                    proba += member.predict_proba(prep["F_test"])
                    curve.append(evaluate(proba / m, None, prep["y_test"], n_classes))
                out.setdefault((allocation, selection), []).append(curve)
        log(f"  ensembles ({allocation}) done ({clock():.0f} s)")
    singles = {}
    for allocation in ENSEMBLE_BUDGETS:
        for keep in (ENSEMBLE_KEEP, SINGLE_KEEP):
            for seed in range(seeds):
                sampler = sampler_for(
                    "recipe", keep, allocation, tilts[(keep, allocation)], seed
                )
                sampler.fit_resample(F, y, hardness=h)
                idx = sampler.sample_indices_
                singles.setdefault((allocation, keep), []).append(
                    evaluate(
                        fit_probe(F[idx], y[idx]),
                        prep["F_test"],
                        prep["y_test"],
                        n_classes,
                    )
                )
    return out, singles


def run_workload(name, cfg, mode_cfg, data, memory, log):
    clock = Clock()
    prep = memory.cache(PREPARE[name])(cfg, str(data))
    y = prep["y"]
    n_classes = int(y.max()) + 1
    sizes = np.bincount(y)
    log(
        f"{name}: pool {len(y)} ({sizes.min()}-{sizes.max()} per class, "
        f"{n_classes} classes), test {len(prep['y_test'])}; DLC auto "
        f"{prep['n_passes']} passes, {prep['t_dlc']:.0f} s (cached after the "
        f"first run)"
    )
    full = evaluate(
        fit_probe(prep["F_pool"], y), prep["F_test"], prep["y_test"], n_classes
    )
    tilts = recipe_tilts(
        prep["F_pool"], y, prep["hardness"], FRACTIONS, ALLOCATIONS, log
    )
    # The single models at 25% kept compare with the ensembles' allocations.
    tilts.update(
        recipe_tilts(
            prep["F_pool"], y, prep["hardness"], (SINGLE_KEEP,), ENSEMBLE_BUDGETS, log
        )
    )
    results, counts = grid(prep, tilts, mode_cfg["seeds"], n_classes, log, clock)
    ens, singles = ensembles(
        prep,
        tilts,
        mode_cfg["ensemble_seeds"],
        mode_cfg["n_members"],
        n_classes,
        log,
        clock,
    )
    return dict(
        workload=name,
        config=cfg,
        seeds=mode_cfg["seeds"],
        ensemble_seeds=mode_cfg["ensemble_seeds"],
        n_members=mode_cfg["n_members"],
        class_sizes=sizes.tolist(),
        n_test=int(len(prep["y_test"])),
        test_class_sizes=np.bincount(prep["y_test"]).tolist(),
        dlc_passes=prep["n_passes"],
        dlc_s=prep["t_dlc"],
        full_pool=full,
        tilts={f"{f}|{a}": t for (f, a), t in tilts.items()},
        kept_per_class={f"{f}|{a}": c for (f, a), c in counts.items()},
        grid={"|".join(map(str, k)): v for k, v in results.items()},
        ensembles={"|".join(k): v for k, v in ens.items()},
        singles={f"{a}|{k}": v for (a, k), v in singles.items()},
        wall_s=clock(),
    )


# -- report ---------------------------------------------------------------


def _metric(cells, i):
    return np.array([c[i] for c in cells]) * 100


def summary_values(res):
    g, e, s = res["grid"], res["ensembles"], res["singles"]
    keep = ENSEMBLE_KEEP
    bal = g[f"{keep}|balanced|recipe"]
    prop = g[f"{keep}|proportional|recipe"]
    ens5 = _metric([c[4] for c in e["proportional|recipe"]], 0)
    rnd5 = _metric([c[4] for c in e["proportional|random"]], 0)
    single25 = _metric(s[f"proportional|{SINGLE_KEEP}"], 0)
    return dict(
        balanced_minus_proportional_bacc_keep5=paired(
            _metric(bal, 0), _metric(prop, 0), 1.0
        ).mean,
        balanced_minus_proportional_worst_keep5=paired(
            _metric(bal, 1), _metric(prop, 1), 1.0
        ).mean,
        ensemble5_minus_random_ensemble5_keep5=paired(ens5, rnd5, 1.0).mean,
        ensemble5_minus_single25=paired(ens5, single25, 1.0).mean,
        seed_std_keep5=float(_metric(prop, 0).std(ddof=1)),
    )


def summary(res):
    values = summary_values(res)
    return f"SUMMARY workload={res['workload']} " + " ".join(
        f"{k}={v:.2f}" for k, v in values.items()
    )


def _fmt(values):
    return f"{values.mean():.1f} ± {values.std(ddof=1):.1f}"


def report(results, run):
    lines = [
        "# bench_imbalance: per-class budgets and ensembles of draws",
        "",
        f"- command: `{run['command']}`",
        f"- machine: {run['machine']}",
        f"- date: {run['date']}; wall time {run['wall_s'] / 60:.1f} min",
        "",
        "Balanced accuracy and worst-class recall (%) of a logistic-regression "
        "probe on the kept samples, mean ± std over sampler seeds; `recipe` is "
        "`choose_selection` with the same `class_budget` (its tilt in "
        "brackets, 0 = stratified random).",
    ]
    for res in results:
        n = res["seeds"]
        g = res["grid"]
        lines += [
            "",
            f"## {res['workload']}",
            "",
            f"pool {sum(res['class_sizes'])} (per class "
            f"{min(res['class_sizes'])}-{max(res['class_sizes'])}), test "
            f"{res['n_test']} (per class {min(res['test_class_sizes'])}-"
            f"{max(res['test_class_sizes'])}); DLC `n_subnets='auto'`: "
            f"{res['dlc_passes']} passes, {res['dlc_s']:.0f} s; {n} sampler seeds; "
            f"config `{json.dumps(res['config'])}`",
            "",
            f"- probe on the whole pool: balanced accuracy "
            f"{100 * res['full_pool'][0]:.1f}, worst-class recall "
            f"{100 * res['full_pool'][1]:.1f}",
            "- kept per class (min-max): "
            + "; ".join(
                f"{float(k.split('|')[0]):.0%} {k.split('|')[1]} "
                f"{min(c)}-{max(c)} (total {sum(c)})"
                for k, c in res["kept_per_class"].items()
            ),
            "",
            "| kept | allocation | selection | balanced accuracy | worst-class "
            "recall | minus proportional (bacc / worst) |",
            "|---|---|---|---|---|---|",
        ]
        for f in FRACTIONS:
            for allocation in ALLOCATIONS:
                for selection in SELECTIONS:
                    cells = g[f"{f}|{allocation}|{selection}"]
                    ref = g[f"{f}|proportional|{selection}"]
                    tilt = res["tilts"][f"{f}|{allocation}"]
                    name = selection + (f" [{tilt:g}]" if selection == "recipe" else "")
                    diff = "—"
                    if allocation != "proportional":
                        d0 = paired(_metric(cells, 0), _metric(ref, 0), 1.0).mean
                        d1 = paired(_metric(cells, 1), _metric(ref, 1), 1.0).mean
                        diff = f"{d0:+.1f} / {d1:+.1f}"
                    bacc, worst = _fmt(_metric(cells, 0)), _fmt(_metric(cells, 1))
                    lines.append(
                        f"| {f:.0%} | {allocation} | {name} | {bacc} | {worst} "
                        f"| {diff} |"
                    )
        lines += [
            "",
            f"Seed spread of the balanced accuracy over {n} sampler seeds (points):",
            "",
            "| kept | allocation | selection | std | min | max |",
            "|---|---|---|---|---|---|",
        ]
        for f in (0.05, 0.10):
            for allocation in ALLOCATIONS:
                for selection in SELECTIONS:
                    v = _metric(g[f"{f}|{allocation}|{selection}"], 0)
                    lines.append(
                        f"| {f:.0%} | {allocation} | {selection} | {v.std(ddof=1):.2f} "
                        f"| {v.min():.1f} | {v.max():.1f} |"
                    )
        m = res["n_members"]
        lines += [
            "",
            f"Ensembles at {ENSEMBLE_KEEP:.0%} kept per member "
            f"(`BalancedBaggingClassifier(bootstrap=False)`, {res['ensemble_seeds']} "
            "seeds): balanced accuracy / worst-class recall by number of members; "
            f"single models at {ENSEMBLE_KEEP:.0%} and {SINGLE_KEEP:.0%} (recipe).",
            "",
            "| allocation | members' selection | "
            + " | ".join(f"{k} member{'s' if k > 1 else ''}" for k in range(1, m + 1))
            + " |",
            "|---|---|" + "---|" * m,
        ]
        for key, curves in res["ensembles"].items():
            allocation, selection = key.split("|")
            if selection == "flexrand":
                selection = f"FlexRand split {FLEX_SPLIT}"
            cols = [
                f"{_metric([c[k] for c in curves], 0).mean():.1f} / "
                f"{_metric([c[k] for c in curves], 1).mean():.1f}"
                for k in range(m)
            ]
            lines.append(f"| {allocation} | {selection} | " + " | ".join(cols) + " |")
        for key, cells in res["singles"].items():
            allocation, keep = key.split("|")
            lines.append(
                f"- single model, {allocation}, {float(keep):.0%} kept: "
                f"{_metric(cells, 0).mean():.1f} / {_metric(cells, 1).mean():.1f}"
            )
        lines += ["", "```", summary(res), "```"]
    return lines


def combine(paths, out, stem):
    """One report of several runs' results, each run's command kept."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    results = [res for run in runs for res in run["results"]]
    run = dict(
        command="`; `".join(r["run"]["command"] for r in runs),
        machine=runs[0]["run"]["machine"],
        date=", ".join(r["run"]["date"] for r in runs),
        wall_s=sum(r["run"]["wall_s"] for r in runs),
    )
    (out / f"{stem}.json").write_text(
        json.dumps(
            {"run": run, "runs": [r["run"] for r in runs], "results": results},
            indent=1,
            default=float,
        )
    )
    (out / f"{stem}.md").write_text("\n".join(report(results, run)) + "\n")
    for res in results:
        print(summary(res))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_argument(p)
    p.add_argument("--quick", action="store_true", help="small run, < 10 min")
    p.add_argument("--seeds", type=int, default=None, help="sampler seeds")
    p.add_argument(
        "--workloads",
        default="banking77_full,cifar10_lt",
        help="comma-separated subset",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    add_out_argument(p, "the report, the raw results (JSON) and the score cache")
    p.add_argument("--tag", default=None, help="output file stem")
    p.add_argument(
        "--combine",
        nargs="+",
        metavar="JSON",
        help="only merge the results of earlier runs (one workload each) into "
        "one report under --tag",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder of the joblib.Memory cache of the scores and features "
        "(default: <--out>/cache)",
    )
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.combine:
        combine(args.combine, args.out, args.tag or "bench_imbalance")
        return
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    mode = "quick" if args.quick else "full"
    mode_cfg = dict(CONFIG[mode])
    if args.seeds:
        mode_cfg["seeds"] = args.seeds
    memory = joblib.Memory(args.cache or args.out / "cache", verbose=0)
    clock = Clock()
    stem = args.tag or ("bench_imbalance_quick" if args.quick else "bench_imbalance")

    def log(msg):
        print(f"[{clock():6.0f}s] {msg}", flush=True)

    run = dict(
        command=command_line("bench_imbalance.py", argv),
        machine=machine(args.threads),
        date=datetime.datetime.now().isoformat(timespec="seconds"),
    )
    results = []
    for name in args.workloads.split(","):
        res = run_workload(name, mode_cfg[name], mode_cfg, args.data, memory, log)
        results.append(res)
        run["wall_s"] = clock()
        (args.out / f"{stem}.json").write_text(
            json.dumps({"run": run, "results": results}, indent=1, default=float)
        )
        (args.out / f"{stem}.md").write_text("\n".join(report(results, run)) + "\n")
        print(summary(res), flush=True)
    for res in results:
        print(summary(res))


if __name__ == "__main__":
    main()
