"""Per-sample losses of the DLC engine (torch only).

Each loss says what it keeps of a forward pass (``keep``) so that small
per-sample losses can be computed for many batches at once, and turns what it
kept into per-sample scores (``scores``).
"""

import torch


def log_probabilities(output, probabilities=False):
    """Log-probabilities of network outputs, in float32 or better.

    ``probabilities=True``: the outputs are probabilities already (skorch's
    ``NLLLoss`` convention), not logits.
    """
    output = output if output.dtype == torch.float64 else output.float()
    if probabilities:
        return torch.log(output + torch.finfo(torch.float32).eps)
    return torch.log_softmax(output, dim=1)


def _true_class_scores(logp, y, measure):
    logp_true = logp.gather(1, y.view(-1, 1)).squeeze(1)
    return -logp_true if measure == "loss" else 1.0 - logp_true.exp()


def prototype_logits(features, prototypes):
    """Logits ``1 / ||z - mu_c||_2`` of the prototype head, in float64.

    1/d logits saturate the softmax, so small losses need the precision; in
    float64 the matrix-product form of the squared distance keeps plenty of
    digits even for a sample lying close to its prototype.
    """
    z = features.double()
    mu = prototypes.double()
    sq = z.square().sum(1, keepdim=True) + mu.square().sum(1) - 2.0 * (z @ mu.T)
    # A class with one sample has its own feature vector as prototype; the
    # clamp keeps its logit finite so the loss is ~0 instead of NaN.
    return 1.0 / sq.clamp_min(0).sqrt().clamp_min(1e-12)


def class_sums(features, y, n_classes):
    """Per-class sums (float64) and counts of feature rows."""
    sums = torch.zeros(
        n_classes, features.shape[1], dtype=torch.float64, device=features.device
    )
    sums.index_add_(0, y, features.double())
    return sums, torch.bincount(y, minlength=n_classes)


class PrototypeLoss:
    """Loss against class prototypes made from the dense model's features.

    The prototypes are the class means of the dense model's features: either
    set from (possibly reduced) class sums with :meth:`set_prototypes`, or
    computed by the engine's dense pass.
    """

    needs_features = True

    def __init__(self, n_classes, measure):
        self.n_classes, self.measure = n_classes, measure
        self.prototypes = None

    def keep(self, output, features):
        return features

    def set_prototypes(self, sums, counts):
        self.prototypes = sums / counts.clamp_min(1).to(sums.dtype)[:, None]

    def scores(self, features, y):
        logits = prototype_logits(features, self.prototypes)
        return _true_class_scores(log_probabilities(logits), y, self.measure)


class LogitLoss:
    """Cross-entropy (or 1 - probability) of the network's own outputs."""

    needs_features = False

    def __init__(self, measure, outputs_are_probabilities=False, validate=None):
        self.measure = measure
        self.probabilities = outputs_are_probabilities
        self.validate = validate

    def keep(self, output, features):
        if self.validate is not None:
            self.validate(output)
            self.validate = None
        return output.float()

    def scores(self, output, y):
        logp = log_probabilities(output, self.probabilities)
        return _true_class_scores(logp, y, self.measure)


class CallableLoss:
    """A user's per-sample loss ``criterion(output, y) -> (batch,)``.

    Outputs can be large (token logits), so scores are computed per batch.
    """

    needs_features = False

    def __init__(self, criterion):
        self.criterion = criterion

    def keep(self, output, features):
        return None

    def scores(self, output, y):
        loss = self.criterion(output, y)
        if not isinstance(loss, torch.Tensor) or loss.ndim != 1:
            got = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss)
            raise TypeError(
                "criterion must return a 1-D tensor of per-sample losses "
                f"(shape (batch_size,)), got {got}."
            )
        return loss


IGNORE_INDEX = -100


