"""ConfidenceHardness: training-free uncertainty scores of the dense model."""

from numbers import Integral

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn_compat.base import _fit_context
from skorch import NeuralNet

from . import _engine
from ._base import (
    BaseHardness,
    encode_labels,
    outputs_are_probabilities,
)
from ._docstrings import shared_parameters
from ._engine import LogitLoss, ModelAdapter, log_probabilities


def uncertainty_scores(logp, target, method):
    """Per-sample uncertainty of log-probabilities ``logp`` of shape (n, n_classes).

    ``target`` (output columns of the labels) is only used by ``"margin"``.
    """
    p = logp.exp()
    if method == "least_confidence":
        return 1.0 - p.amax(dim=1)
    if method == "entropy":
        return -(p * logp).sum(dim=1)
    p_true = p.gather(1, target.view(-1, 1)).squeeze(1)
    others = p.scatter(1, target.view(-1, 1), float("-inf"))
    return 1.0 - (p_true - others.amax(dim=1))


class _UncertaintyLoss(LogitLoss):
    """:func:`uncertainty_scores` as a loss of the engine's passes; the
    ``measure`` of :class:`LogitLoss` holds the uncertainty method."""

    def scores(self, output, target):
        logp = log_probabilities(output, self.probabilities)
        return uncertainty_scores(logp, target, self.measure)


@shared_parameters
class ConfidenceHardness(BaseHardness):
    """Training-free uncertainty of the pre-trained network's own predictions.

    One forward pass of the dense (unmasked) network; the softmax of its
    outputs gives, per sample:

    - ``"least_confidence"``: ``1 - max_c p_c``;
    - ``"entropy"``: ``-sum_c p_c log p_c`` (in nats);
    - ``"margin"``: ``1 - (p_y - max_{c != y} p_c)``, the label-aware margin
      between the true class ``y`` and the strongest other class, in
      ``[0, 2]``. Where the network predicts ``y`` it equals the classic
      ``1 - (p_(1) - p_(2))``; a misclassified sample scores above 1.

    Higher means harder (more uncertain). These are the uncertainty
    baselines of data selection [1]_ [2]_; they need a head whose outputs are
    the classes of ``y``. The prototype-distance score of the dense model
    alone, the other training-free baseline, is ``DLCHardness(net,
    n_subnets=1)``: DLC with a single (dense) subnet.

    Parameters
    ----------
    net : torch.nn.Module or skorch.NeuralNet
        Pre-trained network whose outputs are class logits (or, for a skorch
        net with an ``NLLLoss`` criterion, class probabilities, as in skorch).
        It is never trained or modified.
    method : {"least_confidence", "entropy", "margin"}, default="least_confidence"
        The uncertainty measure, see above.
    {batch_size}
    {device}
    n_jobs : int, default=None
        Number of joblib workers scoring contiguous ranges of the samples, as
        in :class:`DLCHardness`. None means 1 unless in a
        :func:`joblib.parallel_config` context; 1 scores in this process.

    Attributes
    ----------
    hardness_ : ndarray of shape (n_samples,)
        Uncertainty of every training sample; higher means harder.
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``.
    n_features_in_ : int
        Number of features of a 2-D array-like ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.

    See Also
    --------
    DLCHardness : Training-free DLC scores; ``n_subnets=1`` is the dense
        prototype-distance baseline.
    TrainingDynamicsHardness : Training-based scores (EL2N, GraNd,
        forgetting, loss integral).

    Notes
    -----
    Labels are mapped to output columns like ``DLCHardness(head="model")``
    does: through the skorch net's ``classes`` if it has any, else ``y`` must
    hold integer column indices.

    References
    ----------
    .. [1] B. Settles. "Active Learning Literature Survey". Computer Sciences
       Technical Report 1648, University of Wisconsin-Madison, 2009.
    .. [2] C. Coleman, C. Yeh, S. Mussmann, B. Mirzasoleiman, P. Bailis,
       P. Liang, J. Leskovec, M. Zaharia. "Selection via Proxy: Efficient
       Data Selection for Deep Learning". ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_dlc import ConfidenceHardness
    >>> X, y = load_iris(return_X_y=True)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    ... )
    >>> scorer = ConfidenceHardness(net, method="entropy").fit(X, y)
    >>> scorer.hardness_.shape
    (150,)
    >>> bool((scorer.hardness_ <= np.log(3) + 1e-6).all())
    True
    """

    _parameter_constraints = {
        "net": [torch.nn.Module, NeuralNet],
        "method": [StrOptions({"least_confidence", "entropy", "margin"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str, torch.device, None],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
    }

    def __init__(
        self,
        net,
        *,
        method="least_confidence",
        batch_size=None,
        device=None,
        n_jobs=None,
    ):
        self.net = net
        self.method = method
        self.batch_size = batch_size
        self.device = device
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Score every sample of ``X`` by one forward pass of the network.

        Parameters
        ----------
        X : array-like, torch.Tensor, dict of arrays or torch Dataset
            Inputs of the network, ``n_samples`` first. A Dataset is streamed
            through the skorch net's ``iterator_valid``; its items may be
            ``x`` or ``(x, target)``.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : ConfidenceHardness
            The fitted scorer.
        """
        net, module, device, X, n_samples = self._prepare_fit(X)
        self.classes_, columns, validate = encode_labels(
            y, n_samples, net, type(self).__name__
        )
        module = self._module_on(module, device)
        data = self._batches(X, columns, net, device, _engine.float_dtype(module))
        loss_fn = _UncertaintyLoss(
            self.method, outputs_are_probabilities(self.net, net), validate
        )
        adapter = ModelAdapter(module, owner=type(self).__name__)
        with _engine.eval_mode(module):
            scorer = self._scorer(adapter, None, X, columns, data, loss_fn, net, device)
            self.hardness_ = scorer.evaluate([0])[:, 0].numpy()
        return self
