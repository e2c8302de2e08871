"""TrainingDynamicsHardness: scores that need a fine-tuning run (baselines)."""

import copy
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn_compat.base import _fit_context
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch import nn
from torch.utils.data import Dataset

from . import _engine
from ._base import (
    BaseHardness,
    encode_labels,
    outputs_are_probabilities,
)
from ._engine import LogitLoss, ModelAdapter, as_tensors, log_probabilities, run_pass


def count_forgetting_events(correct):
    """Forgetting events per sample from its correctness at successive snapshots.

    A forgetting event is a snapshot at which a sample is misclassified while
    it was classified correctly at the previous one (Toneva et al., 2019).
    Samples never classified correctly get ``n_snapshots + 1``, more than any
    sample can reach (at most ``n_snapshots // 2`` events), so they rank as
    the most forgotten, as Toneva et al. do.

    Parameters
    ----------
    correct : array-like of bool, shape (n_snapshots, n_samples)
        ``correct[t, i]``: sample ``i`` is classified correctly at snapshot ``t``.

    Returns
    -------
    counts : ndarray of shape (n_samples,), dtype int64

    Examples
    --------
    >>> from sklearn_dlc._training_hardness import count_forgetting_events
    >>> count_forgetting_events([[1, 1, 0, 1], [0, 1, 0, 0], [1, 1, 0, 1]])
    array([1, 0, 4, 1])
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.ndim != 2:
        raise ValueError(
            f"correct must be 2-D (n_snapshots, n_samples); got shape {correct.shape}."
        )
    counts = (correct[:-1] & ~correct[1:]).sum(axis=0).astype(np.int64)
    counts[~correct.any(axis=0)] = len(correct) + 1
    return counts


class _ProbabilityNLL(nn.Module):
    """Cross-entropy of a module that outputs probabilities (skorch's NLLLoss)."""

    def forward(self, probabilities, target):
        return F.nll_loss(log_probabilities(probabilities, True), target)


class _SnapshotLoss(LogitLoss):
    """Per sample: the cross-entropy and whether the prediction is right (1.0)."""

    shape = (2,)

    def scores(self, output, y):
        logp = log_probabilities(output, self.probabilities)
        nll = -logp.gather(1, y[:, None])[:, 0]
        return torch.stack([nll, (logp.argmax(1) == y).to(nll.dtype)], 1)


class _EL2NLoss(LogitLoss):
    """Per sample: the L2 norm of the error of the predicted probabilities."""

    def scores(self, output, y):
        p = log_probabilities(output, self.probabilities).exp()
        return (p - F.one_hot(y, p.shape[1]).to(p.dtype)).norm(dim=1)


class _LabelledDataset(Dataset):
    """A Dataset of inputs (or ``(input, ignored)`` pairs) with new targets."""

    def __init__(self, dataset, targets):
        self.dataset, self.targets = dataset, targets

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        item = self.dataset[i]
        x = item[0] if isinstance(item, (tuple, list)) else item
        return x, self.targets[i]


class _EpochEnd(Callback):
    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, net, **kwargs):
        self.function(net.module_)


def _per_sample_grad_norms(module, xb, target, probabilities):
    """L2 norm of every sample's loss gradient w.r.t. all trainable parameters."""
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in module.named_parameters() if v.requires_grad}
    buffers = dict(module.named_buffers())

    def loss(params, x, t):
        if isinstance(x, Mapping):
            args, kwargs = (), {k: v.unsqueeze(0) for k, v in x.items()}
        else:
            args, kwargs = (x.unsqueeze(0),), {}
        output = functional_call(module, (params, buffers), args, kwargs)
        logp = log_probabilities(output, probabilities)
        return -logp.gather(1, t.view(1, 1)).squeeze()

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, xb, target)
    squared = sum(g.flatten(1).double().square().sum(1) for g in grads.values())
    return squared.sqrt()


