"""Coarse-to-fine DLC: fewer subnets for the same ranking (torch and numpy only).

The DLC score is the mean loss over the subnets ``k = 0 .. K-1`` of the path.
:func:`coarse_to_fine` evaluates the path's subnets in bisection order (the
dense model and the sparsest subnet, then the midpoints of the gaps, level by
level), estimates each sample's mean over all ``K`` subnets by interpolating
its loss linearly in ``k`` between the subnets evaluated so far, and stops as
soon as one refinement no longer moves the ranking (Spearman correlation
between successive estimates at least ``tol``) or when every subnet is done.

How passes run is not this module's business: the driver only calls
``evaluate(subnets)``, in-process a closure over :func:`._pass.run_pass`,
or a sharded scorer with the same contract.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

from ._pass import mean_over_subnets


def refinement_levels(n_subnets):
    """Subnets added at each refinement of the bisection order.

    The first level is the dense model and the sparsest subnet (just ``[0]``
    when ``n_subnets`` is 1); every later level adds the midpoint of each gap
    of two or more between neighbouring evaluated subnets, until the path is
    complete. Each level is sorted; levels are disjoint and together cover
    ``range(n_subnets)``.
    """
    if n_subnets < 1:
        raise ValueError(f"n_subnets must be >= 1; got {n_subnets}.")
    done = [0] if n_subnets == 1 else [0, n_subnets - 1]
    levels = [list(done)]
    while True:
        new = [(a + b) // 2 for a, b in zip(done, done[1:]) if b - a >= 2]
        if not new:
            return levels
        levels.append(new)
        done = sorted(done + new)


def interpolation_weights(evaluated, n_subnets):
    """Weights ``w`` with ``losses @ w`` = the mean of the interpolated path.

    ``evaluated`` is the sorted list of subnets whose losses are known. The
    loss of a subnet in between is interpolated linearly in ``k`` between its
    evaluated neighbours (held constant past the last evaluated one), and the
    estimate is the uniform mean over ``k = 0 .. n_subnets - 1`` of these
    values, the quantity fixed ``n_subnets`` computes.
    """
    evaluated = np.asarray(evaluated)
    k = np.arange(n_subnets)
    weights = np.empty(len(evaluated))
    for j in range(len(evaluated)):
        # The hat function of node j evaluated on the integer grid.
        hat = np.zeros(len(evaluated))
        hat[j] = 1.0
        weights[j] = np.interp(k, evaluated, hat).mean()
    return weights


def spearman(a, b):
    """Spearman correlation of two score vectors (average ranks for ties).

    Two constant vectors rank identically (1.0); a constant against a
    varying one does not (0.0).
    """
    ra, rb = _average_ranks(a), _average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    na, nb = np.sqrt(ra @ ra), np.sqrt(rb @ rb)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(np.clip((ra @ rb) / (na * nb), -1.0, 1.0))


def _average_ranks(a):
    a = np.asarray(a, dtype=np.float64)
    order = np.argsort(a, kind="mergesort")
    sorted_a = a[order]
    first = np.r_[True, sorted_a[1:] != sorted_a[:-1]]
    group = np.cumsum(first) - 1
    starts = np.r_[np.flatnonzero(first), len(a)]
    ranks = np.empty(len(a))
    ranks[order] = 0.5 * (starts[group] + starts[group + 1] - 1)
    return ranks


@dataclass
class AutoResult:
    """What :func:`coarse_to_fine` returns.

    Attributes
    ----------
    hardness : ndarray of shape (n_samples,)
        The estimated mean loss over all ``n_subnets`` subnets; with every
        subnet evaluated, exactly :func:`._engine.mean_over_subnets` of the
        full matrix, as fixed ``n_subnets`` computes it.
    subnets : ndarray of int
        Evaluated subnets, ascending.
    losses : torch.Tensor of shape (n_samples, len(subnets))
        Their per-sample losses (float64), columns in the order of
        ``subnets``.
    n_passes : list of int
        Subnets evaluated after each refinement.
    spearman : list of float
        Spearman correlation between the estimates before and after each
        refinement (nan for the first).
    converged : bool
        Whether a refinement reached the tolerance.
    """

    hardness: np.ndarray
    subnets: np.ndarray
    losses: torch.Tensor
    n_passes: list = field(default_factory=list)
    spearman: list = field(default_factory=list)
    converged: bool = False


def coarse_to_fine(evaluate, n_subnets, tol):
    """Estimate the DLC score with as few subnets as the ranking needs.

    Parameters
    ----------
    evaluate : callable
        ``evaluate(subnets) -> losses`` of shape ``(n_samples, len(subnets))``
        (tensor or array), one column per subnet in the order given. The
        first call asks for subnet 0 first (a prototype head sets its
        prototypes there); later calls never ask for a subnet twice.
    n_subnets : int
        Length K of the path; the estimate targets the mean over all K.
    tol : float
        Stop when the Spearman correlation between the estimates before and
        after a refinement is at least ``tol``.

    Returns
    -------
    AutoResult
    """
    columns = {}
    previous = None
    result = None
    for level in refinement_levels(n_subnets):
        losses = torch.as_tensor(evaluate(level)).to(torch.float64).cpu()
        if losses.ndim != 2 or losses.shape[1] != len(level):
            raise ValueError(
                f"evaluate({level}) must return shape (n_samples, {len(level)}); "
                f"got {tuple(losses.shape)}."
            )
        for j, k in enumerate(level):
            columns[k] = losses[:, j]
        subnets = np.array(sorted(columns))
        matrix = torch.stack([columns[k] for k in subnets.tolist()], dim=1)
        if len(subnets) == n_subnets:
            # The same tensor, reduced the same way, as fixed n_subnets.
            estimate = mean_over_subnets(matrix)
        else:
            w = interpolation_weights(subnets, n_subnets)
            estimate = (matrix @ torch.from_numpy(w)).numpy()
        if result is None:
            result = AutoResult(estimate, subnets, matrix)
        else:
            result.hardness, result.subnets, result.losses = estimate, subnets, matrix
        result.n_passes.append(len(subnets))
        rho = np.nan if previous is None else spearman(previous, estimate)
        result.spearman.append(rho)
        if previous is not None and rho >= tol:
            result.converged = True
            break
        previous = estimate
    return result
