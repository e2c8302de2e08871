"""The ``python -m sklearn_dlc demo --digits`` experiment: a small CNN, UCI digits.

A CNN pre-trained on MNIST digits (shipped with the package) is fine-tuned on
pruned subsets of scikit-learn's UCI digits, a different domain. The subsets
come from :class:`~sklearn_dlc.DLCHardness` scores with
:class:`~sklearn_dlc.FlexRandSampler`, or from stratified random sampling.
"""

import math
import sys
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from .._dlc_hardness import DLCHardness
from .._flexrand_sampler import FlexRandSampler
from ._common import (
    check_positive_int,
    check_rates,
    check_split,
    format_table,
    limit_threads,
    plural,
    require_matplotlib,
    resolve_device,
    save_plot,
    seed_range,
    summary,
)
from ._pretrained import fine_tune, load_digits_cnn, to_digits_input

_BATCH_SIZE = 64
_LR = 1e-3


def _check_args(rates, seeds, split, n_subnets, epochs, n_threads):
    rates = check_rates(rates)
    for name, value in [
        ("seeds", seeds),
        ("n_subnets", n_subnets),
        ("epochs", epochs),
        ("n_threads", n_threads),
    ]:
        check_positive_int(name, value)
    check_split("split", split)
    return rates


def _n_batches(n_samples):
    return math.ceil(n_samples / _BATCH_SIZE)


def _accuracy(net, X, y):
    with torch.no_grad():
        predicted = net(X).argmax(1).cpu().numpy()
    return float(np.mean(predicted == y))