class TrainingDynamicsHardness(BaseHardness):
    """Training-based hardness: fine-tune a copy of the network, record each sample.

    A deep copy of the network is fine-tuned on ``(X, y)`` through skorch (all
    trainable parameters, cross-entropy, shuffled mini-batches); the user's
    network is never modified. After every epoch, the copy is evaluated on
    every training sample (eval mode, so batch normalization uses its running
    statistics). The score is, per ``method``:

    - ``"loss_integral"``: the per-sample cross-entropy averaged over the
      snapshots after each of the ``max_epochs`` epochs: the loss integrated
      along the optimization, the "optimization-based learning complexity"
      that DLC approximates without training [1]_.
    - ``"el2n"``: ``||softmax(f(x)) - onehot(y)||_2`` at epoch
      ``score_epoch`` [2]_.
    - ``"grand"``: the L2 norm of the per-sample loss gradient with respect
      to *all* trainable parameters at epoch ``score_epoch`` (exact
      per-sample gradients with :mod:`torch.func`) [2]_.
    - ``"forgetting"``: the number of forgetting events [3]_: snapshots at
      which a sample is misclassified after being classified correctly at the
      previous one. The snapshots are the pre-trained network and the model
      after each epoch, so unlearning what pre-training got right counts.
      Samples never classified correctly get ``max_epochs + 2``, above any
      reachable count (the most forgotten, as in [3]_).

    Higher means harder. These are the training-based baselines that DLC is
    compared against: their cost is a fine-tuning run.

    Parameters
    ----------
    net : torch.nn.Module or skorch.NeuralNet
        Pre-trained network whose outputs are class logits (or, for a skorch
        net with an ``NLLLoss`` criterion, class probabilities). Its module is
        deep-copied before training; only the module and its device are
        taken from a skorch net, the training setup comes from the
        parameters below.
    method : {"loss_integral", "el2n", "grand", "forgetting"}, \
            default="loss_integral"
        The score, see above.
    max_epochs : int, default=10
        Epochs of fine-tuning.
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, default=None
        Samples per gradient step and per evaluation batch. None uses the
        skorch net's ``batch_size``.
    optimizer : callable, default=torch.optim.Adam
        Optimizer class (or factory taking the parameters and ``lr``), e.g.
        ``functools.partial(torch.optim.SGD, momentum=0.9)``.
    score_epoch : int, default=None
        For ``"el2n"`` and ``"grand"``: score the model after this many
        epochs, and stop training there. Paul et al. score early in training
        (e.g. epoch 20 of 200). 0 scores the pre-trained network itself. None
        means ``max_epochs``. Ignored by the other methods.
    device : str or torch.device, default=None
        Where to train. None: the device of ``net`` when it is a skorch net,
        else the device of the module's parameters.
    random_state : int, RandomState instance or None, default=None
        Seeds the mini-batch order and torch's random number generator during
        training (dropout), without touching torch's global RNG state.
    verbose : int, default=0
        skorch's verbosity: an epoch table when > 0.

    Attributes
    ----------
    hardness_ : ndarray of shape (n_samples,)
        Score of every training sample; higher means harder.
    loss_history_ : ndarray of shape (n_epochs_ + 1, n_samples)
        Per-sample cross-entropy of the pre-trained network (row 0) and after
        every epoch.
    correct_history_ : ndarray of shape (n_epochs_ + 1, n_samples), dtype bool
        Whether each sample was classified correctly, at the same snapshots.
    n_epochs_ : int
        Epochs actually trained (``score_epoch`` for EL2N and GraNd).
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        Number of features of a 2-D array-like ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.

    See Also
    --------
    DLCHardness : The training-free score these baselines are compared to.
    ConfidenceHardness : Training-free uncertainty of the pre-trained head.

    Notes
    -----
    Differences from the original protocols, for a fair single-run cost:
    EL2N and GraNd come from one run instead of an average over ten
    independently initialized runs (here the initialization is the
    pre-trained network); forgetting and the loss integral read the model at
    the end of each epoch instead of at every mini-batch presentation.

    Labels are mapped to output columns like ``DLCHardness(head="model")``.
    GraNd holds ``batch_size x n_parameters`` per-sample gradients at once.

    References
    ----------
    .. [1] W. Jiang, Z. Liu, Z. Xie, S. Zhang, B. Jing, H. Wei. "Exploring
       Learning Complexity for Efficient Downstream Dataset Pruning",
       ICLR 2025. arXiv:2402.05356.
    .. [2] M. Paul, S. Ganguli, G. K. Dziugaite. "Deep Learning on a Data
       Diet: Finding Important Examples Early in Training". NeurIPS 2021.
    .. [3] M. Toneva, A. Sordoni, R. Tachet des Combes, A. Trischler,
       Y. Bengio, G. J. Gordon. "An Empirical Study of Example Forgetting
       during Deep Neural Network Learning". ICLR 2019.

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_dlc import TrainingDynamicsHardness
    >>> X, y = load_iris(return_X_y=True)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    ... )
    >>> scorer = TrainingDynamicsHardness(
    ...     net, method="el2n", max_epochs=3, batch_size=32, random_state=0
    ... ).fit(X, y)
    >>> scorer.hardness_.shape, scorer.loss_history_.shape
    ((150,), (4, 150))
    """

    _parameter_constraints = {
        "net": [torch.nn.Module, NeuralNet],
        "method": [StrOptions({"loss_integral", "el2n", "grand", "forgetting"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "optimizer": [callable],
        "score_epoch": [Interval(Integral, 0, None, closed="left"), None],
        "device": [str, torch.device, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        net,
        *,
        method="loss_integral",
        max_epochs=10,
        lr=1e-3,
        batch_size=None,
        optimizer=torch.optim.Adam,
        score_epoch=None,
        device=None,
        random_state=None,
        verbose=0,
    ):
        self.net = net
        self.method = method
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.score_epoch = score_epoch
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _n_training_epochs(self):
        if self.method not in ("el2n", "grand") or self.score_epoch is None:
            return self.max_epochs
        if self.score_epoch > self.max_epochs:
            raise ValueError(
                f"score_epoch must be <= max_epochs={self.max_epochs}; got "
                f"score_epoch={self.score_epoch}."
            )
        return self.score_epoch

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fine-tune a copy of the network on ``(X, y)`` and score every sample.

        Parameters
        ----------
        X : array-like, torch.Tensor, dict of arrays or torch Dataset
            Inputs of the network, ``n_samples`` first. Floating-point arrays
            are cast to the dtype of the network's parameters. A Dataset's
            items may be ``x`` or ``(x, target)`` (the target is ignored: pass
            the labels as ``y``).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : TrainingDynamicsHardness
            The fitted scorer.
        """
        n_epochs = self._n_training_epochs()
        user_net, module, device, X, n_samples = self._prepare_fit(X)
        self.classes_, columns, validate = encode_labels(
            y, n_samples, user_net, type(self).__name__
        )
        # Always a copy: this scorer trains it.
        module = copy.deepcopy(module).to(device)
        float_dtype = _engine.float_dtype(module)
        probabilities = outputs_are_probabilities(self.net, user_net)
        batch_size = self.batch_size or user_net.batch_size
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)

        if isinstance(X, Dataset):
            X_train = _LabelledDataset(X, columns)
            y_train = None
        else:
            X_train = as_tensors(X, float_dtype)
            y_train = columns
        trainer = NeuralNet(
            module=module,
            criterion=_ProbabilityNLL if probabilities else nn.CrossEntropyLoss,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=n_epochs,
            batch_size=batch_size,
            iterator_train__shuffle=True,
            iterator_train__generator=torch.Generator().manual_seed(int(seed)),
            train_split=None,
            device=device,
            verbose=self.verbose,
        )
        data = self._batches(X, columns, user_net, device, float_dtype)
        snapshot_loss = _SnapshotLoss("loss", probabilities, validate)
        losses, correct = [], []

        def snapshot(net_module):
            adapter = ModelAdapter(net_module, owner=type(self).__name__)
            with _engine.eval_mode(net_module):
                scores = run_pass(adapter, None, [0], data, snapshot_loss).losses
            losses.append(scores[:, 0, 0].numpy())
            correct.append(scores[:, 0, 1].numpy() == 1)

        trainer.set_params(callbacks=[("record_samples", _EpochEnd(snapshot))])
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(seed))
            snapshot(module)
            if n_epochs > 0:
                trainer.fit(X_train, y_train)
        module = trainer.module_ if n_epochs > 0 else module

        self.loss_history_ = np.stack(losses)
        self.correct_history_ = np.stack(correct)
        self.n_epochs_ = n_epochs
        if self.method == "loss_integral":
            self.hardness_ = self.loss_history_[1:].mean(axis=0)
        elif self.method == "forgetting":
            self.hardness_ = count_forgetting_events(self.correct_history_).astype(
                np.float64
            )
        else:
            self.hardness_ = self._score_final(module, data, probabilities)
        return self

    def _score_final(self, module, data, probabilities):
        """EL2N or GraNd of every sample under the final ``module``."""
        with _engine.eval_mode(module):
            if self.method == "grand":
                scores = torch.empty(data.n_samples, dtype=torch.float64)
                for start, stop, xb in data():
                    values = _per_sample_grad_norms(
                        module, xb, data.y[start:stop], probabilities
                    )
                    scores[start:stop] = values.detach().double().cpu()
                return scores.numpy()
            adapter = ModelAdapter(module, owner=type(self).__name__)
            loss_fn = _EL2NLoss("loss", probabilities)
            return run_pass(adapter, None, [0], data, loss_fn).losses[:, 0].numpy()
