"""Selections, downstream probes and training-based scores of ``bench_transfer.py``."""

import time
import warnings

import numpy as np
import torch
from _common import count_forgetting_events, timed
from _transfer_settings import (
    FIXED_STRATEGIES,
    OTHER_SPLIT,
    PROBE_C,
    SPLITS,
    TRAINING,
)
from imblearn.pipeline import Pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklearn_dlc import (
    ConfidenceHardness,
    FlexRandSampler,
    TrainingDynamicsHardness,
    choose_selection,
)


def select(hardness, y, keep, strategy, seed, split=0.5, **params):
    sampler = FlexRandSampler(
        1.0 - keep, split=split, strategy=strategy, random_state=seed, **params
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


def recipe(F, y, hardness, keep, seed):
    """The recommended recipe: ``choose_selection`` on the pool, then prune."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler, results = choose_selection(
            LogisticRegression(C=PROBE_C, max_iter=300),
            F,
            y,
            hardness=hardness,
            pruning_rate=1.0 - keep,
            random_state=seed,
        )
    sampler.fit_resample(np.arange(len(y)).reshape(-1, 1), y, hardness=hardness)
    return sampler.sample_indices_, results["tilt"]


def selections(scores, y, keep, seed, F_pool, do_cv):
    """Kept indices of every method at one kept fraction and seed.

    Returns the indices by method and the choices of the two cross-validated
    methods: ``{"split": <FlexRand split>, "tilt": <recipe's tilt>}``.
    """
    dlc = scores["DLC"]
    out = {"random": select(None, y, keep, "random", seed)}
    out["DLC easy"] = select(dlc, y, keep, "easy", seed)
    out["DLC hard"] = select(dlc, y, keep, "hard", seed)
    for split in SPLITS:
        out[f"DLC flex {split}"] = select(dlc, y, keep, "flexrand", seed, split)
    for name, (strategy, params) in FIXED_STRATEGIES.items():
        out[name] = select(dlc, y, keep, strategy, seed, **params)
    chosen = {"split": None, "tilt": None}
    if do_cv:
        chosen["split"] = cv_split(F_pool, y, dlc, keep, seed)
        out["DLC flex cv"] = select(dlc, y, keep, "flexrand", seed, chosen["split"])
        out["DLC recipe"], chosen["tilt"] = recipe(F_pool, y, dlc, keep, seed)
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


def standardize(F_pool, F_test):
    scaler = StandardScaler().fit(F_pool)
    return scaler.transform(F_pool), scaler.transform(F_test)
