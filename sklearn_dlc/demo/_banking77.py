"""BANKING77 intent classification, shipped with the package (CC BY 4.0).

Casanueva, Temčinas, Gerz, Henderson, Vulić, "Efficient Intent Detection with
Dual Sentence Encoders", 2nd Workshop on NLP for Conversational AI, ACL 2020
(arXiv:2003.04807). Source: PolyAI-LDN/task-specific-datasets, ``banking_data``;
the files are byte-for-byte copies, gzip-compressed. See ``data/README.md``.
"""

import csv
import gzip
import importlib.resources
import io

import numpy as np
from sklearn.utils import Bunch

_FILES = {"train": "banking77_train.csv.gz", "test": "banking77_test.csv.gz"}

DESCR = """\
BANKING77 intent classification
-------------------------------

Online-banking customer queries, each labelled with one of 77 intents.
train: 10,003 queries (35 to 187 per intent); test: 3,080 (40 per intent).

Citation: I. Casanueva, T. Temčinas, D. Gerz, M. Henderson, I. Vulić.
"Efficient Intent Detection with Dual Sentence Encoders". Proceedings of the
2nd Workshop on NLP for Conversational AI, ACL 2020. arXiv:2003.04807.
Licence: CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).
Source: https://github.com/PolyAI-LDN/task-specific-datasets (banking_data/),
shipped unchanged (gzip-compressed) with sklearn-dlc.
"""


def banking77_file(subset):
    """Return the :class:`importlib.resources` path of a shipped BANKING77 file.

    Parameters
    ----------
    subset : {"train", "test"}

    Returns
    -------
    resource : importlib.resources.abc.Traversable
        The gzip-compressed CSV, byte for byte PolyAI's file once decompressed.
    """
    return importlib.resources.files("sklearn_dlc.demo").joinpath(
        "data", _FILES[subset]
    )


def _read(subset):
    raw = gzip.decompress(banking77_file(subset).read_bytes())
    # newline="" keeps the newlines inside quoted texts as csv expects.
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
    if reader.fieldnames != ["text", "category"]:
        raise ValueError(
            f"{_FILES[subset]} has columns {reader.fieldnames}, expected "
            "['text', 'category']; the shipped file is damaged."
        )
    rows = list(reader)
    return [row["text"] for row in rows], [row["category"] for row in rows]


def load_banking77(subset="train", *, return_X_y=False):
    """Load BANKING77, the intent classification data shipped with the demo.

    13,083 online-banking customer queries labelled with 77 intents
    (Casanueva et al., ACL 2020 workshop on NLP for Conversational AI,
    arXiv:2003.04807), licensed CC BY 4.0 and shipped unchanged with
    sklearn-dlc; nothing is downloaded. The train split holds 10,003 queries
    (35 to 187 per intent), the test split 3,080 (40 per intent).

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The official split to load; ``"all"`` is train followed by test.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        ``data``: list of str, the queries, in file order. ``target``:
        ndarray of shape (n_samples,), int64 intent codes in 0..76, indices
        into ``target_names``. ``target_names``: list of the 77 intent
        names, sorted (so the codes do not depend on ``subset``).
        ``DESCR``: the description, citation and licence.
    (data, target) : tuple
        With ``return_X_y=True``.

    Raises
    ------
    ValueError
        If ``subset`` is not one of the three.

    Examples
    --------
    >>> from sklearn_dlc.demo import load_banking77
    >>> bunch = load_banking77("test")
    >>> len(bunch.data), bunch.target.shape, len(bunch.target_names)
    (3080, (3080,), 77)
    >>> bunch.target_names[bunch.target[0]]
    'card_arrival'
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")
    if not isinstance(return_X_y, (bool, np.bool_)):
        raise TypeError(f"return_X_y must be a bool, got {return_X_y!r}.")
    texts, categories = [], []
    for part in ("train", "test") if subset == "all" else (subset,):
        part_texts, part_categories = _read(part)
        texts += part_texts
        categories += part_categories
    # Every split holds all 77 intents, so the codes are the same for each.
    names = sorted(set(categories))
    target = np.searchsorted(names, categories).astype(np.int64)
    if return_X_y:
        return texts, target
    return Bunch(data=texts, target=target, target_names=names, DESCR=DESCR)
