"""DLCHardness: the scikit-learn face of the DLC scoring engine."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from joblib import Memory
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_memory
from sklearn_compat.base import _fit_context
from skorch import NeuralNet
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from . import _engine
from ._base import (
    BaseHardness,
    encode_labels,
    outputs_are_probabilities,
)
from ._docstrings import shared_parameters
from ._engine import (
    CallableLoss,
    LogitLoss,
    ModelAdapter,
    NestedMasks,
    PrototypeLoss,
    coarse_to_fine,
    is_pairs,
)
from ._warn import warn_user


def _state_digest(module):
    """Content hash of a module's weights and buffers (stable across copies)."""
    h = hashlib.sha256(type(module).__qualname__.encode())
    for name, t in module.state_dict().items():
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _stable_key(value):
    """A picklable, copy-stable stand-in for callables and types in a cache key."""
    if isinstance(value, (list, tuple)):
        return [_stable_key(v) for v in value]
    if callable(value):
        name = getattr(value, "__qualname__", repr(value))
        return f"{getattr(value, '__module__', '')}.{name}"
    return value


@dataclass
class _Scores:
    """What one scoring computes, and what ``memory=`` keeps."""

    hardness: np.ndarray
    subnets: np.ndarray
    sparsities: np.ndarray
    n_masked: int
    masked_parameters: list
    head_layer: str | None
    matrix: np.ndarray | None = None
    convergence: dict | None = None


_DTYPES = {
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float64": torch.float64,
}


def _cached_scores(weights_digest, params, X_key, y_key, *, compute):
    # joblib.Memory keys on every argument but ``compute`` (and on this
    # function's code); the weights enter through their content digest because
    # pickling a torch module is not stable across copies of the same weights.
    return compute()


