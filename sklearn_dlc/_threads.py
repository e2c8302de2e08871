"""A once-per-process warning when torch runs several threads on busy cores."""

import os

import torch

from ._warn import warn_user

_state = {"warned": False}


def _n_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def warn_if_cores_busy(owner):
    """Warn, once per process, when torch runs several threads on busy cores.

    The cores count as busy when the 1-minute load average (which includes
    this process's own recent work) exceeds the number of cores this process
    may use by one or more. Busy cores make torch's threads wait for each
    other: a small network then runs many times slower than with one thread.

    Parameters
    ----------
    owner : str
        Name of the estimator, for the message.

    Returns
    -------
    warned : bool
        Whether this call warned.
    """
    if _state["warned"]:
        return False
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return False
    threads = torch.get_num_threads()
    cores = _n_cores()
    if threads <= 1 or load < cores + 1:
        return False
    _state["warned"] = True
    warn_user(
        f"{owner}: torch runs {threads} threads on {cores} cores that are busy "
        f"(1-minute load average {load:.1f}). Threads on busy cores wait for "
        "each other, which can slow scoring down many times; call "
        "torch.set_num_threads(1) (or a small number) before fit. This "
        "warning is shown once per process.",
    )
    return True
