"""The two workloads of ``bench_transfer.py``: data, DLC scores, dense features
and training-based scores, computed once per network."""

import _workloads as W
import numpy as np
import torch
from _common import banking77, subsample_per_class, timed
from _transfer_methods import standardize, training_scores
from sklearn.preprocessing import LabelEncoder

from sklearn_dlc import DLCHardness, fine_tune
from sklearn_dlc.demo import load_minilm


def score_dlc(model, X, y, cfg, log):
    """DLC scores of the pool (with every subnet's column) and their time."""
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
    return dlc, t_dlc


def score_dlc_auto(model, X, y, log):
    """Scores and time of ``n_subnets="auto"`` (the paper's path, step 0.02)."""
    auto, t_auto = timed(
        DLCHardness(model, n_subnets="auto", batch_size=128, random_state=0).fit,
        X,
        y,
    )
    log(f"  DLC n_subnets='auto': {t_auto:.1f} s, {auto.n_passes_} passes")
    return auto, t_auto


def intent_pool(labels, n_intents, n_per_class, random_state=0):
    """Indices of ``n_per_class`` queries of ``n_intents`` random intents.

    The intents are drawn among those with at least ``n_per_class``
    training queries, so that every intent keeps the same count at a given
    fraction and every fraction a different one.
    """
    rng = np.random.default_rng(random_state)
    names, sizes = np.unique(labels, return_counts=True)
    chosen = np.sort(rng.permutation(names[sizes >= n_per_class])[:n_intents])
    return np.sort(
        np.concatenate(
            [
                rng.choice(np.flatnonzero(labels == c), n_per_class, replace=False)
                for c in chosen
            ]
        )
    )


def prepare_minilm(cfg, data, log):
    """MiniLM on BANKING77 (shipped with the package: ``data`` is unused)."""
    model = load_minilm(max_seq_length=cfg["seq_len"])
    texts, labels = banking77("train")
    pool = intent_pool(labels, cfg["n_intents"], cfg["n_per_class"])
    texts, labels = texts[pool], labels[pool]
    test_texts, test_labels = banking77("test")
    in_pool = np.isin(test_labels, labels)
    test_texts, test_labels = test_texts[in_pool], test_labels[in_pool]
    enc = LabelEncoder().fit(labels)
    y, y_test = enc.transform(labels), enc.transform(test_labels)
    tok, tok_test = W.tokenize(model, texts), W.tokenize(model, test_texts)
    log(
        f"minilm: pool {len(y)} ({cfg['n_per_class']}/class), test {len(y_test)}, "
        f"{len(enc.classes_)} intents, {cfg['seq_len']} tokens"
    )
    dlc, t_dlc = score_dlc(model, tok, y, cfg, log)
    dlc_auto, t_auto = score_dlc_auto(model, tok, y, log)
    F_pool, t_dense = timed(W.sentence_embeddings, model, tok)
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
    ft_test = subsample_per_class(
        y_test, cfg["ft_test_per_class"], np.random.default_rng(0)
    )
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
        dlc_auto=dlc_auto,
        t_dlc_auto=t_auto,
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
    """EfficientNet-Lite0 on CIFAR-10 from the folder ``data``."""
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
    dlc, t_dlc = score_dlc(model, X, y, cfg, log)
    dlc_auto, t_auto = score_dlc_auto(model, X, y, log)
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
        dlc_auto=dlc_auto,
        t_dlc_auto=t_auto,
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
