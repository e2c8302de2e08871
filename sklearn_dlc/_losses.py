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