def causal_lm_loss(logits, labels):
    """Per-sample mean token negative log-likelihood of a causal language model.

    The per-sample loss of DLC's instruction-data setting: the mean negative
    log-likelihood of the response tokens given everything before them.
    Labels are shifted as in transformers (the logits at position ``t``
    predict the label at ``t + 1``), and positions whose label is ``-100``
    (the prompt and the padding) are ignored. Pass it as
    ``DLCHardness(criterion=causal_lm_loss, head="model")`` with the token
    labels as ``y``.

    Parameters
    ----------
    logits : torch.Tensor of shape (batch_size, seq_len, vocab_size)
        The model's token logits (``output.logits`` of a transformers
        ``*ForCausalLM`` model; :class:`DLCHardness` reads it from the output).
    labels : torch.Tensor of shape (batch_size, seq_len)
        Token ids, ``-100`` where a position is not scored (see
        :func:`instruction_labels`). ``seq_len`` may exceed the logits'
        length by trailing columns that are all ``-100``.

    Returns
    -------
    loss : torch.Tensor of shape (batch_size,)
        Mean token NLL of each sample's response, in float32 or better.

    Raises
    ------
    ValueError
        If the shapes do not match or a sample has no scored token.

    Examples
    --------
    >>> import torch
    >>> from sklearn_dlc import causal_lm_loss
    >>> logits = torch.zeros(2, 4, 10)  # uniform over 10 tokens
    >>> labels = torch.tensor([[-100, -100, 3, 4], [-100, 5, 6, -100]])
    >>> causal_lm_loss(logits, labels)
    tensor([2.3026, 2.3026])
    """
    if logits.ndim != 3 or labels.ndim != 2 or labels.shape[0] != logits.shape[0]:
        raise ValueError(
            "causal_lm_loss expects logits of shape (batch_size, seq_len, "
            "vocab_size) and labels of shape (batch_size, seq_len); got "
            f"{tuple(logits.shape)} and {tuple(labels.shape)}."
        )
    length = logits.shape[1]
    if labels.shape[1] > length:
        if (labels[:, length:] != IGNORE_INDEX).any():
            raise ValueError(
                f"labels have {labels.shape[1]} columns but the logits only "
                f"{length}, and the extra columns hold labels other than -100."
            )
        labels = labels[:, :length]
    elif labels.shape[1] < length:
        raise ValueError(
            f"labels have {labels.shape[1]} columns, fewer than the logits' "
            f"{length} positions."
        )
    labels = labels[:, 1:].long()
    scored = labels != IGNORE_INDEX
    n_scored = scored.sum(1)
    if (n_scored == 0).any():
        raise ValueError(
            f"{int((n_scored == 0).sum())} sample(s) of a batch have no scored "
            "token: every label after the first position is -100 (an empty "
            "response, or a prompt truncated to the whole sequence)."
        )
    shifted = logits[:, :-1]
    shifted = shifted if shifted.dtype == torch.float64 else shifted.float()
    nll = torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]),
        labels.masked_fill(~scored, 0).reshape(-1),
        reduction="none",
    ).view_as(labels)
    return (nll * scored).sum(1) / n_scored


def instruction_labels(input_ids, prompt_lengths, attention_mask=None):
    """Token labels for instruction data: the response scored, the rest -100.

    Parameters
    ----------
    input_ids : array-like or torch.Tensor of shape (n_samples, seq_len)
        Token ids of prompt followed by response, padded on either side.
    prompt_lengths : array-like of shape (n_samples,)
        Number of prompt tokens of each sample (counted from its first
        non-padding token).
    attention_mask : array-like or torch.Tensor of shape (n_samples, seq_len), \
            default=None
        1 for real tokens, 0 for padding. None: no padding.

    Returns
    -------
    labels : torch.Tensor of shape (n_samples, seq_len), dtype int64
        ``input_ids`` with the prompt and the padding set to ``-100``; pass
        it as ``y`` with ``criterion=causal_lm_loss``.

    Examples
    --------
    >>> from sklearn_dlc import instruction_labels
    >>> instruction_labels([[5, 6, 7, 8, 0]], [2], attention_mask=[[1, 1, 1, 1, 0]])
    tensor([[-100, -100,    7,    8, -100]])
    """
    ids = torch.as_tensor(input_ids).long()
    if ids.ndim != 2:
        raise ValueError(
            f"input_ids must have shape (n_samples, seq_len); got {tuple(ids.shape)}."
        )
    lengths = torch.as_tensor(prompt_lengths).long().reshape(-1)
    if len(lengths) != len(ids) or (lengths < 0).any():
        raise ValueError(
            "prompt_lengths must hold one non-negative length per row of "
            f"input_ids ({len(ids)} rows); got {lengths.tolist()[:10]}."
        )
    if attention_mask is None:
        real = torch.ones_like(ids, dtype=torch.bool)
    else:
        real = torch.as_tensor(attention_mask).bool()
        if real.shape != ids.shape:
            raise ValueError(
                f"attention_mask has shape {tuple(real.shape)}, input_ids "
                f"{tuple(ids.shape)}; they must match."
            )
    position = real.long().cumsum(1) - 1  # index among the real tokens
    response = real & (position >= lengths[:, None])
    return ids.masked_fill(~response, IGNORE_INDEX)
