"""DLC + FlexRand on real pre-trained networks and real downstream data.

Two workloads (``benchmarks/_transfer_data.py``, networks in
``benchmarks/_workloads.py``):

- ``minilm``: all-MiniLM-L6-v2 (22.7M parameters, headless sentence
  encoder) on BANKING77: 30 intents (10 in ``--quick``) drawn among the 66
  with at least 100 training queries, 100 queries each, so that every kept
  fraction keeps a different number per intent (1, 2, 5, 10, 20, 30, 50);
  tested on the 40 test queries of each of these intents;
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

Selections beyond the paper, on the DLC scores: the tilted family at fixed
``tilt`` (1, 4, -1 and inf, which is top-K easy), the budget-adaptive rule
(``strategy="adaptive"``), CCS (``hard_cutoff=0.1``, 50 bins) and the
recommended recipe (``recipe``): :func:`sklearn_dlc.choose_selection` on the
pool (5 folds x 2 repeats at the final per-class count, one-standard-error
rule preferring stratified random), then ``FlexRandSampler`` with the chosen
``tilt``. The cost table also times ``DLCHardness(n_subnets="auto")`` (the
paper's path, step 0.02), the default to come, beside the fixed K.

The last lines are, per network, ``SUMMARY network=<minilm|efficientnet>
recipe_minus_random_keep1=... recipe_minus_random_keep2=...
recipe_minus_random_keep5=... recipe_minus_random_keep10=...
recipe_minus_random_keep20=... recipe_minus_random_keep50=...
adaptive_minus_random_keep1=... adaptive_minus_random_keep10=...
min_over_budgets=... mean_keep1to10=... flex_minus_random_keep10=<points>
flex_minus_random_keep5=<points> spearman_vs_loss_integral=<rho>
dlc_cost_epochs=<x> dlc_auto_cost_epochs=<x> recipe_fallback_rate=<f>``
(probe protocol, points = mean paired difference to random over seeds):
``min_over_budgets`` is the recipe's worst difference over 1-50% kept,
``mean_keep1to10`` its mean over 1, 2, 5 and 10%; "flex" is DLC + FlexRand
with the split chosen by ``GridSearchCV``, as before;
``recipe_fallback_rate`` is how often the recipe chose stratified random.

Usage::

    python benchmarks/bench_transfer.py --quick     # < 10 min on 2 CPU cores
    python benchmarks/bench_transfer.py             # full run
    python benchmarks/bench_transfer.py --out benchmarks/results  # refresh the
                                                    # committed records

Reports go to ``--out`` (default ``benchmarks/out/``), as
``bench_transfer[_quick].{md,json,png}`` or ``<--tag>.*``.

Timings are wall-clock seconds measured side by side in one process with
torch on ``--threads`` threads; compare them as ratios only.
"""

import argparse
import datetime
import json
import sys

import numpy as np
import torch
from _common import (
    Clock,
    add_data_argument,
    add_out_argument,
    command_line,
    machine,
    timed,
)
from _transfer_data import prepare_efficientnet, prepare_minilm
from _transfer_methods import probe, probe_confidence, select, selections, standardize
from _transfer_report import combine, plot, report, summary
from _transfer_settings import CONFIG, FRACTIONS, FT_METHODS
from scipy.stats import spearmanr
from sklearn import set_config
from threadpoolctl import threadpool_limits


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_argument(p)
    p.add_argument("--quick", action="store_true", help="small run, < 10 min")
    p.add_argument("--seeds", type=int, default=None, help="number of seeds")
    p.add_argument(
        "--networks", default="minilm,efficientnet", help="comma-separated subset"
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    add_out_argument(p, "the report, the raw results (JSON) and the figure")
    p.add_argument("--tag", default=None, help="output file stem")
    p.add_argument(
        "--combine",
        nargs="+",
        metavar="JSON",
        help="only merge the results of earlier runs (one network each, run "
        "side by side) into one report under --tag",
    )
    return p.parse_args(argv)


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
        "DLC auto": prep["dlc_auto"].hardness_,
        "least confidence (probe)": conf["least_confidence"],
        "margin (probe)": conf["margin"],
        **prep["train_scores"],
    }
    cost = {
        "DLC": prep["t_dlc"],
        "DLC K=1": prep["t_dlc"] / cfg["n_subnets"],
        "DLC auto": prep["t_dlc_auto"],
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

    per_class = {
        f: np.unique(
            np.bincount(y[select(None, y, f, "random", 0)], minlength=len(set(y)))
        ).tolist()
        for f in FRACTIONS
    }
    log(
        "  kept per class: "
        + ", ".join(f"{f:.0%}: {'/'.join(map(str, c))}" for f, c in per_class.items())
    )
    probe_acc, ft_acc = {}, {}
    cv_chosen = {f: [] for f in FRACTIONS}
    recipe_tilt = {f: [] for f in FRACTIONS}
    for seed in range(seeds):
        for f in FRACTIONS:
            sel, chosen = selections(scores, y, f, seed, F_pool, do_cv=True)
            cv_chosen[f].append(chosen["split"])
            recipe_tilt[f].append(chosen["tilt"])
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
        kept_per_class=per_class,
        auto_passes=int(prep["dlc_auto"].n_passes_),
        recipe_tilt=recipe_tilt,
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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.combine:
        combine(args.combine, args.out, args.tag or "bench_transfer")
        return
    torch.set_num_threads(args.threads)
    # BLAS threads of the probes would fight over the shared cores.
    threadpool_limits(args.threads)
    set_config(enable_metadata_routing=True)
    mode = "quick" if args.quick else "full"
    seeds = args.seeds or CONFIG[mode]["seeds"]
    clock = Clock()
    out = args.out
    stem = args.tag or ("bench_transfer_quick" if args.quick else "bench_transfer")

    def log(msg):
        print(f"[{clock():6.0f}s] {msg}", flush=True)

    run = dict(
        command=command_line("bench_transfer.py", argv),
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