@shared_parameters
class DLCHardness(BaseHardness):
    """Score samples by Distorting-based Learning Complexity (DLC).

    DLC measures how hard a sample is for a *pre-trained* network without any
    training: it masks the network's weights at growing sparsity, which gives
    a path of smaller and smaller subnets, and averages the sample's loss over
    these subnets. Easy samples stay well classified by small subnets; hard
    ones do not. See Jiang et al., "Exploring Learning Complexity for
    Efficient Downstream Dataset Pruning", ICLR 2025 (arXiv 2402.05356).

    :meth:`fit` never trains the network and leaves its weights bit for bit
    as they were, also when scoring fails or is interrupted.

    Parameters
    ----------
    net : skorch.NeuralNet or torch.nn.Module
        The pre-trained network. A skorch net must hold a module *instance*
        (``NeuralNet(module=my_pretrained_module, ...)``); it may be
        initialized or not. A bare module is wrapped in a skorch
        :class:`~skorch.NeuralNet`. The net supplies the device, the default
        batch size and, for :class:`~torch.utils.data.Dataset` inputs, the
        data loader (``iterator_valid``).
    n_subnets : int or "auto", default="auto"
        Number of subnets K, the dense model (subnet 0) included. ``"auto"``
        evaluates the path of ``max_subnets`` subnets coarse to fine (the
        dense and the sparsest subnet, then bisection), estimates the mean
        over all of them by interpolating each sample's loss linearly between
        the evaluated subnets, and stops when a refinement no longer moves
        the ranking (see ``auto_tol``) or every subnet is done, in which case
        the scores equal those of ``n_subnets=max_subnets`` exactly. The
        paper's score, K=50, is ``n_subnets=50`` (one pass per subnet);
        ``"auto"``, the default, estimates it in a few passes (3 to 9 of 50
        in ``benchmarks/bench_subnets.py``, Spearman 0.995 or more with it).
    max_subnets : int, default=50
        Length of the path that ``n_subnets="auto"`` estimates the mean over
        (the K it stands in for). Only used with ``n_subnets="auto"``.
    auto_tol : float, default=0.98
        ``n_subnets="auto"`` stops when the Spearman correlation between the
        estimates before and after a refinement is at least ``auto_tol``, in
        (0, 1]; 1 stops only when the ranking does not move at all. Only used
        with ``n_subnets="auto"``.
    step : float, default=0.02
        Sparsity step p, in (0, 1).
    schedule : {"geometric", "linear"}, default="geometric"
        Sparsity of subnet k: ``1 - (1 - step)**k`` (each step masks ``step``
        of the remaining weights, as the authors' code does) or ``k * step``
        (as the paper's text states). Counts are rounded like iterative
        ``torch.nn.utils.prune`` rounds them.
    masking : {"magnitude", "random"}, default="magnitude"
        Mask the weights of smallest ``|w|`` first, or in a random order drawn
        once from ``random_state``. Masks are nested: subnet k+1 masks what
        subnet k masks and more.
    scope : {"global", "layer"}, default="global"
        Rank all masked weights together (the paper's image setting) or each
        layer on its own (the paper's language-model setting).
    head : {"prototype", "model"}, default="prototype"
        ``"prototype"``: logits are ``1 / ||z - mu_c||_2`` where ``z`` is the
        input of the head layer and ``mu_c`` the mean of the dense model's
        ``z`` over class c. Needs no trained head. ``"model"``: the network's
        own outputs are the logits (for a skorch classifier with the default
        ``NLLLoss`` criterion, its outputs are probabilities, as in skorch).
    head_layer : str, default=None
        Name of the head submodule (as in ``module.named_modules()``). Its
        weights are never masked and its input is the feature vector of the
        prototype head. None detects it with one forward pass on two samples:
        the head is the ``nn.Linear`` whose output reaches the network's
        output through parameter-free operations only (a softmax, a
        reshape). A layer whose output never reaches the output, such as the
        unused pooler of a sentence-transformers model, is never taken. A
        network whose output does not come straight from a Linear (a headless
        backbone: sentence-transformers, transformers' ``AutoModel``, timm with
        ``num_classes=0``) has no head: every maskable weight is masked and
        the prototype head works on the network's output itself.
    output_key : str or int, default=None
        Which entry of a dict-like output (transformers' ``ModelOutput``,
        sentence-transformers) to read. None reads the first of ``logits``,
        ``sentence_embedding``, ``last_hidden_state`` (mean-pooled over the
        batch's ``attention_mask``) and ``pooler_output`` that the output
        holds. A tuple output is read through its first element, or through
        element ``output_key`` when it is an int (``1`` for a network that
        returns ``(features, logits)``).
    tokenizer : callable, default=None
        Makes ``X`` a 1-D sequence of raw texts (list, array or pandas Series
        of str), tokenized batch by batch as ``tokenizer(list_of_texts,
        padding=True, truncation=True, return_tensors="pt")``, which must
        return a mapping of tensors (a transformers tokenizer does; for a
        sentence-transformers model pass its ``model.tokenizer``). Each batch
        is padded to its own longest text. ``X`` stays raw text through a
        pipeline, so a following sampler keeps or drops the strings
        themselves. None: ``X`` holds the network's inputs.

        Or makes ``X`` instruction data, (prompt, response) text pairs: a
        dict ``{"prompt": [...], "response": [...]}``, a sequence of
        ``(prompt, response)`` tuples, or a 2-column array or DataFrame. Each
        batch tokenizes the prompts as the tokenizer does by default (special
        tokens added) and the responses without special tokens
        (``tokenizer(texts, add_special_tokens=...)["input_ids"]``),
        concatenates them, right-pads with the tokenizer's ``pad_token_id``
        and builds the token labels: the response's ids, ``-100`` over the
        prompt and the padding. Pass ``criterion=causal_lm_loss``; ``y`` is
        not used (None, or what a following sampler reads). Pairs are
        grouped by their number of characters. For an instruction-tuned
        model, format the prompts with its chat template first
        (``tokenizer.apply_chat_template(messages, add_generation_prompt=True,
        tokenize=False)``) and end each response with the template's
        end-of-turn text, so that the model reads the data as it was trained
        to; see :doc:`/own_model`.
    trim_padding : bool, default=True
        For text: group samples by length (longest first) so that a batch
        holds texts of similar lengths, and for tokenized dict inputs with an
        ``attention_mask`` cut the trailing columns that are padding in every
        row of a batch (2-D token labels ``y`` as wide as the inputs are cut
        along, keeping every column whose label is not ``-100``). Scores come
        back in the original order and equal those of the padded inputs up to
        float rounding, for networks that ignore padded positions through the
        attention mask (transformers, sentence-transformers); it is on by
        default for that reason and because padding is most of the compute
        of short texts. Left-padded inputs (``attention_mask[:, 0] == 0`` in
        some row) are neither grouped nor trimmed. With ``n_jobs`` > 1 each
        range is grouped and trimmed on its worker. Set False for a network
        that reads padded positions.
        Other inputs are not affected.
    masked_layers : callable, type, str or list of types and str, default=None
        Which layers' weights are masked. None: ``nn.Conv1d/2d/3d``,
        ``nn.Linear``, ``nn.MultiheadAttention`` (its ``in_proj_weight`` or
        ``q/k/v_proj_weight``) and transformers' ``Conv1D``. A callable
        ``f(name, module) -> bool`` or module types and ``fnmatch`` patterns
        of module names choose the layers instead; a chosen layer contributes
        its weight matrices (parameters named ``*weight`` with 2 or more
        dimensions), never biases or norms. Embeddings, weights tied to an
        embedding (GPT-2's ``lm_head``) and the head are never masked.
    measure : {"loss", "confidence"}, default="loss"
        Hardness is the mean cross-entropy over subnets, or one minus the mean
        softmax probability of the true class.
    criterion : callable, default=None
        A per-sample loss ``criterion(output, y_batch) -> Tensor of shape
        (batch_size,)`` replacing the cross-entropy, for regression or the
        token loss of a language model. Requires ``head="model"`` and
        ``measure="loss"``; ``y`` may then be of any shape or None.
        For instruction data, :func:`causal_lm_loss` with token labels from
        :func:`instruction_labels`; the paper's language-model setting is
        ``scope="layer"``, ``step=0.2``, ``n_subnets=3`` (every linear weight
        masked by magnitude, embeddings and the tied output layer excepted).
    {batch_size}
    {device}
    amp : bool, default=False
        Run the forward passes under bfloat16 autocast (mostly useful on GPU).
    dtype : {"float32", "bfloat16", "float16", "float64"}, torch.dtype or \
            None, default=None
        Score a copy of the network with its floating-point weights in this
        dtype; the user's network keeps its own. None scores the network in
        its own dtype. ``"bfloat16"`` halves the memory of the weights and,
        on CPUs with bfloat16 instructions, runs a language model about
        twice as fast as float32 while ranking samples alike (Spearman 0.999
        on 64 Alpaca pairs with SmolLM2-135M-Instruct, 2.2 times faster);
        masks are computed on the cast weights.
    n_jobs : int, default=None
        Number of joblib workers scoring contiguous ranges of the samples,
        one range per worker. None means 1 unless in a
        :func:`joblib.parallel_config` context; -1 means all workers (every
        core with loky; with ``parallel_config(backend="dask")``, every
        thread of the Dask cluster). 1 scores in this process. See
        :doc:`/cluster`: results equal ``n_jobs=1`` up to float rounding; the
        prototype head costs one more dense pass; a Dataset ``X`` and a
        ``tokenizer`` must pickle; ``device="cuda"`` is each worker's own GPU.
        Starting the workers (new processes that import torch) and sending
        them the network cost seconds per fit, more than a small network
        takes to score a small dataset in this process: shard when one
        process would take minutes.
    store_subnet_scores : bool, default=False
        Keep the matrix of per-subnet scores in ``subnet_scores_``: one
        column per evaluated subnet (all of them unless
        ``n_subnets="auto"``), in the order of ``evaluated_subnets_``.
    memory : str or joblib.Memory, default=None
        Cache the scores, keyed by the content of the weights, the parameters
        and the data, so that refitting a clone on the same data (e.g. in a
        grid search over a later pruning step) costs nothing. A str is a
        cache directory. With ``n_jobs``, each range of in-memory data is
        also cached as it finishes, so a fit that was interrupted resumes
        with the missing ranges only. ``n_jobs`` is not part of the key.
    random_state : int, RandomState instance or None, default=None
        Seeds the ordering of ``masking="random"``.
    verbose : int, default=0
        Show a progress bar over subnets when > 0.

    Attributes
    ----------
    hardness_ : ndarray of shape (n_samples,)
        DLC score of every training sample; higher means harder.
    sparsities_ : ndarray of shape (n_subnets,)
        Fraction of masked weights in each subnet of the path, evaluated or
        not: with ``n_subnets="auto"``, the ``max_subnets`` subnets whose mean
        the score estimates.
    evaluated_subnets_ : ndarray of shape (n_passes_,)
        Indices k of the subnets that were evaluated, ascending (all of
        ``range(n_subnets)`` unless ``n_subnets="auto"`` stopped early);
        their sparsities are ``sparsities_[evaluated_subnets_]``.
    n_passes_ : int
        Forward passes over the data that scoring cost (subnets evaluated).
    convergence_ : dict of ndarray
        Only with ``n_subnets="auto"``: after each refinement, ``"n_passes"``
        (subnets evaluated so far) and ``"spearman"`` (correlation between
        the estimates before and after it; nan for the first).
    subnet_scores_ : ndarray of shape (n_samples, n_passes_)
        Per-subnet scores of the subnets in ``evaluated_subnets_``; only with
        ``store_subnet_scores=True``.
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit`` (not set with ``criterion``).
    n_masked_weights_ : int
        Number of weights the masks act on.
    masked_parameters_ : list of str
        Names of the masked weight tensors (as in ``module.named_parameters()``).
    head_layer_ : str or None
        Name of the head submodule that was used; None for a headless network.
    n_features_in_ : int
        Number of features of a 2-D array-like ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.

    See Also
    --------
    FlexRandSampler : Keep a randomized mix of easy and hard samples.

    Notes
    -----
    In a :class:`imblearn.pipeline.Pipeline`, :meth:`transform` returns ``X``
    unchanged, so later steps see the same features at fit and at predict
    time. :meth:`fit_transform` also returns ``X`` unchanged in content, but
    marked with ``hardness_`` so that a :class:`FlexRandSampler` placed right
    after it can read the scores. ``fit_transform(X, y)`` therefore differs
    from ``fit(X, y).transform(X)`` in that mark, much as scikit-learn's
    :class:`~sklearn.preprocessing.TargetEncoder` documents for its own
    ``fit_transform``.

    Memory: when the masked weights take up to 256 MiB, one working copy of
    them lives on the device while scoring (fastest); larger models get each
    layer's masked weight computed when the layer reads it and freed after,
    so no second copy of the model is held. Magnitude masks are stored as
    one threshold per layer and subnet, not as an ordering of the weights.
    The prototype head also keeps the dense features (n_samples x
    n_features). In-memory data is moved to the GPU once when it takes
    less than a quarter of the free GPU memory, else batch by batch.

    On GPUs, PyTorch runs convolutions in TF32 by default, which moves scores
    by up to a few percent relative to float32; set
    ``torch.backends.cudnn.allow_tf32 = False`` for float32 results.

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_dlc import DLCHardness
    >>> X, y = load_iris(return_X_y=True)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    ... )
    >>> scorer = DLCHardness(net, n_subnets=10, step=0.05).fit(X, y)
    >>> scorer.hardness_.shape
    (150,)
    >>> scorer.sparsities_[:3].round(4)
    array([0.    , 0.0469, 0.0938])

    The default ``n_subnets="auto"`` estimates the mean over 50 subnets
    (the paper's ``n_subnets=50``) from fewer:

    >>> auto = DLCHardness(net).fit(X, y)
    >>> auto.convergence_["n_passes"], auto.n_passes_
    (array([ 2,  3,  5,  9, 17]), 17)
    """

    _parameter_constraints = {
        "net": [torch.nn.Module, NeuralNet],
        "n_subnets": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_subnets": [Interval(Integral, 1, None, closed="left")],
        "auto_tol": [Interval(Real, 0, 1, closed="right")],
        "step": [Interval(Real, 0, 1, closed="neither")],
        "schedule": [StrOptions({"geometric", "linear"})],
        "masking": [StrOptions({"magnitude", "random"})],
        "scope": [StrOptions({"global", "layer"})],
        "head": [StrOptions({"prototype", "model"})],
        "head_layer": [str, None],
        "output_key": [str, Integral, None],
        "tokenizer": [callable, None],
        "trim_padding": ["boolean"],
        "masked_layers": [callable, type, str, list, tuple, None],
        "measure": [StrOptions({"loss", "confidence"})],
        "criterion": [callable, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str, torch.device, None],
        "amp": ["boolean"],
        "dtype": [StrOptions(set(_DTYPES)), torch.dtype, None],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "store_subnet_scores": ["boolean"],
        "memory": [str, HasMethods(["cache"]), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        net,
        *,
        n_subnets="auto",
        max_subnets=50,
        auto_tol=0.98,
        step=0.02,
        schedule="geometric",
        masking="magnitude",
        scope="global",
        head="prototype",
        head_layer=None,
        output_key=None,
        tokenizer=None,
        trim_padding=True,
        masked_layers=None,
        measure="loss",
        criterion=None,
        batch_size=None,
        device=None,
        amp=False,
        dtype=None,
        n_jobs=None,
        store_subnet_scores=False,
        memory=None,
        random_state=None,
        verbose=0,
    ):
        self.net = net
        self.n_subnets = n_subnets
        self.max_subnets = max_subnets
        self.auto_tol = auto_tol
        self.step = step
        self.schedule = schedule
        self.masking = masking
        self.scope = scope
        self.head = head
        self.head_layer = head_layer
        self.output_key = output_key
        self.tokenizer = tokenizer
        self.trim_padding = trim_padding
        self.masked_layers = masked_layers
        self.measure = measure
        self.criterion = criterion
        self.batch_size = batch_size
        self.device = device
        self.amp = amp
        self.dtype = dtype
        self.n_jobs = n_jobs
        self.store_subnet_scores = store_subnet_scores
        self.memory = memory
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        if self.criterion is not None and (
            self.head != "model" or self.measure != "loss"
        ):
            raise ValueError(
                "criterion requires head='model' and measure='loss'; got "
                f"head={self.head!r}, measure={self.measure!r}."
            )
        if self.schedule == "linear" and (self._path_length() - 1) * self.step > 1:
            name = "max_subnets" if self.n_subnets == "auto" else "n_subnets"
            raise ValueError(
                f"With schedule='linear', ({name} - 1) * step must be <= 1 "
                f"(sparsity cannot exceed 100%); got {name}="
                f"{self._path_length()}, step={self.step}."
            )

    def _path_length(self):
        return self.max_subnets if self.n_subnets == "auto" else self.n_subnets

    def _encode_targets(self, y, n_samples, net):
        """Return (targets tensor or None, classes_ or None, output validator)."""
        if y is None:
            if self.criterion is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the "
                    "target y is None (class labels are needed unless a "
                    "criterion is given)."
                )
            return None, None, None
        if self.criterion is not None:
            y_arr = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
            if len(y_arr) != n_samples:
                raise ValueError(
                    f"X and y have inconsistent numbers of samples: {n_samples} "
                    f"and {len(y_arr)}."
                )
            return torch.from_numpy(np.ascontiguousarray(y_arr)), None, None
        classes, y_enc, validate = encode_labels(
            y, n_samples, net, type(self).__name__, net_columns=self.head == "model"
        )
        return y_enc, classes, validate

    def _loss(self, net, validate):
        """The per-sample loss of the passes."""
        if self.criterion is not None:
            return CallableLoss(self.criterion)
        if self.head == "prototype":
            return PrototypeLoss(len(self.classes_), self.measure)
        return LogitLoss(
            self.measure, outputs_are_probabilities(self.net, net), validate
        )

    def _masks(self, adapter, module):
        """The nested masks of the weights ``adapter`` masks."""
        named = adapter.masked_parameters()
        if not named:
            raise ValueError(self._nothing_to_mask_message(adapter))
        return NestedMasks(
            [p for _, p in named],
            masking=self.masking,
            scope=self.scope,
            n_subnets=self._path_length(),
            step=self.step,
            schedule=self.schedule,
            rng=check_random_state(self.random_state),
            module=module,
        ), [name for name, _ in named]

    def _cache_key(self, X, module, device):
        """``(weights digest, parameters, X)`` that ``memory=`` keys on."""
        params = {
            k: v
            for k, v in self.get_params(deep=False).items()
            if k not in ("net", "memory", "verbose", "n_jobs")
        }
        if self.n_subnets != "auto":
            del params["max_subnets"], params["auto_tol"]
        params["device"] = str(device)
        params["dtype"] = str(params["dtype"])
        for key in ("criterion", "masked_layers", "tokenizer"):
            params[key] = _stable_key(params[key])
        if isinstance(X, Mapping):
            X_key = {
                k: v.cpu().numpy() if isinstance(v, torch.Tensor) else v
                for k, v in X.items()
            }
        else:
            X_key = X.cpu().numpy() if isinstance(X, torch.Tensor) else X
        return _state_digest(module), params, X_key

    def _compute(self, X, y, net, module, device, validate, cache=None):
        """Score ``X``: masks, the driver of the passes, the mean over subnets."""
        module = self._module_on(module, device, _DTYPES.get(self.dtype, self.dtype))
        data = self._batches(
            X,
            y,
            net,
            device,
            _engine.float_dtype(module),
            trim_padding=self.trim_padding,
        )
        adapter = ModelAdapter(
            module,
            owner=type(self).__name__,
            head_layer=self.head_layer,
            output_key=self.output_key,
            masked_layers=self.masked_layers,
        )
        with _engine.eval_mode(module):
            _, _, first = next(iter(data()))
            adapter.resolve_head(first)
            masks, masked_names = self._masks(adapter, module)
            scorer = self._scorer(
                adapter,
                masks,
                X,
                y,
                data,
                self._loss(net, validate),
                net,
                device,
                trim_padding=self.trim_padding,
                amp_dtype=torch.bfloat16 if self.amp else None,
                progress=tqdm if self.verbose else None,
                cache=cache,
            )
            convergence = None
            if self.n_subnets == "auto":
                auto = coarse_to_fine(scorer.evaluate, self.max_subnets, self.auto_tol)
                hardness, losses, subnets = auto.hardness, auto.losses, auto.subnets
                convergence = {
                    "n_passes": np.array(auto.n_passes),
                    "spearman": np.array(auto.spearman),
                }
            else:
                losses = scorer.evaluate(range(self.n_subnets))
                hardness = _engine.mean_over_subnets(losses)
                subnets = np.arange(self.n_subnets)
        if self.head == "prototype" and scorer.output_width == 1:
            warn_user(
                f"{type(self).__name__}: the network has a single output per "
                "sample (a regression net?); the prototype head treats y as "
                "class labels, so the scores may mean little."
            )
        return _Scores(
            hardness=hardness,
            subnets=subnets,
            sparsities=masks.sparsities,
            n_masked=masks.n_weights,
            masked_parameters=masked_names,
            head_layer=adapter.head_name,
            matrix=losses.float().numpy() if self.store_subnet_scores else None,
            convergence=convergence,
        )

    def _nothing_to_mask_message(self, adapter):
        if adapter.head is not None and adapter.head is adapter.module:
            return (
                f"{type(self).__name__}: the network is a single layer, which "
                "is its own head, so there is no weight left to mask. Score a "
                "network with a backbone, or choose the layers with "
                "masked_layers=."
            )
        where = (
            f" outside the head {adapter.head_name!r}"
            if adapter.head is not None
            else ""
        )
        message = (
            f"{type(self).__name__}: the network has no weight to mask{where} "
            "(Conv, Linear, MultiheadAttention or transformers' Conv1D, "
            "embeddings excluded). Pass masked_layers= to choose layers."
        )
        if (adapter.tuple_length or 0) > 1 and not isinstance(self.output_key, int):
            message += (
                f" The network returns a tuple of {adapter.tuple_length} "
                "elements and its first one is read (the output of "
                f"{adapter.head_name!r}); pass output_key=<index> to read "
                "another, e.g. output_key=1 for (features, logits)."
            )
        return message

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Score every sample of ``X``; the network is not trained.

        Parameters
        ----------
        X : array-like, torch.Tensor, dict of arrays or torch Dataset
            Inputs of the network, ``n_samples`` first. Floating-point arrays
            are cast to the dtype of the network's parameters. A Dataset is
            streamed in batches through the skorch net's ``iterator_valid``;
            its items may be ``x`` or ``(x, target)`` (the target is ignored:
            pass the labels as ``y``).
            With ``tokenizer``, a 1-D sequence of raw texts, or (prompt,
            response) pairs (see ``tokenizer``).
        y : array-like of shape (n_samples,)
            Class labels. With ``criterion``, any per-sample targets (or None).
            With (prompt, response) pairs, the token labels are built from the
            texts and ``y`` is not used (pass None, or the labels that a
            following sampler reads in a pipeline).

        Returns
        -------
        self : DLCHardness
            The fitted scorer.
        """
        self._check_params()
        net, module, device, X, n_samples = self._prepare_fit(X)
        pairs = self.tokenizer is not None and is_pairs(X)
        if pairs and self.criterion is None:
            raise ValueError(
                "(prompt, response) pairs are scored by a per-sample token "
                "loss: pass criterion=causal_lm_loss and head='model'."
            )
        y_t, classes, validate = self._encode_targets(y, n_samples, net)
        if pairs:
            y_t = None  # the token labels come from the texts, batch by batch
        if classes is not None:
            self.classes_ = classes
            if self.head == "prototype" and len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__}: the prototype head needs at least "
                    f"2 classes in y; got 1 class ({classes[0]!r})."
                )

        cache = None

        def compute():
            return self._compute(X, y_t, net, module, device, validate, cache)

        memory = check_memory(self.memory)
        if (
            isinstance(memory, Memory)
            and memory.location is not None
            and not isinstance(X, Dataset)
        ):
            digest, params, X_key = self._cache_key(X, module, device)
            cache = {"memory": memory, "cache_key": (digest, params)}
            y_key = None if y_t is None else y_t.numpy()
            cached = memory.cache(_cached_scores, ignore=["compute"])
            scores = cached(digest, params, X_key, y_key, compute=compute)
        else:
            scores = compute()
        self.hardness_ = scores.hardness
        self.sparsities_ = scores.sparsities
        self.n_masked_weights_ = scores.n_masked
        self.head_layer_ = scores.head_layer
        self.masked_parameters_ = scores.masked_parameters
        self.evaluated_subnets_ = scores.subnets
        self.n_passes_ = len(scores.subnets)
        if scores.convergence is not None:
            self.convergence_ = scores.convergence
        elif hasattr(self, "convergence_"):
            del self.convergence_
        if scores.matrix is not None:
            self.subnet_scores_ = scores.matrix
        elif hasattr(self, "subnet_scores_"):
            del self.subnet_scores_
        return self