def run_digits_demo(
    rates=(0.5, 0.7, 0.9),
    seeds=3,
    *,
    device="cpu",
    split=0.5,
    n_subnets=50,
    epochs=10,
    match_steps=True,
    plot=None,
    n_threads=1,
    out=None,
    progress=True,
):
    """Compare DLC + FlexRand with random pruning on scikit-learn's digits.

    The 1,797 UCI digits are split 80/20, stratified, with
    ``random_state=0``. :func:`~sklearn_dlc.load_digits_cnn`, pre-trained on
    MNIST digits, scores the training split once with
    :class:`~sklearn_dlc.DLCHardness` (timed). For every pruning rate and
    every seed ``0 .. seeds - 1``, :class:`~sklearn_dlc.FlexRandSampler`
    keeps ``1 - rate`` of every class, once with ``strategy="flexrand"`` on
    those scores and once with ``strategy="random"``; a copy of the
    pre-trained network is fine-tuned on each subset with
    :func:`~sklearn_dlc.fine_tune` (Adam, learning rate 1e-3, batch size 64)
    and its test accuracy recorded. Both methods use the same seed for the
    sampler and for the fine-tuning shuffles, so the comparison is paired. A
    network fine-tuned on the whole training split is the reference.

    Parameters
    ----------
    rates : sequence of float in [0, 1), default=(0.5, 0.7, 0.9)
        Pruning rates: fractions of every class that are *removed*. The paper
        calls the kept fraction ``1 - rate`` the pruning ratio.
    seeds : int, default=3
        Number of seeds (0, 1, ...) per rate and method.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to score and fine-tune; ``"auto"`` uses CUDA when available.
    split : float in (0, 1), default=0.5
        FlexRand's easy/hard boundary (see
        :class:`~sklearn_dlc.FlexRandSampler`). ``0.5`` draws half of the
        kept samples from the easier half of every class and half from the
        harder half.
    n_subnets : int, default=50
        Number of subnets of :class:`~sklearn_dlc.DLCHardness`.
    epochs : int, default=10
        Epochs of the full-data reference run. With ``match_steps=True``,
        every subset is trained for as many gradient steps as that run;
        otherwise for ``epochs`` epochs.
    match_steps : bool, default=True
        Scale the epochs of every subset so that it gets the same number of
        gradient steps as the full-data run. With a fixed epoch count, the
        subsets of high pruning rates get very few steps (3 batches per
        epoch when 90% is pruned), so their accuracy reflects an unfinished
        optimization, with a large spread over seeds, more than the choice of
        samples. Matching the steps isolates the effect of that choice (it
        also means pruning does not shorten the fine-tuning here).
    plot : str or path-like, default=None
        If given, save a figure of test accuracy against pruning rate (mean
        and standard deviation over seeds, both methods) to this file. Needs
        matplotlib (``pip install 'sklearn-dlc[demo]'``).
    n_threads : int, default=1
        Torch CPU threads while the demo runs (restored afterwards). The
        network is tiny: extra threads mostly add synchronization, which
        slows down badly on shared cores.
    out : file-like, default=None
        Where the report is printed; None means :data:`sys.stdout`.
    progress : bool, default=True
        Show progress bars on stderr.

    Returns
    -------
    results : dict
        ``"rows"``: one dict per rate with ``"pruning_rate"``,
        ``"kept_fraction"``, ``"n_kept"`` (DLC + FlexRand subset size),
        ``"n_kept_random"``, ``"epochs"`` (per fine-tuning run), the
        per-seed accuracies ``"dlc_flexrand"`` and ``"random"``, their
        ``"dlc_flexrand_mean"``, ``"dlc_flexrand_std"``, ``"random_mean"``,
        ``"random_std"``, and ``"difference"`` (DLC + FlexRand mean minus
        random mean). Also ``"full_accuracy"``, ``"frozen_accuracy"`` (the
        pre-trained network, not fine-tuned), ``"n_train"``, ``"n_test"``,
        ``"scoring_seconds"``, ``"total_seconds"``, ``"device"`` and the
        settings used. Accuracies are fractions in [0, 1].

    Examples
    --------
    >>> import io
    >>> from sklearn_dlc.demo._digits_demo import run_digits_demo
    >>> results = run_digits_demo(rates=[0.9], seeds=1, n_subnets=3, epochs=1,
    ...                    out=io.StringIO(), progress=False)
    >>> row = results["rows"][0]
    >>> row["pruning_rate"], round(row["kept_fraction"], 2), len(row["random"])
    (0.9, 0.1, 1)
    >>> 0 <= row["dlc_flexrand_mean"] <= 1 and 0 <= row["random_mean"] <= 1
    True
    """
    start = time.perf_counter()
    rates = _check_args(rates, seeds, split, n_subnets, epochs, n_threads)
    device = resolve_device(device)
    if plot is not None:
        require_matplotlib()

    if out is None:
        out = sys.stdout

    def say(line=""):
        print(line, file=out, flush=True)

    with limit_threads(n_threads):
        X, y = load_digits(return_X_y=True)
        X = to_digits_input(X)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.2, stratify=y, random_state=0
        )
        X_test_t = torch.from_numpy(X_test).to(device)
        net = load_digits_cnn()
        frozen_accuracy = _accuracy(net.to(device), X_test_t, y_test)

        say("sklearn-dlc demo: DLC + FlexRand vs random pruning before fine-tuning")
        say(
            f"  data:        scikit-learn digits, {len(X_train)} train / "
            f"{len(X_test)} test (stratified 80/20)"
        )
        say(
            "  network:     DigitsCNN pre-trained on MNIST digits, "
            f"{100 * frozen_accuracy:.1f}% test accuracy frozen"
        )

        scorer = DLCHardness(
            net, n_subnets=n_subnets, device=device, verbose=int(progress)
        )
        tic = time.perf_counter()
        hardness = scorer.fit(X_train, y_train).hardness_
        scoring_seconds = time.perf_counter() - tic
        say(
            f"  scoring:     DLCHardness(n_subnets={n_subnets}) on {len(X_train)} "
            f"samples, {scoring_seconds:.1f} s on {device}, no training"
        )

        full_steps = epochs * _n_batches(len(X_train))

        def subset_epochs(n_kept):
            if not match_steps:
                return epochs
            return max(1, round(full_steps / _n_batches(n_kept)))

        def tune_and_test(indices, seed):
            n_epochs = subset_epochs(len(indices))
            tuned = fine_tune(
                net,
                X_train[indices],
                y_train[indices],
                epochs=n_epochs,
                lr=_LR,
                seed=seed,
                batch_size=_BATCH_SIZE,
                device=device,
            )
            return _accuracy(tuned, X_test_t, y_test), n_epochs

        if match_steps:
            budget = (
                f"{full_steps} steps per run (as full data, {plural(epochs, 'epoch')})"
            )
        else:
            budget = f"{plural(epochs, 'epoch')} per run"
        say(f"  fine-tuning: Adam lr={_LR:g}, batch {_BATCH_SIZE}, {budget}")
        say(
            f"  sampling:    FlexRandSampler(split={split:g}) vs "
            f"strategy='random', {seed_range(seeds)}"
        )
        n_runs = 1 + 2 * len(rates) * seeds
        rows = []
        with tqdm(
            total=n_runs,
            desc="fine-tuning",
            unit="run",
            file=sys.stderr,
            disable=not progress,
            leave=False,
        ) as bar:
            full_accuracy, _ = tune_and_test(np.arange(len(X_train)), 0)
            bar.update()
            for rate in rates:
                accuracies = {"flexrand": [], "random": []}
                sizes = {}
                run_epochs = set()
                for seed in range(seeds):
                    for strategy in ("flexrand", "random"):
                        sampler = FlexRandSampler(
                            rate, split=split, strategy=strategy, random_state=seed
                        )
                        sampler.fit_resample(X_train, y_train, hardness=hardness)
                        indices = sampler.sample_indices_
                        accuracy, n_epochs = tune_and_test(indices, seed)
                        accuracies[strategy].append(accuracy)
                        sizes[strategy] = len(indices)
                        run_epochs.add(n_epochs)
                        bar.update()
                dlc_mean, dlc_std = summary(accuracies["flexrand"])
                random_mean, random_std = summary(accuracies["random"])
                rows.append(
                    {
                        "pruning_rate": float(rate),
                        "kept_fraction": 1.0 - float(rate),
                        "n_kept": sizes["flexrand"],
                        "n_kept_random": sizes["random"],
                        "epochs": sorted(run_epochs),
                        "dlc_flexrand": accuracies["flexrand"],
                        "random": accuracies["random"],
                        "dlc_flexrand_mean": dlc_mean,
                        "dlc_flexrand_std": dlc_std,
                        "random_mean": random_mean,
                        "random_std": random_std,
                        "difference": dlc_mean - random_mean,
                    }
                )

    total_seconds = time.perf_counter() - start
    say()
    say(
        f"  full training split ({len(X_train)} samples): "
        f"{100 * full_accuracy:.1f}% test accuracy"
    )
    say()
    say(
        format_table(
            rows, "epochs", lambda row: "/".join(str(e) for e in row["epochs"])
        )
    )
    say()
    say(
        f"  test accuracy in %, mean ± std over {plural(seeds, 'seed')}; "
        "diff = DLC+FlexRand - random, in points"
    )
    say(f"  scoring time {scoring_seconds:.1f} s, total time {total_seconds:.1f} s")

    results = {
        "rows": rows,
        "full_accuracy": full_accuracy,
        "frozen_accuracy": frozen_accuracy,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "scoring_seconds": scoring_seconds,
        "total_seconds": total_seconds,
        "device": device,
        "seeds": seeds,
        "split": float(split),
        "n_subnets": n_subnets,
        "epochs": epochs,
        "match_steps": match_steps,
    }
    if plot is not None:
        save_plot(
            results,
            plot,
            title="UCI digits, MNIST-pretrained CNN fine-tuned",
            full_label="full training split",
        )
        say(f"  figure saved to {plot}")
    return results
